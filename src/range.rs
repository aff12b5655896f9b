//! Monitoring Plugins threshold ranges (`[@][start:][end]`), as described in
//! the Monitoring Plugins development guidelines and implemented by Perl's
//! `Monitoring::Plugin::Range`.
//!
//! Each bound is either a plain decimal number of seconds (`300`, `1.5`, `1e2`)
//! or a humantime duration (`10m`, `1h30m`, `500ms`), so thresholds on ages and
//! lags can be written naturally. [`Range`]'s `Display` always prints the
//! canonical form in plain seconds, which is what goes into perfdata and what
//! Perl (and every other plugin consumer) reads back identically.
//!
//! Deliberate differences from Perl (we are stricter): Perl's number pattern
//! `[-+]?[\d.]+(e[-+]?[\d.]+)?` also accepts `1.2.3` (read as 1.2), `..`
//! (read as 0) and `1e2.5` (read as 100); we reject those. We accept `1E2`
//! (Perl only knows a lower-case `e`) and durations, and we reject bounds that
//! overflow to infinity (`1e999`), which Perl silently turns into `Inf`.

use crate::text::format_number;
use std::fmt;
use std::str::FromStr;

/// A Nagios range `[@][start:][end]`; `start` may be -inf (`~`), `end` may be +inf (omitted after `:`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub start: f64,
    pub end: f64,
    pub inside: bool,
}

/// Why a range string was rejected; the message names the offending text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeError(pub String);

impl fmt::Display for RangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RangeError {}

impl Range {
    /// Parses `[@][start:][end]`. All whitespace is removed first (as Perl
    /// does), so `10: 20` and `1h 30m` are accepted. Never panics.
    pub fn parse(text: &str) -> Result<Range, RangeError> {
        // `{:?}` quotes and escapes the input, keeping the message on one line
        // even if the text holds newlines or control characters.
        let err = |why: &str| RangeError(format!("invalid range {text:?}: {why}"));

        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if compact.is_empty() {
            return Err(err("empty"));
        }
        let (inside, body) = match compact.strip_prefix('@') {
            Some(rest) => (true, rest),
            None => (false, compact.as_str()),
        };

        let (start, end) = match body.split_once(':') {
            // `10` / `@10`: the start is an implicit 0.
            None => match body {
                "" => return Err(err("missing end value")),
                "~" => return Err(err("`~` (-infinity) must be followed by `:`")),
                _ => (0.0, parse_bound(body).map_err(|why| err(&why))?),
            },
            Some((a, b)) => {
                if b.contains(':') {
                    return Err(err("more than one `:`"));
                }
                // Perl requires a digit or `~` somewhere; a bare `:` has neither.
                if a.is_empty() && b.is_empty() {
                    return Err(err("no start or end value"));
                }
                let start = match a {
                    "" => 0.0,
                    "~" => f64::NEG_INFINITY,
                    _ => parse_bound(a).map_err(|why| err(&why))?,
                };
                let end = match b {
                    "" => f64::INFINITY,
                    "~" => return Err(err("`~` (-infinity) is only allowed as the start")),
                    _ => parse_bound(b).map_err(|why| err(&why))?,
                };
                (start, end)
            }
        };

        if start > end {
            return Err(err(&format!(
                "start {} is greater than end {}",
                format_number(start),
                format_number(end)
            )));
        }
        Ok(Range { start, end, inside })
    }

    /// "upper bound only" helper: `Range { start: 0, end, inside: false }`.
    pub fn upper(end: f64) -> Range {
        Range {
            start: 0.0,
            end,
            inside: false,
        }
    }

    /// True when the value raises an alert: outside `[start, end]` (the ends
    /// themselves are OK), or inside it when `inside` is set.
    pub fn alerts(&self, value: f64) -> bool {
        // Infinite bounds are not compared at all, exactly like Perl's
        // check_range, so `~:` never alerts and `@~:` always does, even for NaN
        // (which is otherwise treated as outside every bounded range).
        let after_start = self.start == f64::NEG_INFINITY || self.start <= value;
        let before_end = self.end == f64::INFINITY || value <= self.end;
        (after_start && before_end) == self.inside
    }
}

impl FromStr for Range {
    type Err = RangeError;

