//! `--verify` of the compacted SSTs (docs/storage.md#verify). `tikv-ctl compact-log-backup`
//! compacts log files into SSTs and records them in a migration
//! (`Migration.compactions`); once BR's truncation has deleted the compacted logs, a
//! restore reads the SSTs instead, so a missing SST breaks it as a missing log file does.
//!
//! Each compaction (known by its `artifacts` prefix) is checked once: one LIST of its
//! `artifacts/` for the `.cmeta` objects (kvproto `LogFileSubcompactions`), then in
//! batches, in key order: a GET of each `.cmeta` (half of the budget left at most), then
//! LISTs of the directories their SSTs live in (`<out>/outputs/`), comparing sizes, never
//! one request per SST. Progress is kept in the state file: a compaction whose every SST
//! was checked is never read again; one checked in part goes on after its last checked
//! batch, and a batch whose listing the budget cut is read again and listed on from where
//! it stopped, so a compaction larger than one run's budget still gets done. A missing
//! or short SST becomes a [`MissingFile`] (its meta the `.cmeta`), judged and re-checked
//! as the log files are. It spends what `verify` left of `--verify-budget`.
//!
//! Everything here comes from the storage, so nothing is trusted: the `.cmeta` bytes are
//! walked field by field (no count is believed, nothing allocated beyond what they hold,
//! at most [`MAX_SSTS`] SSTs at a time), and a path that could leave the storage prefix
//! (absolute, `..`, empty segments) is a finding, never read or listed.

use super::verify::Reader;
use super::{LIST_PAGE, MAX_COMPACTIONS, MAX_LIST_PAGES};
use crate::proto;
use crate::proto::varint;
use crate::statefile::{MissingFile, PartialCompaction, VerifyState};
use crate::text::shown;
use prost::Message;
use std::collections::{BTreeMap, BTreeSet};

/// SSTs held at once: the `.cmeta` objects of one batch together (one listing's worth).
/// A single `.cmeta` naming more is a finding (TiKV writes at most 128 subcompactions,
/// one SST each, per `.cmeta`).
pub const MAX_SSTS: usize = LIST_PAGE * MAX_LIST_PAGES;
/// SST directories one batch may span (TiKV writes a compaction's SSTs to one); a
/// `.cmeta` naming more is a finding.
pub const MAX_DIRS: usize = 16;
/// Problems kept per run; more are only counted.
const MAX_PROBLEMS: usize = 8;
/// The longest path taken from the storage.
const MAX_PATH: usize = 1024;

/// The compactions of one migration object (`v1/migrations/BASE` or a layer).
pub(super) struct Named {
    pub(super) migration: String,
    pub(super) compactions: Result<Vec<proto::LogFileCompaction>, String>,
}

impl Named {
    /// Decodes the `compactions` of a migration's bytes.
    pub(super) fn decode(migration: &str, bytes: &[u8]) -> Named {
        Named {
            migration: migration.to_string(),
            compactions: proto::MigrationCompactions::decode(bytes)
                .map(|m| m.compactions)
                .map_err(|e| e.to_string()),
        }
    }
}

/// What one run of `--verify` found of the compactions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompactionsChecked {
    /// Compactions the migrations name whose input is not truncated.
    pub live: usize,
    /// Of them, those whose every SST has been checked (in this run or before).
    pub verified: usize,
    /// Those still to check when `--verify-budget` ran out.
    pub backlog: usize,
    /// Those past [`MAX_COMPACTIONS`] (the oldest input), not checked.
    pub beyond_cap: usize,
    /// `.cmeta` objects checked in this run.
    pub cmetas: usize,
    /// Why a compaction cannot be checked (a `.cmeta` that does not decode, a path outside
    /// the storage prefix): one line each, the first [`MAX_PROBLEMS`].
    pub problems: Vec<String>,
    /// Problems beyond [`MAX_PROBLEMS`].
    pub more_problems: usize,
    /// The earliest `input_min_ts` of a live compaction not fully checked: a restore past
    /// it is not proven.
    pub unproven_from_ts: Option<u64>,
    /// Requests this run spent on them.
    pub requests: u32,
}

