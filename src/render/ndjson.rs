//! Newline-delimited JSON events for log pipelines: one `task` object per task, then one
//! `summary` object. Schema: docs/ndjson.schema.json (field order is fixed by the structs).

use super::{state_counts, Outcome, Render, RenderOptions};
use crate::judge::{PausePayload, PauseView, TaskVerdict, Verdict};
use crate::service_state::State;
use crate::tso;
use serde::Serialize;

pub struct Ndjson;

/// Bumped on any incompatible change of the events.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct TaskEvent<'a> {
    schema: u32,
    kind: &'static str,
    time: String,
    task: &'a str,
    state: State,
    state_code: i32,
    status: &'static str,
    reasons: Vec<&'a str>,
    paused: bool,
    pause: Option<PauseEvent<'a>>,
    checkpoint_ts: Option<u64>,
    checkpoint_time: Option<String>,
    checkpoint_lag_seconds: Option<u64>,
    checkpoint_lag_warning: String,
    checkpoint_lag_critical: String,
    global_checkpoint_ts: Option<u64>,
    start_ts: Option<u64>,
    end_ts: Option<u64>,
    storage: Option<&'a str>,
    table_filter: Vec<&'a str>,
    stores: Vec<StoreEvent>,
    errors: Vec<ErrorEvent<'a>>,
    region_checkpoint_keys: u64,
    /// physical(resume checkpoint) − physical(PD gc_safe_point); negative = GC passed it.
    gc_margin_seconds: Option<i64>,
    /// Paused tasks: when the last safepoint protecting the checkpoint expires.
    resume_deadline: Option<String>,
    /// A running task: seconds until the advancer's lag limit pauses it.
    auto_pause_in_seconds: Option<u64>,
    /// Δcheckpoint / Δwall since the previous run.
    checkpoint_rate: Option<f64>,
    /// `--storage`: `off`, `ok` or `unreadable`.
    storage_state: &'static str,
    restorable_from_ts: Option<u64>,
    restorable_to_ts: Option<u64>,
    restorable_from: Option<String>,
    restorable_to: Option<String>,
    restorable_window_seconds: Option<u64>,
    storage_checkpoint_ts: Option<u64>,
    truncate_ts: Option<u64>,
    newest_flush_age_seconds: Option<u64>,
    full_backup_ts: Option<u64>,
    full_backup_age_seconds: Option<u64>,
    full_backup_bytes: Option<u64>,
    pitr_restorable_from_ts: Option<u64>,
    storage_requests: Option<u32>,
    migration_layers: Option<usize>,
    storage_locks: Option<Vec<LockEvent<'a>>>,
    resume_state_checkpoint_ts: Option<u64>,
    verified_to_ts: Option<u64>,
    verified_restorable_to_ts: Option<u64>,
    verify_backlog_metas: Option<u64>,
    verify_by_name_metas: Option<u64>,
    log_bytes_per_hour: Option<u64>,
}

#[derive(Serialize)]
struct LockEvent<'a> {
    name: &'a str,
    /// Null when its last-modified time is in the future.
    age_seconds: Option<u64>,
}

#[derive(Serialize)]
struct PauseEvent<'a> {
    /// `v1` (empty marker), `v2` (JSON), `invalid` (cannot be decoded).
    format: &'static str,
    /// `operator`, `advancer-lag-limit`, `tikv-error` or `unknown`.
    origin: &'static str,
    severity: Option<&'a str>,
    operation_hostname: Option<&'a str>,
    operation_pid: Option<i64>,
    operation_time: Option<&'a str>,
    message: Option<&'a str>,
    error: Option<ErrorEvent<'a>>,
}

#[derive(Serialize)]
struct StoreEvent {
    store_id: u64,
    checkpoint_ts: u64,
    lag_seconds: u64,
}

#[derive(Serialize)]
struct ErrorEvent<'a> {
    store_id: u64,
    error_code: &'a str,
    error_message: &'a str,
    /// RFC 3339 UTC (`happen_at` is Unix ms in etcd).
    happen_at: String,
}

