//! What a running task needs to advance: its TiKV stores up, an advancer owner, and TiKV
//! able to persist the checkpoint to external storage.

use super::policy::Policy;
use super::verdict::{Judged, Metric, StoreCounts};
use crate::model::Task;
use crate::pd::Store;
use crate::range::Range;
use crate::service_state::State;
use crate::tso;

/// A running task (`checkpoint` is its restorable checkpoint):
/// - a TiKV store Down → CRITICAL, Disconnected → WARNING (PD's view);
/// - no advancer owner key → WARNING (the election exists from v6.2 on; a v6.1 layout
///   with legacy keys has none);
/// - central_global ahead of the restorable checkpoint by more than `persist_lag` →
///   WARNING naming the slowest stores.
pub fn judge(
    task: &Task,
    checkpoint: u64,
    stores: Option<&[Store]>,
    owner_keys: usize,
    policy: &Policy,
) -> Judged {
    let mut out = Judged::default();
    if let Some(stores) = stores {
        for (name, state) in [("Down", State::Critical), ("Disconnected", State::Warning)] {
            let affected: Vec<String> = stores
                .iter()
                .filter(|s| s.state_name.eq_ignore_ascii_case(name))
                .map(|s| s.id.to_string())
                .collect();
            if !affected.is_empty() {
                out.push(
                    state,
                    format!(
                        "TiKV store {} {name}: the checkpoint cannot advance",
                        affected.join(", ")
                    ),
                );
            }
        }
    }
    if owner_keys == 0 && task.legacy_checkpoints.is_empty() {
        out.push(
            State::Warning,
            "no checkpoint advancer owner: no TiDB runs the advancer, the checkpoint cannot advance",
        );
    }
    if let Some(global) = task.central_global {
        let ahead = tso::physical_ms(global).saturating_sub(tso::physical_ms(checkpoint)) / 1000;
        if ahead > policy.persist_lag {
            let mut slow = task.storage_checkpoints.clone();
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
            out.push(
                State::Warning,
                format!(
                    "TiKV cannot persist the checkpoint to external storage: central_global {} ahead of the restorable checkpoint; {which}",
                    tso::human_duration(ahead)
                ),
            );
        }
    }
    out
}

/// Store counts by PD `state_name`.
pub fn counts(stores: &[Store]) -> StoreCounts {
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

/// `stores_down` (critical above 0) and `stores_disconnected` (warning above 0), the
/// thresholds the running-task rule applies.
pub fn count_metrics(counts: &StoreCounts) -> Vec<Metric> {
    vec![
        Metric {
            crit: Some(Range::upper(0.0)),
            ..Metric::count("stores_down", counts.down as f64)
        },
        Metric {
            warn: Some(Range::upper(0.0)),
            ..Metric::count("stores_disconnected", counts.disconnected as f64)
        },
    ]
}