impl CompactionsChecked {
    fn problem(&mut self, text: String) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(text);
        } else {
            self.more_problems += 1;
        }
    }

    fn unproven(&mut self, c: &Live) {
        let from = c.min_ts();
        self.unproven_from_ts = Some(self.unproven_from_ts.map_or(from, |t| t.min(from)));
    }
}

/// A live compaction.
struct Live {
    name: String,
    artifacts: String,
    input_min_ts: u64,
    input_max_ts: u64,
}

impl Live {
    /// Its earliest data: `input_min_ts`, 0 when unknown (TiKV starts it at `u64::MAX`
    /// and lowers it per subcompaction; older compactions lack it).
    fn min_ts(&self) -> u64 {
        if self.input_min_ts == u64::MAX {
            0
        } else {
            self.input_min_ts
        }
    }

    fn shown_name(&self) -> String {
        shown(
            if self.name.is_empty() {
                &self.artifacts
            } else {
                &self.name
            },
            120,
        )
    }
}

/// An SST a `.cmeta` names.
#[derive(Debug, PartialEq)]
struct Sst {
    path: String,
    size: u64,
    min_ts: u64,
}

/// How one compaction's check ended in this run.
enum Outcome {
    Done,
    /// The budget ran out before its end.
    Pending,
    /// It cannot go past a `.cmeta` (why).
    Stuck(String),
}

/// A key taken from the storage that stays inside the prefix: relative, no empty, `.` or
/// `..` segment, no backslash or control character, at most [`MAX_PATH`] bytes.
fn inside(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= MAX_PATH
        && !path.chars().any(|c| c == '\\' || c.is_control())
        && path
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..")
}

/// The start key of a listing that includes `key` and little before it: `key` without
/// its last character (a listing returns the keys after its start key). `None` when
/// the key holds a character the storage's path encoding could change.
fn just_before(key: &str) -> Option<String> {
    let plain = key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_./=".contains(&b));
    (plain && key.len() > 1).then(|| key[..key.len() - 1].to_string())
}

/// Each field of a protobuf message, in order: its tag, and its bytes when it is
/// length-delimited. A length is believed only when that many bytes follow.
fn fields(
    mut bytes: &[u8],
    mut f: impl FnMut(u64, Option<&[u8]>) -> Result<(), String>,
) -> Result<(), String> {
    let cut = || "it is cut short".to_string();
    while !bytes.is_empty() {
        let key = varint(&mut bytes).ok_or_else(cut)?;
        let tag = key >> 3;
        if tag == 0 {
            return Err("it holds a field numbered 0".to_string());
        }
        match key & 7 {
            0 => {
                varint(&mut bytes).ok_or_else(cut)?;
                f(tag, None)?;
            }
            1 | 5 => {
                let n = if key & 7 == 1 { 8 } else { 4 };
                bytes = bytes.get(n..).ok_or_else(cut)?;
                f(tag, None)?;
            }
            2 => {
                let len = varint(&mut bytes).ok_or_else(cut)?;
                if len > bytes.len() as u64 {
                    return Err(format!(
                        "field {tag} claims {len} bytes, {} are left",
                        bytes.len()
                    ));
                }
                let (value, rest) = bytes.split_at(len as usize);
                f(tag, Some(value))?;
                bytes = rest;
            }
            wire => return Err(format!("field {tag} has wire type {wire}")),
        }
    }
    Ok(())
}

/// A length-delimited field's bytes, or why not.
fn message(tag: u64, value: Option<&[u8]>) -> Result<&[u8], String> {
    value.ok_or_else(|| format!("field {tag} is not a message"))
}

