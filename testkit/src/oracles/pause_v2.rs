//! `pause_v2`: bytes as a K3 pause value (docs/etcd-layout.md#pause-marker), as a text
//! payload and as a protobuf payload of a PauseV2 marker.

use check_tidb_log_backup::pause::{self, Pause, Payload};
use check_tidb_log_backup::proto;

/// Standard base64 with padding (what Go and TiKV write), the oracle for `base64_decode`.
pub fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `decode_pause` on the raw bytes, then with the bytes as a text and as a protobuf
/// payload, against oracles: the payload decodes exactly as `base64_decode` and
/// `decode_backup_error` say, and `base64_decode` inverts standard base64.
pub fn check(data: &[u8]) {
    // 1. Arbitrary bytes as a K3 value: Ok or Err, never a panic.
    match pause::decode_pause(data) {
        Ok(Pause::V1) => assert!(data.is_empty(), "non-empty value decoded as PauseV1"),
        Ok(Pause::V2(p)) => {
            assert!(!data.is_empty(), "empty value decoded as PauseV2");
            assert_eq!(p.is_error(), p.severity == "ERROR");
            assert!(
                matches!(
                    p.severity.as_str(),
                    "ERROR" | "MANUAL" | "REGULAR_OPERATION"
                ),
                "severity {:?} decoded",
                p.severity
            );
            if let Payload::Error(_) = &p.payload {
                assert!(
                    p.payload_type.to_ascii_lowercase().contains("x-protobuf"),
                    "error payload from payload_type {:?}",
                    p.payload_type
                );
            }
        }
        // The three ways a marker is unreadable to BR too: not a PauseV2 JSON object, a
        // payload that is not base64, a severity that says neither who nor why.
        Err(e) => assert!(
            e.starts_with("invalid PauseV2 JSON")
                || e == "PauseV2 payload is not valid base64"
                || (e.starts_with("PauseV2 severity '")
                    && e.ends_with("' is neither MANUAL nor ERROR")),
            "unexpected error text {e}"
        ),
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(decoded) = pause::base64_decode(text) {
            let digits = text.trim_end_matches('=').len();
            assert_eq!(
                decoded.len(),
                digits * 6 / 8,
                "base64_decode length for {text:?}"
            );
        }
    }

    // 2. base64 round trip, padded and unpadded.
    let b64 = base64_encode(data);
    assert_eq!(
        pause::base64_decode(&b64).as_deref(),
        Some(data),
        "padded base64"
    );
    let unpadded = b64.trim_end_matches('=');
    assert_eq!(
        pause::base64_decode(unpadded).as_deref(),
        Some(data),
        "unpadded base64"
    );

    // 3. The bytes as a text payload (BR `log pause --message`).
    let value = serde_json::json!({
        "severity": "MANUAL",
        "operation_hostname": "h",
        "operation_pid": 1,
        "operation_time": "2024-01-01T00:00:00Z",
        "payload_type": "text/plain;charset=UTF-8",
        "payload": b64,
    });
    let Ok(Pause::V2(p)) = pause::decode_pause(value.to_string().as_bytes()) else {
        panic!("text PauseV2 not decoded")
    };
    assert_eq!(
        p.payload,
        Payload::Text(String::from_utf8_lossy(data).into_owned())
    );
    assert!(!p.is_error());

    // 4. The bytes as a protobuf payload (TiKV's fatal error), both parameter spellings.
    for payload_type in [
        "application/x-protobuf;messagetype=brpb.StreamBackupError",
        "application/x-protobuf; messageType=brpb.StreamBackupError",
    ] {
        let value = serde_json::json!({
            "payload": b64,
            "payload_type": payload_type,
            "severity": "ERROR",
        });
        let Ok(Pause::V2(p)) = pause::decode_pause(value.to_string().as_bytes()) else {
            panic!("protobuf PauseV2 not decoded")
        };
        assert!(p.is_error());
        match (proto::decode_backup_error(data), &p.payload) {
            (Ok(want), Payload::Error(got)) => assert_eq!(&want, got),
            (Err(_), Payload::Invalid(_)) => {}
            (want, got) => panic!("payload {got:?} but decode_backup_error says {want:?}"),
        }
    }
}