#[derive(Serialize)]
struct SummaryEvent<'a> {
    schema: u32,
    kind: &'static str,
    time: String,
    state: State,
    state_code: i32,
    tasks: usize,
    ok: usize,
    warning: usize,
    critical: usize,
    unknown: usize,
    reasons: Vec<&'a str>,
    orphans: Vec<OrphanEvent<'a>>,
    gc_safe_point: Option<u64>,
    /// now − the oldest log-backup service safepoint (seconds): how long GC is held.
    gc_hold_seconds: Option<u64>,
    /// PD's keyspaces with keyspace-level GC, whose GC barriers the check cannot see.
    keyspace_level_gc: Option<Vec<KeyspaceEvent<'a>>>,
    /// `--throughput`: the TiDB whose `/metrics` says it owns the checkpoint advancer.
    advancer_owner: Option<&'a str>,
    stores: Option<StoreCountsEvent>,
    /// `--throughput`: KV events per second over all stores with a previous sample.
    kv_events_per_second: Option<f64>,
    /// `--throughput`: one entry per Up TiKV store (null without `--throughput`).
    store_metrics: Option<Vec<StoreMetricsEvent<'a>>>,
    duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

#[derive(Serialize)]
struct KeyspaceEvent<'a> {
    id: u32,
    name: &'a str,
}

#[derive(Serialize)]
struct StoreCountsEvent {
    up: usize,
    disconnected: usize,
    down: usize,
    offline: usize,
}

#[derive(Serialize)]
struct StoreMetricsEvent<'a> {
    store_id: u64,
    kv_events_per_second: Option<f64>,
    fatal_errors_increase: f64,
    retryable_errors_increase: &'a std::collections::BTreeMap<String, f64>,
    flushes: Option<f64>,
    flush_mean_seconds: Option<f64>,
    pending_initial_scan: Option<f64>,
    error: Option<&'a str>,
}

#[derive(Serialize)]
struct OrphanEvent<'a> {
    task: &'a str,
    kinds: &'a [&'static str],
    keys: usize,
}

/// `store_id` is the store the key names (`last-error/<task>/<store>`), or the value's own
/// for a PauseV2 payload.
fn error_event(store_id: u64, e: &crate::proto::StreamBackupError) -> ErrorEvent<'_> {
    ErrorEvent {
        store_id,
        error_code: &e.error_code,
        error_message: &e.error_message,
        happen_at: tso::rfc3339_ms(e.happen_at),
    }
}

fn pause_event(pause: &PauseView) -> PauseEvent<'_> {
    let p = pause.details.as_ref();
    PauseEvent {
        format: pause.format,
        origin: pause.origin,
        severity: p.map(|p| p.severity.as_str()),
        operation_hostname: p.map(|p| p.operation_hostname.as_str()),
        operation_pid: p.and_then(|p| p.operation_pid),
        operation_time: p.map(|p| p.operation_time.as_str()),
        message: match p.map(|p| &p.payload) {
            Some(PausePayload::Text(t)) => Some(t),
            _ => None,
        },
        error: match p.map(|p| &p.payload) {
            Some(PausePayload::Error(e)) => Some(error_event(e.store_id, e)),
            _ => None,
        },
    }
}

/// A metric's threshold as the events carry it (a range string, empty when none).
fn threshold(range: Option<crate::range::Range>) -> String {
    range.map(|r| r.to_string()).unwrap_or_default()
}

