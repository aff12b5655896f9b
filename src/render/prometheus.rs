//! The Prometheus text exposition format 0.0.4, as node_exporter's textfile collector
//! reads it (docs/prometheus.md): `# HELP` and `# TYPE` once per family, every sample of
//! a family together, no timestamps (the scrape adds its own). Every perfdata item
//! becomes one sample of the family [`FAMILIES`] maps its label to, with the same value;
//! the task's state and status word, the GC margin and the check's own success, duration
//! and time are added.

use super::{Outcome, Render, RenderOptions};
use crate::judge::{Metric, Verdict};
use crate::text::format_number;

pub struct Prometheus;

/// Every family name starts with this.
pub const PREFIX: &str = "tidb_log_backup_";

/// Which labels a family's samples carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The whole run: no label.
    Run,
    /// `cluster`.
    Cluster,
    /// `cluster`, `task`.
    Task,
    /// `cluster`, `task`, `store`.
    Store,
    /// `cluster`, `task`, `status`: an `_info` family, always 1.
    TaskStatus,
}

/// One metric family: its name (after [`PREFIX`]), help text and labels. Every one is a
/// gauge: the check reports levels and counts over the last interval, never a counter
/// that only grows (so no family ends in `_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Family {
    pub name: &'static str,
    pub help: &'static str,
    pub scope: Scope,
}

const fn family(name: &'static str, scope: Scope, help: &'static str) -> Family {
    Family { name, help, scope }
}

/// The perfdata label (docs/output-contract.md#perfdata) each family carries, or `None`
/// for the families that are not perfdata. This table is the one home of the names and
/// help texts; the output follows its order.
pub const FAMILIES: &[(Option<&str>, Family)] = &[
    (
        None,
        family(
            "check_success",
            Scope::Cluster,
            "1 when the cluster's etcd was read and judged, 0 when the check failed (unreachable, timeout, usage or config error).",
        ),
    ),
    (
        None,
        family(
            "check_duration_seconds",
            Scope::Run,
            "How long the check ran, in seconds.",
        ),
    ),
    (
        None,
        family(
            "check_timestamp_seconds",
            Scope::Run,
            "When the check judged (Unix time, seconds): the age of this file's figures.",
        ),
    ),
    (
        None,
        family(
            "cluster_state",
            Scope::Cluster,
            "The cluster's check result: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (the plugin's exit code).",
        ),
    ),
    (
        Some("tasks"),
        family("tasks", Scope::Cluster, "Log backup tasks checked."),
    ),
    (
        Some("stores_down"),
        family(
            "stores_down",
            Scope::Cluster,
            "TiKV stores Down in PD (CRITICAL above 0).",
        ),
    ),
    (
        Some("stores_disconnected"),
        family(
            "stores_disconnected",
            Scope::Cluster,
            "TiKV stores Disconnected in PD (WARNING above 0).",
        ),
    ),
    (
        Some("gc_hold"),
        family(
            "gc_hold_seconds",
            Scope::Cluster,
            "How long log backup has held GC back: now minus its oldest service safepoint, seconds.",
        ),
    ),
    (
        Some("kv_events_per_second"),
        family(
            "kv_events_per_second",
            Scope::Cluster,
            "--throughput: KV events per second over all TiKV stores, since the previous sample.",
        ),
    ),
    (
        Some("pending_initial_scan"),
        family(
            "pending_initial_scan_regions",
            Scope::Cluster,
            "--throughput: regions waiting for or in their initial scan, over all TiKV stores.",
        ),
    ),
    (
        Some("retryable_errors"),
        family(
            "retryable_errors",
            Scope::Cluster,
            "--throughput: new retryable log backup errors since the previous sample, over all TiKV stores.",
        ),
    ),
    (
        Some("flushes"),
        family(
            "flushes",
            Scope::Cluster,
            "--throughput: flushes saved since the previous sample, over all TiKV stores.",
        ),
    ),
    (
        Some("flush_mean_seconds"),
        family(
            "flush_duration_mean_seconds",
            Scope::Cluster,
            "--throughput: mean time to save one flush since the previous sample, seconds.",
        ),
    ),
    (
        None,
        family(
            "task_state",
            Scope::Task,
            "The task's check result: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
        ),
    ),
    (
        None,
        family(
            "task_status_info",
            Scope::TaskStatus,
            "The task's status word as br log status prints it (NORMAL, PAUSE, ERROR; GONE once removed), always 1.",
        ),
    ),
    (
        Some("checkpoint_lag"),
        family(
            "checkpoint_lag_seconds",
            Scope::Task,
            "now minus the task's restorable checkpoint, seconds.",
        ),
    ),
    (
        Some("paused"),
        family("task_paused", Scope::Task, "1 when the task is paused, else 0."),
    ),
    (
        Some("store_errors"),
        family(
            "store_errors",
            Scope::Task,
            "last-error keys of the task (one per TiKV store that reported a fatal error).",
        ),
    ),
    (
        None,
        family(
            "gc_margin_seconds",
            Scope::Task,
            "The task's resume point minus PD's GC safepoint, seconds; negative when GC passed it (PD answered).",
        ),
    ),
    (
        Some("auto_pause_in"),
        family(
            "auto_pause_in_seconds",
            Scope::Task,
            "A running task: seconds until the advancer's checkpoint lag limit pauses it.",
        ),
    ),
    (
        Some("checkpoint_rate"),
        family(
            "checkpoint_rate_ratio",
            Scope::Task,
            "Checkpoint advance per wall-clock second since the previous run (1 keeps pace).",
        ),
    ),
    (
        Some("restorable_window"),
        family(
            "restorable_window_seconds",
            Scope::Task,
            "--storage: the restorable window in the backup storage, seconds.",
        ),
    ),
    (
        Some("newest_flush_age"),
        family(
            "newest_flush_age_seconds",
            Scope::Task,
            "--storage: age of the newest flush in the backup storage, seconds.",
        ),
    ),
    (
        Some("full_backup_age"),
        family(
            "full_backup_age_seconds",
            Scope::Task,
            "--storage with --full-backup: age of the newest valid full backup (the PITR base), seconds.",
        ),
    ),
    (
        Some("full_backup_bytes"),
        family(
            "full_backup_size_bytes",
            Scope::Task,
            "--storage with --full-backup: size of the newest valid full backup (the PITR base) as its backupmeta records it, bytes.",
        ),
    ),
    (
        Some("verify_backlog"),
        family(
            "verify_backlog_metas",
            Scope::Task,
            "--verify: metas after the verification cursor not checked yet.",
        ),
    ),
    (
        Some("log_bytes_per_hour"),
        family(
            "log_bytes_per_hour_bytes",
            Scope::Task,
            "--verify: bytes of data files in the last verified hour of the log chain.",
        ),
    ),
    (
        Some("store_lag"),
        family(
            "store_checkpoint_lag_seconds",
            Scope::Store,
            "--perfdata stores: now minus each TiKV store's checkpoint of the task, seconds.",
        ),
    ),
];

