//! Decoded task state: the snapshot's bytes turned into what each task is.
//!
//! Nothing here judges. Bad bytes never abort: each undecodable key becomes a
//! [`Problem`] naming the key, and every other key and task is still decoded.

use crate::keys::{self, CheckpointKey};
use crate::pause::{decode_pause, Pause, PauseV2, Payload};
use crate::proto::{self, StreamBackupError};
use crate::snapshot::{Kv, Snapshot};
use crate::tso;
use std::collections::BTreeMap;

/// A key that could not be decoded, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub reason: String,
    /// The value or key cannot be decoded at all (BR aborts on these); `false` for keys
    /// that decode but disagree (a task info naming another task).
    pub undecodable: bool,
}

/// A per-store checkpoint TSO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreTs {
    pub store_id: u64,
    pub ts: u64,
}

/// The decoded task definition (K1), without any credential.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskInfo {
    /// `Info.name` from the value (BR prints this one, not the key suffix).
    pub name: String,
    pub start_ts: u64,
    pub end_ts: u64,
    /// As BR renders it (`s3://bucket/prefix`).
    pub storage: String,
    pub table_filter: Vec<String>,
    /// Where `--storage` reads it; `None` for backends nobody can read from here.
    pub location: Option<crate::location::Location>,
}

/// BR's status word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Normal,
    Pause,
    Error,
    /// Not in etcd any more, though an earlier run judged it (`br log stop`).
    Gone,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Normal => "NORMAL",
            Status::Pause => "PAUSE",
            Status::Error => "ERROR",
            Status::Gone => "GONE",
        }
    }
}

/// Where the restorable checkpoint came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointSource {
    /// max(start_ts, storage-checkpoint keys): BR v6.2+.
    StorageCheckpoint,
    /// min of the v6.1 legacy 8-byte store keys.
    Legacy,
    /// No checkpoint key yet: the task's start_ts.
    StartTs,
}

impl CheckpointSource {
    /// Where the checkpoint came from, as a person reads it.
    pub fn describe(self) -> &'static str {
        match self {
            CheckpointSource::StorageCheckpoint => "storage checkpoint",
            CheckpointSource::Legacy => "v6.1 store checkpoints",
            CheckpointSource::StartTs => "start_ts, no checkpoint yet",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub name: String,
    /// `None` when K1 could not be decoded (a problem names it).
    pub info: Option<TaskInfo>,
    /// `Some` = paused (the key exists). `None` inside: the value could not be decoded.
    pub pause: Option<Option<Pause>>,
    /// K4, the advancer's global checkpoint.
    pub central_global: Option<u64>,
    /// K5 (v6.2–v7.0).
    pub store_checkpoints: Vec<StoreTs>,
    /// K7 (v6.1).
    pub legacy_checkpoints: Vec<StoreTs>,
    /// K8, in etcd key order.
    pub storage_checkpoints: Vec<StoreTs>,
    /// K6 count.
    pub region_keys: u64,
    /// K9 values that decoded, in etcd key order.
    pub errors: Vec<StreamBackupError>,
    /// The store id of each entry of `errors` as its key names it
    /// (`last-error/<task>/<store>`); BR keys its error map by this one.
    pub error_store_ids: Vec<u64>,
    /// Number of K9 keys (including undecodable ones).
    pub error_keys: usize,
    /// A checkpoint or storage-checkpoint key did not decode: any checkpoint derived
    /// from the remaining keys could be too old (max rule) or too new (min rule).
    pub checkpoint_undecodable: bool,
    pub problems: Vec<Problem>,
}

impl Task {
    /// A task known by name only: no key decoded yet.
    pub fn new(name: String) -> Task {
        Task {
            name,
            info: None,
            pause: None,
            central_global: None,
            store_checkpoints: Vec::new(),
            legacy_checkpoints: Vec::new(),
            storage_checkpoints: Vec::new(),
            region_keys: 0,
            errors: Vec::new(),
            error_store_ids: Vec::new(),
            error_keys: 0,
            checkpoint_undecodable: false,
            problems: Vec::new(),
        }
    }

    pub fn paused(&self) -> bool {
        self.pause.is_some()
    }

