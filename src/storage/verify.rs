//! `--verify`: prove, a few requests at a time, that every data file the log chain's metas
//! reference is there (docs/storage.md#verify). Each run starts after the last meta
//! checked (the state file's cursor) and goes through the metas written since, in key
//! (= flush) order, within `--verify-budget` requests; the cursor advances only past
//! metas whose files were all found. A file found missing or short is re-checked every
//! run until it is back.
//!
//! A meta is checked one of two ways:
//! - **whole**: GET the meta, then find every file it references, at least as long as it
//!   says, in the listing of the file's hour (one LIST page holds 1,000 files of every
//!   store);
//! - **by name** (v8.5.6+ tagged names on an object store): the name gives the store,
//!   min_ts and max_ts, and TiKV names the data file of a one-group flush
//!   `v1/<date(max_ts)>/<hour(max_ts)>/<store>/[schema-meta/]<min_ts>-<uuid>.log`
//!   (tikv/tikv components/backup-stream/src/router.rs `path_to_log_file`): that file in
//!   the hour's listing proves the meta without its GET. Not found, the meta is checked
//!   whole. What it does not prove: the file's length and a multi-group flush's other
//!   files; so each run then tops its requests up to [`WHOLE_SHARE`] with whole checks
//!   of the metas it proved by name.
//!
//! A local directory is always checked whole (its "requests" are file reads, and a file
//! there can be short after a partial write), as is every meta with `--verify-lengths`.

use super::names;
use crate::proto;
use crate::statefile::{MissingFile, VerifyState};
use prost::Message;
use std::collections::{BTreeMap, BTreeSet};

/// The requests a run's verification spends at least, when there is work: after the
/// checks by name, whole checks of the metas proven by name fill the run up to this.
pub const WHOLE_SHARE: u32 = 10;

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
    /// A local directory: requests are file reads, and files can be short.
    fn local(&self) -> bool;
    /// The run's time for verification is over: start nothing more (a listing under way
    /// stops as if its page budget were spent).
    fn time_is_up(&self) -> bool;
    /// When the time is up from now on.
    fn stop_at(&self, at: std::time::Instant);
}

/// How one run may verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `--verify-budget`: requests per run.
    pub budget: u32,
    /// `--verify-lengths`: every meta whole, none by name.
    pub whole_only: bool,
    /// Data before it is gone on purpose (the truncation point): its files no longer
    /// matter.
    pub truncated_to: u64,
    /// Start nothing after this; the listing of new metas stops halfway there, so that a
    /// slow storage still checks what it listed (progress every run).
    pub until: Option<std::time::Instant>,
}

/// What one run of verification found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verified {
    /// The progress to keep for the next run.
    pub state: VerifyState,
    /// Metas checked in this run.
    pub metas: usize,
    /// Of those, the metas proven by name only (their file found; its length and any
    /// other file of the flush not read).
    pub by_name: usize,
    /// Metas after the cursor still to check (at least: a cut listing counts what it saw).
    pub backlog: usize,
    /// A meta that does not decode: the chain is unverified from it.
    pub undecodable: Option<String>,
    /// Requests this run spent.
    pub requests: u32,
    /// The run's time ran out before a request answered: nothing was verified in this
    /// run (`state` is the previous run's).
    pub timed_out: bool,
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

/// The prefix listed to find `path`: its hour (`v1/<date>/<hour>`, every store's files
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

/// `v1/<YYYYMMDD>/<HH>`: the hour TiKV files data whose max_ts is `ts` under (UTC).
fn hour_of(ts: u64) -> String {
    let t = crate::tso::rfc3339_ms(crate::tso::physical_ms(ts)); // 2024-01-01T00:59:30.000Z
    format!("v1/{}{}{}/{}", &t[..4], &t[5..7], &t[8..10], &t[11..13])
}

/// What a tagged meta name (v8.5.6+) says of its flush's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Named {
    store_id: u64,
    min_ts: u64,
    max_ts: u64,
    /// Flag bit 1: the meta references no file at all.
    empty: bool,
}

