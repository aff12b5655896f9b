//! Byte builders shared by the pure decode and rule tests: hex, TSOs, key-value pairs and
//! a minimal protobuf encoder (varint and length-delimited fields).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use check_tidb_log_backup::snapshot::Kv;

pub fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// The TSO of a Unix time in milliseconds (physical << 18, logical 0).
pub fn tso(unix_ms: u64) -> u64 {
    unix_ms << 18
}

/// The TSO of a wall-clock time (physical milliseconds << 18, logical 0).
pub fn tso_at(time: SystemTime) -> u64 {
    tso(time.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64)
}

/// The TSO of an RFC 3339 UTC time (`2024-01-01T00:00:00Z`); panics on a bad time.
pub fn tso_rfc3339(time: &str) -> u64 {
    tso_at(humantime::parse_rfc3339(time).unwrap_or_else(|e| panic!("{time}: {e}")))
}

/// The physical part of a TSO, in Unix milliseconds.
pub fn tso_unix_ms(ts: u64) -> u64 {
    ts >> 18
}

/// A duration in TSO units (to add to or subtract from a TSO).
pub fn tso_span(span: Duration) -> u64 {
    tso(span.as_millis() as u64)
}

/// A TSO's UTC time as RFC 3339 with seconds (`2024-01-01T00:59:30Z`).
pub fn tso_time(ts: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(tso_unix_ms(ts)))
        .to_string()
}

pub fn be(ts: u64) -> Vec<u8> {
    ts.to_be_bytes().to_vec()
}

pub fn kv(key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Kv {
    Kv {
        key: key.as_ref().to_vec(),
        value: value.as_ref().to_vec(),
    }
}

pub fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub fn field_varint(tag: u32, v: u64, out: &mut Vec<u8>) {
    varint(u64::from(tag) << 3, out);
    varint(v, out);
}

pub fn field_bytes(tag: u32, bytes: &[u8], out: &mut Vec<u8>) {
    varint((u64::from(tag) << 3) | 2, out);
    varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

/// A `StreamBackupError` (kvproto brpb: happen_at 1, error_code 2, error_message 3,
/// store_id 4), as TiKV writes it under `last-error/`.
pub fn backup_error(happen_at: u64, code: &str, message: &str, store_id: u64) -> Vec<u8> {
    let mut out = Vec::new();
    field_varint(1, happen_at, &mut out);
    field_bytes(2, code.as_bytes(), &mut out);
    field_bytes(3, message.as_bytes(), &mut out);
    field_varint(4, store_id, &mut out);
    out
}

/// An S3 backend's keys as a task info holds them (kvproto backup.S3: access_key 8,
/// secret_access_key 9, session_token 15).
pub struct S3Keys<'a> {
    pub access_key: &'a str,
    pub secret_access_key: &'a str,
    pub session_token: &'a str,
}

/// A running task's info (`StreamBackupTaskInfo`: storage 1, start_ts 2, end_ts 3, name
/// 4, table_filter 5, compression 6) whose storage is S3 (backend 3: endpoint 1, region
/// 2, bucket 3, prefix 4, force_path_style 10), with `keys` when given.
pub fn s3_task_info(
    name: &str,
    start_ts: u64,
    bucket: &str,
    prefix: &str,
    endpoint: &str,
    keys: Option<S3Keys>,
) -> Vec<u8> {
    let mut s3 = Vec::new();
    field_bytes(1, endpoint.as_bytes(), &mut s3);
    field_bytes(2, b"us-east-1", &mut s3);
    field_bytes(3, bucket.as_bytes(), &mut s3);
    field_bytes(4, prefix.as_bytes(), &mut s3);
    if let Some(k) = keys {
        field_bytes(8, k.access_key.as_bytes(), &mut s3);
        field_bytes(9, k.secret_access_key.as_bytes(), &mut s3);
        field_bytes(15, k.session_token.as_bytes(), &mut s3);
    }
    field_varint(10, 1, &mut s3);
    let mut storage = Vec::new();
    field_bytes(3, &s3, &mut storage);
    let mut out = Vec::new();
    field_bytes(1, &storage, &mut out);
    field_varint(2, start_ts, &mut out);
    field_varint(3, 999_999_999_999_999_999, &mut out);
    field_bytes(4, name.as_bytes(), &mut out);
    field_bytes(5, b"*.*", &mut out);
    field_varint(6, 3, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "2024-01-01T00:59:30Z";

    #[test]
    fn tso_helpers() {
        let ts = tso_rfc3339(T);
        assert_eq!(ts, 446711927930880000); // docs' worked example
        assert_eq!(tso_time(ts), T);
        assert_eq!(tso_unix_ms(ts), 1704070770000);
        assert_eq!(tso_span(Duration::from_secs(1)), 1000 << 18);
    }
}