/// The SSTs a `.cmeta` (`LogFileSubcompactions`: `subcompactions` 1, each `meta` 1 and
/// `sst_outputs` 2) names, at most `room`. `min_ts`: each SST's earliest data, its
/// subcompaction's `input_min_ts`, else `fallback`. The error completes "<cmeta> …".
fn ssts(bytes: &[u8], fallback: u64, room: usize) -> Result<Vec<Sst>, String> {
    // The walk's own errors say what does not decode; the findings below are whole.
    let whole = |e: String| {
        if e.starts_with("names ") || e.starts_with("does not decode") {
            e
        } else {
            format!("does not decode ({e})")
        }
    };
    let mut out = Vec::new();
    fields(bytes, |tag, value| {
        if tag != 1 {
            return Ok(());
        }
        let sub = message(tag, value)?;
        let mut min_ts = fallback;
        fields(sub, |tag, value| {
            if tag == 1 {
                let meta = proto::LogFileSubcompactionMeta::decode(message(tag, value)?)
                    .map_err(|e| e.to_string())?;
                if meta.input_min_ts != 0 {
                    min_ts = meta.input_min_ts;
                }
            }
            Ok(())
        })?;
        fields(sub, |tag, value| {
            if tag != 2 {
                return Ok(());
            }
            let file = proto::File::decode(message(tag, value)?).map_err(|e| e.to_string())?;
            if !inside(&file.name) || !file.name.contains('/') {
                return Err(format!(
                    "names an SST outside the storage prefix: '{}'",
                    shown(&file.name, 120)
                ));
            }
            if out.len() == room {
                return Err(format!("names more than {room} SSTs"));
            }
            out.push(Sst {
                path: file.name,
                size: file.size,
                min_ts,
            });
            Ok(())
        })
    })
    .map_err(whole)?;
    Ok(out)
}

/// The live compactions, by `artifacts`: not truncated (`input_max_ts` before
/// `truncated_to`, when known, as BR's restore filters them), inside the prefix.
fn live(
    named: &[Named],
    truncated_to: u64,
    out: &mut CompactionsChecked,
) -> BTreeMap<String, Live> {
    let mut live: BTreeMap<String, Live> = BTreeMap::new();
    for n in named {
        let list = match &n.compactions {
            Ok(list) => list,
            Err(e) => {
                out.problem(format!(
                    "compactions unverified: those of {} do not decode ({})",
                    shown(&n.migration, 120),
                    shown(e, 120)
                ));
                continue;
            }
        };
        for c in list {
            let truncated =
                c.input_min_ts != 0 && c.input_max_ts != 0 && c.input_max_ts < truncated_to;
            if truncated {
                continue;
            }
            let artifacts = c.artifacts.strip_suffix('/').unwrap_or(&c.artifacts);
            let entry = Live {
                name: c.name.clone(),
                artifacts: artifacts.to_string(),
                input_min_ts: c.input_min_ts,
                input_max_ts: c.input_max_ts,
            };
            if !inside(artifacts) {
                out.problem(format!(
                    "compaction {} unverified: {} names its .cmeta objects outside the storage prefix: '{}'",
                    entry.shown_name(),
                    shown(&n.migration, 120),
                    shown(&c.artifacts, 120)
                ));
                out.unproven(&entry);
                continue;
            }
            live.entry(entry.artifacts.clone()).or_insert(entry);
        }
    }
    out.live = live.len();
    if live.len() > MAX_COMPACTIONS {
        // Keep the newest input: the oldest is the next to be truncated.
        let mut by_age: Vec<(u64, String)> = live
            .values()
            .map(|c| (c.input_max_ts, c.artifacts.clone()))
            .collect();
        by_age.sort();
        for (_, artifacts) in &by_age[..by_age.len() - MAX_COMPACTIONS] {
            if let Some(c) = live.remove(artifacts) {
                out.unproven(&c);
                out.beyond_cap += 1;
            }
        }
    }
    live
}

/// One run over the compactions `named` lists, within `budget` requests: the live
/// ones not yet checked, in `artifacts` order. Updates `state`'s compaction progress
/// and its missing files.
pub(super) async fn verify<R: Reader>(
    reader: &R,
    state: &mut VerifyState,
    named: &[Named],
    budget: u32,
    truncated_to: u64,
) -> Result<CompactionsChecked, String> {
    let start = reader.sent();
    let mut out = CompactionsChecked::default();
    let live = live(named, truncated_to, &mut out);
    // Forget what truncation removed (or what is past the cap).
    let progress = &mut state.compactions;
    progress.done.retain(|a| live.contains_key(a));
    progress.partial.retain(|a, _| live.contains_key(a));
    let done: BTreeSet<String> = progress.done.iter().cloned().collect();
    for c in live.values().filter(|c| !done.contains(&c.artifacts)) {
        let used = reader.sent().saturating_sub(start);
        let outcome = if used + 3 > budget || reader.time_is_up() {
            Outcome::Pending
        } else {
            one(
                reader,
                state,
                c,
                budget.saturating_sub(used),
                truncated_to,
                &mut out,
            )
            .await?
        };
        match outcome {
            Outcome::Done => {
                state.compactions.partial.remove(&c.artifacts);
                state.compactions.done.push(c.artifacts.clone());
            }
            Outcome::Pending => {
                out.backlog += 1;
                out.unproven(c);
            }
            Outcome::Stuck(why) => {
                out.problem(format!("compaction {} unverified: {why}", c.shown_name()));
                out.unproven(c);
            }
        }
    }
    state.compactions.done.sort();
    out.verified = state.compactions.done.len();
    out.requests = reader.sent().saturating_sub(start);
    Ok(out)
}

