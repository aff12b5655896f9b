//! Prometheus' text exposition format (TiKV's and TiDB's `/metrics`): one sample line
//! parsed, and a body read line by line so that a multi-megabyte exposition never sits
//! in memory whole.

use crate::tls::Tls;
use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

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

/// A body larger than this is cut off (TiKV's is ~1 MB, TiDB's a few MB).
const MAX_BODY_BYTES: u64 = 256 << 20;

/// GETs `url` before `deadline` and hands each sample line whose name starts with one of
/// `prefixes` to `on_sample`; every other line is dropped as it streams past.
pub fn scrape(
    url: &str,
    tls: Option<&Tls>,
    deadline: Instant,
    prefixes: &[&str],
    mut on_sample: impl FnMut(&str, &Labels, f64),
) -> Result<(), String> {
    let remaining = deadline.saturating_duration_since(Instant::now());
    if remaining < Duration::from_millis(1) {
        return Err(NOT_REACHED.to_string());
    }
    let (agent, url) = crate::transport::http_agent(tls, remaining, url)?;
    // ureq asks for gzip and inflates it (TiKV compresses /metrics when asked).
    let mut response = agent
        .get(&url)
        .call()
        .map_err(|e| crate::transport::explain(&e.to_string(), url.starts_with("https://")))?;
    if response.status() != 200 {
        return Err(format!("HTTP {}", response.status().as_u16()));
    }
    let reader = response
        .body_mut()
        .with_config()
        .limit(MAX_BODY_BYTES)
        .reader();
    let mut reader = BufReader::with_capacity(8 * 1024, reader);
    let mut line = Vec::with_capacity(256);
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return Ok(());
        }
        if !prefixes.iter().any(|p| line.starts_with(p.as_bytes())) {
            continue;
        }
        let Ok(text) = std::str::from_utf8(&line) else {
            continue;
        };
        if let Some((name, labels, value)) = parse_line(text) {
            on_sample(name, &labels, value);
        }
    }
}

/// Why a target has no sample: the deadline came before it was asked.
pub const NOT_REACHED: &str = "not reached before the deadline";

/// `work` on every item, at most `workers` at once; results in the order of `items`. An
/// item whose worker panicked counts as not reached.
pub fn in_parallel<T: Sync, R: Send>(
    items: &[T],
    workers: usize,
    work: impl Fn(&T) -> Result<R, String> + Sync,
) -> Vec<Result<R, String>> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<Result<R, String>>>> =
        items.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers.min(items.len()))
            .map(|_| {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let outcome = work(item);
                    if let Ok(mut slot) = slots[i].lock() {
                        *slot = Some(outcome);
                    }
                })
            })
            .collect();
        // Joined here, a worker's panic stays its own: its items count as not reached.
        for handle in handles {
            let _ = handle.join();
        }
    });
    slots
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .ok()
                .flatten()
                .unwrap_or_else(|| Err(NOT_REACHED.to_string()))
        })
        .collect()
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
