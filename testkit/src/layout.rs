//! Generators of log-backup storage contents, as BR and TiKV write them (the layout is
//! described in `docs/`; names and encodings here follow
//! `tikv/tikv:components/backup-stream/src/router.rs` at each release and
//! `pingcap/kvproto:proto/brpb.proto`):
//!
//! | key (relative to the task's storage prefix) | written by | content |
//! |---|---|---|
//! | `backupmeta` | BR `log start` | [`BackupMeta`], `start_version` = start ts, `end_version` 0 |
//! | `backup.lock` | BR `log start` | text; present = the task was restarted |
//! | `v1_stream_trancate_safepoint.txt` (sic) | BR `log truncate` | ASCII decimal u64, no newline |
//! | `v1/migrations/BASE` | BR, tikv-ctl | [`Migration`] with `truncated_to` |
//! | `v1/migrations/{seq:08}_{hash:016X}.mgrt` | BR, tikv-ctl (a layer not merged into BASE yet) | [`Migration`]: `truncated_to` or [`LogFileCompaction`]s |
//! | `truncating.lock`, `v1/LOCK.WRIT`, `v1/LOCK.READ.{hex16}`, `v1/APPEND_LOCK.WRIT` | BR, TiKV: a truncation, compaction or restore in progress | JSON lock meta |
//! | `crr-checkpoint/resume-state.json` | the CRR checkpoint service | JSON `{"last_checkpoint":N,…}` |
//! | `v1/global_checkpoint/<store>.ts` | each TiKV | 8-byte little-endian TSO |
//! | `v1/backupmeta/<name>.meta` | each TiKV, per flush | [`Metadata`]; names in [`MetaName`] |
//! | `v1/<YYYYMMDD>/<HH>/<store>/<min_ts>-<uuid>.log` | each TiKV, per flush | data (UTC date and hour of max_ts) |
//! | `v1/compactions/<name>_<crc64:016X>/metas/batch_<uuid>_<seq>.cmeta` | `tikv-ctl compact-log-backup` | [`LogFileSubcompactions`]: each subcompaction's SSTs ([`Compaction`]) |
//! | `v1/compactions/<name>_<crc64:016X>/outputs/<min:016X>_<max:016X>_<cf>_<region>_<uuid>.sst` | the same | an SST |
//!
//! [`LogStorage`] builds a whole prefix as `(key, bytes)` pairs; [`crate::sink::Sink`]
//! writes them to a directory or a test server. [`bench_metas`] makes many metas cheaply.
//! Snapshot backups are [`crate::full_backup::FullBackup`].

use crate::brpb::{
    BackupMeta, DataFileGroup, File, LogFileCompaction, LogFileSubcompaction,
    LogFileSubcompactionMeta, LogFileSubcompactions, MetaVersion, Metadata, Migration,
    MigrationVersion,
};
use crate::store::Objects;
use prost::Message;
use std::time::Duration;

pub use crate::encode::{tso, tso_at, tso_rfc3339, tso_span, tso_time, tso_unix_ms};

/// The `cluster_id` the generators write unless told otherwise.
pub const CLUSTER_ID: u64 = 7_300_000_000_000_000_001;
pub const CLUSTER_VERSION: &str = "v8.5.0";
pub const BR_VERSION: &str = "BR\nRelease Version: v8.5.0";

/// The safepoint file's name, with BR's typo (`trancate`).
pub const SAFEPOINT_FILE: &str = "v1_stream_trancate_safepoint.txt";
/// The CRR checkpoint service's resume state.
pub const RESUME_STATE_FILE: &str = "crr-checkpoint/resume-state.json";

/// `v1/migrations/{seq:08}_{hash:016X}.mgrt`, the hash as TiKV computes it for a
/// migration without meta edits: the XOR of its compactions' `artifacts_hash` and its
/// `truncated_to` (tikv/tikv:components/compact-log-backup/src/storage.rs,
/// `name_of_migration`, `hash_migration`).
pub fn layer_key(seq: u64, layer: &Migration) -> String {
    let hash = layer
        .compactions
        .iter()
        .fold(layer.truncated_to, |h, c| h ^ c.artifacts_hash);
    format!("v1/migrations/{seq:08}_{hash:016X}.mgrt")
}