/// One compaction, from where the state file left it, within `budget` requests: its
/// `.cmeta` objects in batches (the one under way read again, else as many as half the
/// budget left can read), each batch's SST directories listed from where they were
/// left.
async fn one<R: Reader>(
    reader: &R,
    state: &mut VerifyState,
    c: &Live,
    budget: u32,
    truncated_to: u64,
    out: &mut CompactionsChecked,
) -> Result<Outcome, String> {
    let start = reader.sent();
    let used = |r: &R| r.sent().saturating_sub(start);
    let mut at = state
        .compactions
        .partial
        .get(&c.artifacts)
        .cloned()
        .unwrap_or_default();
    let under = format!("{}/", c.artifacts);
    let mut cmetas: Vec<String> = Vec::new();
    let cut = reader
        .keys(&c.artifacts, at.cmeta.as_deref(), |key, _| {
            if key.starts_with(&under) && key.ends_with(".cmeta") {
                cmetas.push(key);
            }
        })
        .await?;
    // Key order whatever the listing's (a local directory's is the file system's).
    cmetas.sort();
    cmetas.dedup();
    let mut next = 0;
    let outcome = loop {
        let rest = &cmetas[next..];
        if rest.is_empty() {
            // A cut listing of `artifacts/` goes on after the cursor next run.
            break if cut { Outcome::Pending } else { Outcome::Done };
        }
        let left = budget.saturating_sub(used(reader));
        let count = match &at.batch_to {
            Some(to) => {
                let n = rest.iter().take_while(|k| *k <= to).count();
                if n == 0 || n as u32 + 1 > left {
                    // Gone, or more than this run's budget reads: a new batch.
                    at.batch_to = None;
                    at.listed.clear();
                    continue;
                }
                n
            }
            None => (left / 2).max(1) as usize,
        };
        if left < 2 {
            break Outcome::Pending;
        }
        // Read the batch, keeping a request for the listings.
        let mut batch: Vec<(&str, Vec<Sst>)> = Vec::new();
        let mut dirs: BTreeSet<String> = BTreeSet::new();
        let mut held = 0;
        let mut stuck = None;
        for key in rest.iter().take(count) {
            if held == MAX_SSTS || used(reader) + 1 >= budget || reader.time_is_up() {
                break;
            }
            let Some(bytes) = reader.object(key).await? else {
                // Gone since the listing: truncation is removing the compaction.
                batch.push((key, Vec::new()));
                continue;
            };
            let found = match ssts(&bytes, c.min_ts(), MAX_SSTS - held) {
                Ok(found) => found,
                Err(why) => {
                    stuck = Some(format!("{} {why}", shown(key, 120)));
                    break;
                }
            };
            let mut wider = dirs.clone();
            wider.extend(found.iter().map(|s| parent(&s.path).to_string()));
            if wider.len() > MAX_DIRS {
                if batch.is_empty() {
                    stuck = Some(format!(
                        "{} names SSTs in more than {MAX_DIRS} directories",
                        shown(key, 120)
                    ));
                }
                break;
            }
            held += found.len();
            batch.push((key, found));
            dirs = wider;
        }
        let Some((last, _)) = batch.last() else {
            break match stuck {
                Some(why) => Outcome::Stuck(why),
                None => Outcome::Pending,
            };
        };
        at.batch_to = Some(last.to_string());
        let done = list(reader, &batch, &mut at, truncated_to, state, |r| {
            used(r) < budget && !r.time_is_up()
        })
        .await?;
        match done {
            Listed::All => {}
            Listed::Partly => break Outcome::Pending,
            Listed::OutOfOrder(dir) => {
                break Outcome::Stuck(format!(
                "listing {} passes {} objects out of key order, so its SSTs cannot be told present",
                shown(&dir, 120),
                LIST_PAGE * MAX_LIST_PAGES
            ))
            }
        }
        // The batch is checked: the cursor moves past it.
        out.cmetas += batch.len();
        next += batch.len();
        at = PartialCompaction {
            cmeta: at.batch_to.take(),
            ..PartialCompaction::default()
        };
        if let Some(why) = stuck {
            break Outcome::Stuck(why);
        }
    };
    if !matches!(outcome, Outcome::Done) {
        state.compactions.partial.insert(c.artifacts.clone(), at);
    }
    Ok(outcome)
}