    /// BR's status word: ERROR if paused and (any last-error key or PauseV2 severity ERROR),
    /// else PAUSE if paused, else NORMAL.
    pub fn status(&self) -> Status {
        match &self.pause {
            None => Status::Normal,
            Some(pause) => {
                let severity_error = matches!(pause, Some(Pause::V2(p)) if p.is_error());
                if self.error_keys > 0 || severity_error {
                    Status::Error
                } else {
                    Status::Pause
                }
            }
        }
    }

    /// The restorable checkpoint as BR v6.2+ shows it, and where it came from; `None`
    /// when the task info or any checkpoint key cannot be decoded.
    pub fn checkpoint(&self) -> Option<(u64, CheckpointSource)> {
        if self.checkpoint_undecodable {
            return None;
        }
        let info = self.info.as_ref()?;
        if let Some(max) = self.storage_checkpoints.iter().map(|s| s.ts).max() {
            return Some((max.max(info.start_ts), CheckpointSource::StorageCheckpoint));
        }
        if let Some(min) = self.legacy_checkpoints.iter().map(|s| s.ts).min() {
            return Some((min, CheckpointSource::Legacy));
        }
        Some((info.start_ts, CheckpointSource::StartTs))
    }

    /// BR v6.2+'s `GetStorageCheckpoint`: max(start_ts, storage-checkpoint keys), what
    /// `br log status` shows as `checkpoint[global]` (for a v6.1 layout: start_ts).
    pub fn storage_checkpoint(&self) -> Option<u64> {
        if self.checkpoint_undecodable {
            return None;
        }
        let start_ts = self.info.as_ref()?.start_ts;
        Some(
            self.storage_checkpoints
                .iter()
                .map(|s| s.ts)
                .fold(start_ts, u64::max),
        )
    }

    /// BR's `GetGlobalCheckPointTS`, the point a resume needs (docs/br-status.md#related-checkpoint-helpers):
    /// central_global if present, else the minimum store-type checkpoint (start_ts if none),
    /// then at least the storage checkpoint. GC must not pass it.
    pub fn resume_checkpoint(&self) -> Option<u64> {
        let (storage, _) = self.checkpoint()?;
        let start_ts = self.info.as_ref()?.start_ts;
        let scanned = self.central_global.unwrap_or_else(|| {
            self.store_checkpoints
                .iter()
                .chain(&self.legacy_checkpoints)
                .map(|s| s.ts)
                .min()
                .unwrap_or(start_ts)
        });
        Some(scanned.max(storage))
    }

    /// The per-store checkpoints worth showing: storage checkpoints, else legacy, else K5.
    pub fn store_rows(&self) -> &[StoreTs] {
        if !self.storage_checkpoints.is_empty() {
            &self.storage_checkpoints
        } else if !self.legacy_checkpoints.is_empty() {
            &self.legacy_checkpoints
        } else {
            &self.store_checkpoints
        }
    }

    /// Each decoded last error with the store id its key names, in key order.
    pub fn last_errors(&self) -> impl Iterator<Item = (u64, &StreamBackupError)> {
        self.error_store_ids.iter().copied().zip(&self.errors)
    }

    /// The error carried by a PauseV2 protobuf payload, if any.
    pub fn pause_error(&self) -> Option<&StreamBackupError> {
        match &self.pause {
            Some(Some(Pause::V2(p))) => match &p.payload {
                Payload::Error(e) => Some(e),
                _ => None,
            },
            _ => None,
        }
    }

    fn problem(&mut self, key: &[u8], reason: impl Into<String>) {
        self.problems.push(Problem {
            key: keys::display_key(key),
            reason: reason.into(),
            undecodable: true,
        });
    }

    fn inconsistency(&mut self, key: &[u8], reason: impl Into<String>) {
        self.problems.push(Problem {
            key: keys::display_key(key),
            reason: reason.into(),
            undecodable: false,
        });
    }
}

/// Keys for a task that has no `info/` key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphan {
    pub task: String,
    /// Which kinds of key exist (`pause`, `checkpoint`, `storage-checkpoint`, `last-error`).
    pub kinds: Vec<&'static str>,
    pub keys: usize,
}

