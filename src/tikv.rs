//! TiKV's `/metrics` (Prometheus text format, docs/rules.md#tikv-facts): the log-backup
//! series the check needs, fetched from every Up store concurrently.

use crate::pd::Store;
use crate::tls::Tls;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One store's log-backup counters and gauges at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// `tikv_log_backup_handle_kv_batch_sum` (pre-6.2: `tikv_stream_…`): KV events handled.
    pub kv_events: f64,
    /// Sum over `type` of `tikv_log_backup_fatal_errors`.
    pub fatal_errors: f64,
    /// `tikv_log_backup_task_status{task}`: 0 running, 1 paused, 2 error.
    pub task_status: BTreeMap<String, f64>,
}

/// Label pairs of one sample line.
pub type Labels = Vec<(String, String)>;

/// Parses one sample line: `name{a="b",c="d"} value [timestamp]`.
/// Returns `None` for comments, blank and malformed lines.
pub fn parse_line(line: &str) -> Option<(&str, Labels, f64)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let name_end = line.find(|c: char| c == '{' || c.is_whitespace())?;
    let name = &line[..name_end];
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(inner) = rest.strip_prefix('{') {
        let mut chars = inner.char_indices().peekable();
        let end = loop {
            // label name
            while chars
                .peek()
                .is_some_and(|(_, c)| *c == ',' || c.is_whitespace())
            {
                chars.next();
            }
            match chars.peek() {
                Some((i, '}')) => break *i,
                None => return None,
                _ => {}
            }
            let mut label = String::new();
            for (_, c) in chars.by_ref() {
                if c == '=' {
                    break;
                }
                label.push(c);
            }
            if chars.next().map(|(_, c)| c) != Some('"') {
                return None;
            }
            let mut value = String::new();
            loop {
                match chars.next()? {
                    (_, '\\') => match chars.next()?.1 {
                        'n' => value.push('\n'),
                        other => value.push(other),
                    },
                    (_, '"') => break,
                    (_, c) => value.push(c),
                }
            }
            labels.push((label.trim().to_string(), value));
        };
        rest = &inner[end + 1..];
    }
    let value_text = rest.split_whitespace().next()?;
    let value = match value_text {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        text => text.parse::<f64>().ok()?,
    };
    Some((name, labels, value))
}

/// Extracts the log-backup series from a whole `/metrics` body. Missing series are 0:
/// TiKV's `simplify-metrics` drops zero counters, and unused vectors print nothing.
pub fn parse_metrics(body: &str) -> Sample {
    let mut sample = Sample {
        kv_events: 0.0,
        fatal_errors: 0.0,
        task_status: BTreeMap::new(),
    };
    for line in body.lines() {
        // Cheap filter first: a large TiKV exposition has thousands of other lines.
        if !(line.starts_with("tikv_log_backup_") || line.starts_with("tikv_stream_")) {
            continue;
        }
        let Some((name, labels, value)) = parse_line(line) else {
            continue;
        };
        if !value.is_finite() {
            continue;
        }
        match name {
            "tikv_log_backup_handle_kv_batch_sum" | "tikv_stream_handle_kv_batch_sum" => {
                sample.kv_events += value
            }
            "tikv_log_backup_fatal_errors" => sample.fatal_errors += value,
            "tikv_log_backup_task_status" => {
                if let Some((_, task)) = labels.iter().find(|(k, _)| k == "task") {
                    sample.task_status.insert(task.clone(), value);
                }
            }
            _ => {}
        }
    }
    sample
}

/// `host:20180` → `http://host:20180/metrics` (`https://` with cluster TLS: TiKV's status
/// server then speaks HTTPS too).
pub fn metrics_url(status_address: &str, tls: bool) -> String {
    if status_address.starts_with("http://") || status_address.starts_with("https://") {
        format!("{}/metrics", status_address.trim_end_matches('/'))
    } else {
        format!(
            "{}://{status_address}/metrics",
            if tls { "https" } else { "http" }
        )
    }
}

/// One store's fetch result.
pub type Fetched = Result<Sample, String>;

/// How many stores are asked at once: the cost stays bounded on a 1,000-store cluster.
pub const MAX_PARALLEL: usize = 32;