fn task_event<'a>(t: &'a TaskVerdict, now_ms: u64) -> TaskEvent<'a> {
    let task = &t.task;
    let lag = t.metric("checkpoint_lag");
    let st = t.storage.as_ref();
    let info = task.info.as_ref();
    TaskEvent {
        schema: SCHEMA_VERSION,
        kind: "task",
        time: tso::rfc3339_ms(now_ms),
        task: &task.name,
        state: t.state,
        state_code: t.state.exit_code(),
        status: t.status.as_str(),
        reasons: t.reasons.iter().map(|r| r.text.as_str()).collect(),
        paused: task.paused(),
        pause: t.pause.as_ref().map(pause_event),
        checkpoint_ts: t.checkpoint.map(|(ts, _)| ts),
        checkpoint_time: t
            .checkpoint
            .map(|(ts, _)| tso::rfc3339_ms(tso::physical_ms(ts))),
        checkpoint_lag_seconds: t.lag_seconds,
        checkpoint_lag_warning: threshold(lag.and_then(|m| m.warn)),
        checkpoint_lag_critical: threshold(lag.and_then(|m| m.crit)),
        global_checkpoint_ts: task.central_global,
        start_ts: info.map(|i| i.start_ts),
        end_ts: info.map(|i| i.end_ts),
        storage: info.map(|i| i.storage.as_str()),
        table_filter: info
            .map(|i| i.table_filter.iter().map(String::as_str).collect())
            .unwrap_or_default(),
        stores: task
            .store_rows()
            .iter()
            .map(|s| StoreEvent {
                store_id: s.store_id,
                checkpoint_ts: s.ts,
                lag_seconds: tso::lag_seconds(now_ms, tso::physical_ms(s.ts)),
            })
            .collect(),
        errors: task
            .last_errors()
            .map(|(store_id, e)| error_event(store_id, e))
            .collect(),
        region_checkpoint_keys: task.region_keys,
        gc_margin_seconds: t.gc_margin_seconds,
        resume_deadline: t.resume_deadline_ms.map(tso::rfc3339_ms),
        auto_pause_in_seconds: t.auto_pause_in_seconds,
        checkpoint_rate: t.checkpoint_rate.map(crate::text::two_decimals),
        storage_state: st.map_or("off", |s| s.state),
        restorable_from_ts: st.and_then(|s| s.restorable_from_ts),
        restorable_to_ts: st.and_then(|s| s.restorable_to_ts),
        restorable_from: st
            .and_then(|s| s.restorable_from_ts)
            .map(|ts| tso::rfc3339_ms(tso::physical_ms(ts))),
        restorable_to: st
            .and_then(|s| s.restorable_to_ts)
            .map(|ts| tso::rfc3339_ms(tso::physical_ms(ts))),
        restorable_window_seconds: st.and_then(|s| s.window_seconds),
        storage_checkpoint_ts: st.and_then(|s| s.storage_checkpoint_ts),
        truncate_ts: st.and_then(|s| s.truncate_ts),
        newest_flush_age_seconds: st.and_then(|s| s.newest_flush_age_seconds),
        full_backup_ts: st.and_then(|s| s.full_backup_ts),
        full_backup_age_seconds: st.and_then(|s| s.full_backup_age_seconds),
        full_backup_bytes: st.and_then(|s| s.full_backup_bytes),
        pitr_restorable_from_ts: st.and_then(|s| s.pitr_restorable_from_ts),
        storage_requests: st.and_then(|s| s.requests),
        migration_layers: st.and_then(|s| s.migration_layers),
        storage_locks: st.and_then(|s| s.locks.as_ref()).map(|locks| {
            locks
                .iter()
                .map(|l| LockEvent {
                    name: &l.name,
                    age_seconds: l.age_seconds,
                })
                .collect()
        }),
        resume_state_checkpoint_ts: st.and_then(|s| s.resume_state_checkpoint_ts),
        verified_to_ts: st.and_then(|s| s.verified_to_ts),
        verified_restorable_to_ts: st.and_then(|s| s.verified_restorable_to_ts),
        verify_backlog_metas: st.and_then(|s| s.verify_backlog_metas),
        verify_by_name_metas: st.and_then(|s| s.verify_by_name_metas),
        log_bytes_per_hour: st.and_then(|s| s.log_bytes_per_hour),
    }
}

