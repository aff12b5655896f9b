//! What judging produces, and all the renderers read: findings with their states, the
//! metrics the rules judged (with the thresholds they were judged against), and the
//! decoded facts worth showing.

use crate::model::{CheckpointSource, Orphan, ReadInfo, Status, Task};
use crate::pause::Pause;
pub use crate::pause::{PauseV2 as PauseDetails, Payload as PausePayload};
use crate::pd::Keyspace;
use crate::range::Range;
use crate::service_state::State;
use crate::throughput::TikvFacts;

/// One judged finding: a state and the sentence that says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub state: State,
    pub text: String,
}

impl Finding {
    pub fn new(state: State, text: impl Into<String>) -> Finding {
        Finding {
            state,
            text: text.into(),
        }
    }
}

/// A measured value as a rule judged it: perfdata and the ndjson fields serialise these.
/// `label` is `[a-z0-9_]` and stable; renderers prefix it with the task's (and in fleet
/// mode the cluster's) label.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub label: std::borrow::Cow<'static, str>,
    /// `None`: the rule applies but the value is unknown (no perfdata item then).
    pub value: Option<f64>,
    /// Perfdata unit of measure: `s`, or empty for counts.
    pub uom: &'static str,
    pub warn: Option<Range>,
    pub crit: Option<Range>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl Metric {
    /// Seconds (minimum 0) judged against `warn` and `crit`; `None` when unknown.
    pub fn seconds(
        label: impl Into<std::borrow::Cow<'static, str>>,
        value: Option<u64>,
        warn: Option<Range>,
        crit: Option<Range>,
    ) -> Metric {
        Metric {
            label: label.into(),
            value: value.map(|v| v as f64),
            uom: "s",
            warn,
            crit,
            min: Some(0.0),
            max: None,
        }
    }

    /// A count (no unit, minimum 0) with no thresholds.
    pub fn count(label: &'static str, value: f64) -> Metric {
        Metric {
            label: label.into(),
            value: Some(value),
            uom: "",
            warn: None,
            crit: None,
            min: Some(0.0),
            max: None,
        }
    }
}

/// What a rule returns: its findings and the metrics it judged.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Judged {
    pub findings: Vec<Finding>,
    pub metrics: Vec<Metric>,
}

impl Judged {
    pub fn push(&mut self, state: State, text: impl Into<String>) {
        self.findings.push(Finding::new(state, text));
    }

    pub fn extend(&mut self, other: Judged) {
        self.findings.extend(other.findings);
        self.metrics.extend(other.metrics);
    }
}

/// The pause marker as every renderer shows it, made once.
#[derive(Debug, Clone, PartialEq)]
pub struct PauseView {
    /// `v1` (empty marker), `v2` (JSON), `invalid` (cannot be decoded).
    pub format: &'static str,
    /// PauseV2's fields: who paused, when, why.
    pub details: Option<PauseDetails>,
    /// Who paused it: `operator`, `advancer-lag-limit`, `tikv-error` or `unknown`.
    pub origin: &'static str,
    /// The one-line description (`paused ERROR by host pid 7 at …: …`); `None` for an
    /// undecodable marker, whose problem is already a finding.
    pub text: Option<String>,
}