/// The directory a (validated) SST path lies in.
fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// How far [`list`] got.
enum Listed {
    /// Every SST of the batch was found or not.
    All,
    /// The budget ran out first: `at.listed` says where each directory stands.
    Partly,
    /// A cut listing of this directory came out of key order: the SSTs after the cut
    /// cannot be told absent.
    OutOfOrder(String),
}

/// Lists the directories of `batch`'s SSTs, each from where `at.listed` left it (or just
/// before its first SST), again from the last key seen while a listing the page budget
/// cut leaves some behind and `more` allows; an SST found missing or short is added to
/// `state`'s missing files as soon as the listing has passed it.
async fn list<R: Reader>(
    reader: &R,
    batch: &[(&str, Vec<Sst>)],
    at: &mut PartialCompaction,
    truncated_to: u64,
    state: &mut VerifyState,
    more: impl Fn(&R) -> bool,
) -> Result<Listed, String> {
    let mut needed: BTreeMap<&str, (&str, &Sst)> = BTreeMap::new();
    for (cmeta, ssts) in batch {
        for s in ssts {
            needed.insert(&s.path, (cmeta, s));
        }
    }
    let dirs: BTreeSet<&str> = needed.keys().map(|k| parent(k)).collect();
    let mut all = true;
    for dir in dirs {
        let mut wanted: BTreeSet<&str> = needed
            .keys()
            .copied()
            .filter(|k| parent(k) == dir)
            .filter(|k| at.listed.get(dir).is_none_or(|l| *k > l.as_str()))
            .collect();
        while let Some(&first) = wanted.first() {
            if !more(reader) {
                all = false;
                break;
            }
            let offset = match (at.listed.get(dir), just_before(first)) {
                (Some(l), Some(b)) => Some(l.clone().max(b)),
                (l, b) => l.cloned().or(b),
            };
            let mut sizes: BTreeMap<String, u64> = BTreeMap::new();
            let mut last: Option<String> = None;
            let mut ascending = true;
            let cut = reader
                .keys(dir, offset.as_deref(), |key, size| {
                    if wanted.contains(key.as_str()) {
                        sizes.insert(key.clone(), size);
                    }
                    if last.as_ref().is_some_and(|l| *l >= key) {
                        ascending = false;
                    }
                    last = Some(key);
                })
                .await?;
            // The SSTs the listing has passed: all of them when it reached the end.
            let passed: Vec<&str> = match (cut, ascending, &last) {
                (false, _, _) => wanted.iter().copied().collect(),
                (true, true, Some(last)) => wanted.range(..=last.as_str()).copied().collect(),
                _ => return Ok(Listed::OutOfOrder(dir.to_string())),
            };
            let mut upto = last.clone().unwrap_or_default();
            for key in passed {
                wanted.remove(key);
                upto = upto.max(key.to_string());
                let (cmeta, sst) = needed[key];
                let have = sizes.get(key).copied();
                let known = state.missing.iter().any(|m| m.path == key);
                if have.is_none_or(|h| h < sst.size) && sst.min_ts >= truncated_to && !known {
                    state.missing.push(MissingFile {
                        path: key.to_string(),
                        meta: cmeta.to_string(),
                        need: sst.size,
                        have,
                        min_ts: sst.min_ts,
                    });
                }
            }
            at.listed.insert(dir.to_string(), upto);
        }
    }
    Ok(if all { Listed::All } else { Listed::Partly })
}

