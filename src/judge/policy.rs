//! What the rules are judged against, and the one home of every rule default.
//!
//! The lag defaults are the official TiDB alert rules for log backup
//! (`LogBackupRunningRPOMoreThan10m/30m`, `LogBackupPausingMoreThan2h/12h`, see
//! docs/rules.md); the safepoint and persist defaults are ours, explained there too.

use crate::range::Range;
use crate::service_state::State;
use std::collections::BTreeMap;
use std::time::Duration;

/// Running task: checkpoint lag for WARNING (seconds).
pub const LAG_WARNING: u64 = 600;
/// Running task: checkpoint lag for CRITICAL (seconds).
pub const LAG_CRITICAL: u64 = 1800;
/// Paused task: checkpoint lag for WARNING (seconds).
pub const PAUSED_LAG_WARNING: u64 = 7200;
/// Paused task: checkpoint lag for CRITICAL (seconds).
pub const PAUSED_LAG_CRITICAL: u64 = 43_200;
/// A paused task's resume deadline nearer than this → WARNING (seconds).
pub const SAFEPOINT_WARNING: u64 = 6 * 3600;
/// A paused task's resume deadline nearer than this, or none → CRITICAL (seconds).
pub const SAFEPOINT_CRITICAL: u64 = 2 * 3600;
/// central_global ahead of the storage checkpoint by more than this → WARNING (seconds).
pub const PERSIST_LAG: u64 = 300;
/// The advancer's checkpoint lag limit (`tidb_advancer_check_point_lag_limit`'s default).
pub const LAG_LIMIT: u64 = 48 * 3600;
/// A running task this close to the lag limit (seconds) → WARNING.
pub const AUTO_PAUSE_WARNING: u64 = 12 * 3600;
/// A running task this close to the lag limit (seconds) → CRITICAL.
pub const AUTO_PAUSE_CRITICAL: u64 = 2 * 3600;
/// Log backup holding GC back for longer than this (seconds) → WARNING.
pub const GC_HOLD_WARNING: u64 = 24 * 3600;
/// A store's `backup-stream-<task>-<store>` safepoint not refreshed for longer (seconds) → WARNING.
pub const FLUSH_STALE: u64 = 15 * 60;
/// The `log-backup-coordinator` safepoint not refreshed for longer (seconds) → WARNING.
pub const ADVANCER_STALE: u64 = 10 * 60;
/// A task that disappeared from etcd is reported (WARNING) this long (seconds), then
/// forgotten.
pub const GONE_FOR: u64 = 24 * 3600;
/// The cluster has no log backup task.
pub const NO_TASK_STATE: State = State::Critical;
/// PD's etcd cannot be read (a timeout is always UNKNOWN).
pub const UNREACHABLE_STATE: State = State::Critical;

/// The backup storage cannot be read (the etcd verdict still stands).
pub const STORAGE_UNREACHABLE_STATE: State = State::Warning;
/// A storage lock (`truncating.lock`, `v1/LOCK.*`, `v1/APPEND_LOCK.*`) older than this
/// (seconds) → WARNING: its process most likely died (docs/storage.md#storage-locks).
pub const STORAGE_LOCK_STALE: u64 = 3600;
/// The newest full backup attempt unfinished for longer (seconds) → WARNING.
pub const FULL_INCOMPLETE_WARNING: u64 = 12 * 3600;

/// `--storage` thresholds, all optional (no default window or age: it depends on the
/// retention the operator chose).
#[derive(Debug, Clone, PartialEq)]
pub struct StoragePolicy {
    pub unreachable_state: State,
    /// Restorable window (seconds), e.g. `7d:`: WARNING/CRITICAL when outside.
    pub window_warning: Option<Range>,
    pub window_critical: Option<Range>,
    /// Age of the newest flush (seconds).
    pub flush_age_warning: Option<Range>,
    pub flush_age_critical: Option<Range>,
    /// Age of the newest valid full backup (seconds).
    pub full_age_warning: Option<Range>,
    pub full_age_critical: Option<Range>,
    /// A storage lock older than this (seconds) → WARNING; younger → an OK-level line.
    pub lock_stale: u64,
    /// The newest full backup attempt unfinished for longer (seconds) → WARNING.
    pub full_incomplete_warning: u64,
    /// `--full-min-count`: fewer valid bases inside the window → WARNING.
    pub full_min_count: Option<usize>,
}