    fn from_str(s: &str) -> Result<Range, RangeError> {
        Range::parse(s)
    }
}

impl fmt::Display for Range {
    /// Canonical form: plain seconds, shortest that reads back to the same
    /// range both here and in Perl (`0:300` -> `300`, `~:` for -inf..+inf).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.inside {
            f.write_str("@")?;
        }
        if self.start == f64::NEG_INFINITY {
            f.write_str("~:")?;
            if self.end != f64::INFINITY {
                f.write_str(&format_number(self.end))?;
            }
            Ok(())
        } else if self.end == f64::INFINITY {
            write!(f, "{}:", format_number(self.start))
        } else if self.start == 0.0 {
            f.write_str(&format_number(self.end))
        } else {
            write!(
                f,
                "{}:{}",
                format_number(self.start),
                format_number(self.end)
            )
        }
    }
}

/// One bound: a plain decimal number, else an optionally signed humantime
/// duration, converted to seconds. The error is the reason, without the
/// range text (the caller adds that).
fn parse_bound(tok: &str) -> Result<f64, String> {
    let value = if is_plain_decimal(tok) {
        // The grammar check above is a subset of what f64::from_str accepts
        // (and excludes `inf`/`nan`), so this only fails on a bug.
        tok.parse::<f64>()
            .map_err(|e| format!("bad number {tok:?} ({e})"))?
    } else {
        parse_signed_duration(tok)?
    };
    if !value.is_finite() {
        return Err(format!("{tok:?} is too large"));
    }
    Ok(value)
}

/// `[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?`, checked by hand to avoid a regex
/// dependency and to keep out what f64::from_str also takes (`inf`, `NaN`).
fn is_plain_decimal(s: &str) -> bool {
    let b = s.as_bytes();
    let digits_from = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let int_end = digits_from(i);
    let mut mantissa_digits = int_end - i;
    i = int_end;
    if b.get(i) == Some(&b'.') {
        let frac_end = digits_from(i + 1);
        mantissa_digits += frac_end - (i + 1);
        i = frac_end;
    }
    if mantissa_digits == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_end = digits_from(i);
        if exp_end == i {
            return false;
        }
        i = exp_end;
    }
    i == b.len()
}

/// `[-+]?<humantime>`; a leading `-` makes a negative number of seconds.
fn parse_signed_duration(tok: &str) -> Result<f64, String> {
    // Slicing after an ASCII sign byte is always on a char boundary.
    let (negative, rest) = match tok.as_bytes().first() {
        Some(b'-') => (true, &tok[1..]),
        Some(b'+') => (false, &tok[1..]),
        _ => (false, tok),
    };
    let d = humantime::parse_duration(rest)
        .map_err(|e| format!("{tok:?} is neither a number nor a duration ({e})"))?;
    let secs = d.as_secs_f64();
    Ok(if negative { -secs } else { secs })
}

#[cfg(test)]
mod tests {
    use super::*;

    const INF: f64 = f64::INFINITY;
    const NINF: f64 = f64::NEG_INFINITY;

    fn r(start: f64, end: f64, inside: bool) -> Range {
        Range { start, end, inside }
    }

