//! TiDB timestamps (TSO) and the time formats we print.
//!
//! A TSO is `(physical_ms << 18) + logical` (tikv/client-go:oracle/oracle.go); the
//! logical part is dropped for display, so every time we show has millisecond precision.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const LOGICAL_BITS: u32 = 18;

/// Unix milliseconds of a TSO.
pub fn physical_ms(ts: u64) -> u64 {
    ts >> LOGICAL_BITS
}

/// The TSO for a Unix-millisecond instant with logical 0 (`ComposeTS(ms, 0)`).
pub fn from_physical_ms(ms: u64) -> u64 {
    ms << LOGICAL_BITS
}

/// Unix milliseconds of a `SystemTime` (0 before the epoch).
pub fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Whole seconds from `earlier_ms` to `now_ms`, clamped at 0 (clock skew never makes a negative lag).
pub fn lag_seconds(now_ms: u64, earlier_ms: u64) -> u64 {
    now_ms.saturating_sub(earlier_ms) / 1000
}

/// Decodes an 8-byte big-endian u64 (checkpoint values, PD's cluster id).
pub fn decode_u64be(bytes: &[u8]) -> Option<u64> {
    let array: [u8; 8] = bytes.try_into().ok()?;
    Some(u64::from_be_bytes(array))
}

/// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u64,
    minute: u64,
    second: u64,
    millis: u64,
}

fn civil(ms: u64) -> Civil {
    let secs = ms / 1000;
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    Civil {
        year,
        month,
        day,
        hour: rem / 3600,
        minute: rem / 60 % 60,
        second: rem % 60,
        millis: ms % 1000,
    }
}

/// RFC 3339 in UTC with milliseconds: `2024-01-01T00:59:30.000Z` (ndjson).
pub fn rfc3339_ms(ms: u64) -> String {
    let c = civil(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second, c.millis
    )
}

/// BR's `FormatDate` layout `2006-01-02 15:04:05.999999999 -0700` in UTC: fractional
/// seconds with trailing zeros trimmed (pingcap/tidb:br/pkg/stream/util.go).
pub fn br_date(ms: u64) -> String {
    let c = civil(ms);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}{} +0000",
        c.year,
        c.month,
        c.day,
        c.hour,
        c.minute,
        c.second,
        go_fraction(ms)
    )
}

/// `.999999999` in a Go layout: the milliseconds with trailing zeros trimmed, or nothing.
fn go_fraction(ms: u64) -> String {
    let millis = ms % 1000;
    if millis == 0 {
        return String::new();
    }
    format!(".{millis:03}").trim_end_matches('0').to_string()
}

/// [`br_date`] in a given time zone (BR prints dates in its local zone):
/// `2024-01-01 08:59:30 +0800`.
pub fn br_date_in(ms: u64, zone: &jiff::tz::TimeZone) -> String {
    let Ok(at) = jiff::Timestamp::from_millisecond(ms.min(i64::MAX as u64) as i64) else {
        return br_date(ms);
    };
    let zoned = at.to_zoned_datetime(zone.clone());
    format!(
        "{}{} {}",
        zoned.strftime("%Y-%m-%d %H:%M:%S"),
        go_fraction(ms),
        zoned.strftime("%z")
    )
}

/// A default as the help text writes it: `10s`, `5m`, `6h` (whole units only).
pub fn short_duration(seconds: u64) -> String {
    if seconds > 0 && seconds.is_multiple_of(3600) {
        format!("{}h", seconds / 3600)
    } else if seconds > 0 && seconds.is_multiple_of(60) {
        format!("{}m", seconds / 60)
    } else {
        format!("{seconds}s")
    }
}