impl Default for StoragePolicy {
    fn default() -> Self {
        StoragePolicy {
            unreachable_state: STORAGE_UNREACHABLE_STATE,
            window_warning: None,
            window_critical: None,
            flush_age_warning: None,
            flush_age_critical: None,
            full_age_warning: None,
            full_age_critical: None,
            lock_stale: STORAGE_LOCK_STALE,
            full_incomplete_warning: FULL_INCOMPLETE_WARNING,
            full_min_count: None,
        }
    }
}

/// Lag thresholds (seconds) for one task.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    pub warning: Range,
    pub critical: Range,
    pub paused_warning: Range,
    pub paused_critical: Range,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            warning: Range::upper(LAG_WARNING as f64),
            critical: Range::upper(LAG_CRITICAL as f64),
            paused_warning: Range::upper(PAUSED_LAG_WARNING as f64),
            paused_critical: Range::upper(PAUSED_LAG_CRITICAL as f64),
        }
    }
}

/// Everything the rules need besides the data.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub defaults: Thresholds,
    pub per_task: BTreeMap<String, Thresholds>,
    pub no_task_state: State,
    pub unreachable_state: State,
    /// The run's `-t`: named in the finding of a fetch that ran out of it.
    pub timeout: Duration,
    /// Resume deadline closer than this (seconds) → WARNING.
    pub safepoint_warning: u64,
    /// Resume deadline closer than this (seconds), or none → CRITICAL.
    pub safepoint_critical: u64,
    /// central_global ahead of the restorable checkpoint by more (seconds) → WARNING.
    pub persist_lag: u64,
    /// The advancer's lag limit in this cluster (seconds).
    pub lag_limit: u64,
    /// Seconds left before the advancer pauses a running task: WARNING / CRITICAL below.
    pub auto_pause_warning: u64,
    pub auto_pause_critical: u64,
    /// Log backup holding GC back longer than this (seconds) → WARNING.
    pub gc_hold_warning: u64,
    /// Seconds without a flush (store) or a tick (advancer) → WARNING.
    pub flush_stale: u64,
    pub advancer_stale: u64,
    /// `--gone-for`: seconds a task seen earlier and gone now is reported.
    pub gone_for: u64,
    /// Seconds a running task's checkpoint has not advanced (across runs) → WARNING /
    /// CRITICAL; no default (the lag rules cover it).
    pub stuck_warning: Option<u64>,
    pub stuck_critical: Option<u64>,
    /// `--perfdata stores`: one `<task>_store_<id>_lag` item per store (the label count
    /// grows with the stores, so it is off by default).
    pub store_perfdata: bool,
    pub storage: StoragePolicy,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            defaults: Thresholds::default(),
            per_task: BTreeMap::new(),
            no_task_state: NO_TASK_STATE,
            unreachable_state: UNREACHABLE_STATE,
            timeout: crate::deadline::DEFAULT_TIMEOUT,
            safepoint_warning: SAFEPOINT_WARNING,
            safepoint_critical: SAFEPOINT_CRITICAL,
            persist_lag: PERSIST_LAG,
            lag_limit: LAG_LIMIT,
            auto_pause_warning: AUTO_PAUSE_WARNING,
            auto_pause_critical: AUTO_PAUSE_CRITICAL,
            gc_hold_warning: GC_HOLD_WARNING,
            flush_stale: FLUSH_STALE,
            advancer_stale: ADVANCER_STALE,
            gone_for: GONE_FOR,
            stuck_warning: None,
            stuck_critical: None,
            store_perfdata: false,
            storage: StoragePolicy::default(),
        }
    }
}

impl Policy {
    pub fn thresholds_for(&self, task: &str) -> &Thresholds {
        self.per_task.get(task).unwrap_or(&self.defaults)
    }
}
