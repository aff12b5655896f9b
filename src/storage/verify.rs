//! `--verify`: prove, a few requests at a time, that every data file the log chain's metas
//! reference is there whole (docs/storage.md#verify). Each run starts after the last meta
//! fully checked (the state file's cursor), reads the metas written since, and checks
//! their files through LISTs of the hours that hold them, within `--verify-budget`
//! requests; the cursor advances only past metas whose every file was checked. A file
//! found missing or short is re-checked every run until it is back.

use crate::proto;
use crate::statefile::{MissingFile, VerifyState};
use prost::Message;
use std::collections::BTreeMap;

/// What verification needs of a storage (the reader implements it, with its caps and
/// page budget).
pub(super) trait Reader {
    /// The whole object, or `None` when it does not exist.
    async fn object(&self, path: &str) -> Result<Option<Vec<u8>>, String>;
    /// Every (key, size) under `prefix` after `offset`; whether the page budget cut it.
    async fn keys(
        &self,
        prefix: &str,
        offset: Option<&str>,
        f: impl FnMut(String, u64),
    ) -> Result<bool, String>;
    /// Requests sent so far.
    fn sent(&self) -> u32;
}

/// What one run of verification found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verified {
    /// The progress to keep for the next run.
    pub state: VerifyState,
    /// Metas checked in this run.
    pub metas: usize,
    /// Metas after the cursor still to check (at least: a cut listing counts what it saw).
    pub backlog: usize,
    /// A meta that does not decode: the chain is unverified from it.
    pub undecodable: Option<String>,
    /// Requests this run spent.
    pub requests: u32,
}

/// A referenced data file.
struct Reference {
    path: String,
    length: u64,
    min_ts: u64,
    max_ts: u64,
}

/// The data files a meta references (V2 groups, else V1 files).
fn references(bytes: &[u8]) -> Result<Vec<Reference>, String> {
    let meta = proto::Metadata::decode(bytes).map_err(|e| e.to_string())?;
    let mut out: Vec<Reference> = meta
        .file_groups
        .iter()
        .map(|g| Reference {
            path: g.path.clone(),
            length: g.length,
            min_ts: g.min_ts,
            max_ts: g.max_ts,
        })
        .collect();
    if out.is_empty() {
        out = meta
            .files
            .iter()
            .map(|f| Reference {
                path: f.path.clone(),
                length: f.length,
                min_ts: f.min_ts,
                max_ts: f.max_ts,
            })
            .collect();
    }
    Ok(out)
}

/// The prefix listed to find `path`: its hour (`v1/<date>/<hour>/`, every store's files
/// of that hour in a few pages) when the path has one, else its directory.
fn listing_prefix(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').collect();
    let is_hour = parts.len() > 4
        && parts[0] == "v1"
        && parts[1].len() == 8
        && parts[1].bytes().all(|b| b.is_ascii_digit())
        && parts[2].len() == 2
        && parts[2].bytes().all(|b| b.is_ascii_digit());
    if is_hour {
        format!("v1/{}/{}", parts[1], parts[2])
    } else {
        path.rsplit_once('/')
            .map_or(String::new(), |(d, _)| d.to_string())
    }
}

/// The sizes of every object under the prefixes of `paths`, one listing per prefix.
async fn sizes<R: Reader>(
    reader: &R,
    paths: impl Iterator<Item = String>,
) -> Result<BTreeMap<String, u64>, String> {
    let prefixes: std::collections::BTreeSet<String> = paths.map(|p| listing_prefix(&p)).collect();
    let mut found = BTreeMap::new();
    for prefix in prefixes {
        reader
            .keys(&prefix, None, |key, size| {
                found.insert(key, size);
            })
            .await?;
    }
    Ok(found)
}

