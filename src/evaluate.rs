//! The rules: why a task is OK, WARNING, CRITICAL or UNKNOWN. Pure; `now` is an input.
//!
//! Per task, each rule adds a [`Reason`] with its own state; the task's state is the
//! worst of them. In order:
//! 1. a key that cannot be decoded → UNKNOWN naming the key (the rest is still judged);
//! 2. status ERROR (paused and a last-error key or PauseV2 severity ERROR) → CRITICAL;
//! 3. the checkpoint lag against the paused thresholds when paused (defaults 2h/12h, the
//!    official `LogBackupPausingMoreThan2h/12h`), else the running thresholds (10m/30m,
//!    `LogBackupRunningRPOMoreThan10m/30m`);
//! 4. last-error keys on a task that is not paused → WARNING (cleared only by resume);
//! 5. PD's GC safepoint at or past the checkpoint → CRITICAL: the task can never be
//!    resumed or restored past its checkpoint (BR's `checkpoint <= gc_safe_point` test);
//! 6. paused: the latest `expired_at` of the service safepoints that still protect the
//!    checkpoint (`<task>_pause_safepoint`, `<task>-<store>-pause-guard`,
//!    `log-backup-coordinator`) is the resume deadline → WARNING nearer than
//!    `safepoint_warning` (6h), CRITICAL nearer than `safepoint_critical` (2h) or none;
//! 7. running: a TiKV store Down → CRITICAL, Disconnected → WARNING (the checkpoint
//!    cannot advance without it); no advancer owner key → WARNING (v6.2+ layouts);
//!    central_global ahead of the restorable checkpoint by more than `persist_lag` (5m)
//!    → WARNING (TiKV cannot persist the checkpoint to external storage).
//!
//! 8. with `--throughput`: a TiKV reporting `tikv_log_backup_task_status == 2` for the task,
//!    or new `tikv_log_backup_fatal_errors` since the previous sample → CRITICAL, even
//!    when etcd says NORMAL (tikv-pd-alerts.md §5.1).
//!
//! Run level: a `--task` that does not exist → CRITICAL; no task at all → `no_task_state`;
//! log-backup safepoints while no task exists → WARNING (they hold GC back); PD's HTTP
//! API unreadable → WARNING (its checks are skipped, the etcd verdict still stands).

use crate::model::{CheckpointSource, Cluster, Status, Task};
use crate::pd::{self, PdFacts};
use crate::range::Range;
use crate::state::State;
use crate::throughput::TikvFacts;
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
    /// Resume deadline closer than this (seconds) → WARNING.
    pub safepoint_warning: u64,
    /// Resume deadline closer than this (seconds), or none → CRITICAL.
    pub safepoint_critical: u64,
    /// central_global ahead of the restorable checkpoint by more (seconds) → WARNING.
    pub persist_lag: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            defaults: Thresholds::default(),
            per_task: BTreeMap::new(),
            no_task_state: State::Critical,
            safepoint_warning: 6 * 3600,
            safepoint_critical: 2 * 3600,
            persist_lag: 300,
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
    /// physical(checkpoint) − physical(gc_safe_point), when PD answered.
    pub gc_margin_seconds: Option<i64>,
    /// Paused tasks: Unix ms after which resume is impossible (None: no PD data,
    /// not paused, no protecting safepoint, or a safepoint that never expires).
    pub resume_deadline_ms: Option<u64>,
}