/// `{flush_ts:016X}{store_id:016X}-d{min_begin_ts:016X}l{min_ts:016X}u{max_ts:016X}[p{flags:016X}]`.
fn named(key: &str) -> Option<Named> {
    let name = key.rsplit('/').next()?;
    let meta = names::parse(name)?;
    let store_id = meta.store_id?;
    let stem = name.strip_suffix(".meta")?;
    let tags = stem.split_once('-')?.1;
    let field = |tag: char| -> Option<u64> {
        let at = tags.find(tag)?;
        let hex = tags.get(at + 1..at + 17)?;
        (hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| u64::from_str_radix(hex, 16).ok())
            .flatten()
    };
    let flags = if tags.contains('p') { field('p')? } else { 0 };
    Some(Named {
        store_id,
        min_ts: field('l')?,
        max_ts: field('u')?,
        empty: flags & 2 != 0,
    })
}

/// The listings of one run: key → size under each prefix listed, and the prefixes whose
/// listing the page budget cut (a file not seen there is not known to be absent).
#[derive(Default)]
struct Listed {
    sizes: BTreeMap<String, u64>,
    done: BTreeSet<String>,
    cut: BTreeSet<String>,
}

impl Listed {
    async fn ensure<R: Reader>(&mut self, reader: &R, prefix: &str) -> Result<(), String> {
        if self.done.contains(prefix) {
            return Ok(());
        }
        let sizes = &mut self.sizes;
        let cut = reader
            .keys(prefix, None, |key, size| {
                sizes.insert(key, size);
            })
            .await?;
        if cut {
            self.cut.insert(prefix.to_string());
        }
        self.done.insert(prefix.to_string());
        Ok(())
    }

    /// The size of the first listed `.log` file whose key starts with `start`.
    fn log_starting(&self, start: &str) -> Option<u64> {
        self.sizes
            .range(start.to_string()..)
            .take_while(|(k, _)| k.starts_with(start))
            .find(|(k, _)| k.ends_with(".log"))
            .map(|(_, size)| *size)
    }

    /// The size of `path`, listing its hour when not yet listed; when that listing was
    /// cut before it, its own directory's.
    async fn size_of<R: Reader>(&mut self, reader: &R, path: &str) -> Result<Option<u64>, String> {
        let prefix = listing_prefix(path);
        self.ensure(reader, &prefix).await?;
        if !self.sizes.contains_key(path) && self.cut.contains(&prefix) {
            if let Some((dir, _)) = path.rsplit_once('/') {
                self.ensure(reader, dir).await?;
            }
        }
        Ok(self.sizes.get(path).copied())
    }

    /// Whether `path`, not in the listings, is known to be absent: no listing that would
    /// hold it was cut.
    fn absent(&self, path: &str) -> bool {
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        !self.sizes.contains_key(path)
            && !(self.cut.contains(&listing_prefix(path))
                && (self.cut.contains(dir) || !self.done.contains(dir)))
    }
}

/// The size of the data file the tagged name points to, when the hour's listing holds it.
fn found_by_name(listed: &Listed, n: &Named) -> Option<u64> {
    let hour = hour_of(n.max_ts);
    [
        format!("{hour}/{}/{}-", n.store_id, n.min_ts),
        format!("{hour}/{}/schema-meta/{}-", n.store_id, n.min_ts),
    ]
    .iter()
    .find_map(|start| listed.log_starting(start))
}

/// How the first pass found a meta.
enum Found {
    /// To GET and check whole.
    Whole,
    /// The file its name points to is there: its size, and the meta's max_ts.
    ByName { size: u64, max_ts: u64 },
    /// Nothing to look at (an empty meta).
    Empty,
}

/// Checks `refs` (of the meta `key`) against the listings, listing what is not yet;
/// records what is missing or short, and the sizes for `log_bytes_per_hour`. `false`:
/// a file was not seen in a listing that was cut (time or pages), so the meta is not
/// checked (and nothing recorded).
async fn check_whole<R: Reader>(
    reader: &R,
    listed: &mut Listed,
    state: &mut VerifyState,
    key: &str,
    refs: &[Reference],
    truncated_to: u64,
) -> Result<bool, String> {
    let mut sizes = Vec::with_capacity(refs.len());
    for r in refs {
        let have = listed.size_of(reader, &r.path).await?;
        if have.is_none() && !listed.absent(&r.path) {
            return Ok(false);
        }
        sizes.push(have);
    }
    for (r, have) in refs.iter().zip(sizes) {
        if have.is_none_or(|h| h < r.length)
            && r.min_ts >= truncated_to
            && !state.missing.iter().any(|m| m.path == r.path)
        {
            state.missing.push(MissingFile {
                path: r.path.clone(),
                meta: key.to_string(),
                need: r.length,
                have,
                min_ts: r.min_ts,
            });
        }
        state.recent.push((r.max_ts, r.length));
        state.verified_to_ts = state.verified_to_ts.max(r.max_ts);
    }
    Ok(true)
}

