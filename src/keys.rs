//! The `/tidb/br-stream/` key layout (docs/etcd-layout.md#key-catalogue) and key parsing.

pub const INFO: &[u8] = b"/tidb/br-stream/info/";
pub const PAUSE: &[u8] = b"/tidb/br-stream/pause/";
pub const CHECKPOINT: &[u8] = b"/tidb/br-stream/checkpoint/";
pub const STORAGE_CHECKPOINT: &[u8] = b"/tidb/br-stream/storage-checkpoint/";
pub const LAST_ERROR: &[u8] = b"/tidb/br-stream/last-error/";
pub const OWNER: &[u8] = b"/tidb/br-stream/owner/";
/// One JSON entry per live TiDB (its SQL and status addresses), keyed by DDL id.
pub const TIDB_SERVER_INFO: &[u8] = b"/tidb/server/info/";
/// PD's cluster id, 8-byte big-endian (read in the same snapshot to name the cluster).
pub const CLUSTER_ID: &[u8] = b"/pd/cluster_id";

/// BR's `PrefixNextKey`: the smallest key greater than every key with this prefix.
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    // All 0xff (never for our prefixes): etcd's "to the end of the keyspace".
    vec![0]
}

/// `<prefix><task>/` — the slash-terminated per-task prefix (K8 included: BR's slash-less
/// `StorageCheckpointOf` would also match other tasks whose name starts the same).
pub fn task_prefix(kind: &[u8], task: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(kind.len() + task.len() + 1);
    key.extend_from_slice(kind);
    key.extend_from_slice(task);
    key.push(b'/');
    key
}

/// Splits `<prefix><task>[/<rest>]` into the task and the rest (task names never hold `/`).
/// Returns `None` when the key does not start with the prefix.
pub fn split_task<'a>(key: &'a [u8], kind: &[u8]) -> Option<(&'a [u8], Option<&'a [u8]>)> {
    let tail = key.strip_prefix(kind)?;
    match tail.iter().position(|&b| b == b'/') {
        Some(i) => Some((&tail[..i], Some(&tail[i + 1..]))),
        None => Some((tail, None)),
    }
}

/// One key under `checkpoint/<task>/`, per BR's `ParseCheckpoint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointKey {
    /// K4 `central_global`, written by the advancer (v6.2+).
    Global,
    /// K5 `store/<id>` (v6.2–v7.0; stays at start_ts in the default mode).
    Store(u64),
    /// K6 `region/<id>/<version>` (v6.2–v6.3, non-default); only ever counted.
    Region,
    /// K7: 8 raw bytes, a big-endian store id (v6.1).
    Legacy(u64),
}

/// Parses the part after `checkpoint/<task>/`.
pub fn parse_checkpoint_key(rest: &[u8]) -> Result<CheckpointKey, String> {
    if rest == b"central_global" {
        return Ok(CheckpointKey::Global);
    }
    let segments: Vec<&[u8]> = rest.split(|&b| b == b'/').collect();
    match segments[0] {
        b"store" if segments.len() == 2 => parse_store_id(segments[1]).map(CheckpointKey::Store),
        b"store" => Err("store checkpoint key needs exactly store/<id>".to_string()),
        b"region" if segments.len() == 3 => {
            parse_store_id(segments[1])?;
            parse_store_id(segments[2])?;
            Ok(CheckpointKey::Region)
        }
        b"region" => Err("region checkpoint key needs exactly region/<id>/<version>".to_string()),
        // Only the length tells a legacy key apart: small ids are valid UTF-8 (NUL bytes).
        _ => match <[u8; 8]>::try_from(rest) {
            Ok(id) => Ok(CheckpointKey::Legacy(u64::from_be_bytes(id))),
            Err(_) => Err(format!(
                "unrecognised checkpoint key suffix of {} bytes (want central_global, store/<id>, region/<id>/<ver> or an 8-byte store id)",
                rest.len()
            )),
        },
    }
}

/// A decimal store id as TiKV writes it (no sign, no padding rules enforced beyond u64).
pub fn parse_store_id(text: &[u8]) -> Result<u64, String> {
    let valid = !text.is_empty() && text.iter().all(u8::is_ascii_digit);
    let parsed = if valid {
        std::str::from_utf8(text)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
    } else {
        None
    };
    parsed.ok_or_else(|| format!("store id '{}' is not a decimal number", display_key(text)))
}

/// A key as text for messages: printable ASCII kept, everything else `\xNN`, and `|`
/// escaped too so a key can never break Nagios output.
pub fn display_key(key: &[u8]) -> String {
    let mut out = String::with_capacity(key.len());
    for &b in key {
        if (0x20..0x7f).contains(&b) && b != b'|' && b != b'\\' {
            out.push(b as char);
        } else {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_matches_the_reference_examples() {
        assert_eq!(
            prefix_end(b"/tidb/br-stream/checkpoint/pitr/"),
            b"/tidb/br-stream/checkpoint/pitr0"
        );
        assert_eq!(prefix_end(b"a\xff\xff"), b"b");
        assert_eq!(prefix_end(b"\xff"), b"\x00");
    }

    #[test]
    fn splits_task_and_rest() {
        assert_eq!(
            split_task(b"/tidb/br-stream/pause/pitr", PAUSE),
            Some((&b"pitr"[..], None))
        );
        assert_eq!(
            split_task(
                b"/tidb/br-stream/storage-checkpoint/pitr/1001",
                STORAGE_CHECKPOINT
            ),
            Some((&b"pitr"[..], Some(&b"1001"[..])))
        );
        assert_eq!(split_task(b"/other", PAUSE), None);
    }

    #[test]
    fn parses_every_checkpoint_key_era() {
        let legacy = [0, 0, 0, 0, 0, 0, 0, 4];
        let slash_in_legacy = [0, 0, 0, 0, 0, 0, 0, b'/'];
        let cases: Vec<(&[u8], Result<CheckpointKey, ()>)> = vec![
            (b"central_global", Ok(CheckpointKey::Global)),
            (b"store/1001", Ok(CheckpointKey::Store(1001))),
            (b"region/12/3", Ok(CheckpointKey::Region)),
            (&legacy, Ok(CheckpointKey::Legacy(4))),
            (&slash_in_legacy, Ok(CheckpointKey::Legacy(47))),
            (b"store/x1", Err(())),
            (b"store/", Err(())),
            (b"store/1/2", Err(())),
            (b"region/1", Err(())),
            (b"1234567", Err(())),
            (b"123456789", Err(())),
        ];
        for (rest, want) in cases {
            assert_eq!(
                parse_checkpoint_key(rest).map_err(|_| ()),
                want,
                "{}",
                display_key(rest)
            );
        }
    }

    #[test]
    fn store_ids_must_be_decimal() {
        assert_eq!(parse_store_id(b"4"), Ok(4));
        assert!(parse_store_id(b"-4").is_err());
        assert!(parse_store_id(b"0x4").is_err());
        assert!(parse_store_id(b"99999999999999999999").is_err());
    }

    #[test]
    fn display_key_escapes_binary_and_pipes() {
        assert_eq!(display_key(b"/a/\x00\x04|x"), "/a/\\x00\\x04\\x7cx");
    }
}
