//! GC safepoints from PD's HTTP API: a checkpoint GC has passed can never be resumed or
//! restored past, and a paused task is safe only while a service safepoint protects its
//! checkpoint (docs/rules.md#gc-safepoints-in-pd).

use super::policy::Policy;
use super::verdict::{Judged, Metric};
use crate::model::Task;
use crate::pd::{self, GcSafepoints, Keyspace};
use crate::service_state::State;
use crate::tso;

/// What the GC rules found besides their findings.
#[derive(Debug, Default)]
pub struct GcJudged {
    pub judged: Judged,
    /// physical(resume checkpoint) − physical(gc_safe_point), seconds.
    pub margin_seconds: i64,
    /// Paused task: Unix ms when the last protecting safepoint expires.
    pub resume_deadline_ms: Option<u64>,
}

/// `resume_ts` is the resume point (BR's `GetGlobalCheckPointTS`), which BR's own resume
/// compares with the GC safepoint (pingcap/tidb:br/pkg/utils/safe_point.go).
/// 1. GC safepoint at or past it → CRITICAL;
/// 2. paused: the latest `expired_at` of the service safepoints that still protect it
///    (`<task>_pause_safepoint`, `<task>-<store>-pause-guard`, `log-backup-coordinator`)
///    is the resume deadline → WARNING nearer than `safepoint_warning`, CRITICAL nearer
///    than `safepoint_critical` or when none protects it; but when none does and
///    `keyspace_gc` (PD's keyspaces with keyspace-level GC) is not empty, BR may hold the
///    task with a per-keyspace GC barrier PD does not serve over HTTP: an OK-level
///    "cannot see keyspace barriers" (docs/rules.md#keyspace-gc-barriers).
pub fn judge(
    task: &Task,
    resume_ts: u64,
    gc: &GcSafepoints,
    keyspace_gc: &Result<Vec<Keyspace>, String>,
    policy: &Policy,
    now_ms: u64,
) -> GcJudged {
    let mut out = GcJudged::default();
    let ms = |ts: u64| tso::physical_ms(ts) as i64;
    out.margin_seconds = (ms(resume_ts) - ms(gc.gc_safe_point)) / 1000;
    if gc.gc_safe_point >= resume_ts {
        out.judged.push(
            State::Critical,
            format!(
                "GC safepoint {} is at or past the checkpoint: the log backup can no longer be resumed or restored past the checkpoint; stop it and start a new one in a new storage path",
                tso::br_date(tso::physical_ms(gc.gc_safe_point))
            ),
        );
    }
    if !task.paused() {
        return out;
    }
    let protecting = gc
        .service_gc_safe_points
        .iter()
        .filter(|sp| pd::protects_task(&sp.service_id, &task.name) && sp.safe_point <= resume_ts)
        .max_by_key(|sp| sp.expired_at);
    match protecting {
        None => out.judged.extend(unprotected(&task.name, keyspace_gc)),
        Some(sp) if sp.expired_at == i64::MAX => out.judged.push(
            State::Ok,
            format!("resume protected by {} without expiry", sp.service_id),
        ),
        Some(sp) => {
            let expires_ms = u64::try_from(sp.expired_at)
                .unwrap_or(0)
                .saturating_mul(1000);
            out.resume_deadline_ms = Some(expires_ms);
            let left = expires_ms.saturating_sub(now_ms) / 1000;
            let text = format!(
                "resume deadline {} in {} ({})",
                tso::br_date(expires_ms),
                tso::human_duration(left),
                sp.service_id
            );
            let state = if left < policy.safepoint_critical {
                State::Critical
            } else if left < policy.safepoint_warning {
                State::Warning
            } else {
                State::Ok
            };
            out.judged.push(state, text);
        }
    }
    out
}