/// What `br log start` writes in `backup.lock`.
pub const LOCK_TEXT: &str =
    "DO NOT DELETE\nThis file exists to remind other backup jobs won't use this path";

/// How a meta file is named; each TiKV release line wrote one form (all under
/// `v1/backupmeta/`, all ending in `.meta`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetaName {
    /// TiKV v6.1 to v8.5.2: `{min_resolved_ts decimal}-{uuid}`.
    Legacy,
    /// v8.5.3, v8.5.4: `{flush_ts:016X}-{min_begin_ts:016X}-{min_ts:016X}-{max_ts:016X}`.
    Hex,
    /// v8.5.5, a flush while PD gave no TSO: [`MetaName::Hex`] then `-SYNTHETIC{uuid:X}`
    /// (flush_ts from the local clock).
    Synthetic,
    /// v8.5.6: `{flush_ts:016X}{store_id:016X}-d{min_begin_ts:016X}l{min_ts:016X}u{max_ts:016X}`.
    Tagged,
    /// v8.5.7: [`MetaName::Tagged`] then `p{flags:016X}` (bit 0: no meta-KV files; bit 1:
    /// empty meta).
    TaggedFlags(u64),
}

/// One TiKV flush: a meta file and, unless empty, the data file its one group names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flush {
    pub store_id: u64,
    /// The TSO taken at flush (named by the hex forms).
    pub flush_ts: u64,
    pub min_begin_ts: u64,
    pub min_ts: u64,
    pub max_ts: u64,
    /// The minimum resolved ts (the legacy name, and `Metadata.resolved_ts`).
    pub resolved_ts: u64,
    pub name: MetaName,
    /// Bytes of the data file; 0 = no data file and no group (an empty meta).
    pub data_len: usize,
    /// The random part of legacy and synthetic names and of data-file names.
    pub uuid: u128,
}

impl Flush {
    /// A flush of `store_id` at `flush_ts` covering the 3 minutes before it (TiKV's
    /// default flush interval), resolved up to `flush_ts`, tagged name, 64 data bytes.
    pub fn new(store_id: u64, flush_ts: u64) -> Flush {
        let min_ts = flush_ts.saturating_sub(tso_span(Duration::from_secs(180)));
        let max_ts = flush_ts.saturating_sub(tso(1));
        Flush {
            store_id,
            flush_ts,
            min_begin_ts: min_ts,
            min_ts,
            max_ts,
            resolved_ts: flush_ts,
            name: MetaName::Tagged,
            data_len: 64,
            uuid: uuid_of(store_id, flush_ts),
        }
    }

    pub fn named(mut self, name: MetaName) -> Flush {
        self.name = name;
        self
    }

    /// Sets min_begin_ts, min_ts and max_ts.
    pub fn range(mut self, min_begin_ts: u64, min_ts: u64, max_ts: u64) -> Flush {
        (self.min_begin_ts, self.min_ts, self.max_ts) = (min_begin_ts, min_ts, max_ts);
        self
    }

    pub fn resolved(mut self, resolved_ts: u64) -> Flush {
        self.resolved_ts = resolved_ts;
        self
    }

    pub fn data_len(mut self, bytes: usize) -> Flush {
        self.data_len = bytes;
        self
    }

    /// `v1/backupmeta/<name>.meta`, per [`MetaName`].
    pub fn meta_key(&self) -> String {
        let hex4 = format!(
            "{:016X}-{:016X}-{:016X}-{:016X}",
            self.flush_ts, self.min_begin_ts, self.min_ts, self.max_ts
        );
        let tagged = format!(
            "{:016X}{:016X}-d{:016X}l{:016X}u{:016X}",
            self.flush_ts, self.store_id, self.min_begin_ts, self.min_ts, self.max_ts
        );
        let name = match self.name {
            MetaName::Legacy => format!("{}-{}", self.resolved_ts, uuid_text(self.uuid)),
            MetaName::Hex => hex4,
            MetaName::Synthetic => format!("{hex4}-SYNTHETIC{:X}", self.uuid),
            MetaName::Tagged => tagged,
            MetaName::TaggedFlags(flags) => format!("{tagged}p{flags:016X}"),
        };
        format!("v1/backupmeta/{name}.meta")
    }