impl PauseView {
    /// `marker` is the decoded pause key: `None` when its value cannot be decoded.
    pub fn of(marker: Option<&Pause>, origin: Origin) -> PauseView {
        let origin = origin.as_str();
        match marker {
            None => PauseView {
                format: "invalid",
                details: None,
                origin,
                text: None,
            },
            Some(Pause::V1) => PauseView {
                format: "v1",
                details: None,
                origin,
                text: Some(format!(
                    "paused (no pause details: PauseV1; origin {origin})"
                )),
            },
            Some(Pause::V2(p)) => {
                let mut text = format!("paused {} by {}", p.severity, p.operation_hostname);
                if let Some(pid) = p.operation_pid {
                    text.push_str(&format!(" pid {pid}"));
                }
                text.push_str(&format!(" at {}", p.operation_time));
                match &p.payload {
                    PausePayload::Text(msg) => text.push_str(&format!(": {msg}")),
                    PausePayload::Error(e) => {
                        text.push_str(&format!(": {} {}", e.error_code, e.error_message))
                    }
                    PausePayload::Invalid(_) => text.push_str(": payload cannot be decoded"),
                    PausePayload::None => {}
                }
                text.push_str(&format!(" (origin {origin})"));
                PauseView {
                    format: "v2",
                    details: Some(p.clone()),
                    origin,
                    text: Some(text),
                }
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskVerdict {
    /// The decoded task the verdict is about.
    pub task: Task,
    pub state: State,
    /// Worst first; never empty.
    pub reasons: Vec<Finding>,
    pub status: Status,
    pub checkpoint: Option<(u64, CheckpointSource)>,
    pub lag_seconds: Option<u64>,
    /// In perfdata order: `checkpoint_lag` (with the paused or running thresholds that
    /// judged it), `paused`, `store_errors`.
    pub metrics: Vec<Metric>,
    /// `Some` when the task is paused.
    pub pause: Option<PauseView>,
    /// A running task: seconds until the advancer's lag limit pauses it.
    pub auto_pause_in_seconds: Option<u64>,
    /// physical(checkpoint) − physical(gc_safe_point), when PD answered.
    pub gc_margin_seconds: Option<i64>,
    /// Paused tasks: Unix ms after which resume is impossible (None: no PD data,
    /// not paused, no protecting safepoint, or a safepoint that never expires).
    pub resume_deadline_ms: Option<u64>,
    /// The checkpoint to remember for the next run (state kept); `None` otherwise.
    pub progress: Option<crate::statefile::TaskProgress>,
    /// Δcheckpoint / Δwall since the previous run (seconds of data per second).
    pub checkpoint_rate: Option<f64>,
    /// What the backup storage says (`--storage`); `None` when it was not read.
    pub storage: Option<StorageView>,
}

impl TaskVerdict {
    /// A verdict that says only `reasons` (worst first) about `task`: no checkpoint, no
    /// metric, nothing read from PD or the storage (a task that disappeared, tests).
    pub fn bare(task: Task, status: Status, reasons: Vec<Finding>) -> TaskVerdict {
        TaskVerdict {
            task,
            state: reasons.first().map_or(State::Ok, |r| r.state),
            reasons,
            status,
            checkpoint: None,
            lag_seconds: None,
            metrics: Vec::new(),
            pause: None,
            auto_pause_in_seconds: None,
            gc_margin_seconds: None,
            resume_deadline_ms: None,
            progress: None,
            checkpoint_rate: None,
            storage: None,
        }
    }

    pub fn metric(&self, label: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.label == label)
    }
}

/// TiKV store counts by PD `state_name`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreCounts {
    pub up: usize,
    pub disconnected: usize,
    pub down: usize,
    pub offline: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub state: State,
    /// In etcd key order (renderers sort worst first where they need to).
    pub tasks: Vec<TaskVerdict>,
    /// Run-level findings: missing tasks, no task at all, PD unreadable, set-up notices.
    pub findings: Vec<Finding>,
    /// Run-level metrics in perfdata order (`tasks`, store counts, KV event rate).
    pub metrics: Vec<Metric>,
    /// Names asked for with `--task` that have no task info.
    pub missing: Vec<String>,
    /// PD's etcd could not be read: the finding that says so, and how bad it is. Nothing
    /// else is known then.
    pub failure: Option<Finding>,
    pub cluster: ClusterFacts,
    pub now_ms: u64,
}

/// The cluster-level facts renderers print.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterFacts {
    pub orphans: Vec<Orphan>,
    pub owner_keys: usize,
    pub read: ReadInfo,
    /// PD's GC safepoint and store counts, when its HTTP API answered.
    pub gc_safe_point: Option<u64>,
    pub stores: Option<StoreCounts>,
    /// now − the oldest log-backup service safepoint, seconds (PD answered and one exists).
    pub gc_hold_seconds: Option<u64>,
    /// PD's keyspaces with keyspace-level GC (their GC barriers are out of the check's
    /// sight); `None` when PD's HTTP API was not asked or its keyspace list unreadable.
    pub keyspace_level_gc: Option<Vec<Keyspace>>,
    /// `--throughput`: the TiDB (`ip:port`) whose `/metrics` says it owns the advancer.
    pub advancer_owner: Option<String>,
    /// TiKV `/metrics` results (`--throughput`).
    pub tikv: Option<TikvFacts>,
}

impl ClusterFacts {
    /// `--throughput`: KV events per second over all stores with a previous sample.
    pub fn kv_rate(&self) -> Option<f64> {
        self.tikv.as_ref().and_then(|t| t.total_rate)
    }
}

/// Who paused the task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Operator,
    AdvancerLagLimit,
    TikvError,
    Unknown,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Operator => "operator",
            Origin::AdvancerLagLimit => "advancer-lag-limit",
            Origin::TikvError => "tikv-error",
            Origin::Unknown => "unknown",
        }
    }
}

