//! The backup storage, read-only: what can actually be restored (docs/storage.md).
//!
//! Per task (Tier A, as `br log metadata` reads it, at most 4 + N requests): the root
//! `backupmeta`, the truncate safepoint file, `v1/migrations/BASE`, one LIST of
//! `v1/global_checkpoint/` and a GET of each `<store>.ts`; then the LIST of
//! `v1/backupmeta/` starting after the checkpoint minus [`FLUSH_WINDOW_MS`], paged to its
//! end, for the newest flush. Beside Tier A, the control objects (`read/control.rs`): the
//! migration layers, the locks and the CRR resume state. Only GET and LIST are ever
//! sent; no BR command, no lock file. Which endpoints are contacted, and with whose credentials: `trust.rs`. Every
//! read is capped by `--storage-max-object`, every listing by [`MAX_LIST_PAGES`].

mod compacted;
mod credentials;
mod http;
pub mod names;
mod open;
mod plan;
mod read;
mod requests;
mod trust;
mod verify;

pub use compacted::CompactionsChecked;
pub use credentials::StorageCredentials;
pub use plan::{StoragePlan, TaskStoragePlan};
pub use read::{flush_ms, read_all};
pub use requests::{requests, StorageRequest, VerifyRequest};
pub use trust::{AllowedEndpoint, Contact};
pub use verify::Verified;

/// How far before the restorable checkpoint the freshness listing starts.
pub const FLUSH_WINDOW_MS: u64 = 30 * 60 * 1000;
/// One LIST page (S3's and GCS's page size).
pub const LIST_PAGE: usize = 1000;
/// Pages one listing may take: 20,000 objects, more than 5,000 stores' checkpoint files
/// or 200 stores' flushes over the freshness window. A listing cut here says so.
pub const MAX_LIST_PAGES: usize = 20;
/// `--verify-budget`'s default: requests per task per run.
pub const VERIFY_BUDGET: u32 = 200;
/// `--storage-max-object`'s default: a log backupmeta is a few hundred bytes.
pub const MAX_OBJECT: u64 = 16 << 20;
/// Migration layers (`v1/migrations/*.mgrt`) whose `truncated_to` is read, the newest
/// first (one GET each); more is a finding.
pub const MAX_MIGRATION_LAYERS: usize = 64;
/// Compactions (`Migration.compactions`) `--verify` checks per task, the newest input
/// first; more are counted, and bound the state file's progress.
pub const MAX_COMPACTIONS: usize = 512;
/// Lock objects kept (the oldest); the rest are only counted.
pub const MAX_LOCKS: usize = 32;
/// The CRR checkpoint service's resume state, relative to the log storage's prefix.
pub const RESUME_STATE: &str = "crr-checkpoint/resume-state.json";

/// What one task's log storage holds.
#[derive(Debug, Clone, PartialEq)]
pub struct LogStorage {
    /// As shown in reasons (`s3://bucket/prefix`).
    pub url: String,
    /// `None`: the request failed before anything was known (`reason` of the error).
    pub read: Result<LogRead, String>,
    /// HTTP requests sent for this task (operations, for a local directory).
    pub requests: u32,
    /// Not contacted: the task info names an endpoint the operator did not allow.
    pub refused: bool,
}

/// The facts Tier A read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogRead {
    /// The root `backupmeta`: `None` when the object does not exist.
    pub backupmeta: Option<Result<RootMeta, String>>,
    /// `v1_stream_trancate_safepoint.txt` (the typo is BR's); 0 when absent.
    pub truncate_safepoint: u64,
    /// `v1/migrations/BASE`'s `truncated_to`, when the object exists.
    pub base_truncated_to: Option<u64>,
    /// Every 8-byte `v1/global_checkpoint/<store>.ts`: (store, ts). Others are skipped.
    pub global_checkpoints: Vec<(String, u64)>,
    /// `.ts` files of another size (skipped, as TiKV and BR do).
    pub skipped_checkpoint_files: usize,
    /// The newest meta name in the freshness window: its ts, or its last-modified time
    /// (Unix ms) when the name tells none.
    pub newest_flush: Option<Flush>,
    /// Meta names in the window that say a flush happened while PD gave no TSO.
    pub suspicious_metas: usize,
    /// Listings the page budget cut short (their prefixes).
    pub cut_listings: Vec<String>,
    /// `--verify`: this run's verification of the chain (`None` when not asked).
    pub verified: Option<Result<Verified, String>>,
    /// `--verify`: this run's check of the compacted SSTs the migrations name (`None` when
    /// not asked, or when the chain's verification failed).
    pub compactions: Option<Result<CompactionsChecked, String>>,
    /// Migration layers in `v1/migrations/` besides `BASE` (`{seq:08}_{hash:016X}.mgrt`).
    pub migration_layers: usize,
    /// The newest [`MAX_MIGRATION_LAYERS`] layers: (name, `truncated_to`), by name.
    pub layer_truncated_to: Vec<(String, u64)>,
    /// `truncating.lock`, and every `v1/LOCK*` and `v1/APPEND_LOCK*` object: the oldest
    /// [`MAX_LOCKS`], by name.
    pub locks: Vec<StorageLock>,
    /// Lock objects beyond [`MAX_LOCKS`].
    pub more_locks: usize,
    /// [`RESUME_STATE`]'s `last_checkpoint`: `None` when the object does not exist, an
    /// error when it holds none.
    pub resume_state: Option<Result<u64, String>>,
}

/// A lock object: its key (relative to the prefix) and last-modified time (Unix ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageLock {
    pub name: String,
    pub modified_ms: u64,
}

/// A root `backupmeta` as decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RootMeta {
    pub start_version: u64,
    pub end_version: u64,
    pub cluster_id: u64,
    pub is_raw_kv: bool,
    /// `backup_size` (25): the bytes of the backup's data and meta files as BR recorded
    /// them; `None` when it wrote none (0: a BR before the field).
    pub backup_size: Option<u64>,
}

/// The newest flush seen in the freshness listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flush {
    /// A TSO from the meta's name.
    Ts(u64),
    /// The object's last-modified time, Unix ms (names that carry no usable ts).
    Modified(u64),
}

/// One snapshot (full) backup, `--full-backup` or a child of `--full-backup-root`.
#[derive(Debug, Clone, PartialEq)]
pub struct FullBackup {
    pub url: String,
    pub read: Result<FullMeta, String>,
    /// No `backupmeta`, but BR's `backup.lock` or a `checkpoints/` prefix: a backup that
    /// failed or is still running, started at this time (the lock's last-modified, Unix
    /// ms; 0 when only `checkpoints/` is there).
    pub incomplete_since_ms: Option<u64>,
}

/// What a full backup's `backupmeta` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FullMeta {
    Decoded(RootMeta),
    /// It does not decode (encrypted with `--crypter.*`): only its last-modified time
    /// (Unix ms) is known, later than the backup ts by the backup's duration.
    Encrypted {
        modified_ms: u64,
    },
}

/// Everything the storage said for one cluster.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StorageFacts {
    /// Per task name, for the tasks whose storage was read.
    pub tasks: Vec<(String, LogStorage)>,
    pub full_backups: Vec<FullBackup>,
    /// `--full-backup`/`--full-backup-root` were given.
    pub full_backups_asked: bool,
    /// Roots that could not be listed: (url, why).
    pub root_errors: Vec<(String, String)>,
}

impl StorageFacts {
    pub fn task(&self, name: &str) -> Option<&LogStorage> {
        self.tasks.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }
}
