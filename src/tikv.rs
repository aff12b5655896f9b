//! TiKV's `/metrics` (Prometheus text format, docs/rules.md#tikv-facts): the log-backup
//! series the check needs, fetched from every Up store concurrently.

use crate::pd::Store;
use crate::prom::{self, Labels};
use crate::tls::Tls;
use std::collections::BTreeMap;
use std::time::Instant;

/// One store's log-backup counters and gauges at one moment. A series TiKV does not
/// print is 0: `simplify-metrics` drops zero counters, and unused vectors print nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    /// `tikv_log_backup_handle_kv_batch_sum` (pre-6.2: `tikv_stream_…`): KV events handled.
    pub kv_events: f64,
    /// Sum over `type` of `tikv_log_backup_fatal_errors`.
    pub fatal_errors: f64,
    /// `tikv_log_backup_task_status{task}`: 0 running, 1 paused, 2 error.
    pub task_status: BTreeMap<String, f64>,
    /// `tikv_log_backup_errors{type}`: retryable errors by TiKV error code.
    pub errors: BTreeMap<String, f64>,
    /// `tikv_log_backup_pending_initial_scan`, summed over `stage` (queuing, executing).
    pub pending_initial_scan: f64,
    /// `tikv_log_backup_flush_duration_sec_count{stage="save_files"}`: successful flushes.
    pub flushes: f64,
    /// `…_flush_duration_sec_sum{stage="save_files"}`: seconds spent saving them.
    pub flush_seconds: f64,
}

/// The series names start with one of these (pre-6.2 TiKV: `tikv_stream_`).
pub const PREFIXES: [&str; 2] = ["tikv_log_backup_", "tikv_stream_"];

impl Sample {
    /// Files one sample line into the sample; other series are ignored.
    pub fn absorb(&mut self, name: &str, labels: &Labels, value: f64) {
        if !value.is_finite() {
            return;
        }
        let label = |key: &str| labels.iter().find(|(k, _)| k == key).map(|(_, v)| v);
        let name = name
            .strip_prefix("tikv_log_backup_")
            .or_else(|| name.strip_prefix("tikv_stream_"))
            .unwrap_or(name);
        let save_files = || label("stage").is_some_and(|s| s == "save_files");
        match name {
            "handle_kv_batch_sum" => self.kv_events += value,
            "fatal_errors" => self.fatal_errors += value,
            "task_status" => {
                if let Some(task) = label("task") {
                    self.task_status.insert(task.clone(), value);
                }
            }
            "errors" => {
                let kind = label("type").map_or("unknown", |t| t.as_str());
                *self.errors.entry(kind.to_string()).or_default() += value;
            }
            "pending_initial_scan" => self.pending_initial_scan += value,
            "flush_duration_sec_count" if save_files() => self.flushes += value,
            "flush_duration_sec_sum" if save_files() => self.flush_seconds += value,
            _ => {}
        }
    }
}

/// Extracts the log-backup series from a whole `/metrics` body.
pub fn parse_metrics(body: &str) -> Sample {
    let mut sample = Sample::default();
    for line in body.lines() {
        // Cheap filter first: a large TiKV exposition has thousands of other lines.
        if !PREFIXES.iter().any(|p| line.starts_with(p)) {
            continue;
        }
        if let Some((name, labels, value)) = prom::parse_line(line) {
            sample.absorb(name, &labels, value);
        }
    }
    sample
}

/// One store's fetch result.
pub type Fetched = Result<Sample, String>;

/// How many stores are asked at once: the cost stays bounded on a 1,000-store cluster.
pub const MAX_PARALLEL: usize = 32;

/// Fetches `/metrics` of every store, at most [`MAX_PARALLEL`] at once, each request
/// bounded by the deadline. Results are in the order of `stores`; a store the deadline
/// came before is [`prom::NOT_REACHED`].
pub fn fetch_all(stores: &[Store], tls: Option<&Tls>, deadline: Instant) -> Vec<(u64, Fetched)> {
    let results = prom::in_parallel(stores, MAX_PARALLEL, |store| {
        fetch_one(store, tls, deadline)
    });
    stores.iter().map(|s| s.id).zip(results).collect()
}

fn fetch_one(store: &Store, tls: Option<&Tls>, deadline: Instant) -> Fetched {
    if store.status_address.is_empty() {
        return Err("PD reports no status address".to_string());
    }
    let url = prom::metrics_url(&store.status_address, tls.is_some());
    let mut sample = Sample::default();
    prom::scrape(&url, tls, deadline, &PREFIXES, |name, labels, value| {
        sample.absorb(name, labels, value)
    })?;
    Ok(sample)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_the_log_backup_series() {
        let body = "# HELP tikv_log_backup_handle_kv_batch The total kv pair change handle by the stream backup
# TYPE tikv_log_backup_handle_kv_batch histogram
tikv_log_backup_handle_kv_batch_bucket{le=\"1\"} 48211
tikv_log_backup_handle_kv_batch_bucket{le=\"+Inf\"} 70015
tikv_log_backup_handle_kv_batch_sum 191344
tikv_log_backup_handle_kv_batch_count 70015
tikv_log_backup_fatal_errors{type=\"KV:LogBackup:Io\"} 1
tikv_log_backup_fatal_errors{type=\"KV:LogBackup:Pd\"} 2
tikv_log_backup_task_status{task=\"pitr\"} 0
tikv_log_backup_task_status{task=\"old\"} 2
tikv_engine_size_bytes{db=\"kv\"} 12345
tikv_log_backup_errors{type=\"KV:LogBackup:ObserveCancel\"} 4
tikv_log_backup_errors{type=\"KV:LogBackup:RaftReq\"} 17
tikv_log_backup_flush_duration_sec_bucket{stage=\"save_files\",le=\"1\"} 102
tikv_log_backup_flush_duration_sec_bucket{stage=\"save_files\",le=\"+Inf\"} 131
tikv_log_backup_flush_duration_sec_sum{stage=\"save_files\"} 97.53
tikv_log_backup_flush_duration_sec_count{stage=\"save_files\"} 131
tikv_log_backup_flush_duration_sec_sum{stage=\"generate_metadata\"} 3.5
tikv_log_backup_flush_duration_sec_count{stage=\"generate_metadata\"} 131
tikv_log_backup_pending_initial_scan{stage=\"executing\"} 6
tikv_log_backup_pending_initial_scan{stage=\"queuing\"} 120
";
        let s = parse_metrics(body);
        assert_eq!(s.kv_events, 191_344.0);
        assert_eq!(s.fatal_errors, 3.0);
        assert_eq!(s.task_status.get("pitr"), Some(&0.0));
        assert_eq!(s.task_status.get("old"), Some(&2.0));
        assert_eq!(
            s.errors,
            BTreeMap::from([
                ("KV:LogBackup:ObserveCancel".to_string(), 4.0),
                ("KV:LogBackup:RaftReq".to_string(), 17.0)
            ])
        );
        assert_eq!((s.flushes, s.flush_seconds), (131.0, 97.53));
        assert_eq!(s.pending_initial_scan, 126.0);
    }

    #[test]
    fn old_names_and_missing_series() {
        let s = parse_metrics(
            "tikv_stream_handle_kv_batch_sum 42\ntikv_stream_errors{type=\"KV:LogBackup:Io\"} 2\n",
        );
        assert_eq!(s.kv_events, 42.0);
        assert_eq!(s.errors.get("KV:LogBackup:Io"), Some(&2.0));
        let empty = parse_metrics("process_cpu_seconds_total 1\n");
        assert_eq!(empty, Sample::default());
    }
}