/// A paused task that no service safepoint in `GET /pd/api/v1/gc/safepoint` protects.
/// Classic cluster → CRITICAL: GC may pass the checkpoint. Keyspace-level GC on → BR keeps
/// GC back there with a per-keyspace GC barrier (pingcap/tidb:br/pkg/gc/manager_keyspace.go,
/// barrier id = the service id, e.g. `<task>_pause_safepoint`), which PD keeps apart from
/// that list and serves over no HTTP route: OK, the check cannot see it.
fn unprotected(task: &str, keyspace_gc: &Result<Vec<Keyspace>, String>) -> Judged {
    let mut out = Judged::default();
    match keyspace_gc {
        Ok(keyspaces) if !keyspaces.is_empty() => {
            const SHOWN: usize = 3;
            let mut names: Vec<String> = keyspaces
                .iter()
                .take(SHOWN)
                .map(|k| format!("{} (id {})", k.name, k.id))
                .collect();
            if keyspaces.len() > SHOWN {
                names.push(format!("+{} more", keyspaces.len() - SHOWN));
            }
            out.push(
                State::Ok,
                format!(
                    "resume deadline unknown: no service safepoint protects the paused checkpoint, but keyspace-level GC is on for keyspace {}; BR then holds GC back with a per-keyspace GC barrier ({task}_pause_safepoint) that PD serves over no HTTP API, so the check cannot see keyspace barriers",
                    names.join(", ")
                ),
            );
        }
        Ok(_) => out.push(
            State::Critical,
            "no service safepoint protects the paused checkpoint: GC may pass it at any time and resume would fail",
        ),
        Err(e) => out.push(
            State::Critical,
            format!("no service safepoint protects the paused checkpoint: GC may pass it at any time and resume would fail (PD's keyspace list unreadable, so keyspace GC barriers cannot be ruled out: {e})"),
        ),
    }
    out
}

/// Live log-backup service safepoints of tasks that do not exist → WARNING: they hold GC
/// back for nothing (docs/rules.md#run-level-rules). `task_names` are every task with task
/// info, selected or not. With no task at all, every log-backup safepoint is an orphan
/// (`log-backup-coordinator` too); otherwise those whose id names a task that is gone
/// (`pd::log_backup_task_of`). An entry whose `expired_at` has passed holds nothing (PD
/// ignores it and drops it lazily) and is never one. A stopped task's flush safepoints
/// (`backup-stream-<task>-<store>`) are such orphans on a TiKV that leaves them behind, and
/// absent on one with tikv/tikv#19829, which removes them on `br log stop`: the rule reads
/// what PD lists, so both are judged right.
pub fn orphan_safepoints(gc: &GcSafepoints, task_names: &[String], now_ms: u64) -> Judged {
    let mut out = Judged::default();
    let now_s = (now_ms / 1000) as i64;
    let orphaned: Vec<&str> = gc
        .service_gc_safe_points
        .iter()
        .filter(|sp| sp.expired_at > now_s && pd::is_log_backup_safepoint(&sp.service_id))
        .filter(|sp| {
            task_names.is_empty()
                || pd::log_backup_task_of(&sp.service_id)
                    .is_some_and(|task| !task_names.iter().any(|name| name == task))
        })
        .map(|sp| sp.service_id.as_str())
        .collect();
    if orphaned.is_empty() {
        return out;
    }
    let text = if task_names.is_empty() {
        format!(
            "orphan log-backup safepoints hold GC back while no task exists: {}",
            orphaned.join(", ")
        )
    } else {
        format!(
            "orphan log-backup safepoints hold GC back for tasks that no longer exist: {}",
            orphaned.join(", ")
        )
    };
    out.push(State::Warning, text);
    out
}

/// How long log backup holds GC back: now − physical(the oldest live log-backup service
/// safepoint), seconds; `None` when there is none. WARNING when that safepoint is also
/// the oldest of every service's but GC's own (`gc_worker`, which follows the minimum),
/// so it is what keeps GC from advancing, and older than `gc_hold_warning`: MVCC
/// versions pile up behind a stuck or forgotten task.
pub fn hold(gc: &GcSafepoints, policy: &Policy, now_ms: u64) -> (Judged, Option<u64>) {
    let mut out = Judged::default();
    let now_s = (now_ms / 1000) as i64;
    let live: Vec<_> = gc
        .service_gc_safe_points
        .iter()
        .filter(|sp| sp.expired_at > now_s && sp.service_id != "gc_worker")
        .collect();
    let oldest_log = live
        .iter()
        .filter(|sp| pd::is_log_backup_safepoint(&sp.service_id))
        .min_by_key(|sp| sp.safe_point);
    let hold = oldest_log.map(|sp| tso::lag_seconds(now_ms, tso::physical_ms(sp.safe_point)));
    if let (Some(sp), Some(seconds)) = (oldest_log, hold) {
        let minimum = live.iter().map(|s| s.safe_point).min() == Some(sp.safe_point);
        if minimum && seconds > policy.gc_hold_warning {
            out.push(
                State::Warning,
                format!(
                    "log backup holds GC back by {} ({} at {}): old MVCC versions pile up until the task advances or is stopped",
                    tso::human_duration(seconds),
                    sp.service_id,
                    tso::br_date(tso::physical_ms(sp.safe_point))
                ),
            );
        }
    }
    out.metrics.push(Metric::seconds(
        "gc_hold",
        hold,
        Some(crate::range::Range::upper(policy.gc_hold_warning as f64)),
        None,
    ));
    (out, hold)
}
