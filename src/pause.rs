//! The pause marker (K3): empty value = PauseV1, JSON = PauseV2 (docs/etcd-layout.md#pause-marker).

use crate::proto::{decode_backup_error, StreamBackupError};
use serde::Deserialize;

/// A decoded pause marker. The key's existence alone means "paused".
#[derive(Debug, Clone, PartialEq)]
pub enum Pause {
    /// Empty value: written by older BR, TiKV < v8.5.5 and the pre-PauseV2 advancer.
    V1,
    V2(PauseV2),
}

#[derive(Debug, Clone, PartialEq)]
pub struct PauseV2 {
    /// `ERROR` (fatal, automatic) or `MANUAL`; kept as written.
    pub severity: String,
    pub operation_hostname: String,
    pub operation_pid: Option<i64>,
    /// RFC 3339 as the writer formatted it (Go: seconds and offset; TiKV: fractions).
    pub operation_time: String,
    pub payload_type: String,
    pub payload: Payload,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// No payload (Go writes `"payload_type":"","payload":null` for a pause without `--message`).
    None,
    Text(String),
    Error(StreamBackupError),
    /// The payload cannot be decoded (BR shows `pause-payload[errparse]`); the rest of
    /// the marker, severity included, still counts.
    Invalid(String),
}

impl PauseV2 {
    /// BR compares the severity with exactly `ERROR`.
    pub fn is_error(&self) -> bool {
        self.severity == "ERROR"
    }
}

#[derive(Deserialize)]
struct RawPauseV2 {
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    operation_hostname: Option<String>,
    #[serde(default)]
    operation_pid: Option<i64>,
    #[serde(default)]
    operation_time: Option<String>,
    #[serde(default)]
    payload_type: Option<String>,
    #[serde(default)]
    payload: Option<String>,
}

/// Decodes a K3 value. JSON that is not a PauseV2 object, a payload that is not base64
/// and a severity other than `MANUAL`/`ERROR` are errors (a manual pause cannot be told
/// from a failure); a payload that does not decode becomes [`Payload::Invalid`]. Key order is irrelevant (TiKV writes the payload fields in
/// HashMap order); unknown keys are ignored.
pub fn decode_pause(value: &[u8]) -> Result<Pause, String> {
    if value.is_empty() {
        return Ok(Pause::V1);
    }
    let raw: RawPauseV2 =
        serde_json::from_slice(value).map_err(|e| format!("invalid PauseV2 JSON: {e}"))?;
    // Go decodes the payload's base64 as part of the JSON document: a bad one makes the
    // whole marker unreadable to BR, severity included.
    let bytes = match raw.payload.as_deref() {
        None => Vec::new(),
        Some(text) => {
            base64_decode(text).ok_or_else(|| "PauseV2 payload is not valid base64".to_string())?
        }
    };
    let severity = raw.severity.unwrap_or_default();
    // ERROR, or an operator's pause: `MANUAL` (the constant's value) or
    // `REGULAR_OPERATION` (the constant's name, written by an early PauseV2 revision).
    // Anything else cannot be told apart.
    if !matches!(severity.as_str(), "ERROR" | "MANUAL" | "REGULAR_OPERATION") {
        return Err(format!(
            "PauseV2 severity '{severity}' is neither MANUAL nor ERROR"
        ));
    }
    let payload_type = raw.payload_type.unwrap_or_default();
    let payload = decode_payload(&payload_type, &bytes).unwrap_or_else(Payload::Invalid);
    Ok(Pause::V2(PauseV2 {
        severity,
        operation_hostname: raw.operation_hostname.unwrap_or_default(),
        operation_pid: raw.operation_pid,
        operation_time: raw.operation_time.unwrap_or_default(),
        payload_type,
        payload,
    }))
}

/// Go's `GetPayload`: the media type decides; parameter names compare case-insensitively
/// (BR writes `messagetype=`, TiKV `messageType=`).
fn decode_payload(payload_type: &str, bytes: &[u8]) -> Result<Payload, String> {
    if payload_type.trim().is_empty() {
        if bytes.is_empty() {
            return Ok(Payload::None);
        }
        return Err("PauseV2 payload has no payload_type".to_string());
    }
    let mut parts = payload_type.split(';');
    let main = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let mut message_type = None;
    for param in parts {
        if let Some((name, value)) = param.split_once('=') {
            if name.trim().eq_ignore_ascii_case("messagetype") {
                message_type = Some(value.trim().trim_matches('"').to_string());
            }
        }
    }
    match main.as_str() {
        "text/plain" => Ok(Payload::Text(String::from_utf8_lossy(bytes).into_owned())),
        "application/x-protobuf" => match message_type.as_deref() {
            Some("brpb.StreamBackupError") => decode_backup_error(bytes).map(Payload::Error),
            other => Err(format!(
                "PauseV2 protobuf payload has unsupported messagetype '{}'",
                other.unwrap_or("")
            )),
        },
        _ => Err(format!(
            "PauseV2 payload_type '{payload_type}' is not supported"
        )),
    }
}