/// What the storage rules found, for the outputs (all `None` when not known).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StorageView {
    /// `ok` or `unreadable` (`off` is no view at all).
    pub state: &'static str,
    pub restorable_from_ts: Option<u64>,
    pub restorable_to_ts: Option<u64>,
    pub window_seconds: Option<u64>,
    pub storage_checkpoint_ts: Option<u64>,
    pub truncate_ts: Option<u64>,
    pub newest_flush_age_seconds: Option<u64>,
    /// The newest valid full backup's ts (approximate when its backupmeta is encrypted).
    pub full_backup_ts: Option<u64>,
    pub full_backup_age_seconds: Option<u64>,
    pub full_backup_approximate: bool,
    /// The newest valid full backup's size as its backupmeta records it (`None`: not
    /// written, or the backupmeta is encrypted).
    pub full_backup_bytes: Option<u64>,
    /// The oldest point PITR can restore to: the oldest valid full backup's ts.
    pub pitr_restorable_from_ts: Option<u64>,
    pub requests: Option<u32>,
    /// Every valid PITR base inside the log window: (url, ts, approximate).
    pub bases: Vec<(String, u64, bool)>,
    /// Whether full backups were asked for (`--full-backup`, `--full-backup-root`).
    pub bases_asked: bool,
    /// `--verify`: how far the chain's metas were checked file by file.
    pub verified_to_ts: Option<u64>,
    /// `--verify`: the restore points the checked files prove (stops before the first
    /// missing or short file).
    pub verified_restorable_to_ts: Option<u64>,
    /// `--verify`: metas still to check.
    pub verify_backlog_metas: Option<u64>,
    /// `--verify`: metas this run proved by name only (their file found; its length and
    /// a multi-group flush's other files not read).
    pub verify_by_name_metas: Option<u64>,
    /// `--verify`: bytes of data files in the last verified hour of the chain.
    pub log_bytes_per_hour: Option<u64>,
    /// `--verify`: the progress to keep in the state file.
    pub verify_state: Option<crate::statefile::VerifyState>,
    /// Migration layers (`v1/migrations/*.mgrt`) besides `BASE`.
    pub migration_layers: Option<usize>,
    /// The lock objects, by name (`None` when the storage was not read).
    pub locks: Option<Vec<LockView>>,
    /// `crr-checkpoint/resume-state.json`'s `last_checkpoint`, when it holds one.
    pub resume_state_checkpoint_ts: Option<u64>,
}

/// One storage lock: its key and how long it has been held (`None`: its last-modified
/// time is in the future).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockView {
    pub name: String,
    pub age_seconds: Option<u64>,
}
