//! Log-backup throughput and TiKV-side failure signals from `/metrics`, with the previous
//! run's sample kept in a small state file so the check never has to sleep for a rate.

use crate::tikv::Sample;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

const STATE_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSample {
    pub kv_events: f64,
    pub fatal_errors: f64,
    /// Retryable errors by type (absent in files written before they were kept).
    #[serde(default)]
    pub errors: BTreeMap<String, f64>,
    #[serde(default)]
    pub flushes: f64,
    #[serde(default)]
    pub flush_seconds: f64,
}

/// The state file: one per cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateFile {
    pub version: u32,
    /// Which cluster wrote it (PD cluster id, or the endpoints when unknown).
    pub cluster: String,
    pub taken_at_ms: u64,
    pub stores: BTreeMap<String, StoredSample>,
    /// Each task's checkpoint at the previous run (every run keeps it, unless `--no-state`).
    #[serde(default)]
    pub tasks: BTreeMap<String, TaskProgress>,
}

/// A task's checkpoint as a run saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskProgress {
    pub checkpoint_ts: u64,
    /// When the run saw it (Unix ms).
    pub seen_at_ms: u64,
    /// When a run first saw this checkpoint value (Unix ms): since then it has not moved.
    pub advanced_at_ms: u64,
}

impl StateFile {
    pub fn new(cluster: &str, taken_at_ms: u64, samples: &[(u64, Sample)]) -> StateFile {
        StateFile {
            version: STATE_VERSION,
            cluster: cluster.to_string(),
            taken_at_ms,
            tasks: BTreeMap::new(),
            stores: samples
                .iter()
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
                .collect(),
        }
    }
}

/// The samples that were read, for the state file.
pub fn successful(current: &[(u64, Result<Sample, String>)]) -> Vec<(u64, Sample)> {
    current
        .iter()
        .filter_map(|(id, s)| s.as_ref().ok().map(|s| (*id, s.clone())))
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
    /// Why there is no rate, or what went wrong with the state file (informational).
    pub notes: Vec<String>,
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
    }
}

/// The file for one cluster: `throughput-<key>.json`, key sanitised to `[A-Za-z0-9_-]`.
pub fn state_path(dir: &Path, cluster: &str) -> PathBuf {
    let key: String = cluster
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("throughput-{key}.json"))
}

/// Reads the previous sample; a missing, corrupt or foreign file counts as none.
pub fn load(path: &Path, cluster: &str) -> Option<StateFile> {
    let text = std::fs::read_to_string(path).ok()?;
    let state: StateFile = serde_json::from_str(&text).ok()?;
    (state.version == STATE_VERSION && state.cluster == cluster).then_some(state)
}

/// Writes atomically (temp file + rename) under an exclusive lock, so concurrent checks
/// of the same cluster never leave a torn file. Not fsynced: the file is advisory. One
/// that a crash of the host leaves empty or torn reads as no previous state (the next
/// run has no rate and restarts the stuck clock), while an fsync costs every run a
/// journal commit: 0.3–3 ms on ext4, as much as the rest of the check (BENCHMARKS.md).
pub fn save(path: &Path, state: &StateFile) -> Result<(), String> {
    let dir = path.parent().ok_or("state path has no directory")?;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let lock_path = path.with_extension("lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| format!("cannot open {}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let text = serde_json::to_string(state).map_err(|e| e.to_string())?;
    let written = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .and_then(|_| replace(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("cannot write {}: {e}", path.display()));
    }
    Ok(())
}

/// Puts `tmp` in the place of `path`. On Linux the two are swapped (`renameat2` with
/// `RENAME_EXCHANGE`) and the old file, now at `tmp`, is removed: a reader still finds
/// either the old file or the new one, and ext4 does not write the new file's data out
/// at once, as it does for a rename over an existing file (`auto_da_alloc`: 0.1–0.3 ms
/// a run). A plain rename when there is no file yet, or the file system cannot swap.
fn replace(tmp: &Path, path: &Path) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{renameat_with, RenameFlags, CWD};
        if renameat_with(CWD, tmp, CWD, path, RenameFlags::EXCHANGE).is_ok() {
            // The new file is in place; a leftover old one is only litter.
            let _ = std::fs::remove_file(tmp);
            return Ok(());
        }
    }
    std::fs::rename(tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(kv: f64, fatal: f64) -> Sample {
        Sample {
            kv_events: kv,
            fatal_errors: fatal,
            ..Sample::default()
        }
    }

    #[test]
    fn rates_resets_and_missing_stores() {
        let before = StateFile::new(
            "7",
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
        let before = StateFile::new("7", 1_000_000, &[(1, earlier.clone()), (2, earlier)]);
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

    #[test]
    fn state_file_round_trip_and_replacement_of_bad_files() {
        let dir = std::env::temp_dir().join(format!("ctlb-state-{}", std::process::id()));
        let path = state_path(&dir, "cluster 7/x");
        assert!(path.ends_with("throughput-cluster_7_x.json"));
        let state = StateFile::new("cluster 7/x", 42, &[(1, sample(1.5, 0.0))]);
        save(&path, &state).unwrap();
        assert_eq!(load(&path, "cluster 7/x"), Some(state.clone()));
        assert_eq!(load(&path, "another cluster"), None, "foreign file");
        std::fs::write(&path, "{ torn").unwrap();
        assert_eq!(load(&path, "cluster 7/x"), None, "corrupt file");
        save(&path, &state).unwrap();
        assert_eq!(load(&path, "cluster 7/x"), Some(state.clone()));
        // Replacing a file leaves only the file and its lock behind.
        let newer = StateFile::new("cluster 7/x", 43, &[(1, sample(2.5, 0.0))]);
        save(&path, &newer).unwrap();
        assert_eq!(load(&path, "cluster 7/x"), Some(newer));
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            vec!["throughput-cluster_7_x.json", "throughput-cluster_7_x.lock"]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
