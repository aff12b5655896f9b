//! A task that disappeared. `br log stop` removes every key of a task, so with other
//! tasks left nothing in etcd says one is gone: the state file remembers the tasks earlier
//! runs judged, and a task seen then and absent from etcd now is reported for
//! `--gone-for`, then forgotten. Only a snapshot that was read counts: etcd that could not
//! be read is never taken for "task gone" (tidb-operator#6630); and with `--no-state` or
//! a `--now` replay nothing is remembered, so nothing is reported.

use super::policy::Policy;
use super::verdict::{Finding, TaskVerdict};
use crate::model::{Cluster, Status, Task};
use crate::service_state::State;
use crate::tso;
use std::collections::BTreeMap;

/// The tasks in `seen` (name → when a run last saw it, Unix ms) that are not in etcd any
/// more and were last seen within `--gone-for`, as WARNING task verdicts.
pub fn gone(
    seen: &BTreeMap<String, u64>,
    cluster: &Cluster,
    policy: &Policy,
    now_ms: u64,
) -> Vec<TaskVerdict> {
    seen.iter()
        .filter(|(name, _)| !cluster.task_names.iter().any(|n| n == *name))
        .filter(|(_, last)| now_ms.saturating_sub(**last) <= policy.gone_for * 1000)
        .map(|(name, last)| {
            let reason = Finding::new(
                State::Warning,
                format!(
                    "log backup task {name} no longer exists (last seen {}): stopped with br log stop?",
                    tso::br_date(*last)
                ),
            );
            TaskVerdict::bare(Task::new(name.clone()), Status::Gone, vec![reason])
        })
        .collect()
}

/// When each task judged now was last seen, for the next run: the tasks in etcd now, and
/// the gone ones still reported (their old time, so they are forgotten on schedule).
pub fn seen_next(
    tasks: &[TaskVerdict],
    previous: &BTreeMap<String, u64>,
    now_ms: u64,
) -> BTreeMap<String, u64> {
    tasks
        .iter()
        .map(|t| {
            let when = match t.status {
                Status::Gone => previous.get(&t.task.name).copied().unwrap_or(now_ms),
                _ => now_ms,
            };
            (t.task.name.clone(), when)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: u64 = 3_600_000;
    const NOW: u64 = 1_704_071_100_000;

    #[test]
    fn a_task_seen_before_and_absent_now_is_reported_for_gone_for() {
        let cluster = Cluster {
            task_names: vec!["kept".into(), "other-unselected".into()],
            ..Cluster::default()
        };
        let seen = BTreeMap::from([
            ("kept".to_string(), NOW - H),
            ("stopped".to_string(), NOW - 2 * H),
            ("long-gone".to_string(), NOW - 25 * H),
        ]);
        let policy = Policy::default();
        let gone = gone(&seen, &cluster, &policy, NOW);
        assert_eq!(gone.len(), 1, "{gone:?}");
        assert_eq!(gone[0].task.name, "stopped");
        assert_eq!(gone[0].status, Status::Gone);
        assert_eq!(gone[0].state, State::Warning);
        assert_eq!(
            gone[0].reasons[0].text,
            "log backup task stopped no longer exists (last seen 2023-12-31 23:05:00 +0000): stopped with br log stop?"
        );
        let next = seen_next(&gone, &seen, NOW);
        assert_eq!(
            next.get("stopped"),
            Some(&(NOW - 2 * H)),
            "kept with its old time"
        );
    }

    #[test]
    fn a_first_run_reports_nothing_gone() {
        assert!(gone(
            &BTreeMap::new(),
            &Cluster::default(),
            &Policy::default(),
            NOW
        )
        .is_empty());
    }
}
