//! Run-level rules: what is true of the cluster or of the run rather than of one task.

use super::policy::Policy;
use super::verdict::{Finding, Judged, Metric};
use crate::model::Cluster;
use crate::pd::PdFacts;
use crate::service_state::State;
use crate::snapshot::FetchError;
use crate::statefile::Loaded;

/// PD's etcd could not be read: our own deadline → UNKNOWN (the check could not finish,
/// nothing is known about the backup); otherwise `--unreachable-state` (CRITICAL by
/// default: a cluster nobody can reach is a cluster whose backup nobody can trust).
pub fn fetch_failure(error: &FetchError, policy: &Policy) -> Finding {
    if error.timed_out {
        Finding::new(
            State::Unknown,
            format!(
                "timed out after {}: {}",
                humantime::format_duration(policy.timeout),
                error.message
            ),
        )
    } else {
        Finding::new(policy.unreachable_state, error.message.clone())
    }
}

/// A `--task` that does not exist → CRITICAL; no task at all → `--no-task-state`.
pub fn selection(cluster: &Cluster, policy: &Policy) -> Judged {
    let mut out = Judged::default();
    for name in &cluster.missing {
        out.push(State::Critical, format!("task {name} not found"));
    }
    if cluster.tasks.is_empty() && cluster.missing.is_empty() {
        out.push(policy.no_task_state, "no log backup task");
    }
    out
}

/// PD's HTTP API asked but unreadable → WARNING: its checks are skipped, the etcd
/// verdict still stands.
pub fn pd_readable(pd: &PdFacts) -> Judged {
    let mut out = Judged::default();
    match (&pd.gc, &pd.stores) {
        (Err(e), Err(_)) => out.push(
            State::Warning,
            format!("PD HTTP API unreadable, GC safepoint and store checks skipped: {e}"),
        ),
        (Err(e), Ok(_)) => out.push(
            State::Warning,
            format!("PD GC safepoints unreadable, GC checks skipped: {e}"),
        ),
        (Ok(_), Err(e)) => out.push(
            State::Warning,
            format!("PD stores unreadable, store checks skipped: {e}"),
        ),
        (Ok(_), Ok(_)) => {}
    }
    out
}

/// Warnings about the set-up itself (a password file readable by others, …).
pub fn notices(notices: &[String]) -> Judged {
    let mut out = Judged::default();
    for notice in notices {
        out.push(State::Warning, notice.clone());
    }
    out
}

/// No state kept this run (the state directory, its file or lock refused, or no default
/// directory usable) → one informational finding (OK) saying why: the tasks are judged as
/// with `--no-state`, and nothing is written (docs/state.md).
pub fn state_kept(state: Option<&Result<Loaded, String>>) -> Judged {
    let mut out = Judged::default();
    if let Some(Err(why)) = state {
        out.push(State::Ok, why.clone());
    }
    out
}

/// `tasks`: how many tasks were judged.
pub fn task_count(tasks: usize) -> Metric {
    Metric::count("tasks", tasks as f64)
}