/// Whether a text payload is the one the checkpoint advancer writes when its lag limit
/// pauses a task (docs/etcd-layout.md#pause-writers). pingcap/tidb:br/pkg/streamhelper/advancer.go
/// (`importantTick`, at d09bb7768d3411db204af494082c39fe7ee7ab08) builds it with
/// `fmt.Sprintf("The checkpoint is at %s, now it is %s, the lag is too huge (%s) hence pause the task to avoid impaction to the cluster", cp.Format(time.RFC3339), now.Format(time.RFC3339), now.Sub(cp))`.
/// Only that shape counts: both times RFC 3339, a Go duration in the parentheses. Any
/// other text, `br log pause --message …` written as an error included, is not the
/// advancer's.
pub fn is_advancer_lag_message(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("The checkpoint is at ") else {
        return false;
    };
    let Some(rest) = rest.strip_suffix(") hence pause the task to avoid impaction to the cluster")
    else {
        return false;
    };
    let Some((checkpoint, rest)) = rest.split_once(", now it is ") else {
        return false;
    };
    let Some((now, lag)) = rest.split_once(", the lag is too huge (") else {
        return false;
    };
    let rfc3339 = |s: &str| s.parse::<jiff::Timestamp>().is_ok();
    // Go's `Duration.String`: `48h2m0s`, `1.5s`, `300ms`, `1µs`, `-1m0s`, `0s`.
    let go_duration = !lag.is_empty()
        && lag.starts_with(|c: char| c.is_ascii_digit() || c == '-')
        && lag.chars().all(|c| {
            c.is_ascii_digit() || matches!(c, '.' | '-' | 'h' | 'm' | 's' | 'u' | 'µ' | 'n')
        });
    rfc3339(checkpoint) && rfc3339(now) && go_duration
}

