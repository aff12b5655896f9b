//! `--throughput`: what TiKV's own `/metrics` say, which etcd may not yet (a task in
//! error on one store while etcd still says NORMAL, docs/rules.md#why-normal-is-not-enough).

use super::verdict::{Judged, Metric};
use crate::model::Task;
use crate::prom::NOT_REACHED;
use crate::service_state::State;
use crate::text::plural;
use crate::throughput::TikvFacts;
use crate::tikv::Sample;
use std::collections::BTreeMap;

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

/// How many stores' failures are named one by one; the rest are counted.
const NAMED_FAILURES: usize = 5;

/// Run level (all OK findings: TiKV's own counters inform, they do not page): how many
/// stores were sampled, the stores that could not be, the sampler's notes, and since the
/// previous sample the retryable errors, the flushes and the initial-scan backlog, with
/// the cluster's KV event rate.
pub fn cluster(tikv: &TikvFacts) -> Judged {
    let mut out = Judged::default();
    let sampled: Vec<&Sample> = tikv.samples().collect();
    let unreached = tikv
        .stores
        .iter()
        .filter(|s| s.sample.as_ref().err().is_some_and(|e| e == NOT_REACHED))
        .count();
    if tikv.up_stores > 0 {
        out.push(
            State::Ok,
            format!(
                "sampled {} of {}{}",
                sampled.len(),
                plural(tikv.up_stores, "store"),
                if unreached > 0 {
                    " before the deadline"
                } else {
                    ""
                }
            ),
        );
    }
    let failed: Vec<(u64, &String)> = tikv
        .stores
        .iter()
        .filter_map(|s| s.sample.as_ref().err().map(|e| (s.store_id, e)))
        .filter(|(_, e)| *e != NOT_REACHED)
        .collect();
    for (store, e) in failed.iter().take(NAMED_FAILURES) {
        out.push(
            State::Ok,
            format!("metrics of TiKV store {store} unavailable: {e}"),
        );
    }
    if failed.len() > NAMED_FAILURES {
        out.push(
            State::Ok,
            format!(
                "metrics of {} more TiKV stores unavailable",
                failed.len() - NAMED_FAILURES
            ),
        );
    }
    for note in &tikv.notes {
        out.push(State::Ok, note.clone());
    }
    if let Some(rate) = tikv.total_rate {
        // Two decimals, as every output shows the rate.
        out.metrics.push(Metric::count(
            "kv_events_per_second",
            crate::text::two_decimals(rate),
        ));
    }
    if tikv.total_rate.is_some() {
        out.extend(retryable_errors(tikv));
        out.extend(flushes(tikv));
    }
    if !sampled.is_empty() {
        let pending = tikv.pending_initial_scan();
        let on = sampled
            .iter()
            .filter(|s| s.pending_initial_scan > 0.0)
            .count();
        if pending > 0.0 {
            out.push(
                State::Ok,
                format!(
                    "initial scan pending for {} regions on {}",
                    pending,
                    plural(on, "store")
                ),
            );
        }
        out.metrics
            .push(Metric::count("pending_initial_scan", pending));
    }
    out
}

/// `tikv_log_backup_errors{type}` since the previous sample: retryable, so said, not
/// judged (TiKV's Grafana: "they are retryable, don't worry").
fn retryable_errors(tikv: &TikvFacts) -> Judged {
    let mut out = Judged::default();
    let mut by_type: BTreeMap<&str, (f64, u64, f64)> = BTreeMap::new();
    for store in &tikv.stores {
        for (kind, new) in &store.errors_increase {
            let entry = by_type.entry(kind).or_insert((0.0, store.store_id, 0.0));
            entry.0 += new;
            if *new > entry.2 {
                (entry.1, entry.2) = (store.store_id, *new);
            }
        }
    }
    let total: f64 = by_type.values().map(|(n, _, _)| n).sum();
    if total > 0.0 {
        let mut kinds: Vec<(&str, (f64, u64, f64))> = by_type.into_iter().collect();
        // Most first; equal counts by name, so the text is stable.
        kinds.sort_by(|a, b| b.1 .0.total_cmp(&a.1 .0).then(a.0.cmp(b.0)));
        let listed: Vec<String> = kinds
            .iter()
            .map(|(kind, (n, store, _))| format!("{kind} +{n} (most on store {store})"))
            .collect();
        out.push(
            State::Ok,
            format!(
                "retryable log backup errors since the last check: {}",
                listed.join(", ")
            ),
        );
    }
    out.metrics.push(Metric::count("retryable_errors", total));
    out
}