/// Which read the snapshot came from (for diagnostics and the fleet's cluster tags).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadInfo {
    /// PD's cluster id (`/pd/cluster_id`), when it could be read.
    pub cluster_id: Option<u64>,
    pub revision: i64,
    /// The endpoint that answered.
    pub endpoint: String,
    /// etcd requests made.
    pub round_trips: u32,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cluster {
    /// Selected tasks, in `info/` key order.
    pub tasks: Vec<Task>,
    /// Names asked for with `--task` that have no `info/` key.
    pub missing: Vec<String>,
    pub orphans: Vec<Orphan>,
    /// Keys under `owner/` (advancer election candidates).
    pub owner_keys: usize,
    pub read: ReadInfo,
    /// The name of every task with an `info/` key, selected or not, in key order.
    pub task_names: Vec<String>,
}

pub use crate::selection::{Pattern, Patterns, Selection};

fn name_of(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Decodes a snapshot into tasks. Keys of unselected tasks are skipped; keys of tasks
/// with no `info/` key are reported as orphans.
pub fn decode<'s>(snapshot: &'s Snapshot, selection: &Selection) -> Cluster {
    let mut tasks: BTreeMap<Vec<u8>, Task> = BTreeMap::new();
    // Every task with an info key, and whether it is selected (then it is in `tasks`).
    // A map: each key is routed with one O(log tasks) lookup, not a scan of a list
    // (that made decoding quadratic in the task count).
    let mut known: BTreeMap<&[u8], bool> = BTreeMap::new();
    for kv in &snapshot.info {
        let name = &kv.key[keys::INFO.len()..];
        let selected = selection.wants(&name_of(name));
        known.insert(name, selected);
        if !selected {
            continue;
        }
        let mut task = Task::new(name_of(name));
        if name.contains(&b'/') {
            task.inconsistency(
                &kv.key,
                "task name contains '/', its other keys cannot be matched",
            );
        }
        match proto::decode_task_info(&kv.value) {
            Ok(info) => {
                if info.name.as_bytes() != name {
                    // BR writes the same name in both; a mismatch is worth knowing, not fatal.
                    task.inconsistency(
                        &kv.key,
                        format!("task info names the task '{}'", info.name),
                    );
                }
                task.info = Some(TaskInfo {
                    name: info.name.clone(),
                    start_ts: info.start_ts,
                    end_ts: info.end_ts,
                    storage: proto::storage_url(info.storage.as_ref()),
                    location: crate::location::Location::from_backend(info.storage.as_ref()),
                    table_filter: info.table_filter,
                });
            }
            Err(reason) => task.problem(&kv.key, reason),
        }
        tasks.insert(name.to_vec(), task);
    }

    let mut orphans: BTreeMap<Vec<u8>, Orphan> = BTreeMap::new();
    let mut note_orphan = |name: &[u8], kind: &'static str| {
        let orphan = orphans.entry(name.to_vec()).or_insert_with(|| Orphan {
            task: name_of(name),
            kinds: Vec::new(),
            keys: 0,
        });
        orphan.keys += 1;
        if !orphan.kinds.contains(&kind) {
            orphan.kinds.push(kind);
        }
    };

    // Routes each key to its task (name and the rest of the key, borrowed from the key);
    // `None` for unselected tasks, orphans and stray keys.
    let mut route = |kv: &'s Kv, kind_prefix: &[u8], kind: &'static str| {
        let (name, rest) = keys::split_task(&kv.key, kind_prefix)?;
        let Some(selected) = known.get(name) else {
            note_orphan(name, kind);
            return None;
        };
        selected.then_some((name, rest.unwrap_or_default()))
    };

    let mut routed: Vec<(&[u8], &Kv, Kind, &[u8])> = Vec::new();
    for kv in &snapshot.pause {
        if let Some((name, _)) = route(kv, keys::PAUSE, "pause") {
            routed.push((name, kv, Kind::Pause, &[]));
        }
    }
    for kv in &snapshot.checkpoint {
        if let Some((name, rest)) = route(kv, keys::CHECKPOINT, "checkpoint") {
            routed.push((name, kv, Kind::Checkpoint, rest));
        }
    }
    for kv in &snapshot.storage_checkpoint {
        if let Some((name, rest)) = route(kv, keys::STORAGE_CHECKPOINT, "storage-checkpoint") {
            routed.push((name, kv, Kind::StorageCheckpoint, rest));
        }
    }
    for kv in &snapshot.last_error {
        if let Some((name, rest)) = route(kv, keys::LAST_ERROR, "last-error") {
            routed.push((name, kv, Kind::LastError, rest));
        }
    }
    // Keys come in key order, so a task's keys follow each other: looked up once a run.
    let mut current: Option<(&[u8], &mut Task)> = None;
    for (name, kv, kind, rest) in routed {
        if current.as_ref().is_none_or(|(n, _)| *n != name) {
            current = tasks.get_mut(name).map(|task| (name, task));
        }
        if let Some((_, task)) = current.as_mut() {
            apply(task, kv, kind, rest);
        }
    }
    for (name, count) in &snapshot.region_keys {
        if let Some(task) = tasks.get_mut(name) {
            task.region_keys = *count;
        }
    }

    let missing = match selection.named() {
        [] => Vec::new(),
        names => {
            let mut missing: Vec<String> = Vec::new();
            for name in names {
                if !known.contains_key(name.as_bytes()) && !missing.contains(name) {
                    missing.push(name.clone());
                }
            }
            missing
        }
    };

    // BTreeMap order is byte order, which is etcd's key order.
    Cluster {
        tasks: tasks.into_values().collect(),
        missing,
        orphans: orphans.into_values().collect(),
        owner_keys: snapshot.owner.len(),
        read: ReadInfo {
            cluster_id: snapshot.cluster_id(),
            revision: snapshot.revision,
            endpoint: snapshot.endpoint.clone(),
            round_trips: snapshot.round_trips,
        },
        task_names: known.keys().map(|name| name_of(name)).collect(),
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Pause,
    Checkpoint,
    StorageCheckpoint,
    LastError,
}