impl Verdict {
    /// Adds a run-level finding (e.g. a set-up warning) and raises the state if needed.
    pub fn push_finding(&mut self, state: State, text: impl Into<String>) {
        self.findings.push(Reason::new(state, text));
        self.state = self.state.max(state);
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
    /// Run-level findings: missing tasks, no task at all.
    pub findings: Vec<Reason>,
    /// Names asked for with `--task` that have no task info.
    pub missing: Vec<String>,
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
    /// PD's GC safepoint and store counts, when its HTTP API answered.
    pub gc_safe_point: Option<u64>,
    pub stores: Option<StoreCounts>,
    /// TiKV `/metrics` results (`--throughput`).
    pub tikv: Option<TikvFacts>,
}

/// What was observed besides etcd.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    pub pd: Option<PdFacts>,
    pub tikv: Option<TikvFacts>,
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
    if let Some((store_id, first)) = task.last_errors().next() {
        let more = task.errors.len() - 1;
        let suffix = if more > 0 {
            format!(" (+{more} more stores)")
        } else {
            String::new()
        };
        return format!(
            "{} on store {store_id}: {}{suffix}",
            first.error_code, first.error_message
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

/// What the rules need besides the task itself.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub now_ms: u64,
    pub pd: Option<&'a PdFacts>,
    pub tikv: Option<&'a TikvFacts>,
    pub owner_keys: usize,
    pub policy: &'a Policy,
}

fn tikv_rules(task: &Task, tikv: &TikvFacts, reasons: &mut Vec<Reason>) {
    for store in &tikv.stores {
        if let Ok(sample) = &store.sample {
            if sample.task_status.get(&task.name) == Some(&2.0) {
                reasons.push(Reason::new(
                    State::Critical,
                    format!(
                        "TiKV store {} reports the task in error (tikv_log_backup_task_status 2)",
                        store.store_id
                    ),
                ));
            }
        }
        if store.fatal_increase > 0.0 {
            reasons.push(Reason::new(
                State::Critical,
                format!(
                    "TiKV store {} logged {} new fatal log backup errors since the last check",
                    store.store_id, store.fatal_increase
                ),
            ));
        }
    }
}

/// `checkpoint` here is the resume point (BR's `GetGlobalCheckPointTS`), which BR's own
/// resume compares with the GC safepoint (pingcap/tidb:br/pkg/utils/safe_point.go).
fn gc_rules(
    task: &Task,
    checkpoint: u64,
    gc: &pd::GcSafepoints,
    ctx: &Context,
    reasons: &mut Vec<Reason>,
) -> (i64, Option<u64>) {
    let ms = |ts: u64| tso::physical_ms(ts) as i64;
    let margin = (ms(checkpoint) - ms(gc.gc_safe_point)) / 1000;
    if gc.gc_safe_point >= checkpoint {
        reasons.push(Reason::new(
            State::Critical,
            format!(
                "GC safepoint {} is at or past the checkpoint: the log backup can no longer be resumed or restored past the checkpoint; stop it and start a new one in a new storage path",
                tso::br_date(tso::physical_ms(gc.gc_safe_point))
            ),
        ));
    }
    let mut deadline = None;
    if task.paused() {
        let protecting = gc
            .service_gc_safe_points
            .iter()
            .filter(|sp| {
                pd::protects_task(&sp.service_id, &task.name) && sp.safe_point <= checkpoint
            })
            .max_by_key(|sp| sp.expired_at);
        match protecting {
            None => reasons.push(Reason::new(
                State::Critical,
                "no service safepoint protects the paused checkpoint: GC may pass it at any time and resume would fail",
            )),
            Some(sp) if sp.expired_at == i64::MAX => {
                reasons.push(Reason::new(State::Ok, format!("resume protected by {} without expiry", sp.service_id)))
            }
            Some(sp) => {
                let expires_ms = u64::try_from(sp.expired_at).unwrap_or(0).saturating_mul(1000);
                deadline = Some(expires_ms);
                let left = expires_ms.saturating_sub(ctx.now_ms) / 1000;
                let text = format!(
                    "resume deadline {} in {} ({})",
                    tso::br_date(expires_ms),
                    tso::human_duration(left),
                    sp.service_id
                );
                let state = if left < ctx.policy.safepoint_critical {
                    State::Critical
                } else if left < ctx.policy.safepoint_warning {
                    State::Warning
                } else {
                    State::Ok
                };
                reasons.push(Reason::new(state, text));
            }
        }
    }
    (margin, deadline)
}

fn running_rules(task: &Task, checkpoint: u64, ctx: &Context, reasons: &mut Vec<Reason>) {
    if let Some(Ok(stores)) = ctx.pd.map(|p| &p.stores) {
        let ids = |name: &str| -> Vec<String> {
            stores
                .iter()
                .filter(|s| s.state_name.eq_ignore_ascii_case(name))
                .map(|s| s.id.to_string())
                .collect()
        };
        for (name, state) in [("Down", State::Critical), ("Disconnected", State::Warning)] {
            let affected = ids(name);
            if !affected.is_empty() {
                reasons.push(Reason::new(
                    state,
                    format!(
                        "TiKV store {} {name}: the checkpoint cannot advance",
                        affected.join(", ")
                    ),
                ));
            }
        }
    }
    // The owner election exists from v6.2 on; a v6.1 layout (legacy keys) has none.
    if ctx.owner_keys == 0 && task.legacy_checkpoints.is_empty() {
        reasons.push(Reason::new(
            State::Warning,
            "no checkpoint advancer owner: no TiDB runs the advancer, the checkpoint cannot advance",
        ));
    }
    if let Some(global) = task.central_global {
        let ahead = tso::physical_ms(global).saturating_sub(tso::physical_ms(checkpoint)) / 1000;
        if ahead > ctx.policy.persist_lag {
            let mut slow: Vec<_> = task.storage_checkpoints.clone();
            slow.sort_by_key(|s| s.ts);
            let named: Vec<String> = slow
                .iter()
                .take(3)
                .map(|s| {
                    let behind =
                        tso::physical_ms(global).saturating_sub(tso::physical_ms(s.ts)) / 1000;
                    format!(
                        "store {} {} behind",
                        s.store_id,
                        tso::human_duration(behind)
                    )
                })
                .collect();
            let which = if named.is_empty() {
                "no store has persisted one yet".to_string()
            } else {
                named.join(", ")
            };
            reasons.push(Reason::new(
                State::Warning,
                format!(
                    "TiKV cannot persist the checkpoint to external storage: central_global {} ahead of the restorable checkpoint; {which}",
                    tso::human_duration(ahead)
                ),
            ));
        }
    }
}

/// Judges one task with the etcd facts only (no PD HTTP data, an advancer owner assumed).
pub fn evaluate_task(task: Task, thresholds: &Thresholds, now_ms: u64) -> TaskVerdict {
    let policy = Policy {
        defaults: *thresholds,
        ..Policy::default()
    };
    judge_task(
        task,
        &Context {
            now_ms,
            pd: None,
            tikv: None,
            owner_keys: 1,
            policy: &policy,
        },
    )
}

/// Judges one task.
pub fn judge_task(task: Task, ctx: &Context) -> TaskVerdict {
    let thresholds = ctx.policy.thresholds_for(&task.name);
    let now_ms = ctx.now_ms;
    let mut reasons = Vec::new();
    for p in &task.problems {
        let text = if p.undecodable {
            format!("cannot decode {}: {}", p.key, p.reason)
        } else {
            format!("{}: {}", p.key, p.reason)
        };
        reasons.push(Reason::new(State::Unknown, text));
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
    let mut gc_margin_seconds = None;
    let mut resume_deadline_ms = None;
    if let (Some((ts, _)), Some(resume_ts)) = (checkpoint, task.resume_checkpoint()) {
        if let Some(Ok(gc)) = ctx.pd.map(|p| &p.gc) {
            let (margin, deadline) = gc_rules(&task, resume_ts, gc, ctx, &mut reasons);
            gc_margin_seconds = Some(margin);
            resume_deadline_ms = deadline;
        }
        if !paused {
            running_rules(&task, ts, ctx, &mut reasons);
        }
    }
    if let Some(tikv) = ctx.tikv {
        tikv_rules(&task, tikv, &mut reasons);
    }
    if reasons.is_empty() {
        // Only reachable when K1 is undecodable and produced no problem (never), kept total.
        reasons.push(Reason::new(State::Unknown, "task info missing"));
    }
    // Stable sort: worst first, rule order among equals.
    reasons.sort_by_key(|r| std::cmp::Reverse(r.state));
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
        gc_margin_seconds,
        resume_deadline_ms,
    }
}

/// Judges the whole cluster from etcd alone (no PD HTTP data).
pub fn evaluate(cluster: Cluster, policy: &Policy, now_ms: u64) -> Verdict {
    evaluate_with_pd(cluster, None, policy, now_ms)
}

fn store_counts(stores: &[pd::Store]) -> StoreCounts {
    let count = |name: &str| {
        stores
            .iter()
            .filter(|s| s.state_name.eq_ignore_ascii_case(name))
            .count()
    };
    StoreCounts {
        up: count("Up"),
        disconnected: count("Disconnected"),
        down: count("Down"),
        offline: count("Offline"),
    }
}

/// Judges the whole cluster; `pd` is what PD's HTTP API said (None when not asked).
pub fn evaluate_with_pd(
    cluster: Cluster,
    pd: Option<&PdFacts>,
    policy: &Policy,
    now_ms: u64,
) -> Verdict {
    evaluate_observed(
        cluster,
        &Observed {
            pd: pd.cloned(),
            tikv: None,
        },
        policy,
        now_ms,
    )
}

/// Judges the whole cluster with everything observed besides etcd.
pub fn evaluate_observed(
    cluster: Cluster,
    observed: &Observed,
    policy: &Policy,
    now_ms: u64,
) -> Verdict {
    let pd = observed.pd.as_ref();
    let Cluster {
        tasks,
        missing,
        orphans,
        owner_keys,
        cluster_id,
        revision,
        endpoint,
        round_trips,
        total_tasks,
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
    if let Some(pd) = pd {
        match (&pd.gc, &pd.stores) {
            (Err(e), Err(_)) => findings.push(Reason::new(
                State::Warning,
                format!("PD HTTP API unreadable, GC safepoint and store checks skipped: {e}"),
            )),
            (Err(e), Ok(_)) => findings.push(Reason::new(
                State::Warning,
                format!("PD GC safepoints unreadable, GC checks skipped: {e}"),
            )),
            (Ok(_), Err(e)) => findings.push(Reason::new(
                State::Warning,
                format!("PD stores unreadable, store checks skipped: {e}"),
            )),
            (Ok(_), Ok(_)) => {}
        }
        if let Ok(gc) = &pd.gc {
            if total_tasks == 0 {
                let orphaned: Vec<&str> = gc
                    .service_gc_safe_points
                    .iter()
                    .filter(|sp| pd::is_log_backup_safepoint(&sp.service_id))
                    .map(|sp| sp.service_id.as_str())
                    .collect();
                if !orphaned.is_empty() {
                    findings.push(Reason::new(
                        State::Warning,
                        format!(
                            "orphan log-backup safepoints hold GC back while no task exists: {}",
                            orphaned.join(", ")
                        ),
                    ));
                }
            }
        }
    }
    if let Some(tikv) = &observed.tikv {
        for store in &tikv.stores {
            if let Err(e) = &store.sample {
                findings.push(Reason::new(
                    State::Ok,
                    format!("metrics of TiKV store {} unavailable: {e}", store.store_id),
                ));
            }
        }
        for note in &tikv.notes {
            findings.push(Reason::new(State::Ok, note.clone()));
        }
    }
    let ctx = Context {
        now_ms,
        pd,
        tikv: observed.tikv.as_ref(),
        owner_keys,
        policy,
    };
    let tasks: Vec<TaskVerdict> = tasks
        .into_iter()
        .map(|task| judge_task(task, &ctx))
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
        missing,
        cluster: ClusterFacts {
            orphans,
            owner_keys,
            cluster_id,
            revision,
            endpoint,
            round_trips,
            gc_safe_point: pd
                .and_then(|p| p.gc.as_ref().ok())
                .map(|gc| gc.gc_safe_point),
            stores: pd
                .and_then(|p| p.stores.as_ref().ok())
                .map(|s| store_counts(s)),
            tikv: observed.tikv.clone(),
        },
        now_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{StoreTs, TaskInfo};
    use crate::pause::Pause;
    use crate::pd::{GcSafepoints, ServiceSafepoint, Store};

    const MIN: u64 = 60_000;
    /// 2024-01-01 01:05:00 UTC in Unix ms: "now" in every case.
    const NOW: u64 = 1_704_071_100_000;

    fn ts(ms: u64) -> u64 {
        tso::from_physical_ms(ms)
    }

    /// A running v7.1+ task: start 2h ago, storage checkpoint `lag_min` minutes ago,
    /// central_global 30 s later than that.
    fn task(lag_min: u64) -> Task {
        let ckpt = NOW - lag_min * MIN;
        Task {
            name: "pitr".into(),
            info: Some(TaskInfo {
                name: "pitr".into(),
                start_ts: ts(NOW - 120 * MIN),
                end_ts: u64::MAX,
                storage: "s3://b/p".into(),
                table_filter: vec![],
            }),
            pause: None,
            central_global: Some(ts(ckpt + 30_000)),
            store_checkpoints: vec![],
            legacy_checkpoints: vec![],
            storage_checkpoints: vec![StoreTs {
                store_id: 1,
                ts: ts(ckpt),
            }],
            region_keys: 0,
            errors: vec![],
            error_store_ids: vec![],
            error_keys: 0,
            checkpoint_undecodable: false,
            problems: vec![],
        }
    }

    fn paused(mut t: Task) -> Task {
        t.pause = Some(Some(Pause::V1));
        t
    }

    fn sp(id: &str, expired_at_ms: u64, safe_point: u64) -> ServiceSafepoint {
        ServiceSafepoint {
            service_id: id.into(),
            expired_at: (expired_at_ms / 1000) as i64,
            safe_point,
        }
    }

    fn pd(gc_ms: u64, safepoints: Vec<ServiceSafepoint>, stores: &[(u64, &str)]) -> PdFacts {
        PdFacts {
            endpoint: "pd".into(),
            gc: Ok(GcSafepoints {
                service_gc_safe_points: safepoints,
                gc_safe_point: ts(gc_ms),
            }),
            stores: Ok(stores
                .iter()
                .map(|(id, state)| Store {
                    id: *id,
                    address: String::new(),
                    status_address: String::new(),
                    state_name: state.to_string(),
                })
                .collect()),
        }
    }

    fn judge(t: Task, facts: Option<&PdFacts>, owner_keys: usize) -> TaskVerdict {
        let policy = Policy::default();
        judge_task(
            t,
            &Context {
                now_ms: NOW,
                pd: facts,
                tikv: None,
                owner_keys,
                policy: &policy,
            },
        )
    }

    fn texts(v: &TaskVerdict) -> Vec<(State, &str)> {
        v.reasons
            .iter()
            .map(|r| (r.state, r.text.as_str()))
            .collect()
    }

    #[test]
    fn gc_safepoint_at_or_past_the_resume_point_is_critical() {
        let t = task(5);
        let resume_ms = NOW - 5 * MIN + 30_000; // central_global
        for (gc_ms, critical, margin) in [
            (resume_ms - 10 * MIN, false, 600),
            (resume_ms - 1000, false, 1),
            (resume_ms, true, 0),
            (resume_ms + MIN, true, -60),
        ] {
            let facts = pd(gc_ms, vec![], &[(1, "Up")]);
            let v = judge(t.clone(), Some(&facts), 1);
            assert_eq!(v.gc_margin_seconds, Some(margin), "gc at {gc_ms}");
            assert_eq!(v.state == State::Critical, critical, "{:?}", texts(&v));
            if critical {
                assert!(
                    v.reasons[0].text.starts_with("GC safepoint "),
                    "{:?}",
                    texts(&v)
                );
                assert!(v.reasons[0]
                    .text
                    .contains("stop it and start a new one in a new storage path"));
            }
        }
    }

    #[test]
    fn resume_deadline_of_a_paused_task() {
        let resume = ts(NOW - 5 * MIN + 30_000);
        let hour = 60 * MIN;
        let cases: Vec<(Vec<ServiceSafepoint>, State, Option<u64>)> = vec![
            // Own pause safepoint far away: OK, and the latest protecting expiry wins.
            (
                vec![
                    sp("pitr_pause_safepoint", NOW + 20 * hour, resume),
                    sp("log-backup-coordinator", NOW + 3 * hour, resume - 1),
                ],
                State::Ok,
                Some(NOW + 20 * hour),
            ),
            (
                vec![sp("pitr_pause_safepoint", NOW + 5 * hour, resume)],
                State::Warning,
                Some(NOW + 5 * hour),
            ),
            (
                vec![sp("pitr-4-pause-guard", NOW + 90 * MIN, resume - 1)],
                State::Critical,
                Some(NOW + 90 * MIN),
            ),
            // A safepoint above the resume point protects nothing; other tasks' ones neither.
            (
                vec![
                    sp("pitr_pause_safepoint", NOW + 20 * hour, resume + 1),
                    sp("pitr2_pause_safepoint", NOW + 20 * hour, resume),
                ],
                State::Critical,
                None,
            ),
            (vec![], State::Critical, None),
        ];
        for (safepoints, want, deadline) in cases {
            let facts = pd(NOW - hour, safepoints.clone(), &[(1, "Up")]);
            let v = judge(paused(task(5)), Some(&facts), 1);
            assert_eq!(v.state, want, "{safepoints:?}: {:?}", texts(&v));
            assert_eq!(v.resume_deadline_ms, deadline);
        }
        // The same safepoints on a running task do not matter.
        let facts = pd(NOW - hour, vec![], &[(1, "Up")]);
        assert_eq!(judge(task(5), Some(&facts), 1).state, State::Ok);
    }

    #[test]
    fn store_health_matters_for_running_tasks_only() {
        let facts = pd(
            NOW - 60 * MIN,
            vec![],
            &[(1, "Up"), (4, "Down"), (5, "Disconnected"), (6, "Offline")],
        );
        let v = judge(task(5), Some(&facts), 1);
        assert_eq!(
            texts(&v)[..2],
            [
                (
                    State::Critical,
                    "TiKV store 4 Down: the checkpoint cannot advance"
                ),
                (
                    State::Warning,
                    "TiKV store 5 Disconnected: the checkpoint cannot advance"
                ),
            ]
        );
        let facts = pd(NOW - 60 * MIN, vec![], &[(1, "Up"), (5, "Disconnected")]);
        assert_eq!(judge(task(5), Some(&facts), 1).state, State::Warning);
        let facts = pd(
            NOW - 60 * MIN,
            vec![sp("pitr_pause_safepoint", NOW + 20 * 60 * MIN, 0)],
            &[(4, "Down")],
        );
        assert_eq!(judge(paused(task(5)), Some(&facts), 1).state, State::Ok);
    }

    #[test]
    fn advancer_owner_is_needed_from_v6_2_on() {
        let v = judge(task(5), None, 0);
        assert_eq!(v.state, State::Warning);
        assert!(v.reasons[0]
            .text
            .starts_with("no checkpoint advancer owner"));
        let mut legacy = task(5);
        legacy.storage_checkpoints.clear();
        legacy.central_global = None;
        legacy.legacy_checkpoints = vec![StoreTs {
            store_id: 1,
            ts: ts(NOW - 5 * MIN),
        }];
        assert_eq!(
            judge(legacy, None, 0).state,
            State::Ok,
            "v6.1 has no owner election"
        );
        assert_eq!(
            judge(paused(task(5)), None, 0).state,
            State::Ok,
            "a paused task needs no advancer"
        );
    }

    #[test]
    fn central_global_far_ahead_of_the_storage_checkpoint_warns() {
        let mut t = task(8);
        t.central_global = Some(ts(NOW - 2 * MIN)); // 6 minutes ahead
        t.storage_checkpoints.push(StoreTs {
            store_id: 4,
            ts: ts(NOW - 9 * MIN),
        });
        let v = judge(t.clone(), None, 1);
        assert_eq!(
            texts(&v)[0],
            (State::Warning, "TiKV cannot persist the checkpoint to external storage: central_global 6m0s ahead of the restorable checkpoint; store 4 7m0s behind, store 1 6m0s behind")
        );
        t.central_global = Some(ts(NOW - 3 * MIN)); // exactly 5 minutes: not more than persist_lag
        assert_eq!(judge(t, None, 1).state, State::Ok);
    }

    fn cluster(tasks: Vec<Task>, total_tasks: usize) -> Cluster {
        Cluster {
            tasks,
            missing: vec![],
            orphans: vec![],
            owner_keys: 1,
            cluster_id: None,
            revision: 1,
            endpoint: "e".into(),
            round_trips: 2,
            total_tasks,
        }
    }

    #[test]
    fn orphan_safepoints_warn_only_when_no_task_exists() {
        let safepoints = vec![
            sp("gc_worker", u64::MAX / 2, 1),
            sp("pitr-4-pause-guard", NOW + MIN, 1),
            sp("backup-stream-pitr-1", NOW + MIN, 1),
        ];
        let facts = pd(NOW - MIN, safepoints, &[]);
        let policy = Policy {
            no_task_state: State::Ok,
            ..Policy::default()
        };
        let v = evaluate_with_pd(cluster(vec![], 0), Some(&facts), &policy, NOW);
        assert_eq!(v.state, State::Warning);
        assert_eq!(v.findings[1].text, "orphan log-backup safepoints hold GC back while no task exists: pitr-4-pause-guard, backup-stream-pitr-1");
        // With a task present (even one not selected) they belong to it.
        let v = evaluate_with_pd(cluster(vec![], 1), Some(&facts), &policy, NOW);
        assert_eq!(v.state, State::Ok);
    }

    #[test]
    fn an_unreadable_pd_api_is_a_warning_finding_and_skips_its_rules() {
        let facts = PdFacts {
            endpoint: String::new(),
            gc: Err("refused".into()),
            stores: Err("refused".into()),
        };
        let v = evaluate_with_pd(
            cluster(vec![task(5)], 1),
            Some(&facts),
            &Policy::default(),
            NOW,
        );
        assert_eq!(v.state, State::Warning);
        assert_eq!(
            v.findings[0].text,
            "PD HTTP API unreadable, GC safepoint and store checks skipped: refused"
        );
        assert_eq!(v.tasks[0].state, State::Ok);
        assert_eq!(v.tasks[0].gc_margin_seconds, None);
        assert_eq!(v.cluster.stores, None);
    }
}