    #[test]
    fn parse_valid() {
        let cases: &[(&str, Range)] = &[
            ("10", r(0.0, 10.0, false)),
            ("10:", r(10.0, INF, false)),
            ("~:10", r(NINF, 10.0, false)),
            ("10:20", r(10.0, 20.0, false)),
            ("@10:20", r(10.0, 20.0, true)),
            (":10", r(0.0, 10.0, false)),
            ("~:", r(NINF, INF, false)),
            ("@~:", r(NINF, INF, true)),
            ("@10", r(0.0, 10.0, true)),
            ("0:", r(0.0, INF, false)),
            ("-5:5", r(-5.0, 5.0, false)),
            ("~:-5", r(NINF, -5.0, false)),
            ("10:10", r(10.0, 10.0, false)),
            ("0", r(0.0, 0.0, false)),
            ("1e2", r(0.0, 100.0, false)),
            ("1E2", r(0.0, 100.0, false)),
            ("1e+2", r(0.0, 100.0, false)),
            ("-1e-1:0", r(-0.1, 0.0, false)),
            (".5", r(0.0, 0.5, false)),
            ("5.", r(0.0, 5.0, false)),
            ("+5", r(0.0, 5.0, false)),
            ("007", r(0.0, 7.0, false)),
            ("1.5", r(0.0, 1.5, false)),
            ("1e-400", r(0.0, 0.0, false)), // underflow to 0 is harmless
            // Whitespace anywhere is stripped, like Perl.
            (" 10", r(0.0, 10.0, false)),
            ("10: 20", r(10.0, 20.0, false)),
            (" @ ~ : 1 0 \t\n", r(NINF, 10.0, true)),
            // Durations.
            ("10m", r(0.0, 600.0, false)),
            ("1h30m", r(0.0, 5400.0, false)),
            ("1h 30m", r(0.0, 5400.0, false)),
            ("@1h:2h", r(3600.0, 7200.0, true)),
            ("~:10m", r(NINF, 600.0, false)),
            ("10m:", r(600.0, INF, false)),
            ("90s", r(0.0, 90.0, false)),
            ("2h", r(0.0, 7200.0, false)),
            ("1d", r(0.0, 86400.0, false)),
            ("500ms", r(0.0, 0.5, false)),
            ("5µs", r(0.0, 0.000005, false)),
            ("-10m:10m", r(-600.0, 600.0, false)),
            ("~:-1h", r(NINF, -3600.0, false)),
            ("30:1m", r(30.0, 60.0, false)),
        ];
        for (text, want) in cases {
            assert_eq!(Range::parse(text).as_ref(), Ok(want), "{text:?}");
            assert_eq!(text.parse::<Range>().as_ref(), Ok(want), "FromStr {text:?}");
        }
    }

    #[test]
    fn parse_invalid() {
        let cases = [
            "", " ", "\t\n", "~", "@", "@~", ":", "@:", "10:20:30", "10::", "::10", "10:~", "~:~",
            "~10", "~~:10", "@@10", "10@", "inf", "-inf", "~:inf", "infinity", "NaN", "nan:",
            "0x10", "0X1F", "1_000", "20:10", "-10", "@-10", "1h:30m", "1.2.3", "..:5", ".", "..",
            "1e2.5", "1e", "e2", "1e+", "+", "-", "--5", "+-5", "1e999", "-1e999:", "10x", "m",
            "10mm", "1h30", "-", "1,5", "１０", "10:é", "10µ", "🦀", "\u{0}", "abc", "10 m x",
            "-~:5",
        ];
        for text in cases {
            let e = Range::parse(text).expect_err(text);
            let msg = e.to_string();
            assert!(msg.contains(&format!("{text:?}")), "{msg} names {text:?}");
            assert!(!msg.contains('\n'), "one line: {msg}");
        }
    }

    #[test]
    fn parse_never_panics() {
        // Deterministic soup of awkward characters, including multi-byte ones
        // next to signs (slicing hazards) and humantime's `µ`.
        let atoms = [
            "@", "~", ":", "-", "+", ".", "e", "E", "1", "0", "9", "m", "h", "µ", "s", "é", "🦀",
            " ", "\u{a0}", "\u{0}", "x", "_",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            let mut s = String::new();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut bits = state;
            for _ in 0..(bits % 9) {
                bits /= 9;
                s.push_str(atoms[(bits % atoms.len() as u64) as usize]);
                bits /= atoms.len() as u64;
            }
            if let Ok(range) = Range::parse(&s) {
                // Anything accepted must be sane and round-trip.
                assert!(!range.start.is_nan() && !range.end.is_nan(), "{s:?}");
                assert!(range.start <= range.end, "{s:?}");
                assert_eq!(Range::parse(&range.to_string()), Ok(range), "{s:?}");
            }
        }
    }