fn checkpoint_value(task: &mut Task, kv: &Kv) -> Option<u64> {
    let value = tso::decode_u64be(&kv.value);
    if value.is_none() {
        task.checkpoint_undecodable = true;
        task.problem(
            &kv.key,
            format!("checkpoint value is {} bytes, want 8", kv.value.len()),
        );
    }
    value
}

fn apply(task: &mut Task, kv: &Kv, kind: Kind, rest: &[u8]) {
    match kind {
        // BR looks up the exact key; `pause/<task>/…` is not a pause marker.
        Kind::Pause if !rest.is_empty() => {}
        Kind::Pause => match decode_pause(&kv.value) {
            Ok(pause) => {
                if let Pause::V2(PauseV2 {
                    payload: Payload::Invalid(reason),
                    ..
                }) = &pause
                {
                    task.problem(&kv.key, format!("PauseV2 payload: {reason}"));
                }
                task.pause = Some(Some(pause));
            }
            Err(reason) => {
                task.pause = Some(None);
                task.problem(&kv.key, reason);
            }
        },
        Kind::Checkpoint => match keys::parse_checkpoint_key(rest) {
            Ok(CheckpointKey::Region) => {}
            Ok(CheckpointKey::Global) => task.central_global = checkpoint_value(task, kv),
            Ok(CheckpointKey::Store(store_id)) => {
                if let Some(ts) = checkpoint_value(task, kv) {
                    task.store_checkpoints.push(StoreTs { store_id, ts });
                }
            }
            Ok(CheckpointKey::Legacy(store_id)) => {
                if let Some(ts) = checkpoint_value(task, kv) {
                    task.legacy_checkpoints.push(StoreTs { store_id, ts });
                }
            }
            Err(reason) => {
                task.checkpoint_undecodable = true;
                task.problem(&kv.key, reason)
            }
        },
        Kind::StorageCheckpoint => match keys::parse_store_id(rest) {
            Ok(store_id) => {
                if let Some(ts) = checkpoint_value(task, kv) {
                    task.storage_checkpoints.push(StoreTs { store_id, ts });
                }
            }
            Err(reason) => {
                task.checkpoint_undecodable = true;
                task.problem(&kv.key, reason)
            }
        },
        Kind::LastError => {
            task.error_keys += 1;
            let key_store = match keys::parse_store_id(rest) {
                Ok(id) => Some(id),
                Err(reason) => {
                    task.problem(&kv.key, reason);
                    None
                }
            };
            match proto::decode_backup_error(&kv.value) {
                Ok(error) => {
                    // An unparsable key suffix is already a problem; the value's own id stands in.
                    task.error_store_ids
                        .push(key_store.unwrap_or(error.store_id));
                    task.errors.push(error);
                }
                Err(reason) => task.problem(&kv.key, reason),
            }
        }
    }
}
