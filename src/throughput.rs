//! Log-backup throughput and TiKV-side failure signals from `/metrics`: the rates and
//! increases since the previous run's sample (kept in the state file, [`crate::statefile`],
//! so the check never has to sleep for a rate). Pure.

use crate::statefile::{StateFile, StoredSample};
use crate::tikv::Sample;
use std::collections::BTreeMap;

/// The samples that were read, as the state file keeps them (by store id).
pub fn stored<'a>(
    samples: impl IntoIterator<Item = (u64, &'a Sample)>,
) -> BTreeMap<String, StoredSample> {
    samples
        .into_iter()
        .map(|(id, s)| {
            (
                id.to_string(),
                StoredSample {
                    kv_events: s.kv_events,
                    fatal_errors: s.fatal_errors,
                    errors: s.errors.clone(),
                    flushes: s.flushes,
                    flush_seconds: s.flush_seconds,
                },
            )
        })
        .collect()
}

/// One store's result for the rules and renderers.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreMetrics {
    pub store_id: u64,
    pub sample: Result<Sample, String>,
    /// KV events per second since the previous sample.
    pub rate: Option<f64>,
    /// New fatal errors since the previous sample.
    pub fatal_increase: f64,
    /// New retryable errors by type since the previous sample (only types that rose).
    pub errors_increase: BTreeMap<String, f64>,
    /// Flushes saved since the previous sample, and their mean duration (s) when any.
    pub flushes: Option<f64>,
    pub flush_mean_seconds: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TikvFacts {
    /// The Up stores PD listed: all were to be sampled.
    pub up_stores: usize,
    pub stores: Vec<StoreMetrics>,
    /// Sum of the per-store rates (stores without a previous sample are left out).
    pub total_rate: Option<f64>,
    /// Why there is no rate (informational).
    pub notes: Vec<String>,
    /// When the stores were sampled (Unix ms): the state file keeps it with the samples.
    pub sampled_at_ms: u64,
}

impl TikvFacts {
    /// The stores' samples that were read, in store order.
    pub fn samples(&self) -> impl Iterator<Item = &Sample> {
        self.stores.iter().filter_map(|s| s.sample.as_ref().ok())
    }

    /// Regions queued for or in their initial scan, over the sampled stores.
    pub fn pending_initial_scan(&self) -> f64 {
        self.samples().map(|s| s.pending_initial_scan).sum()
    }

    /// The samples read, by store id, as the state file keeps them.
    pub fn stored(&self) -> BTreeMap<String, StoredSample> {
        stored(
            self.stores
                .iter()
                .filter_map(|s| s.sample.as_ref().ok().map(|sample| (s.store_id, sample))),
        )
    }

    /// Every Up store PD listed was sampled.
    pub fn every_store_sampled(&self) -> bool {
        self.up_stores > 0 && self.samples().count() == self.up_stores
    }
}

/// Increase of a counter, treating a decrease as a reset to 0 (TiKV restarted).
fn increase(previous: f64, current: f64) -> f64 {
    if current >= previous {
        current - previous
    } else {
        current
    }
}