    #[test]
    fn alerts_match_perl_table() {
        // Verdicts from Perl Monitoring::Plugin::Range (A = alert).
        let values = [
            -11.0, -1.0, 0.0, 5.0, 9.99, 10.0, 10.01, 15.0, 20.0, 21.0, 100.0, 101.0,
        ];
        let table = [
            ("10", "AA----AAAAAA"),
            ("10:", "AAAAA-------"),
            ("~:10", "------AAAAAA"),
            ("10:20", "AAAAA----AAA"),
            ("@10:20", "-----AAAA---"),
            ("@~:10", "AAAAAA------"),
            ("-5:5", "A---AAAAAAAA"),
            ("@10", "--AAAA------"),
            ("0:", "AA----------"),
            ("1e2", "AA---------A"),
        ];
        for (text, want) in table {
            let range = Range::parse(text).unwrap();
            let got: String = values
                .iter()
                .map(|&v| if range.alerts(v) { 'A' } else { '-' })
                .collect();
            assert_eq!(got, want, "{text:?}");
        }
    }

    #[test]
    fn alerts_edge_cases() {
        let never = Range::parse("~:").unwrap();
        let always = Range::parse("@~:").unwrap();
        for v in [NINF, -1e300, 0.0, 1e300, INF, f64::NAN] {
            assert!(!never.alerts(v), "~: {v}");
            assert!(always.alerts(v), "@~: {v}");
        }
        // NaN is outside every bounded range (same as Perl's comparisons).
        assert!(Range::parse("10").unwrap().alerts(f64::NAN));
        assert!(!Range::parse("@10").unwrap().alerts(f64::NAN));
        assert!(Range::parse("10:").unwrap().alerts(f64::NAN));
        // Durations compare in seconds.
        let lag = Range::parse("10m").unwrap();
        assert!(!lag.alerts(600.0));
        assert!(lag.alerts(600.001));
        assert!(Range::upper(300.0).alerts(300.5));
        assert!(!Range::upper(300.0).alerts(0.0));
        assert!(Range::upper(300.0).alerts(-0.5));
    }

    #[test]
    fn upper_helper() {
        assert_eq!(Range::upper(300.0), r(0.0, 300.0, false));
        assert_eq!(Range::upper(300.0).to_string(), "300");
    }

    #[test]
    fn display_canonical() {
        let cases = [
            ("0:300", "300"),
            ("300", "300"),
            ("10:", "10:"),
            ("0:", "0:"),
            ("-0:", "0:"),
            ("-0:5", "5"),
            ("~:300", "~:300"),
            ("~:", "~:"),
            ("@~:", "@~:"),
            ("@10:20", "@10:20"),
            ("@300", "@300"),
            ("1.5", "1.5"),
            ("1e2", "100"),
            ("1.25e0", "1.25"),
            ("-5:5", "-5:5"),
            ("~:-0", "~:0"),
            ("10m", "600"),
            ("@1h:2h", "@3600:7200"),
            ("500ms:1s", "0.5:1"),
            ("1e21", "1000000000000000000000"),
            ("1e-7", "0.0000001"),
            (".1:.3", "0.1:0.3"),
        ];
        for (text, want) in cases {
            let range = Range::parse(text).unwrap();
            let shown = range.to_string();
            assert_eq!(shown, want, "{text:?}");
            assert_eq!(Range::parse(&shown), Ok(range), "round trip {text:?}");
        }
    }

    #[test]
    fn display_never_prints_non_finite() {
        // Hand-built ranges that parse() cannot produce must still print numbers.
        for range in [
            r(INF, INF, false),
            r(NINF, NINF, true),
            r(f64::NAN, 1.0, false),
        ] {
            let shown = range.to_string();
            assert!(!shown.contains("inf") && !shown.contains("NaN"), "{shown}");
        }
    }

    #[test]
    fn format_number_forms() {
        let cases = [
            (600.0, "600"),
            (0.5, "0.5"),
            (1.25, "1.25"),
            (-0.0, "0"),
            (0.0, "0"),
            (-3.0, "-3"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e21, "1000000000000000000000"),
            (1e-7, "0.0000001"),
            (f64::NAN, "0"),
        ];
        for (v, want) in cases {
            assert_eq!(format_number(v), want, "{v:?}");
        }
        for v in [0.1, 1.0 / 3.0, 123_456.789, -2.5e-5, 5e-324, f64::MAX] {
            let s = format_number(v);
            assert!(!s.contains(['e', 'E']), "{s}");
            assert_eq!(s.parse::<f64>(), Ok(v), "{s}");
        }
        assert_eq!(format_number(INF), format_number(f64::MAX));
        assert_eq!(format_number(NINF), format!("-{}", format_number(f64::MAX)));
    }
}