/// One run: re-check what was missing, then the metas after the cursor, within `budget`
/// requests. `truncated_to`: data before it is gone on purpose, so a file there no
/// longer matters.
pub(super) async fn verify<R: Reader>(
    reader: &R,
    from: &VerifyState,
    budget: u32,
    truncated_to: u64,
) -> Result<Verified, String> {
    let start = reader.sent();
    let used = |r: &R| r.sent().saturating_sub(start);
    let mut state = from.clone();
    state.missing.retain(|m| m.min_ts >= truncated_to);
    // Files found missing before: back, or still missing.
    if !state.missing.is_empty() {
        let found = sizes(reader, state.missing.iter().map(|m| m.path.clone())).await?;
        state.missing.retain_mut(|m| {
            m.have = found.get(&m.path).copied();
            m.have.is_none_or(|have| have < m.need)
        });
    }
    // The metas written since the cursor, in key (= flush) order.
    let mut metas: Vec<String> = Vec::new();
    let cut = reader
        .keys("v1/backupmeta", state.cursor.as_deref(), |key, _| {
            if key.ends_with(".meta") {
                metas.push(key);
            }
        })
        .await?;
    // In key (= flush) order whatever the server's listing order (a local directory's is
    // the file system's): the cursor must be the greatest key checked.
    metas.sort();
    let mut out = Verified::default();
    // Read metas while the budget lasts, keeping room for the listings of their hours.
    let mut batch: Vec<(String, Vec<Reference>)> = Vec::new();
    let mut hours: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for key in &metas {
        if used(reader) + hours.len() as u32 + 2 > budget {
            break;
        }
        let Some(bytes) = reader.object(key).await? else {
            continue; // removed by a truncation since the listing
        };
        match references(&bytes) {
            Ok(refs) => {
                hours.extend(refs.iter().map(|r| listing_prefix(&r.path)));
                batch.push((key.clone(), refs));
            }
            Err(e) => {
                out.undecodable = Some(format!("{key} does not decode ({e})"));
                break;
            }
        }
    }
    let found = sizes(
        reader,
        batch
            .iter()
            .flat_map(|(_, refs)| refs.iter().map(|r| r.path.clone()))
            .collect::<Vec<_>>()
            .into_iter(),
    )
    .await?;
    for (key, refs) in &batch {
        for r in refs {
            let have = found.get(&r.path).copied();
            if have.is_none_or(|h| h < r.length) && r.min_ts >= truncated_to {
                state.missing.push(MissingFile {
                    path: r.path.clone(),
                    meta: key.clone(),
                    need: r.length,
                    have,
                    min_ts: r.min_ts,
                });
            }
            state.recent.push((r.max_ts, r.length));
            state.verified_to_ts = state.verified_to_ts.max(r.max_ts);
        }
        state.cursor = Some(key.clone());
        out.metas += 1;
    }
    // Keep one hour of sizes for `log_bytes_per_hour`.
    let hour_ago = crate::tso::from_physical_ms(
        crate::tso::physical_ms(state.verified_to_ts).saturating_sub(3_600_000),
    );
    state.recent.retain(|(ts, _)| *ts > hour_ago);
    out.backlog = metas.len() - out.metas + usize::from(cut);
    out.requests = used(reader);
    out.state = state;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_listed_by_their_hour() {
        assert_eq!(
            listing_prefix("v1/20240101/00/1/446711-uuid.log"),
            "v1/20240101/00"
        );
        assert_eq!(
            listing_prefix("v1/t00000071/20240101-x.log"),
            "v1/t00000071"
        );
        assert_eq!(listing_prefix("top.log"), "");
    }

    #[test]
    fn v2_groups_else_v1_files() {
        let v2 = proto::Metadata {
            files: vec![],
            store_id: 1,
            max_ts: 9,
            min_ts: 1,
            file_groups: vec![proto::DataFileGroup {
                path: "v1/20240101/00/1/a.log".into(),
                min_ts: 1,
                max_ts: 9,
                length: 100,
            }],
        };
        let refs = references(&v2.encode_to_vec()).unwrap();
        assert_eq!(
            (refs[0].path.as_str(), refs[0].length),
            ("v1/20240101/00/1/a.log", 100)
        );
        let v1 = proto::Metadata {
            files: vec![proto::DataFileInfo {
                path: "v1/t1/b.log".into(),
                min_ts: 2,
                max_ts: 3,
                length: 7,
            }],
            file_groups: vec![],
            ..v2
        };
        let refs = references(&v1.encode_to_vec()).unwrap();
        assert_eq!((refs[0].path.as_str(), refs[0].length), ("v1/t1/b.log", 7));
        assert!(references(b"\xff\xff").is_err());
    }
}