/// Rates and fatal-error increases against the previous sample (pure).
pub fn compare(
    previous: Option<&StateFile>,
    current: &[(u64, Result<Sample, String>)],
    now_ms: u64,
) -> TikvFacts {
    let elapsed = previous
        .map(|p| now_ms.saturating_sub(p.taken_at_ms) as f64 / 1000.0)
        .filter(|s| *s > 0.0);
    let mut total: Option<f64> = None;
    let stores = current
        .iter()
        .map(|(id, sample)| {
            let before = previous.and_then(|p| p.stores.get(&id.to_string()));
            let mut store = StoreMetrics {
                store_id: *id,
                sample: sample.clone(),
                rate: None,
                fatal_increase: 0.0,
                errors_increase: BTreeMap::new(),
                flushes: None,
                flush_mean_seconds: None,
            };
            if let (Ok(s), Some(b), Some(secs)) = (sample, before, elapsed) {
                let rate = increase(b.kv_events, s.kv_events) / secs;
                *total.get_or_insert(0.0) += rate;
                store.rate = Some(rate);
                store.fatal_increase = increase(b.fatal_errors, s.fatal_errors);
                for (kind, now) in &s.errors {
                    let new = increase(b.errors.get(kind).copied().unwrap_or(0.0), *now);
                    if new > 0.0 {
                        store.errors_increase.insert(kind.clone(), new);
                    }
                }
                let flushes = increase(b.flushes, s.flushes);
                store.flushes = Some(flushes);
                if flushes > 0.0 {
                    // After a reset both counters restarted from 0.
                    let seconds = if s.flushes >= b.flushes {
                        s.flush_seconds - b.flush_seconds
                    } else {
                        s.flush_seconds
                    };
                    store.flush_mean_seconds = Some(seconds.max(0.0) / flushes);
                }
            }
            store
        })
        .collect();
    let mut notes = Vec::new();
    if previous.is_none() {
        notes.push("first throughput sample: no rate yet (or use --sample)".to_string());
    }
    TikvFacts {
        up_stores: current.len(),
        stores,
        total_rate: total,
        notes,
        sampled_at_ms: now_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A previous run's file holding `samples`, taken at `taken_at_ms`.
    fn file(taken_at_ms: u64, samples: &[(u64, Sample)]) -> StateFile {
        let mut file = StateFile::new("7", taken_at_ms);
        file.stores = stored(samples.iter().map(|(id, s)| (*id, s)));
        file
    }

    fn sample(kv: f64, fatal: f64) -> Sample {
        Sample {
            kv_events: kv,
            fatal_errors: fatal,
            ..Sample::default()
        }
    }

    #[test]
    fn rates_resets_and_missing_stores() {
        let before = file(
            1_000_000,
            &[
                (1, sample(1000.0, 0.0)),
                (2, sample(5000.0, 1.0)),
                (3, sample(10.0, 0.0)),
            ],
        );
        let now: Vec<(u64, Result<Sample, String>)> = vec![
            (1, Ok(sample(3000.0, 0.0))), // +2000 in 10 s
            (2, Ok(sample(400.0, 3.0))),  // restarted: 400 since the reset; fatal 1 -> 3
            (3, Err("timed out".into())), // no rate, no made-up value
            (4, Ok(sample(99.0, 0.0))),   // new store: no previous sample
        ];
        let facts = compare(Some(&before), &now, 1_010_000);
        let rates: Vec<Option<f64>> = facts.stores.iter().map(|s| s.rate).collect();
        assert_eq!(rates, vec![Some(200.0), Some(40.0), None, None]);
        assert_eq!(facts.total_rate, Some(240.0));
        assert_eq!(facts.stores[1].fatal_increase, 2.0);
        assert!(facts.notes.is_empty());
    }

    #[test]
    fn retryable_errors_and_flushes_since_the_previous_sample() {
        let mut earlier = sample(0.0, 0.0);
        earlier.errors.insert("KV:LogBackup:RaftReq".into(), 10.0);
        earlier.errors.insert("KV:LogBackup:Io".into(), 3.0);
        (earlier.flushes, earlier.flush_seconds) = (100.0, 50.0);
        let before = file(1_000_000, &[(1, earlier.clone()), (2, earlier)]);
        let mut later = sample(0.0, 0.0);
        later.errors.insert("KV:LogBackup:RaftReq".into(), 17.0);
        later.errors.insert("KV:LogBackup:Io".into(), 3.0);
        later.errors.insert("KV:LogBackup:Pd".into(), 1.0);
        (later.flushes, later.flush_seconds) = (104.0, 58.0);
        let mut restarted = sample(0.0, 0.0);
        (restarted.flushes, restarted.flush_seconds) = (2.0, 1.0);
        let facts = compare(
            Some(&before),
            &[(1, Ok(later)), (2, Ok(restarted))],
            1_600_000,
        );
        let one = &facts.stores[0];
        assert_eq!(
            one.errors_increase,
            BTreeMap::from([
                ("KV:LogBackup:Pd".to_string(), 1.0),
                ("KV:LogBackup:RaftReq".to_string(), 7.0)
            ]),
            "unchanged types are left out"
        );
        assert_eq!(
            (one.flushes, one.flush_mean_seconds),
            (Some(4.0), Some(2.0))
        );
        let two = &facts.stores[1];
        assert_eq!(
            (two.flushes, two.flush_mean_seconds),
            (Some(2.0), Some(0.5))
        );
        assert_eq!(facts.up_stores, 2);
    }

    #[test]
    fn first_run_has_no_rate() {
        let facts = compare(None, &[(1, Ok(sample(5.0, 0.0)))], 1);
        assert_eq!(facts.total_rate, None);
        assert_eq!(
            facts.notes,
            vec!["first throughput sample: no rate yet (or use --sample)"]
        );
    }
}