fn line<T: Serialize>(value: &T) -> String {
    // Serializing plain structs of strings and numbers cannot fail.
    let mut text = serde_json::to_string(value).unwrap_or_default();
    // DEL and C1 control characters are valid raw in JSON strings, but some log pipelines choke
    // on them: escape them like the C0 ones (they can only occur inside strings). In UTF-8
    // they start with the byte 0x7f or 0xc2; a line without either is kept as it is.
    if text.bytes().any(|b| b == 0x7f || b == 0xc2) {
        let mut out = String::with_capacity(text.len() + 1);
        for c in text.chars() {
            if ('\u{7f}'..='\u{9f}').contains(&c) {
                out.push_str(&format!("\\u{:04x}", c as u32));
            } else {
                out.push(c);
            }
        }
        text = out;
    }
    text.push('\n');
    text
}

fn summary<'a>(
    verdict: Option<&'a Verdict>,
    state: State,
    now_ms: u64,
    error: Option<&'a str>,
    duration_ms: u64,
) -> SummaryEvent<'a> {
    let counts = verdict.map(state_counts).unwrap_or([
        (State::Critical, 0),
        (State::Unknown, 0),
        (State::Warning, 0),
        (State::Ok, 0),
    ]);
    SummaryEvent {
        schema: SCHEMA_VERSION,
        kind: "summary",
        time: tso::rfc3339_ms(now_ms),
        state,
        state_code: state.exit_code(),
        tasks: verdict.map_or(0, |v| v.tasks.len()),
        critical: counts[0].1,
        unknown: counts[1].1,
        warning: counts[2].1,
        ok: counts[3].1,
        reasons: verdict
            .map(|v| v.findings.iter().map(|f| f.text.as_str()).collect())
            .unwrap_or_default(),
        orphans: verdict
            .map(|v| {
                v.cluster
                    .orphans
                    .iter()
                    .map(|o| OrphanEvent {
                        task: &o.task,
                        kinds: &o.kinds,
                        keys: o.keys,
                    })
                    .collect()
            })
            .unwrap_or_default(),
        gc_safe_point: verdict.and_then(|v| v.cluster.gc_safe_point),
        gc_hold_seconds: verdict.and_then(|v| v.cluster.gc_hold_seconds),
        keyspace_level_gc: verdict
            .and_then(|v| v.cluster.keyspace_level_gc.as_ref())
            .map(|keyspaces| {
                keyspaces
                    .iter()
                    .map(|k| KeyspaceEvent {
                        id: k.id,
                        name: &k.name,
                    })
                    .collect()
            }),
        advancer_owner: verdict.and_then(|v| v.cluster.advancer_owner.as_deref()),
        stores: verdict
            .and_then(|v| v.cluster.stores)
            .map(|c| StoreCountsEvent {
                up: c.up,
                disconnected: c.disconnected,
                down: c.down,
                offline: c.offline,
            }),
        kv_events_per_second: verdict
            .and_then(|v| v.cluster.tikv.as_ref())
            .and_then(|t| t.total_rate)
            .map(crate::text::two_decimals),
        store_metrics: verdict.and_then(|v| v.cluster.tikv.as_ref()).map(|t| {
            t.stores
                .iter()
                .map(|s| StoreMetricsEvent {
                    store_id: s.store_id,
                    kv_events_per_second: s.rate.map(crate::text::two_decimals),
                    fatal_errors_increase: s.fatal_increase,
                    retryable_errors_increase: &s.errors_increase,
                    flushes: s.flushes,
                    flush_mean_seconds: s.flush_mean_seconds.map(crate::text::two_decimals),
                    pending_initial_scan: s.sample.as_ref().ok().map(|s| s.pending_initial_scan),
                    error: s.sample.as_ref().err().map(String::as_str),
                })
                .collect()
        }),
        duration_ms,
        error,
    }
}

