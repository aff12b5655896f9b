//! The rules: why a task is OK, WARNING, CRITICAL or UNKNOWN. Pure; `now` is an input.
//!
//! Per task, each rule adds a [`Reason`] with its own state; the task's state is the
//! worst of them. In order:
//! 1. a key that cannot be decoded → UNKNOWN naming the key (the rest is still judged);
//! 2. status ERROR (paused and a last-error key or PauseV2 severity ERROR) → CRITICAL;
//! 3. the checkpoint lag against the paused thresholds when paused (defaults 2h/12h, the
//!    official `LogBackupPausingMoreThan2h/12h`), else the running thresholds (10m/30m,
//!    `LogBackupRunningRPOMoreThan10m/30m`);
//! 4. last-error keys on a task that is not paused → WARNING (cleared only by resume).
//!
//! Run level: a `--task` that does not exist → CRITICAL; no task at all → `no_task_state`.

use crate::model::{CheckpointSource, Cluster, Status, Task};
use crate::range::Range;
use crate::state::State;
use crate::tso;
use std::collections::BTreeMap;

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
            warning: Range::upper(600.0),
            critical: Range::upper(1800.0),
            paused_warning: Range::upper(7200.0),
            paused_critical: Range::upper(43_200.0),
        }
    }
}

/// Everything the rules need besides the data.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub defaults: Thresholds,
    pub per_task: BTreeMap<String, Thresholds>,
    pub no_task_state: State,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            defaults: Thresholds::default(),
            per_task: BTreeMap::new(),
            no_task_state: State::Critical,
        }
    }
}

impl Policy {
    pub fn thresholds_for(&self, task: &str) -> &Thresholds {
        self.per_task.get(task).unwrap_or(&self.defaults)
    }
}

/// One judged finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub state: State,
    pub text: String,
}