/// The family of a perfdata label: per-store `store_<id>_lag` as `store_lag` with its
/// store id; a label the table does not know (none today) gets a family of its own name.
fn family_of(label: &str, uom: &str) -> (String, &'static str, Option<u64>) {
    if let Some(id) = label
        .strip_prefix("store_")
        .and_then(|rest| rest.strip_suffix("_lag"))
        .and_then(|id| id.parse::<u64>().ok())
    {
        let f = lookup("store_lag");
        return (f.name.to_string(), f.help, Some(id));
    }
    match FAMILIES.iter().find(|(l, _)| *l == Some(label)) {
        Some((_, f)) => (f.name.to_string(), f.help, None),
        None if uom == "s" => (
            format!("{label}_seconds"),
            "A figure of the perfdata.",
            None,
        ),
        None => (label.to_string(), "A figure of the perfdata.", None),
    }
}

fn lookup(label: &str) -> Family {
    FAMILIES
        .iter()
        .find(|(l, _)| *l == Some(label))
        .map(|(_, f)| *f)
        .expect("a family in the table")
}

fn named(name: &str) -> Family {
    FAMILIES
        .iter()
        .find(|(_, f)| f.name == name)
        .map(|(_, f)| *f)
        .expect("a family in the table")
}

/// A label value as the exposition format escapes it: `\`, `"` and newline.
pub fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// The samples of one run, grouped by family at the end.
#[derive(Default)]
struct Samples {
    /// (family name, help, `{labels}` text, value) in the order they were added.
    rows: Vec<(String, &'static str, String, String)>,
}

impl Samples {
    fn add(&mut self, family: Family, labels: &[(&str, &str)], value: String) {
        self.add_named(family.name.to_string(), family.help, labels, value);
    }

    fn add_named(
        &mut self,
        name: String,
        help: &'static str,
        labels: &[(&str, &str)],
        value: String,
    ) {
        let text = if labels.is_empty() {
            String::new()
        } else {
            let pairs: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
                .collect();
            format!("{{{}}}", pairs.join(","))
        };
        self.rows.push((name, help, text, value));
    }

    fn metric(&mut self, m: &Metric, cluster: &str, task: Option<&str>) {
        let Some(value) = m.value else { return };
        let (name, help, store) = family_of(&m.label, m.uom);
        let store = store.map(|s| s.to_string());
        let mut labels = vec![("cluster", cluster)];
        if let Some(task) = task {
            labels.push(("task", task));
        }
        if let Some(store) = &store {
            labels.push(("store", store));
        }
        self.add_named(name, help, &labels, format_number(value));
    }