#[cfg(test)]
mod tests {
    use super::super::verify::memory::{run, Memory};
    use super::*;

    fn field(tag: u64, bytes: &[u8], out: &mut Vec<u8>) {
        let mut key = tag << 3 | 2;
        while key >= 0x80 {
            out.push(key as u8 | 0x80);
            key >>= 7;
        }
        out.push(key as u8);
        let mut len = bytes.len() as u64;
        while len >= 0x80 {
            out.push(len as u8 | 0x80);
            len >>= 7;
        }
        out.push(len as u8);
        out.extend_from_slice(bytes);
    }

    /// A `.cmeta` with one subcompaction per (input_min_ts, SST names).
    fn cmeta(subs: &[(u64, &[&str])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (min_ts, names) in subs {
            let mut sub = Vec::new();
            let meta = proto::LogFileSubcompactionMeta {
                input_min_ts: *min_ts,
            };
            field(1, &meta.encode_to_vec(), &mut sub);
            for name in *names {
                let file = proto::File {
                    name: name.to_string(),
                    size: 10,
                };
                field(2, &file.encode_to_vec(), &mut sub);
            }
            field(1, &sub, &mut out);
        }
        out
    }

    #[test]
    fn the_ssts_of_a_cmeta() {
        let bytes = cmeta(&[
            (5, &["c/outputs/a.sst", "c/outputs/b.sst"]),
            (0, &["c/o/x.sst"]),
        ]);
        let got = ssts(&bytes, 3, 100).unwrap();
        let want = [
            ("c/outputs/a.sst", 5),
            ("c/outputs/b.sst", 5),
            ("c/o/x.sst", 3),
        ];
        assert_eq!(got.len(), 3);
        for (s, (path, min_ts)) in got.iter().zip(want) {
            assert_eq!((s.path.as_str(), s.size, s.min_ts), (path, 10, min_ts));
        }
        assert!(ssts(&[], 0, 1).unwrap().is_empty());
    }

    #[test]
    fn hostile_cmetas_are_refused_without_allocating_by_their_claims() {
        for name in [
            "../x.sst",
            "/etc/passwd",
            "a/../../x",
            "a//b",
            "a/./b",
            "top.sst",
            "",
        ] {
            let e = ssts(&cmeta(&[(1, &[name])]), 0, 100).unwrap_err();
            assert!(
                e.starts_with("names an SST outside the storage prefix"),
                "{name}: {e}"
            );
        }
        let many: Vec<String> = (0..5).map(|i| format!("c/o/{i}.sst")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(
            ssts(&cmeta(&[(1, &refs)]), 0, 4).unwrap_err(),
            "names more than 4 SSTs"
        );
        // A subcompaction claiming 2^62 bytes, with 3 there.
        let mut claim = vec![0x0a];
        claim.extend([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40]);
        claim.extend([1, 2, 3]);
        let e = ssts(&claim, 0, 100).unwrap_err();
        assert!(e.starts_with("does not decode (field 1 claims"), "{e}");
        for junk in [&b"\xff"[..], b"\x0a", b"\x0b", b"\x00", b"\x0a\x02\x12\x05"] {
            assert!(ssts(junk, 0, 100)
                .unwrap_err()
                .starts_with("does not decode"));
        }
    }

    #[test]
    fn paths_inside_the_prefix() {
        assert!(inside("v1/compactions/n_1/metas"));
        for bad in ["", "/a", "a/", "a//b", "./a", "a/..", "a\\b", "a\u{0}b"] {
            assert!(!inside(bad), "{bad:?}");
        }
        assert!(!inside(&"a".repeat(MAX_PATH + 1)));
        assert_eq!(just_before("d/x.sst").as_deref(), Some("d/x.ss"));
        assert_eq!(just_before("d/x y.sst"), None);
    }

    /// A storage in memory, listing in key order, with a small page budget.
    fn named(artifacts: &str, min: u64, max: u64) -> Named {
        Named {
            migration: "v1/migrations/BASE".into(),
            compactions: Ok(vec![proto::LogFileCompaction {
                name: "c".into(),
                artifacts: artifacts.into(),
                input_min_ts: min,
                input_max_ts: max,
            }]),
        }
    }

    /// One run over the compaction `c` (its `.cmeta` objects under `c/metas`, input 7–9).
    fn check_c(
        memory: &Memory,
        state: &mut VerifyState,
        budget: u32,
        truncated_to: u64,
    ) -> CompactionsChecked {
        run(verify(
            memory,
            state,
            &[named("c/metas", 7, 9)],
            budget,
            truncated_to,
        ))
        .unwrap()
    }

    /// One `.cmeta` naming ten SSTs of 10 bytes, `07` missing; listings 3 keys a page.
    fn ten_ssts_but_07() -> Memory {
        let mut objects = BTreeMap::new();
        let names: Vec<String> = (0..10).map(|i| format!("c/outputs/{i:02}.sst")).collect();
        for n in &names {
            objects.insert(n.clone(), vec![0; 10]);
        }
        objects.remove("c/outputs/07.sst");
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        objects.insert("c/metas/a.cmeta".into(), cmeta(&[(7, &refs)]));
        Memory {
            page_budget: 3,
            ..Memory::new(objects)
        }
    }

    #[test]
    fn a_cut_listing_goes_on_from_its_last_key() {
        let memory = ten_ssts_but_07();
        let mut state = VerifyState::default();
        let out = check_c(&memory, &mut state, 100, 0);
        assert_eq!((out.live, out.verified, out.cmetas), (1, 1, 1), "{out:?}");
        assert_eq!(state.missing.len(), 1);
        assert_eq!(state.missing[0].path, "c/outputs/07.sst");
        assert_eq!(state.missing[0].meta, "c/metas/a.cmeta");
        // A listing of the metas, a GET, three listings of the 9 SSTs there, 3 at a time.
        assert_eq!(out.requests, 1 + 1 + 3);
        // Done: the next run sends nothing.
        let again = check_c(&memory, &mut state, 100, 0);
        assert_eq!((again.requests, again.verified), (0, 1));
        // Truncated past its input: forgotten.
        let gone = check_c(&memory, &mut state, 100, 10);
        assert_eq!((gone.live, gone.verified), (0, 0));
        assert!(state.compactions.is_empty());
    }

    /// The budget runs out while a batch's directory is listed: the next run reads the
    /// batch again and lists on from where it stopped.
    #[test]
    fn a_batch_listed_across_runs() {
        let memory = ten_ssts_but_07();
        let mut state = VerifyState::default();
        let c = [named("c/metas", 7, 9)];
        // The metas' listing, the GET, two listings of 3.
        let first = run(verify(&memory, &mut state, &c, 4, 0)).unwrap();
        assert_eq!((first.requests, first.backlog, first.cmetas), (4, 1, 0));
        let at = &state.compactions.partial["c/metas"];
        assert_eq!(at.batch_to.as_deref(), Some("c/metas/a.cmeta"));
        assert_eq!(at.listed["c/outputs"], "c/outputs/05.sst");
        assert!(state.missing.is_empty());
        // The metas' listing, the GET again, one listing from 06 to the end.
        let second = run(verify(&memory, &mut state, &c, 4, 0)).unwrap();
        assert_eq!((second.requests, second.verified, second.cmetas), (3, 1, 1));
        assert_eq!(state.missing.len(), 1);
        assert_eq!(state.missing[0].path, "c/outputs/07.sst");
        assert!(state.compactions.partial.is_empty());
        // A budget too small for the batch under way starts a smaller one.
        let mut objects = memory.objects;
        objects.insert("c/metas/b.cmeta".into(), Vec::new());
        let memory = Memory { objects, ..memory };
        let mut state = VerifyState::default();
        state.compactions.partial.insert(
            "c/metas".into(),
            PartialCompaction {
                batch_to: Some("c/metas/b.cmeta".into()),
                listed: [("c/outputs".to_string(), "c/outputs/09.sst".to_string())].into(),
                ..PartialCompaction::default()
            },
        );
        let tiny = run(verify(&memory, &mut state, &c, 3, 0)).unwrap();
        assert_eq!(tiny.backlog, 1);
        let at = &state.compactions.partial["c/metas"];
        assert_eq!(at.batch_to.as_deref(), Some("c/metas/a.cmeta"));
        assert_eq!(at.listed["c/outputs"], "c/outputs/02.sst");
    }

    #[test]
    fn a_cut_listing_out_of_key_order_tells_nothing_absent() {
        let mut objects = BTreeMap::new();
        let names: Vec<String> = (0..6).map(|i| format!("c/outputs/{i}.sst")).collect();
        for n in &names[1..] {
            objects.insert(n.clone(), vec![0; 10]);
        }
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        objects.insert("c/metas/a.cmeta".into(), cmeta(&[(7, &refs)]));
        let memory = Memory {
            page_budget: 2,
            reverse: true,
            ..Memory::new(objects)
        };
        let mut state = VerifyState::default();
        let out = check_c(&memory, &mut state, 100, 0);
        assert!(state.missing.is_empty(), "{:?}", state.missing);
        assert_eq!(out.verified, 0);
        assert_eq!(out.problems.len(), 1, "{out:?}");
        assert!(out.problems[0].contains("c/outputs passes"), "{out:?}");
        assert_eq!(out.unproven_from_ts, Some(7));
        // Uncut, the order does not matter.
        let memory = Memory {
            page_budget: 100,
            ..memory
        };
        let out = check_c(&memory, &mut state, 100, 0);
        assert_eq!((out.verified, state.missing.len()), (1, 1), "{out:?}");
        assert_eq!(state.missing[0].path, "c/outputs/0.sst");
    }

    #[test]
    fn a_cmeta_spread_over_many_directories_is_a_finding() {
        let names: Vec<String> = (0..=MAX_DIRS).map(|i| format!("d{i}/x.sst")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let memory = Memory {
            page_budget: 100,
            ..Memory::new([("c/metas/a.cmeta".to_string(), cmeta(&[(7, &refs)]))].into())
        };
        let mut state = VerifyState::default();
        let out = check_c(&memory, &mut state, 100, 0);
        assert_eq!(out.requests, 2, "no directory listed");
        assert_eq!(
            out.problems,
            vec![format!(
                "compaction c unverified: c/metas/a.cmeta names SSTs in more than {MAX_DIRS} directories"
            )]
        );
    }

    #[test]
    fn a_small_budget_goes_on_next_run() {
        let mut objects = BTreeMap::new();
        for i in 0..4 {
            let sst = format!("c/outputs/{i}.sst");
            objects.insert(format!("c/metas/{i}.cmeta"), cmeta(&[(1, &[sst.as_str()])]));
            objects.insert(sst, vec![0; 10]);
        }
        let memory = Memory {
            page_budget: 1000,
            ..Memory::new(objects)
        };
        let mut state = VerifyState::default();
        let c = [named("c/metas", 1, 2)];
        let first = run(verify(&memory, &mut state, &c, 5, 0)).unwrap();
        // The listing of the metas, two GETs, one listing of their SSTs.
        assert_eq!((first.cmetas, first.backlog, first.requests), (2, 1, 4));
        assert_eq!(first.unproven_from_ts, Some(1));
        assert_eq!(
            state
                .compactions
                .partial
                .get("c/metas")
                .and_then(|p| p.cmeta.as_deref()),
            Some("c/metas/1.cmeta")
        );
        let second = run(verify(&memory, &mut state, &c, 5, 0)).unwrap();
        assert_eq!((second.cmetas, second.backlog, second.verified), (2, 0, 1));
        assert!(state.missing.is_empty());
        assert!(state.compactions.partial.is_empty());
    }

    #[test]
    fn the_newest_compactions_within_the_cap() {
        let list: Vec<proto::LogFileCompaction> = (0..MAX_COMPACTIONS as u64 + 2)
            .map(|i| proto::LogFileCompaction {
                name: format!("c{i}"),
                artifacts: format!("c{i}/metas"),
                input_min_ts: 100 + i,
                input_max_ts: 200 + i,
            })
            .collect();
        let named = [Named {
            migration: "BASE".into(),
            compactions: Ok(list),
        }];
        let mut out = CompactionsChecked::default();
        let kept = live(&named, 0, &mut out);
        assert_eq!((kept.len(), out.beyond_cap), (MAX_COMPACTIONS, 2));
        assert!(!kept.contains_key("c0/metas") && !kept.contains_key("c1/metas"));
        assert_eq!(out.unproven_from_ts, Some(100));
    }
}