/// A compact Go-style duration: `0s`, `45s`, `4m53s`, `2h0m5s`, `3d4h` for long spans.
pub fn human_duration(seconds: u64) -> String {
    let (d, h, m, s) = (
        seconds / 86_400,
        seconds / 3600 % 24,
        seconds / 60 % 60,
        seconds % 60,
    );
    if d > 0 {
        format!("{d}d{h}h{m}m")
    } else if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

/// Parses the `--now` option: RFC 3339 (`2024-01-01T01:05:00Z`, UTC only).
pub fn parse_now(text: &str) -> Result<SystemTime, String> {
    humantime::parse_rfc3339(text).map_err(|e| {
        format!("invalid --now '{text}': {e} (want RFC 3339 UTC, e.g. 2024-01-01T01:05:00Z)")
    })
}

/// Adds a duration to a Unix-ms instant, saturating.
pub fn add_ms(ms: u64, d: Duration) -> u64 {
    ms.saturating_add(d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    // docs/etcd-layout.md#worked-example-baseline: start_ts and the checkpoints there.
    const START_TS: u64 = 446_710_992_076_800_000;
    const STORE_1001_TS: u64 = 446_711_927_930_880_000;

    #[test]
    fn tso_physical_part_matches_the_reference_fixture() {
        assert_eq!(physical_ms(START_TS), 1_704_067_200_000); // 2024-01-01 00:00:00 UTC
        assert_eq!(from_physical_ms(1_704_067_200_000), START_TS);
        assert_eq!(
            rfc3339_ms(physical_ms(STORE_1001_TS)),
            "2024-01-01T00:59:30.000Z"
        );
    }

    #[test]
    fn br_dates_in_a_time_zone_keep_the_layout() {
        let shanghai = jiff::tz::TimeZone::get("Asia/Shanghai").expect("tzdata installed");
        let ny = jiff::tz::TimeZone::get("America/New_York").expect("tzdata installed");
        let ms = physical_ms(STORE_1001_TS);
        assert_eq!(br_date_in(ms, &shanghai), "2024-01-01 08:59:30 +0800");
        assert_eq!(br_date_in(ms + 120, &ny), "2023-12-31 19:59:30.12 -0500");
        assert_eq!(br_date_in(ms, &jiff::tz::TimeZone::UTC), br_date(ms));
        assert_eq!(
            br_date_in(1_657_000_000_000, &ny),
            "2022-07-05 01:46:40 -0400",
            "summer time"
        );
    }

    #[test]
    fn br_default_end_ts_formats_like_br() {
        // 999999999999999999 = 2090-11-18 14:07:45.624 UTC, logical 262143.
        assert_eq!(physical_ms(999_999_999_999_999_999), 3_814_697_265_624);
        assert_eq!(
            br_date(physical_ms(999_999_999_999_999_999)),
            "2090-11-18 14:07:45.624 +0000"
        );
        assert_eq!(br_date(1_704_067_200_000), "2024-01-01 00:00:00 +0000");
        assert_eq!(br_date(1_704_067_200_500), "2024-01-01 00:00:00.5 +0000");
    }

    #[test]
    fn decodes_big_endian_values_and_rejects_other_lengths() {
        let bytes = [0x06, 0x33, 0x0a, 0x21, 0xb5, 0x40, 0x00, 0x00];
        assert_eq!(decode_u64be(&bytes), Some(STORE_1001_TS));
        assert_eq!(decode_u64be(&bytes[..7]), None);
        assert_eq!(decode_u64be(&[0u8; 9]), None);
    }

    #[test]
    fn lag_is_clamped_at_zero() {
        assert_eq!(lag_seconds(10_000, 4_500), 5);
        assert_eq!(lag_seconds(1_000, 9_000), 0);
    }

    #[test]
    fn human_durations() {
        assert_eq!(human_duration(0), "0s");
        assert_eq!(human_duration(293), "4m53s");
        assert_eq!(human_duration(7205), "2h0m5s");
        assert_eq!(human_duration(3 * 86_400 + 4 * 3600 + 60), "3d4h1m");
    }

    #[test]
    fn civil_dates_around_leap_years() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339_ms(1_709_164_800_123), "2024-02-29T00:00:00.123Z");
    }
}