    /// `v1/<YYYYMMDD>/<HH>/<store>/<min_ts>-<uuid>.log` (UTC date and hour of max_ts),
    /// or `None` for an empty flush.
    pub fn data_key(&self) -> Option<String> {
        if self.data_len == 0 {
            return None;
        }
        let time = tso_time(self.max_ts); // 2024-01-01T00:59:30Z
        let date = time[..10].replace('-', "");
        let hour = &time[11..13];
        Some(format!(
            "v1/{date}/{hour}/{}/{}-{}.log",
            self.store_id,
            self.min_ts,
            uuid_text(self.uuid)
        ))
    }

    /// The meta's content: a V2 [`Metadata`] with one group for the data file.
    pub fn metadata(&self) -> Metadata {
        Metadata {
            store_id: self.store_id as i64,
            resolved_ts: self.resolved_ts,
            max_ts: self.max_ts,
            min_ts: self.min_ts,
            file_groups: self
                .data_key()
                .map(|path| DataFileGroup {
                    path,
                    min_ts: self.min_ts,
                    max_ts: self.max_ts,
                    min_resolved_ts: self.resolved_ts,
                    length: self.data_len as u64,
                })
                .into_iter()
                .collect(),
            meta_version: MetaVersion::V2 as i32,
        }
    }

    /// The meta object and, if any, the data object.
    pub fn objects(&self) -> Objects {
        let mut objects = vec![(self.meta_key(), self.metadata().encode_to_vec())];
        if let Some(key) = self.data_key() {
            objects.push((key, vec![0x28; self.data_len]));
        }
        objects
    }
}

/// A deterministic "random" uuid for (store, ts): names stay stable between runs.
fn uuid_of(store_id: u64, ts: u64) -> u128 {
    let mut x = store_id
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(ts)
        .wrapping_add(1);
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (u128::from(next()) << 64) | u128::from(next())
}