/// Fetches `/metrics` of every store, at most [`MAX_PARALLEL`] at once, each request
/// bounded by the deadline. Results are in the order of `stores`.
pub fn fetch_all(
    stores: &[Store],
    tls: Option<&Tls>,
    deadline: Instant,
) -> Vec<(u64, Result<Sample, String>)> {
    let tls = tls.cloned();
    let queue: Arc<Mutex<Vec<(usize, Store)>>> = Arc::new(Mutex::new(
        stores.iter().cloned().enumerate().rev().collect(),
    ));
    let results: Arc<Mutex<Vec<Option<Fetched>>>> = Arc::new(Mutex::new(vec![None; stores.len()]));
    let workers: Vec<_> = (0..MAX_PARALLEL.min(stores.len()))
        .map(|_| {
            let queue = Arc::clone(&queue);
            let results = Arc::clone(&results);
            let tls = tls.clone();
            std::thread::spawn(move || loop {
                let next = queue.lock().ok().and_then(|mut q| q.pop());
                let Some((index, store)) = next else { break };
                let outcome = fetch_one(&store, tls.as_ref(), deadline);
                if let Ok(mut r) = results.lock() {
                    r[index] = Some(outcome);
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.join();
    }
    let results = results.lock().map(|r| r.clone()).unwrap_or_default();
    stores
        .iter()
        .zip(results)
        .map(|(store, r)| {
            (
                store.id,
                r.unwrap_or_else(|| Err("not fetched".to_string())),
            )
        })
        .collect()
}

fn fetch_one(store: &Store, tls: Option<&Tls>, deadline: Instant) -> Result<Sample, String> {
    let remaining = deadline.saturating_duration_since(Instant::now());
    if remaining < Duration::from_millis(1) {
        return Err("no time left".to_string());
    }
    if store.status_address.is_empty() {
        return Err("PD reports no status address".to_string());
    }
    let (agent, url) = crate::tls::http_agent(
        tls,
        remaining,
        &metrics_url(&store.status_address, tls.is_some()),
    )?;
    // ureq asks for gzip and inflates it (TiKV compresses /metrics when asked).
    let mut response = agent
        .get(&url)
        .call()
        .map_err(|e| crate::tls::explain(&e.to_string(), url.starts_with("https://")))?;
    if response.status() != 200 {
        return Err(format!("HTTP {}", response.status().as_u16()));
    }
    let body = response
        .body_mut()
        .with_config()
        .limit(256 << 20)
        .read_to_string()
        .map_err(|e| e.to_string())?;
    Ok(parse_metrics(&body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_with_labels_escapes_and_go_exponents() {
        assert_eq!(
            parse_line("tikv_log_backup_handle_kv_batch_sum 191344"),
            Some(("tikv_log_backup_handle_kv_batch_sum", vec![], 191_344.0))
        );
        let (name, labels, value) =
            parse_line(r#"tikv_log_backup_task_status{task="pi\"tr",x="a\\b"} 2 1700000000000"#)
                .unwrap();
        assert_eq!(name, "tikv_log_backup_task_status");
        assert_eq!(
            labels,
            vec![
                ("task".to_string(), "pi\"tr".to_string()),
                ("x".to_string(), "a\\b".to_string())
            ]
        );
        assert_eq!(value, 2.0);
        assert_eq!(
            parse_line("tidb_log_backup_last_checkpoint{task=\"p\"} 4.62159872e+17")
                .unwrap()
                .2,
            4.62159872e17
        );
        assert_eq!(
            parse_line("x_bucket{le=\"+Inf\"} +Inf").unwrap().2,
            f64::INFINITY
        );
        for bad in [
            "# HELP x y",
            "",
            "x{a=\"b\" 1",
            "x{a=b} 1",
            "x abc",
            "x{a=\"b\"}",
        ] {
            assert_eq!(parse_line(bad), None, "{bad}");
        }
    }

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
";
        let s = parse_metrics(body);
        assert_eq!(s.kv_events, 191_344.0);
        assert_eq!(s.fatal_errors, 3.0);
        assert_eq!(s.task_status.get("pitr"), Some(&0.0));
        assert_eq!(s.task_status.get("old"), Some(&2.0));
    }

    #[test]
    fn old_names_and_missing_series() {
        let s = parse_metrics("tikv_stream_handle_kv_batch_sum 42\n");
        assert_eq!(s.kv_events, 42.0);
        let empty = parse_metrics("process_cpu_seconds_total 1\n");
        assert_eq!(
            (empty.kv_events, empty.fatal_errors, empty.task_status.len()),
            (0.0, 0.0, 0)
        );
    }

    #[test]
    fn metrics_urls() {
        assert_eq!(
            metrics_url("tikv-1:20180", false),
            "http://tikv-1:20180/metrics"
        );
        assert_eq!(
            metrics_url("tikv-1:20180", true),
            "https://tikv-1:20180/metrics"
        );
        assert_eq!(
            metrics_url("https://tikv-1:20180/", false),
            "https://tikv-1:20180/metrics"
        );
    }
}