    /// Families in table order (unknown ones after), each with its samples together.
    fn text(self) -> String {
        let mut order: Vec<(String, &'static str)> = FAMILIES
            .iter()
            .map(|(_, f)| (f.name.to_string(), f.help))
            .collect();
        for (name, help, _, _) in &self.rows {
            if !order.iter().any(|(o, _)| o == name) {
                order.push((name.clone(), help));
            }
        }
        let mut out = String::new();
        for (name, help) in order {
            let mut rows = self.rows.iter().filter(|r| r.0 == name).peekable();
            if rows.peek().is_none() {
                continue;
            }
            out.push_str(&format!("# HELP {PREFIX}{name} {help}\n"));
            out.push_str(&format!("# TYPE {PREFIX}{name} gauge\n"));
            for (_, _, labels, value) in rows {
                out.push_str(&format!("{PREFIX}{name}{labels} {value}\n"));
            }
        }
        out
    }
}

/// The `cluster` label: the fleet's name for the cluster, else PD's cluster id, else empty.
pub fn cluster_label(name: Option<&str>, id: Option<u64>) -> String {
    match (name, id) {
        (Some(name), _) => name.to_string(),
        (None, Some(id)) => id.to_string(),
        (None, None) => String::new(),
    }
}

fn verdict_samples(samples: &mut Samples, verdict: &Verdict, cluster: &str) {
    samples.add(named("check_success"), &[("cluster", cluster)], "1".into());
    samples.add(
        named("cluster_state"),
        &[("cluster", cluster)],
        verdict.state.exit_code().to_string(),
    );
    for m in &verdict.metrics {
        samples.metric(m, cluster, None);
    }
    for t in &verdict.tasks {
        let task = t.task.name.as_str();
        let labels = [("cluster", cluster), ("task", task)];
        samples.add(
            named("task_state"),
            &labels,
            t.state.exit_code().to_string(),
        );
        samples.add(
            named("task_status_info"),
            &[
                ("cluster", cluster),
                ("task", task),
                ("status", t.status.as_str()),
            ],
            "1".into(),
        );
        if let Some(margin) = t.gc_margin_seconds {
            samples.add(named("gc_margin_seconds"), &labels, margin.to_string());
        }
        for m in &t.metrics {
            samples.metric(m, cluster, Some(task));
        }
    }
}

fn outcome_samples(samples: &mut Samples, outcome: &Outcome, name: Option<&str>) {
    match outcome {
        Outcome::Failed { state, .. } => {
            let cluster = cluster_label(name, None);
            samples.add(named("check_success"), &[("cluster", &cluster)], "0".into());
            samples.add(
                named("cluster_state"),
                &[("cluster", &cluster)],
                state.exit_code().to_string(),
            );
        }
        Outcome::Checked(verdict) => {
            let cluster = cluster_label(name, verdict.cluster.read.cluster_id);
            verdict_samples(samples, verdict, &cluster);
        }
        Outcome::Fleet(clusters) => {
            for c in clusters {
                outcome_samples(samples, &c.outcome, Some(&c.name));
            }
        }
    }
}

fn now_ms(outcome: &Outcome) -> Option<u64> {
    match outcome {
        Outcome::Checked(v) => Some(v.now_ms),
        Outcome::Failed { now_ms, .. } => Some(*now_ms),
        Outcome::Fleet(clusters) => clusters.iter().find_map(|c| now_ms(&c.outcome)),
    }
}

impl Render for Prometheus {
    fn render(&self, outcome: &Outcome, options: &RenderOptions) -> String {
        let mut samples = Samples::default();
        outcome_samples(&mut samples, outcome, None);
        samples.add(
            named("check_duration_seconds"),
            &[],
            format_number(options.duration_ms as f64 / 1000.0),
        );
        if let Some(now) = now_ms(outcome) {
            samples.add(
                named("check_timestamp_seconds"),
                &[],
                format_number(now as f64 / 1000.0),
            );
        }
        samples.text()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_follow_prometheus_naming_and_are_unique() {
        let mut names = HashSet::new();
        let mut labels = HashSet::new();
        for (label, f) in FAMILIES {
            assert!(names.insert(f.name), "{} twice", f.name);
            if let Some(l) = label {
                assert!(labels.insert(*l), "{l} twice");
            }
            assert!(
                f.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{}",
                f.name
            );
            assert!(!f.name.ends_with("_total"), "{}: gauges only", f.name);
            assert_eq!(
                f.name.ends_with("_info"),
                f.scope == Scope::TaskStatus,
                "{}",
                f.name
            );
            assert!(!f.help.contains('\n') && !f.help.contains('\\'));
        }
    }

    #[test]
    fn per_store_labels_map_to_one_family_with_the_store() {
        let (name, _, store) = family_of("store_1001_lag", "s");
        assert_eq!(
            (name.as_str(), store),
            ("store_checkpoint_lag_seconds", Some(1001))
        );
        let (name, _, store) = family_of("checkpoint_lag", "s");
        assert_eq!((name.as_str(), store), ("checkpoint_lag_seconds", None));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
    }
}