/// A uuid as TiKV prints it (`uuid::Uuid`'s Display): lower-case, 8-4-4-4-12.
fn uuid_text(uuid: u128) -> String {
    let h = format!("{uuid:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// A log-backup storage prefix under construction; [`LogStorage::objects`] lists it.
#[derive(Clone, Debug)]
pub struct LogStorage {
    backupmeta: Option<BackupMeta>,
    restarted: bool,
    safepoint: Option<u64>,
    truncated_to: Option<u64>,
    checkpoints: Vec<(u64, u64)>,
    flushes: Vec<Flush>,
    layers: Vec<(u64, Migration)>,
    base_compactions: Vec<LogFileCompaction>,
    extra: Objects,
}

impl LogStorage {
    /// A task started at `start_ts`: `backupmeta` with that `start_version` and
    /// [`CLUSTER_ID`], nothing else yet.
    pub fn new(start_ts: u64) -> LogStorage {
        LogStorage {
            backupmeta: Some(BackupMeta {
                cluster_id: CLUSTER_ID,
                cluster_version: CLUSTER_VERSION.into(),
                start_version: start_ts,
                br_version: BR_VERSION.into(),
                ..Default::default()
            }),
            restarted: false,
            safepoint: None,
            truncated_to: None,
            checkpoints: Vec::new(),
            flushes: Vec::new(),
            layers: Vec::new(),
            base_compactions: Vec::new(),
            extra: Vec::new(),
        }
    }

    pub fn cluster_id(mut self, cluster_id: u64) -> LogStorage {
        if let Some(meta) = &mut self.backupmeta {
            meta.cluster_id = cluster_id;
        }
        self
    }

    /// No `backupmeta` at all (deleted, or not a log-backup prefix).
    pub fn without_backupmeta(mut self) -> LogStorage {
        self.backupmeta = None;
        self
    }

    /// `end_version` > 0: a snapshot backup's storage given as the log storage by
    /// mistake (BR: "the storage has been used for full backup").
    pub fn full_backup_by_mistake(mut self, end_version: u64) -> LogStorage {
        if let Some(meta) = &mut self.backupmeta {
            meta.end_version = end_version;
        }
        self
    }

    /// `backup.lock` present: the task was stopped and started again on this prefix.
    pub fn restarted(mut self) -> LogStorage {
        self.restarted = true;
        self
    }

    /// `br log truncate --until ts` ran: the safepoint file.
    pub fn safepoint(mut self, ts: u64) -> LogStorage {
        self.safepoint = Some(ts);
        self
    }

    /// `v1/migrations/BASE` with `truncated_to` = ts (a truncation through migrations,
    /// which leaves the safepoint file alone).
    pub fn migration_truncated_to(mut self, ts: u64) -> LogStorage {
        self.truncated_to = Some(ts);
        self
    }

    /// A migration layer `v1/migrations/{seq:08}_{hash:016X}.mgrt` with `truncated_to` =
    /// ts: a truncation whose merge into BASE did not finish.
    pub fn layer_truncated_to(mut self, seq: u64, ts: u64) -> LogStorage {
        self.layers.push((
            seq,
            Migration {
                truncated_to: ts,
                creator: "br".into(),
                version: MigrationVersion::M2 as i32,
                ..Default::default()
            },
        ));
        self
    }

    /// A migration layer of `tikv-ctl compact-log-backup`: one compaction of the logs in
    /// `[from, until)`, `truncated_to` 0.
    pub fn compaction_layer(mut self, seq: u64, from: u64, until: u64) -> LogStorage {
        let name = format!("compaction-{seq}");
        self.layers.push((
            seq,
            Migration {
                compactions: vec![LogFileCompaction {
                    compaction_from_ts: from,
                    compaction_until_ts: until,
                    artifacts: format!("v1/compactions/{name}/metas"),
                    artifacts_hash: uuid_of(seq, from) as u64,
                    generated_files: format!("v1/compactions/{name}/outputs"),
                    name,
                    input_min_ts: from,
                    input_max_ts: until.saturating_sub(1),
                }],
                creator: "tikv-ctl compact-log-backup".into(),
                version: MigrationVersion::M2 as i32,
                ..Default::default()
            },
        ));
        self
    }

    /// A [`Compaction`] recorded by a migration layer `seq` (not merged into BASE yet),
    /// with its `.cmeta` objects and SSTs.
    pub fn compacted_in_layer(mut self, seq: u64, compaction: &Compaction) -> LogStorage {
        self.layers.push((
            seq,
            Migration {
                compactions: vec![compaction.compaction()],
                creator: "tikv-ctl compact-log-backup".into(),
                version: MigrationVersion::M2 as i32,
                ..Default::default()
            },
        ));
        self.extra.extend(compaction.objects());
        self
    }

    /// A [`Compaction`] recorded in `v1/migrations/BASE` (its layer merged), with its
    /// `.cmeta` objects and SSTs.
    pub fn compacted_in_base(mut self, compaction: &Compaction) -> LogStorage {
        self.base_compactions.push(compaction.compaction());
        self.extra.extend(compaction.objects());
        self
    }

    /// A lock object at `key` (`truncating.lock`, `v1/LOCK.WRIT`, `v1/LOCK.READ.{hex16}`,
    /// `v1/APPEND_LOCK.WRIT`) holding TiKV's lock meta as JSON
    /// (tikv/tikv:components/external_storage/src/locking.rs `LockMeta`).
    pub fn lock(self, key: &str, hint: &str) -> LogStorage {
        let meta = format!(
            r#"{{"locked_at":"2024-01-01T00:00:00Z","locker_host":"br-host","locker_pid":4242,"txn_id":"{}","hint":"{hint}"}}"#,
            uuid_text(uuid_of(key.len() as u64, 4242))
        );
        self.object(key, meta.as_bytes())
    }

    /// `crr-checkpoint/resume-state.json`, as the CRR checkpoint service persists it.
    pub fn resume_state(self, last_checkpoint: u64) -> LogStorage {
        let json =
            format!(r#"{{"last_checkpoint":{last_checkpoint},"synced_ts":{last_checkpoint}}}"#);
        self.object(RESUME_STATE_FILE, json.as_bytes())
    }

    /// `v1/global_checkpoint/<store_id>.ts` = ts (8 bytes, little-endian).
    pub fn checkpoint(mut self, store_id: u64, ts: u64) -> LogStorage {
        self.checkpoints.push((store_id, ts));
        self
    }

    /// A `v1/global_checkpoint/<store_id>.ts` that is not 8 bytes (7), which readers
    /// must skip.
    pub fn junk_checkpoint(self, store_id: u64) -> LogStorage {
        self.object(
            &format!("v1/global_checkpoint/{store_id}.ts"),
            &[1, 2, 3, 4, 5, 6, 7],
        )
    }

    pub fn flush(mut self, flush: Flush) -> LogStorage {
        self.flushes.push(flush);
        self
    }

    pub fn flushes(mut self, flushes: impl IntoIterator<Item = Flush>) -> LogStorage {
        self.flushes.extend(flushes);
        self
    }

    /// Any other object (e.g. `truncating.lock`, `v1/LOCK.WRIT`).
    pub fn object(mut self, key: &str, bytes: &[u8]) -> LogStorage {
        self.extra.push((key.to_string(), bytes.to_vec()));
        self
    }

    /// Every object, keys relative to the prefix, sorted by key.
    pub fn objects(&self) -> Objects {
        let mut out: Objects = Vec::new();
        if let Some(meta) = &self.backupmeta {
            out.push(("backupmeta".into(), meta.encode_to_vec()));
        }
        if self.restarted {
            out.push(("backup.lock".into(), LOCK_TEXT.as_bytes().to_vec()));
        }
        if let Some(ts) = self.safepoint {
            out.push((SAFEPOINT_FILE.into(), ts.to_string().into_bytes()));
        }
        if self.truncated_to.is_some() || !self.base_compactions.is_empty() {
            let base = Migration {
                truncated_to: self.truncated_to.unwrap_or(0),
                compactions: self.base_compactions.clone(),
                creator: "br".into(),
                version: MigrationVersion::M2 as i32,
            };
            out.push(("v1/migrations/BASE".into(), base.encode_to_vec()));
        }
        for (seq, layer) in &self.layers {
            out.push((layer_key(*seq, layer), layer.encode_to_vec()));
        }
        for (store, ts) in &self.checkpoints {
            out.push((
                format!("v1/global_checkpoint/{store}.ts"),
                ts.to_le_bytes().to_vec(),
            ));
        }
        for flush in &self.flushes {
            out.extend(flush.objects());
        }
        out.extend(self.extra.iter().cloned());
        out.sort();
        out
    }
}

/// A `tikv-ctl compact-log-backup` run as it leaves the storage
/// (tikv/tikv:components/compact-log-backup/src/execute/mod.rs `recommended_prefix`,
/// compaction/exec.rs, exec_hooks/save_meta.rs): under its prefix
/// `v1/compactions/<name>_<crc64:016X>`, one SST per subcompaction in `outputs/` and the
/// subcompactions batched into `.cmeta` objects ([`LogFileSubcompactions`]) in `metas/`;
/// the migration's [`LogFileCompaction`] names `metas` as its `artifacts`.
#[derive(Clone, Debug)]
pub struct Compaction {
    pub name: String,
    /// `v1/compactions/<name>_<crc64:016X>`.
    pub out_prefix: String,
    pub input_min_ts: u64,
    pub input_max_ts: u64,
    /// Each `.cmeta`'s subcompactions: (region, SST key, SST bytes).
    pub batches: Vec<Vec<(u64, String, usize)>>,
}

impl Compaction {
    /// `ssts` subcompactions (regions 1..), one 100-byte SST each, `per_cmeta` to a
    /// `.cmeta`, of the logs in `[input_min_ts, input_max_ts]`.
    pub fn new(
        name: &str,
        input_min_ts: u64,
        input_max_ts: u64,
        ssts: usize,
        per_cmeta: usize,
    ) -> Compaction {
        let out_prefix = format!(
            "v1/compactions/{name}_{:016X}",
            uuid_of(input_min_ts, input_max_ts) as u64
        );
        let subs: Vec<(u64, String, usize)> = (1..=ssts as u64)
            .map(|region| {
                let sst = format!(
                    "{out_prefix}/outputs/{input_min_ts:016X}_{input_max_ts:016X}_write_{region}_{}.sst",
                    uuid_text(uuid_of(region, input_min_ts))
                );
                (region, sst, 100)
            })
            .collect();
        Compaction {
            name: name.to_string(),
            out_prefix,
            input_min_ts,
            input_max_ts,
            batches: subs.chunks(per_cmeta.max(1)).map(<[_]>::to_vec).collect(),
        }
    }

    /// `<out>/metas/batch_<uuid>_<seq>.cmeta` (save_meta.rs `MetaBatchWriter`).
    pub fn cmeta_key(&self, seq: usize) -> String {
        format!(
            "{}/metas/batch_{}_{seq}.cmeta",
            self.out_prefix,
            uuid_text(uuid_of(self.input_min_ts, 7))
        )
    }

    /// Every SST key, in batch order.
    pub fn sst_keys(&self) -> Vec<String> {
        self.batches
            .iter()
            .flatten()
            .map(|(_, key, _)| key.clone())
            .collect()
    }

    /// What the migration records.
    pub fn compaction(&self) -> LogFileCompaction {
        LogFileCompaction {
            compaction_from_ts: self.input_min_ts,
            compaction_until_ts: self.input_max_ts + 1,
            name: format!("{}#4242@tikv-ctl-host", self.name),
            artifacts: format!("{}/metas", self.out_prefix),
            artifacts_hash: uuid_of(self.input_max_ts, 9) as u64,
            generated_files: format!("{}/outputs", self.out_prefix),
            input_min_ts: self.input_min_ts,
            input_max_ts: self.input_max_ts,
        }
    }

    /// The `seq`th `.cmeta`'s content.
    pub fn cmeta(&self, seq: usize) -> LogFileSubcompactions {
        LogFileSubcompactions {
            subcompactions: self.batches[seq]
                .iter()
                .map(|(region, key, len)| LogFileSubcompaction {
                    meta: Some(LogFileSubcompactionMeta {
                        size: 4096,
                        region_id: *region,
                        cf: "write".into(),
                        input_max_ts: self.input_max_ts,
                        input_min_ts: self.input_min_ts,
                        compact_from_ts: self.input_min_ts,
                        compact_until_ts: self.input_max_ts + 1,
                    }),
                    sst_outputs: vec![File {
                        name: key.clone(),
                        sha256: vec![0x5a; 32],
                        total_kvs: 10,
                        cf: "write".into(),
                        size: *len as u64,
                    }],
                })
                .collect(),
        }
    }

    /// The `.cmeta` objects and the SSTs.
    pub fn objects(&self) -> Objects {
        let mut out: Objects = (0..self.batches.len())
            .map(|seq| (self.cmeta_key(seq), self.cmeta(seq).encode_to_vec()))
            .collect();
        for (_, key, len) in self.batches.iter().flatten() {
            out.push((key.clone(), vec![0x53; *len]));
        }
        out
    }
}

/// `n` metas (no data files: their groups name `.log` keys that are not written),
/// round-robin over stores `1..=stores`, flush_ts from `first_flush_ts` every
/// `interval`, named `name`. Cheap: 10⁵ metas take well under a second.
pub fn bench_metas(
    n: usize,
    stores: u64,
    first_flush_ts: u64,
    interval: Duration,
    name: MetaName,
) -> Objects {
    let step = tso_span(interval).max(1);
    (0..n)
        .map(|i| {
            let store = 1 + (i as u64 % stores.max(1));
            let flush = Flush::new(store, first_flush_ts + step * i as u64).named(name);
            let mut meta = flush.metadata();
            meta.file_groups.truncate(1);
            (flush.meta_key(), meta.encode_to_vec())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_names_of_every_era() {
        let f = Flush::new(4, 0x0650_0000_0000_0003).range(
            0x0650_0000_0000_0000,
            0x0650_0000_0000_0001,
            0x0650_0000_0000_0002,
        );
        let hex4 = "0650000000000003-0650000000000000-0650000000000001-0650000000000002";
        let tagged =
            "06500000000000030000000000000004-d0650000000000000l0650000000000001u0650000000000002";
        assert_eq!(
            f.clone().named(MetaName::Hex).meta_key(),
            format!("v1/backupmeta/{hex4}.meta")
        );
        assert_eq!(
            f.clone().named(MetaName::Tagged).meta_key(),
            format!("v1/backupmeta/{tagged}.meta")
        );
        assert_eq!(
            f.clone().named(MetaName::TaggedFlags(3)).meta_key(),
            format!("v1/backupmeta/{tagged}p0000000000000003.meta")
        );
        let synthetic = f.clone().named(MetaName::Synthetic).meta_key();
        assert!(synthetic.starts_with(&format!("v1/backupmeta/{hex4}-SYNTHETIC")));
        assert!(synthetic[14 + hex4.len() + 10..synthetic.len() - 5]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_lowercase()));
        let legacy = f.named(MetaName::Legacy).meta_key();
        let rest = legacy
            .strip_prefix(&format!("v1/backupmeta/{}-", 0x0650_0000_0000_0003u64))
            .unwrap();
        assert_eq!(rest.len(), 36 + 5, "{legacy}");
        assert_eq!(rest.matches('-').count(), 4);
    }

    #[test]
    fn data_file_under_the_hour_of_max_ts() {
        let f = Flush::new(7, tso_rfc3339("2024-01-01T01:00:10Z"));
        let key = f.data_key().unwrap();
        assert!(key.starts_with("v1/20240101/01/7/"), "{key}");
        let meta = Metadata::decode(&f.objects()[0].1[..]).unwrap();
        assert_eq!(meta.file_groups[0].path, key);
        assert_eq!(meta.file_groups[0].length, 64);
        assert!(Flush::new(7, 1 << 40).data_len(0).data_key().is_none());
    }

    #[test]
    fn log_storage_objects() {
        let start = tso_rfc3339("2024-01-01T00:00:00Z");
        let objects = LogStorage::new(start)
            .restarted()
            .safepoint(start + 5)
            .migration_truncated_to(start + 6)
            .checkpoint(1, start + 7)
            .junk_checkpoint(9)
            .flush(Flush::new(1, start + tso(60_000)))
            .objects();
        let get = |k: &str| objects.iter().find(|(key, _)| key == k).unwrap().1.clone();
        let meta = BackupMeta::decode(&get("backupmeta")[..]).unwrap();
        assert_eq!((meta.start_version, meta.end_version), (start, 0));
        assert_eq!(meta.cluster_id, CLUSTER_ID);
        assert!(get("backup.lock").starts_with(b"DO NOT DELETE"));
        assert_eq!(get(SAFEPOINT_FILE), (start + 5).to_string().as_bytes());
        let base = Migration::decode(&get("v1/migrations/BASE")[..]).unwrap();
        assert_eq!(base.truncated_to, start + 6);
        assert_eq!(get("v1/global_checkpoint/1.ts"), (start + 7).to_le_bytes());
        assert_eq!(get("v1/global_checkpoint/9.ts").len(), 7);
        assert_eq!(objects.len(), 8, "{:?}", objects.iter().map(|o| &o.0));

        let layered = LogStorage::new(start)
            .layer_truncated_to(3, start + 9)
            .compaction_layer(4, start, start + 8)
            .lock("v1/LOCK.WRIT", "StreamTruncation: MergeMigration")
            .resume_state(start + 10)
            .objects();
        let layer = |seq: &str| {
            layered
                .iter()
                .find(|(k, _)| k.starts_with(&format!("v1/migrations/{seq}_")))
                .unwrap()
        };
        let (key, bytes) = layer("00000003");
        assert_eq!(
            key,
            &format!("v1/migrations/00000003_{:016X}.mgrt", start + 9)
        );
        assert_eq!(
            Migration::decode(&bytes[..]).unwrap().truncated_to,
            start + 9
        );
        let compaction = Migration::decode(&layer("00000004").1[..]).unwrap();
        assert_eq!(compaction.truncated_to, 0);
        assert_eq!(compaction.compactions[0].input_max_ts, start + 7);
        let lock = &layered.iter().find(|(k, _)| k == "v1/LOCK.WRIT").unwrap().1;
        assert!(String::from_utf8_lossy(lock).contains(r#""hint":"StreamTruncation"#));
        let resume = &layered
            .iter()
            .find(|(k, _)| k == RESUME_STATE_FILE)
            .unwrap()
            .1;
        assert_eq!(
            String::from_utf8_lossy(resume),
            format!(r#"{{"last_checkpoint":{0},"synced_ts":{0}}}"#, start + 10)
        );

        let none = LogStorage::new(start).without_backupmeta().objects();
        assert!(none.is_empty());
        let full = LogStorage::new(start)
            .full_backup_by_mistake(start + 1)
            .objects();
        assert_eq!(
            BackupMeta::decode(&full[0].1[..]).unwrap().end_version,
            start + 1
        );
    }

    #[test]
    fn a_compaction_as_tikv_ctl_leaves_it() {
        let (min, max) = (
            tso_rfc3339("2024-01-01T00:00:00Z"),
            tso_rfc3339("2024-01-01T00:30:00Z"),
        );
        let c = Compaction::new("daily", min, max, 5, 2);
        let objects = LogStorage::new(min).compacted_in_layer(2, &c).objects();
        assert_eq!(c.batches.len(), 3);
        let get = |k: &str| objects.iter().find(|(key, _)| key == k).unwrap().1.clone();
        let layer = objects
            .iter()
            .find(|(k, _)| k.starts_with("v1/migrations/00000002_"))
            .unwrap();
        let recorded = &Migration::decode(&layer.1[..]).unwrap().compactions[0];
        assert_eq!(recorded.artifacts, format!("{}/metas", c.out_prefix));
        assert!(c
            .cmeta_key(0)
            .starts_with(&format!("{}/batch_", recorded.artifacts)));
        let batch = LogFileSubcompactions::decode(&get(&c.cmeta_key(2))[..]).unwrap();
        let sst = &batch.subcompactions[0].sst_outputs[0];
        assert_eq!(
            (sst.name.as_str(), sst.size),
            (c.sst_keys()[4].as_str(), 100)
        );
        assert_eq!(get(&sst.name).len(), 100);
        assert!(sst.name.starts_with(&format!(
            "{}/outputs/{min:016X}_{max:016X}_write_5_",
            c.out_prefix
        )));
        let base = LogStorage::new(min).compacted_in_base(&c).objects();
        let base = Migration::decode(
            &base
                .iter()
                .find(|(k, _)| k == "v1/migrations/BASE")
                .unwrap()
                .1[..],
        )
        .unwrap();
        assert_eq!((base.truncated_to, base.compactions.len()), (0, 1));
    }

    #[test]
    fn bench_metas_are_distinct_and_sorted_by_flush() {
        let start = tso_rfc3339("2024-01-01T00:00:00Z");
        for name in [MetaName::Legacy, MetaName::Hex, MetaName::Tagged] {
            let metas = bench_metas(1000, 3, start, Duration::from_secs(1), name);
            let mut keys: Vec<_> = metas.iter().map(|(k, _)| k.clone()).collect();
            keys.sort();
            keys.dedup();
            assert_eq!(keys.len(), 1000, "{name:?}");
        }
        let tagged = bench_metas(10, 2, start, Duration::from_secs(1), MetaName::Tagged);
        let keys: Vec<_> = tagged.iter().map(|(k, _)| k.clone()).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }
}