/// Which cluster the events belong to: `cluster` is the configured name (fleet mode,
/// null otherwise), `cluster_id` PD's id from `/pd/cluster_id` when it could be read.
#[derive(Clone, Copy)]
struct ClusterTag<'a> {
    name: Option<&'a str>,
    id: Option<u64>,
}

/// Adds the cluster tag right after `"kind":"…"`, which every event starts with.
fn tagged(line: String, tag: ClusterTag) -> String {
    let name = tag.name.map_or("null".to_string(), |n| {
        serde_json::to_string(n).unwrap_or_default()
    });
    let id = tag.id.map_or("null".to_string(), |i| i.to_string());
    match line.find("\",\"time\":") {
        Some(at) => format!(
            "{},\"cluster\":{name},\"cluster_id\":{id}{}",
            &line[..at + 1],
            &line[at + 1..]
        ),
        None => line,
    }
}

fn render_one(outcome: &Outcome, options: &RenderOptions, name: Option<&str>) -> String {
    match outcome {
        Outcome::Failed {
            state,
            message,
            now_ms,
        } => tagged(
            line(&summary(
                None,
                *state,
                *now_ms,
                Some(message),
                options.duration_ms,
            )),
            ClusterTag { name, id: None },
        ),
        Outcome::Checked(verdict) => {
            let tag = ClusterTag {
                name,
                id: verdict.cluster.read.cluster_id,
            };
            let mut out = String::new();
            for t in &verdict.tasks {
                out.push_str(&tagged(line(&task_event(t, verdict.now_ms)), tag));
            }
            out.push_str(&tagged(
                line(&summary(
                    Some(verdict),
                    verdict.state,
                    verdict.now_ms,
                    None,
                    options.duration_ms,
                )),
                tag,
            ));
            out
        }
        Outcome::Fleet(clusters) => {
            let mut out = String::new();
            for c in clusters {
                out.push_str(&render_one(&c.outcome, options, Some(&c.name)));
            }
            let count = |s: State| clusters.iter().filter(|c| c.outcome.state() == s).count();
            let state = outcome.state();
            let fleet = FleetEvent {
                schema: SCHEMA_VERSION,
                kind: "fleet",
                time: tso::rfc3339_ms(
                    clusters
                        .iter()
                        .find_map(|c| now_of(&c.outcome))
                        .unwrap_or(0),
                ),
                state,
                state_code: state.exit_code(),
                clusters: clusters.len(),
                ok: count(State::Ok),
                warning: count(State::Warning),
                critical: count(State::Critical),
                unknown: count(State::Unknown),
                duration_ms: options.duration_ms,
            };
            out.push_str(&line(&fleet));
            out
        }
    }
}

/// The evaluation time of a result (the `--now` of the run).
fn now_of(outcome: &Outcome) -> Option<u64> {
    match outcome {
        Outcome::Checked(v) => Some(v.now_ms),
        Outcome::Failed { now_ms, .. } => Some(*now_ms),
        Outcome::Fleet(clusters) => clusters.iter().find_map(|c| now_of(&c.outcome)),
    }
}

/// Fleet mode: the last event, over all clusters.
#[derive(Serialize)]
struct FleetEvent {
    schema: u32,
    kind: &'static str,
    time: String,
    state: State,
    state_code: i32,
    clusters: usize,
    ok: usize,
    warning: usize,
    critical: usize,
    unknown: usize,
    duration_ms: u64,
}

/// `--format json`: the same events as one JSON array, for consumers that take one
/// value (Zabbix's agent): `[{"kind":"task",…},…,{"kind":"summary",…}]`.
pub struct Json;

impl Render for Json {
    fn render(&self, outcome: &Outcome, options: &RenderOptions) -> String {
        let lines = render_one(outcome, options, None);
        let events: Vec<&str> = lines.lines().collect();
        format!("[{}]\n", events.join(","))
    }
}

impl Render for Ndjson {
    fn render(&self, outcome: &Outcome, options: &RenderOptions) -> String {
        render_one(outcome, options, None)
    }
}
