//! `checkpoint_key`: bytes as a checkpoint key suffix and after each real prefix
//! (docs/etcd-layout.md#checkpoint-keys).

use check_tidb_log_backup::keys::{self, CheckpointKey};

/// Inverse of `display_key` (`\xNN` for everything but printable ASCII other than `|`, `\`).
fn undisplay_key(text: &str) -> Vec<u8> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            assert!(
                i + 4 <= b.len() && b[i + 1] == b'x',
                "bad escape in {text:?}"
            );
            let hex = std::str::from_utf8(&b[i + 2..i + 4]).unwrap();
            out.push(u8::from_str_radix(hex, 16).expect("hex escape"));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

fn is_decimal_u64(text: &[u8]) -> Option<u64> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// Key parsing: no panic; results agree with a straightforward re-statement of the
/// grammar; `display_key` is printable, `|`-free and reversible.
pub fn check(data: &[u8]) {
    let shown = keys::display_key(data);
    assert!(
        shown
            .bytes()
            .all(|b| (0x20..0x7f).contains(&b) && b != b'|'),
        "display_key {shown:?}"
    );
    assert_eq!(undisplay_key(&shown), data, "display_key is not reversible");

    match (keys::parse_store_id(data), is_decimal_u64(data)) {
        (Ok(a), Some(b)) => assert_eq!(a, b),
        (Err(e), None) => assert!(!e.contains('|') && !e.contains('\n'), "{e:?}"),
        (got, want) => panic!("parse_store_id {got:?}, want {want:?}"),
    }

    let parsed = keys::parse_checkpoint_key(data);
    let segments: Vec<&[u8]> = data.split(|&b| b == b'/').collect();
    let want = if data == b"central_global" {
        Some(CheckpointKey::Global)
    } else if segments[0] == b"store" {
        (segments.len() == 2)
            .then(|| is_decimal_u64(segments[1]).map(CheckpointKey::Store))
            .flatten()
    } else if segments[0] == b"region" {
        (segments.len() == 3
            && is_decimal_u64(segments[1]).is_some()
            && is_decimal_u64(segments[2]).is_some())
        .then_some(CheckpointKey::Region)
    } else if data.len() == 8 {
        Some(CheckpointKey::Legacy(u64::from_be_bytes(
            data.try_into().unwrap(),
        )))
    } else {
        None
    };
    match (&parsed, want) {
        (Ok(got), Some(want)) => assert_eq!(*got, want),
        (Err(e), None) => assert!(!e.contains('|') && !e.contains('\n'), "{e:?}"),
        (got, want) => panic!("parse_checkpoint_key {got:?}, want {want:?}"),
    }

    for prefix in [
        keys::INFO,
        keys::PAUSE,
        keys::CHECKPOINT,
        keys::STORAGE_CHECKPOINT,
        keys::LAST_ERROR,
        keys::OWNER,
    ] {
        // The bytes as a whole key, and as the part after a real prefix.
        let mut full = prefix.to_vec();
        full.extend_from_slice(data);
        for key in [data, &full[..]] {
            match keys::split_task(key, prefix) {
                None => assert!(!key.starts_with(prefix)),
                Some((task, rest)) => {
                    assert!(!task.contains(&b'/'), "task with a slash");
                    let mut joined = prefix.to_vec();
                    joined.extend_from_slice(task);
                    if let Some(rest) = rest {
                        joined.push(b'/');
                        joined.extend_from_slice(rest);
                    }
                    assert_eq!(joined, key, "split_task does not rebuild the key");
                    let task_prefix = keys::task_prefix(prefix, task);
                    assert_eq!(rest.is_some(), key.starts_with(&task_prefix));
                }
            }
        }
        let end = keys::prefix_end(&full);
        assert!(end.as_slice() > full.as_slice() || end == [0], "prefix_end");
    }
}
