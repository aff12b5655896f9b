//! `--format br-json`: the document today's `br log status --json` prints
//! (pingcap/tidb:br/pkg/stream/stream_status.go `printByJSON`, with the `status` field of
//! pingcap/tidb PR #58465), so scripts written around BR (jq in cron jobs) keep working
//! without the `br` binary.
//!
//! One JSON array on one line, fields in BR's order (`name, start_ts, end_ts, status,
//! table_filter, progress, storage, checkpoint, estimate_qps, last_errors`) with Go's
//! encoding rules: `start_ts` and `end_ts` omitted when 0, `table_filter` null when empty,
//! `progress` lists the store-type checkpoints only, `checkpoint` is the storage
//! checkpoint, `last_errors` always present (`[]` when none) with the store id of each key
//! outside and the proto-JSON error (snake_case, zero fields omitted) inside, floats
//! without a trailing `.0`, and `<`, `>`, `&` escaped as Go does. `name` is `Info.name`
//! from the value. `estimate_qps` is our sampled rate with `--throughput`, else 0 — never
//! BR's "42 per store" placeholder. Last errors come in store-key order (BR iterates a Go
//! map).
//!
//! Streams and exit status are BR's, not the plugin API's: see [`result`].

use super::{Outcome, Render, RenderOptions};
use crate::judge::Verdict;
use crate::proto::StreamBackupError;

/// BR's contract: the document on stdout and exit 0 whenever it could be printed (the
/// verdict is not part of it); otherwise nothing on stdout, one line on stderr, exit 1.
pub const FAILURE_EXIT: i32 = 1;

/// The document, or the one-line reason BR would fail with: the cluster could not be
/// read, a `--task` does not exist ("no such task"), or a selected task has a key that
/// does not decode (BR aborts on any).
pub fn result(outcome: &Outcome) -> Result<String, String> {
    match outcome {
        Outcome::Failed { message, .. } if message.trim().is_empty() => {
            Err("the cluster cannot be read".to_string())
        }
        Outcome::Failed { message, .. } => Err(message.clone()),
        Outcome::Checked(verdict) => {
            if let Some(name) = verdict.missing.first() {
                return Err(format!("no such task: {name}"));
            }
            let undecodable = verdict
                .tasks
                .iter()
                .flat_map(|t| &t.task.problems)
                .find(|p| p.undecodable);
            if let Some(p) = undecodable {
                return Err(format!("cannot decode {}: {}", p.key, p.reason));
            }
            Ok(document(verdict))
        }
        // The options allow br-json for one cluster only: BR's single document.
        Outcome::Fleet(clusters) => clusters.iter().map(|c| result(&c.outcome)).collect(),
    }
}

pub struct BrJson;

/// A JSON string the way Go's encoding/json writes it (HTML-safe escapes).
fn go_string(text: &str) -> String {
    let json = serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_string());
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// Go's float64 encoding: shortest digits, no exponent below 1e21, no `.0`.
fn go_float(value: f64) -> String {
    if value.is_finite() {
        crate::text::format_number(value)
    } else {
        "0".to_string()
    }
}

fn last_error(e: &StreamBackupError) -> String {
    let mut fields = Vec::new();
    if e.happen_at != 0 {
        fields.push(format!("\"happen_at\":{}", e.happen_at));
    }
    if !e.error_code.is_empty() {
        fields.push(format!("\"error_code\":{}", go_string(&e.error_code)));
    }
    if !e.error_message.is_empty() {
        fields.push(format!("\"error_message\":{}", go_string(&e.error_message)));
    }
    if e.store_id != 0 {
        fields.push(format!("\"store_id\":{}", e.store_id));
    }
    format!("{{{}}}", fields.join(","))
}

fn document(verdict: &Verdict) -> String {
    let qps = verdict.cluster.kv_rate().unwrap_or(0.0);
    let tasks: Vec<String> = verdict
        .tasks
        .iter()
        // BR cannot show a task whose info does not decode (it aborts); we leave it out.
        .filter_map(|t| {
            let task = &t.task;
            let info = task.info.as_ref()?;
            let mut fields = vec![format!("\"name\":{}", go_string(&info.name))];
            if info.start_ts != 0 {
                fields.push(format!("\"start_ts\":{}", info.start_ts));
            }
            if info.end_ts != 0 {
                fields.push(format!("\"end_ts\":{}", info.end_ts));
            }
            fields.push(format!("\"status\":\"{}\"", task.status().as_str()));
            let filter = if info.table_filter.is_empty() {
                "null".to_string()
            } else {
                format!(
                    "[{}]",
                    info.table_filter
                        .iter()
                        .map(|f| go_string(f))
                        .collect::<Vec<_>>()
                        .join(",")
                )
            };
            fields.push(format!("\"table_filter\":{filter}"));
            // Store-type checkpoints in etcd key order: legacy 8-byte keys sort first.
            let progress: Vec<String> = task
                .legacy_checkpoints
                .iter()
                .chain(&task.store_checkpoints)
                .map(|s| format!("{{\"store_id\":{},\"checkpoint\":{}}}", s.store_id, s.ts))
                .collect();
            fields.push(format!("\"progress\":[{}]", progress.join(",")));
            fields.push(format!("\"storage\":{}", go_string(&info.storage)));
            fields.push(format!(
                "\"checkpoint\":{}",
                task.storage_checkpoint().unwrap_or(info.start_ts)
            ));
            fields.push(format!("\"estimate_qps\":{}", go_float(qps)));
            let errors: Vec<String> = task
                .last_errors()
                .map(|(store_id, e)| {
                    format!(
                        "{{\"store_id\":{store_id},\"last_error\":{}}}",
                        last_error(e)
                    )
                })
                .collect();
            fields.push(format!("\"last_errors\":[{}]", errors.join(",")));
            Some(format!("{{{}}}", fields.join(",")))
        })
        .collect();
    format!("[{}]\n", tasks.join(","))
}

impl Render for BrJson {
    /// What goes to stdout: the document, or nothing when BR would fail ([`result`]).
    fn render(&self, outcome: &Outcome, _options: &RenderOptions) -> String {
        result(outcome).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_floats_like_go() {
        assert_eq!(
            go_string("a<b>&c\"\n"),
            "\"a\\u003cb\\u003e\\u0026c\\\"\\n\""
        );
        assert_eq!(go_float(0.0), "0");
        assert_eq!(go_float(12.5), "12.5");
        assert_eq!(go_float(f64::NAN), "0");
    }

    #[test]
    fn last_errors_omit_zero_fields() {
        let e = StreamBackupError {
            happen_at: 0,
            error_code: "KV:X".into(),
            error_message: String::new(),
            store_id: 4,
        };
        assert_eq!(last_error(&e), "{\"error_code\":\"KV:X\",\"store_id\":4}");
    }
}