impl Reason {
    fn new(state: State, text: impl Into<String>) -> Reason {
        Reason {
            state,
            text: text.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskVerdict {
    pub task: Task,
    pub state: State,
    /// Worst first; never empty.
    pub reasons: Vec<Reason>,
    pub status: Status,
    pub checkpoint: Option<(u64, CheckpointSource)>,
    pub lag_seconds: Option<u64>,
    /// The warning and critical ranges applied to the lag (paused or running pair).
    pub lag_warning: Range,
    pub lag_critical: Range,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub state: State,
    /// In etcd key order (renderers sort worst first where they need to).
    pub tasks: Vec<TaskVerdict>,
    /// Run-level findings: missing tasks, no task at all.
    pub findings: Vec<Reason>,
    pub cluster: ClusterFacts,
    pub now_ms: u64,
}

/// The cluster-level facts renderers print.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterFacts {
    pub orphans: Vec<crate::model::Orphan>,
    pub owner_keys: usize,
    pub cluster_id: Option<u64>,
    pub revision: i64,
    pub endpoint: String,
    pub round_trips: u32,
}

/// `> 30m0s`, `< 10s`, `outside 10s:1m0s`, `inside @1h0m0s:2h0m0s` — a range as a person reads it.
pub fn describe_violation(range: &Range) -> String {
    let secs = |v: f64| -> String {
        if v.is_finite() && v >= 0.0 && v.fract() == 0.0 {
            tso::human_duration(v as u64)
        } else {
            format!("{}s", crate::range::format_number(v))
        }
    };
    if range.inside {
        return format!("inside {range}");
    }
    match (range.start, range.end) {
        (s, e) if s == 0.0 && e.is_finite() => format!("> {}", secs(e)),
        (s, e) if s == f64::NEG_INFINITY && e.is_finite() => format!("> {}", secs(e)),
        (s, e) if e == f64::INFINITY && s.is_finite() => format!("< {}", secs(s)),
        _ => format!("outside {range}"),
    }
}

fn lag_reason(lag: u64, warning: &Range, critical: &Range, what: &str) -> Reason {
    let value = lag as f64;
    let shown = tso::human_duration(lag);
    if critical.alerts(value) {
        Reason::new(
            State::Critical,
            format!(
                "{what}checkpoint lag {shown} {}",
                describe_violation(critical)
            ),
        )
    } else if warning.alerts(value) {
        Reason::new(
            State::Warning,
            format!(
                "{what}checkpoint lag {shown} {}",
                describe_violation(warning)
            ),
        )
    } else {
        Reason::new(State::Ok, format!("{what}checkpoint lag {shown}"))
    }
}

fn error_detail(task: &Task) -> String {
    if let Some(first) = task.errors.first() {
        let more = task.errors.len() - 1;
        let suffix = if more > 0 {
            format!(" (+{more} more stores)")
        } else {
            String::new()
        };
        return format!(
            "{} on store {}: {}{suffix}",
            first.error_code, first.store_id, first.error_message
        );
    }
    if let Some(e) = task.pause_error() {
        return format!(
            "{} on store {}: {}",
            e.error_code, e.store_id, e.error_message
        );
    }
    if task.error_keys > 0 {
        return "a store reported an error that cannot be decoded".to_string();
    }
    "paused with severity ERROR".to_string()
}

/// Judges one task.
pub fn evaluate_task(task: Task, thresholds: &Thresholds, now_ms: u64) -> TaskVerdict {
    let mut reasons = Vec::new();
    for p in &task.problems {
        reasons.push(Reason::new(
            State::Unknown,
            format!("cannot decode {}: {}", p.key, p.reason),
        ));
    }
    let status = task.status();
    let paused = task.paused();
    let (lag_warning, lag_critical) = if paused {
        (thresholds.paused_warning, thresholds.paused_critical)
    } else {
        (thresholds.warning, thresholds.critical)
    };
    if status == Status::Error {
        reasons.push(Reason::new(
            State::Critical,
            format!("task failed: {}", error_detail(&task)),
        ));
    }
    let checkpoint = task.checkpoint();
    let lag_seconds = checkpoint.map(|(ts, _)| tso::lag_seconds(now_ms, tso::physical_ms(ts)));
    if let Some(lag) = lag_seconds {
        let what = if paused { "paused, " } else { "" };
        reasons.push(lag_reason(lag, &lag_warning, &lag_critical, what));
    }
    if !paused && task.error_keys > 0 {
        let detail = error_detail(&task);
        reasons.push(Reason::new(
            State::Warning,
            format!("stale last-error while running: {detail}"),
        ));
    }
    if reasons.is_empty() {
        // Only reachable when K1 is undecodable and produced no problem (never), kept total.
        reasons.push(Reason::new(State::Unknown, "task info missing"));
    }
    // Stable sort: worst first, rule order among equals.
    reasons.sort_by(|a, b| b.state.cmp(&a.state));
    let state = reasons[0].state;
    TaskVerdict {
        task,
        state,
        reasons,
        status,
        checkpoint,
        lag_seconds,
        lag_warning,
        lag_critical,
    }
}

/// Judges the whole cluster.
pub fn evaluate(cluster: Cluster, policy: &Policy, now_ms: u64) -> Verdict {
    let Cluster {
        tasks,
        missing,
        orphans,
        owner_keys,
        cluster_id,
        revision,
        endpoint,
        round_trips,
    } = cluster;
    let mut findings = Vec::new();
    for name in &missing {
        findings.push(Reason::new(
            State::Critical,
            format!("task {name} not found"),
        ));
    }
    if tasks.is_empty() && missing.is_empty() {
        findings.push(Reason::new(policy.no_task_state, "no log backup task"));
    }
    let tasks: Vec<TaskVerdict> = tasks
        .into_iter()
        .map(|task| {
            let thresholds = *policy.thresholds_for(&task.name);
            evaluate_task(task, &thresholds, now_ms)
        })
        .collect();
    let state = tasks
        .iter()
        .map(|t| t.state)
        .chain(findings.iter().map(|f| f.state))
        .max()
        .unwrap_or(State::Ok);
    Verdict {
        state,
        tasks,
        findings,
        cluster: ClusterFacts {
            orphans,
            owner_keys,
            cluster_id,
            revision,
            endpoint,
            round_trips,
        },
        now_ms,
    }
}