/// Standard base64 (RFC 4648 alphabet, padding optional); `None` on any other byte.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_value_is_pause_v1() {
        assert_eq!(decode_pause(b""), Ok(Pause::V1));
    }

    #[test]
    fn br_manual_pause_with_text_message() {
        // V-e of docs/etcd-layout.md#worked-example-variants.
        let value = br#"{"severity":"MANUAL","operation_hostname":"br-host","operation_pid":12345,"operation_time":"2024-01-01T09:05:00+08:00","payload_type":"text/plain;charset=UTF-8","payload":"bWFpbnRlbmFuY2U="}"#;
        let Pause::V2(p) = decode_pause(value).unwrap() else {
            panic!("not V2")
        };
        assert_eq!(p.severity, "MANUAL");
        assert!(!p.is_error());
        assert_eq!(p.operation_hostname, "br-host");
        assert_eq!(p.operation_pid, Some(12345));
        assert_eq!(p.operation_time, "2024-01-01T09:05:00+08:00");
        assert_eq!(p.payload, Payload::Text("maintenance".into()));
    }

    #[test]
    fn br_manual_pause_without_message() {
        let value = br#"{"severity":"MANUAL","operation_hostname":"h","operation_pid":1,"operation_time":"2024-01-01T09:05:00Z","payload_type":"","payload":null}"#;
        let Pause::V2(p) = decode_pause(value).unwrap() else {
            panic!("not V2")
        };
        assert_eq!(p.payload, Payload::None);
    }

    #[test]
    fn tikv_fatal_error_pause_with_camel_case_parameter_and_any_key_order() {
        // V-f of docs/etcd-layout.md#worked-example-variants, with payload keys first (TiKV writes them in HashMap order).
        let value = br#"{"payload":"COjPopTMMRIPS1Y6TG9nQmFja3VwOklvGihbc3RvcmUgPSA0XSBJL08gZXJyb3I6IHBlcm1pc3Npb24gZGVuaWVkIAQ=","payload_type":"application/x-protobuf; messageType=brpb.StreamBackupError","severity":"ERROR","operation_hostname":"tikv-4","operation_pid":4242,"operation_time":"2024-01-01T08:59:45.123+08:00"}"#;
        let Pause::V2(p) = decode_pause(value).unwrap() else {
            panic!("not V2")
        };
        assert!(p.is_error());
        let Payload::Error(e) = p.payload else {
            panic!("not an error payload")
        };
        assert_eq!(e.error_code, "KV:LogBackup:Io");
        assert_eq!(e.store_id, 4);
        assert_eq!(e.happen_at, 1_704_070_785_000);
    }

    #[test]
    fn bad_pause_values_are_errors_with_a_reason() {
        let cases: [(&[u8], &str); 7] = [
            (b"{not json", "invalid PauseV2 JSON"),
            (br#"{"payload_type":"text/plain","payload":"***"}"#, "not valid base64"),
            (br#"{"severity":"MANUAL","payload_type":"image/png","payload":"AAAA"}"#, "not supported"),
            (br#"{"severity":"ERROR","payload_type":"application/x-protobuf;messagetype=other","payload":"AAAA"}"#, "unsupported messagetype"),
            (br#"{"severity":"ERROR","payload_type":"application/x-protobuf;messagetype=brpb.StreamBackupError","payload":"EkBB"}"#, "bad StreamBackupError"),
            (br#"{"severity":"FATAL","payload_type":"","payload":null}"#, "severity 'FATAL' is neither MANUAL nor ERROR"),
            (br#"{"payload_type":"","payload":null}"#, "severity '' is neither"),
        ];
        for (value, want) in cases {
            let reason = match decode_pause(value) {
                Err(e) => e,
                Ok(Pause::V2(PauseV2 {
                    payload: Payload::Invalid(e),
                    ..
                })) => e,
                other => panic!("{other:?}"),
            };
            assert!(reason.contains(want), "{reason} should mention {want}");
        }
        assert!(decode_pause(b"{not json").is_err());
        // Go decodes base64 with the document: a bad payload hides the severity too.
        assert!(decode_pause(br#"{"severity":"MANUAL","payload":"***"}"#).is_err());
    }

    #[test]
    fn only_the_advancers_own_text_is_its_lag_message() {
        // The text of fixtures/auto-pause-false.toml, as advancer.go formats it.
        let own = "The checkpoint is at 2023-12-30T01:00:00Z, now it is 2024-01-01T01:02:00Z, the lag is too huge (48h2m0s) hence pause the task to avoid impaction to the cluster";
        assert!(is_advancer_lag_message(own));
        // A TiDB in another time zone, a fractional duration.
        assert!(is_advancer_lag_message("The checkpoint is at 2023-12-30T09:00:00+08:00, now it is 2024-01-01T09:02:00+08:00, the lag is too huge (48h2m0.5s) hence pause the task to avoid impaction to the cluster"));
        for other in [
            "",
            "maintenance",
            "The checkpoint",
            "The checkpoint is at …",
            // An operator copying the beginning only.
            "The checkpoint is at 2023-12-30T01:00:00Z, please wait",
            // Not RFC 3339 times, not a Go duration.
            "The checkpoint is at yesterday, now it is today, the lag is too huge (48h2m0s) hence pause the task to avoid impaction to the cluster",
            "The checkpoint is at 2023-12-30T01:00:00Z, now it is 2024-01-01T01:02:00Z, the lag is too huge (two days) hence pause the task to avoid impaction to the cluster",
            "The checkpoint is at 2023-12-30T01:00:00Z, now it is 2024-01-01T01:02:00Z, the lag is too huge () hence pause the task to avoid impaction to the cluster",
            // Anything after the advancer's text.
            "The checkpoint is at 2023-12-30T01:00:00Z, now it is 2024-01-01T01:02:00Z, the lag is too huge (48h2m0s) hence pause the task to avoid impaction to the cluster; paused again by ops",
        ] {
            assert!(!is_advancer_lag_message(other), "{other:?}");
        }
    }

    #[test]
    fn base64_round_trip_cases() {
        assert_eq!(base64_decode("bWFpbnRlbmFuY2U=").unwrap(), b"maintenance");
        assert_eq!(base64_decode("YQ==").unwrap(), b"a");
        assert_eq!(base64_decode("YWI").unwrap(), b"ab");
        assert_eq!(base64_decode("").unwrap(), b"");
        assert_eq!(base64_decode("Y"), None);
        assert_eq!(base64_decode("YW-="), None);
    }
}