/// Flushes saved since the previous sample (`flush_duration_sec{stage="save_files"}`):
/// none at all while a task runs means no store reaches the storage; a slow mean is a
/// slow storage.
fn flushes(tikv: &TikvFacts) -> Judged {
    let mut out = Judged::default();
    let counted: Vec<(u64, f64, Option<f64>)> = tikv
        .stores
        .iter()
        .filter_map(|s| s.flushes.map(|n| (s.store_id, n, s.flush_mean_seconds)))
        .collect();
    if counted.is_empty() {
        return out;
    }
    let total: f64 = counted.iter().map(|(_, n, _)| n).sum();
    if total == 0.0 {
        out.push(State::Ok, "no TiKV store flushed since the last check");
    } else {
        let seconds: f64 = counted
            .iter()
            .filter_map(|(_, n, mean)| mean.map(|m| m * n))
            .sum();
        let mean = seconds / total;
        let mut text = format!(
            "{} flushes since the last check, {}s each on average",
            total,
            crate::text::rate_text(mean)
        );
        let slowest = counted
            .iter()
            .filter_map(|(id, _, mean)| mean.map(|m| (*id, m)))
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
        if let Some((store, m)) = slowest.filter(|_| counted.len() > 1) {
            text.push_str(&format!(
                ", slowest store {store} at {}s",
                crate::text::rate_text(m)
            ));
        }
        out.push(State::Ok, text);
        out.metrics.push(Metric {
            label: "flush_mean_seconds".into(),
            value: Some(crate::text::two_decimals(mean)),
            uom: "s",
            warn: None,
            crit: None,
            min: Some(0.0),
            max: None,
        });
    }
    out.metrics.push(Metric::count("flushes", total));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::throughput::StoreMetrics;

    fn store(id: u64, sample: Result<Sample, String>) -> StoreMetrics {
        StoreMetrics {
            store_id: id,
            sample,
            rate: None,
            fatal_increase: 0.0,
            errors_increase: BTreeMap::new(),
            flushes: None,
            flush_mean_seconds: None,
        }
    }

    fn facts(stores: Vec<StoreMetrics>, rate: Option<f64>) -> TikvFacts {
        TikvFacts {
            up_stores: stores.len(),
            stores,
            total_rate: rate,
            notes: Vec::new(),
            sampled_at_ms: 0,
        }
    }

    fn texts(j: &Judged) -> Vec<&str> {
        j.findings.iter().map(|f| f.text.as_str()).collect()
    }

    fn metric(j: &Judged, label: &str) -> Option<f64> {
        j.metrics
            .iter()
            .find(|m| m.label == label)
            .and_then(|m| m.value)
    }

    #[test]
    fn says_how_many_stores_were_sampled_and_counts_failures_past_five() {
        let mut stores = vec![store(1, Ok(Sample::default()))];
        stores.extend((2..=8).map(|id| store(id, Err("connection refused".into()))));
        stores.extend((9..=11).map(|id| store(id, Err(NOT_REACHED.into()))));
        let judged = cluster(&facts(stores, None));
        assert_eq!(
            texts(&judged),
            vec![
                "sampled 1 of 11 stores before the deadline",
                "metrics of TiKV store 2 unavailable: connection refused",
                "metrics of TiKV store 3 unavailable: connection refused",
                "metrics of TiKV store 4 unavailable: connection refused",
                "metrics of TiKV store 5 unavailable: connection refused",
                "metrics of TiKV store 6 unavailable: connection refused",
                "metrics of 2 more TiKV stores unavailable",
            ]
        );
        assert!(judged.findings.iter().all(|f| f.state == State::Ok));
        let all = cluster(&facts(vec![store(1, Ok(Sample::default()))], None));
        assert_eq!(texts(&all), vec!["sampled 1 of 1 store"]);
        assert_eq!(metric(&all, "pending_initial_scan"), Some(0.0));
        assert_eq!(metric(&all, "flushes"), None, "no previous sample");
    }

    #[test]
    fn retryable_errors_flushes_and_the_initial_scan_backlog() {
        let pending = |n: f64| Sample {
            pending_initial_scan: n,
            ..Sample::default()
        };
        let mut one = store(1, Ok(pending(120.0)));
        one.errors_increase = BTreeMap::from([
            ("KV:LogBackup:RaftReq".to_string(), 7.0),
            ("KV:LogBackup:Io".to_string(), 1.0),
        ]);
        (one.flushes, one.flush_mean_seconds) = (Some(3.0), Some(1.0));
        let mut four = store(4, Ok(pending(6.0)));
        four.errors_increase = BTreeMap::from([("KV:LogBackup:RaftReq".to_string(), 9.0)]);
        (four.flushes, four.flush_mean_seconds) = (Some(1.0), Some(5.0));
        let judged = cluster(&facts(vec![one, four], Some(10.0)));
        assert_eq!(
            texts(&judged)[1..],
            [
                "retryable log backup errors since the last check: KV:LogBackup:RaftReq +16 (most on store 4), KV:LogBackup:Io +1 (most on store 1)",
                "4 flushes since the last check, 2s each on average, slowest store 4 at 5s",
                "initial scan pending for 126 regions on 2 stores",
            ]
        );
        assert_eq!(metric(&judged, "retryable_errors"), Some(17.0));
        assert_eq!(metric(&judged, "flushes"), Some(4.0));
        assert_eq!(metric(&judged, "flush_mean_seconds"), Some(2.0));
        assert_eq!(metric(&judged, "pending_initial_scan"), Some(126.0));

        let mut still = store(1, Ok(Sample::default()));
        still.flushes = Some(0.0);
        let quiet = cluster(&facts(vec![still], Some(0.0)));
        assert_eq!(
            texts(&quiet)[1..],
            ["no TiKV store flushed since the last check"]
        );
        assert_eq!(metric(&quiet, "retryable_errors"), Some(0.0));
    }
}