/// One run: re-check what was missing, then the metas after the cursor within the
/// budget: first by name where the name allows (listing their hours), then whole (a GET
/// each) those that need it and, while the run is under [`WHOLE_SHARE`] requests, the
/// earliest of those proven by name.
pub(super) async fn verify<R: Reader>(
    reader: &R,
    from: &VerifyState,
    limits: Limits,
) -> Result<Verified, String> {
    let start = reader.sent();
    let used = |r: &R| r.sent().saturating_sub(start);
    // Whether `n` more requests fit in the budget and the time.
    let room = |r: &R, n: u32| !r.time_is_up() && used(r) + n <= limits.budget;
    let truncated_to = limits.truncated_to;
    let mut state = from.clone();
    state.missing.retain(|m| m.min_ts >= truncated_to);
    let mut listed = Listed::default();
    // Files found missing before: back, or still missing.
    let mut missing = std::mem::take(&mut state.missing);
    for m in &mut missing {
        m.have = listed.size_of(reader, &m.path).await?;
    }
    missing.retain(|m| m.have.is_none_or(|have| have < m.need));
    state.missing = missing;
    // The metas written since the cursor, in key (= flush) order, listed in the first
    // half of the time left.
    if let Some(until) = limits.until {
        let now = std::time::Instant::now();
        reader.stop_at(now + until.saturating_duration_since(now) / 2);
    }
    let mut metas: Vec<String> = Vec::new();
    let cut = reader
        .keys("v1/backupmeta", state.cursor.as_deref(), |key, _| {
            if key.ends_with(".meta") {
                metas.push(key);
            }
        })
        .await?;
    if let Some(until) = limits.until {
        reader.stop_at(until);
    }
    // In key order whatever the server's listing order (a local directory's is the file
    // system's): the cursor must be the greatest key checked.
    metas.sort();
    // First pass: what each meta's name proves, within the budget (a GET reserved for
    // each meta to check whole, and room for one more listing).
    let by_name_allowed = !limits.whole_only && !reader.local();
    let mut found: Vec<(String, Found)> = Vec::new();
    let mut gets = 0;
    for key in &metas {
        if !room(reader, gets + 2) {
            break;
        }
        let mut how = Found::Whole;
        if let Some(n) = named(key).filter(|_| by_name_allowed) {
            if n.empty {
                how = Found::Empty;
            } else {
                listed.ensure(reader, &hour_of(n.max_ts)).await?;
                if let Some(size) = found_by_name(&listed, &n) {
                    how = Found::ByName {
                        size,
                        max_ts: n.max_ts,
                    };
                }
            }
        }
        if matches!(how, Found::Whole) {
            gets += 1;
        }
        found.push((key.clone(), how));
    }
    // Second pass, in key order: the whole checks. The cursor moves past each meta done.
    let mut share = WHOLE_SHARE.saturating_sub(used(reader) + gets);
    let mut out = Verified::default();
    for (key, how) in &found {
        match how {
            Found::Whole => {}
            Found::ByName { size, max_ts } if share == 0 || !room(reader, 1) => {
                state.recent.push((*max_ts, *size));
                state.verified_to_ts = state.verified_to_ts.max(*max_ts);
                out.by_name += 1;
                state.cursor = Some(key.clone());
                out.metas += 1;
                continue;
            }
            Found::ByName { .. } => share -= 1,
            Found::Empty => {
                state.cursor = Some(key.clone());
                out.metas += 1;
                continue;
            }
        }
        if !room(reader, 1) {
            break;
        }
        let Some(bytes) = reader.object(key).await? else {
            continue; // removed by a truncation since the listing
        };
        match references(&bytes) {
            Ok(refs) => {
                // Its files' listings within the budget too, or it waits for the next run.
                let unlisted: BTreeSet<String> = refs
                    .iter()
                    .map(|r| listing_prefix(&r.path))
                    .filter(|p| !listed.done.contains(p))
                    .collect();
                if (!unlisted.is_empty() && !room(reader, unlisted.len() as u32))
                    || !check_whole(reader, &mut listed, &mut state, key, &refs, truncated_to)
                        .await?
                {
                    break;
                }
            }
            Err(e) => {
                out.undecodable = Some(format!("{key} does not decode ({e})"));
                break;
            }
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

/// A storage in memory for the tests of verification (here and in `compacted.rs`).
#[cfg(test)]
pub(super) mod memory {
    use super::Reader;
    use std::collections::BTreeMap;

    pub struct Memory {
        pub objects: BTreeMap<String, Vec<u8>>,
        /// Keys one listing gives before it is cut.
        pub page_budget: usize,
        /// It lists in reverse key order (as a local directory may list in any).
        pub reverse: bool,
        /// Its time for verification is up after this many requests.
        pub up_after: u32,
        pub local: bool,
        pub sent: std::cell::Cell<u32>,
    }

    impl Memory {
        pub fn new(objects: BTreeMap<String, Vec<u8>>) -> Memory {
            Memory {
                objects,
                page_budget: usize::MAX,
                reverse: false,
                up_after: u32::MAX,
                local: false,
                sent: Default::default(),
            }
        }
    }

    impl Reader for Memory {
        async fn object(&self, path: &str) -> Result<Option<Vec<u8>>, String> {
            self.sent.set(self.sent.get() + 1);
            Ok(self.objects.get(path).cloned())
        }

        async fn keys(
            &self,
            prefix: &str,
            offset: Option<&str>,
            mut f: impl FnMut(String, u64),
        ) -> Result<bool, String> {
            self.sent.set(self.sent.get() + 1);
            let under = format!("{prefix}/");
            let mut all: Vec<_> = self.objects.iter().collect();
            if self.reverse {
                all.reverse();
            }
            let mut seen = 0;
            for (key, bytes) in all {
                if !key.starts_with(&under) || offset.is_some_and(|o| key.as_str() <= o) {
                    continue;
                }
                if seen == self.page_budget || self.time_is_up() {
                    return Ok(true);
                }
                seen += 1;
                f(key.clone(), bytes.len() as u64);
            }
            Ok(false)
        }

        fn sent(&self) -> u32 {
            self.sent.get()
        }

        fn local(&self) -> bool {
            self.local
        }

        fn time_is_up(&self) -> bool {
            self.sent.get() >= self.up_after
        }

        fn stop_at(&self, _: std::time::Instant) {}
    }

    pub fn run<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }
}

#[cfg(test)]
mod tests {
    use super::memory::{run, Memory};
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
        // 2024-01-01T00:59:30Z and 2023-12-31T23:00:00Z.
        let ts = |ms: u64| crate::tso::from_physical_ms(ms);
        assert_eq!(hour_of(ts(1_704_070_770_000)), "v1/20240101/00");
        assert_eq!(hour_of(ts(1_704_063_600_000)), "v1/20231231/23");
    }

    #[test]
    fn tagged_names_say_which_file_to_look_for() {
        let tagged = |flags: Option<u64>| {
            let mut name = format!(
                "v1/backupmeta/{:016X}{:016X}-d{:016X}l{:016X}u{:016X}",
                0x0648_0000_0000_0000_u64, 4, 1, 2, 3
            );
            if let Some(f) = flags {
                name.push_str(&format!("p{f:016X}"));
            }
            name + ".meta"
        };
        let want = Named {
            store_id: 4,
            min_ts: 2,
            max_ts: 3,
            empty: false,
        };
        assert_eq!(named(&tagged(None)), Some(want));
        assert_eq!(named(&tagged(Some(1))), Some(want));
        assert_eq!(
            named(&tagged(Some(3))),
            Some(Named {
                empty: true,
                ..want
            })
        );
        // The older forms name no store: checked whole.
        assert_eq!(named("v1/backupmeta/449231187066716161-x.meta"), None);
        let hex4 = format!(
            "v1/backupmeta/{:016X}-{:016X}-{:016X}-{:016X}.meta",
            9, 1, 2, 3
        );
        assert_eq!(named(&hex4), None);
        // A tag that is not 16 hex digits.
        let bad = tagged(None).replace("l000", "lxyz");
        assert_eq!(named(&bad), None);
    }

    #[test]
    fn the_file_a_name_points_to_is_found_in_the_listing() {
        let n = Named {
            store_id: 4,
            min_ts: 446_711,
            max_ts: crate::tso::from_physical_ms(1_704_070_770_000),
            empty: false,
        };
        let mut listed = Listed::default();
        for (key, size) in [
            ("v1/20240101/00/4/446710-a.log", 1),
            ("v1/20240101/00/4/4467110-b.log", 2),
            ("v1/20240101/00/40/446711-c.log", 3),
        ] {
            listed.sizes.insert(key.to_string(), size);
        }
        assert_eq!(
            found_by_name(&listed, &n),
            None,
            "no key starts with 446711-"
        );
        listed
            .sizes
            .insert("v1/20240101/00/4/schema-meta/446711-d.log".into(), 4);
        assert_eq!(found_by_name(&listed, &n), Some(4), "a meta-KV file");
        listed
            .sizes
            .insert("v1/20240101/00/4/446711-e.log".into(), 5);
        assert_eq!(found_by_name(&listed, &n), Some(5), "the data file first");
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

    /// Six tagged metas of store 1 in hour 00 of 2024-01-01, 64-byte files; `gone`'s
    /// file left out.
    fn six_flushes(gone: usize) -> BTreeMap<String, Vec<u8>> {
        let ms = 1_704_067_200_000_u64; // 2024-01-01T00:00:00Z
        let mut out = BTreeMap::new();
        for i in 0..6u64 {
            let (min, max) = (
                crate::tso::from_physical_ms(ms + i * 60_000),
                crate::tso::from_physical_ms(ms + i * 60_000 + 59_000),
            );
            let path = format!("v1/20240101/00/1/{min}-f{i}.log");
            let meta = proto::Metadata {
                files: vec![],
                store_id: 1,
                max_ts: max,
                min_ts: min,
                file_groups: vec![proto::DataFileGroup {
                    path: path.clone(),
                    min_ts: min,
                    max_ts: max,
                    length: 64,
                }],
            };
            let key = format!(
                "v1/backupmeta/{:016X}{:016X}-d{min:016X}l{min:016X}u{max:016X}.meta",
                max + 1,
                1
            );
            out.insert(key, meta.encode_to_vec());
            if i as usize != gone {
                out.insert(path, vec![0; 64]);
            }
        }
        out
    }

    /// When the time is up, what was checked is kept and the rest waits: a file not seen
    /// because a listing stopped, or a meta not read, is never reported missing.
    #[test]
    fn time_up_keeps_what_was_checked_and_reports_nothing_unseen() {
        let limits = Limits {
            budget: 200,
            whole_only: false,
            truncated_to: 0,
            until: None,
        };
        // All found by name from one listing of the hour, two read whole, then time.
        let all_there = Memory {
            up_after: 4,
            ..Memory::new(six_flushes(9))
        };
        let v = run(verify(&all_there, &VerifyState::default(), limits)).unwrap();
        assert_eq!((v.metas, v.by_name, v.backlog), (6, 4, 0), "{v:?}");
        assert!(v.state.missing.is_empty());
        // The first meta's file is missing, but the time is up before its meta is read:
        // nothing checked, nothing reported, all six wait.
        let gone_first = Memory {
            up_after: 2,
            ..Memory::new(six_flushes(0))
        };
        let v = run(verify(&gone_first, &VerifyState::default(), limits)).unwrap();
        assert_eq!((v.metas, v.backlog, v.state.cursor.clone()), (0, 6, None));
        assert!(v.state.missing.is_empty());
        // With time, it is found.
        let timely = Memory {
            up_after: u32::MAX,
            ..gone_first
        };
        let v = run(verify(&timely, &VerifyState::default(), limits)).unwrap();
        assert_eq!(v.state.missing.len(), 1, "{v:?}");
        // A local directory: the hour's listing stops at once; the meta read first waits.
        let local = Memory {
            up_after: 2,
            local: true,
            ..Memory::new(six_flushes(9))
        };
        let v = run(verify(&local, &VerifyState::default(), limits)).unwrap();
        assert_eq!((v.metas, v.backlog), (0, 6));
        assert!(v.state.missing.is_empty());
    }
}
