//! Meta file names under `v1/backupmeta/`, of every TiKV era, and what they tell without
//! a download: when the flush happened (docs/storage.md#meta-file-names).
//!
//! - legacy, v6.1–v8.5.2: `{min_resolved_ts decimal}-{uuid}.meta`;
//! - v8.5.3+: `{flush_ts:016X}-{min_begin_ts:016X}-{min_ts:016X}-{max_ts:016X}.meta`,
//!   v8.5.5+ optionally with `-SYNTHETIC{uuid}` (no TSO from PD: flush_ts is local);
//! - v8.5.6+: `{flush_ts:016X}{store_id:016X}-d{…}l{…}u{…}[p{flags:016X}].meta`.
//!
//! Hex names sort by flush_ts, and before every legacy decimal name (TSOs today start
//! `06…`, decimal ones `4…`).

/// What a meta file name says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetaName {
    /// The flush's TSO (hex forms), or the store's min resolved ts (legacy form).
    pub ts: u64,
    /// The tagged form names its store.
    pub store_id: Option<u64>,
    /// flush_ts 0 (a flush during a PD outage on v8.5.3/v8.5.4) or `-SYNTHETIC`.
    pub suspicious: bool,
}

fn hex16(text: &str) -> Option<u64> {
    (text.len() == 16 && text.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| u64::from_str_radix(text, 16).ok())
        .flatten()
}

/// The file name (no directory); `None` when it is no meta name of any era.
pub fn parse(name: &str) -> Option<MetaName> {
    let stem = name.strip_suffix(".meta")?;
    let (first, rest) = stem.split_once('-')?;
    if first.len() == 32 {
        // Tagged: flush_ts then store_id, then `d…l…u…[p…]`.
        let flush = hex16(&first[..16])?;
        let store = hex16(&first[16..])?;
        rest.strip_prefix('d')?;
        return Some(MetaName {
            ts: flush,
            store_id: Some(store),
            suspicious: flush == 0,
        });
    }
    if let Some(flush) = hex16(first) {
        let fields: Vec<&str> = rest.split('-').collect();
        if fields.len() >= 3 && fields[..3].iter().all(|f| hex16(f).is_some()) {
            let synthetic = fields.get(3).is_some_and(|f| f.starts_with("SYNTHETIC"));
            return Some(MetaName {
                ts: flush,
                store_id: None,
                suspicious: flush == 0 || synthetic,
            });
        }
    }
    if !first.is_empty() && first.bytes().all(|b| b.is_ascii_digit()) {
        return Some(MetaName {
            ts: first.parse().ok()?,
            store_id: None,
            suspicious: false,
        });
    }
    None
}

/// Where a listing for metas flushed after `ts` starts: the hex form of `ts` (legacy
/// decimal names all sort after it, so they are listed too).
pub fn list_offset(ts: u64) -> String {
    format!("v1/backupmeta/{ts:016X}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_era_of_meta_names() {
        let flush = 0x0648_2B3A_5C00_0000_u64;
        for (name, want) in [
            (
                "449231187066716161-0b5c3c2e-7c4e-4a3b-9d3c-1f5e6a7b8c9d.meta".to_string(),
                Some((449_231_187_066_716_161, None, false)),
            ),
            (
                format!("{flush:016X}-{:016X}-{:016X}-{:016X}.meta", 1, 2, 3),
                Some((flush, None, false)),
            ),
            (
                format!(
                    "{flush:016X}-{:016X}-{:016X}-{:016X}-SYNTHETIC{:X}.meta",
                    1, 2, 3, 77
                ),
                Some((flush, None, true)),
            ),
            (
                format!("{:016X}-{:016X}-{:016X}-{:016X}.meta", 0, 1, 2, 3),
                Some((0, None, true)),
            ),
            (
                format!(
                    "{flush:016X}{:016X}-d{:016X}l{:016X}u{:016X}.meta",
                    4, 1, 2, 3
                ),
                Some((flush, Some(4), false)),
            ),
            (
                format!(
                    "{flush:016X}{:016X}-d{:016X}l{:016X}u{:016X}p{:016X}.meta",
                    4, 1, 2, 3, 2
                ),
                Some((flush, Some(4), false)),
            ),
            ("backup.lock".to_string(), None),
            ("x-y.meta".to_string(), None),
            ("0123-abc.meta".to_string(), Some((123, None, false))),
        ] {
            let got = parse(&name).map(|m| (m.ts, m.store_id, m.suspicious));
            assert_eq!(got, want, "{name}");
        }
        assert!(list_offset(flush) < format!("v1/backupmeta/{flush:016X}-"));
        assert!(list_offset(flush).as_str() < "v1/backupmeta/449231187066716161-x.meta");
    }
}
