//! `--throughput`: what TiKV's own `/metrics` say, which etcd may not yet (a task in
//! error on one store while etcd still says NORMAL, docs/rules.md#why-normal-is-not-enough).

use super::verdict::{Judged, Metric};
use crate::model::Task;
use crate::state::State;
use crate::throughput::TikvFacts;

/// A TiKV reporting `tikv_log_backup_task_status == 2` for the task, or new
/// `tikv_log_backup_fatal_errors` since the previous sample → CRITICAL.
pub fn judge(task: &Task, tikv: &TikvFacts) -> Judged {
    let mut out = Judged::default();
    for store in &tikv.stores {
        if let Ok(sample) = &store.sample {
            if sample.task_status.get(&task.name) == Some(&2.0) {
                out.push(
                    State::Critical,
                    format!(
                        "TiKV store {} reports the task in error (tikv_log_backup_task_status 2)",
                        store.store_id
                    ),
                );
            }
        }
        if store.fatal_increase > 0.0 {
            out.push(
                State::Critical,
                format!(
                    "TiKV store {} logged {} new fatal log backup errors since the last check",
                    store.store_id, store.fatal_increase
                ),
            );
        }
    }
    out
}

/// Run level: stores whose metrics could not be read, the sampler's notes (OK findings),
/// and the cluster's KV event rate.
pub fn cluster(tikv: &TikvFacts) -> Judged {
    let mut out = Judged::default();
    for store in &tikv.stores {
        if let Err(e) = &store.sample {
            out.push(
                State::Ok,
                format!("metrics of TiKV store {} unavailable: {e}", store.store_id),
            );
        }
    }
    for note in &tikv.notes {
        out.push(State::Ok, note.clone());
    }
    if let Some(rate) = tikv.total_rate {
        // Two decimals, as every output shows the rate.
        out.metrics.push(Metric::count(
            "kv_events_per_second",
            crate::range::two_decimals(rate),
        ));
    }
    out
}
