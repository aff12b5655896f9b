//! The rules: why a task is OK, WARNING, CRITICAL or UNKNOWN. Pure; `now` is an input.
//!
//! Each rule is a function returning [`Judged`]: findings with their own states and the
//! metrics it judged, with their thresholds. A task's state is the worst of its findings
//! (equal states keep rule order); the run's state is the worst of everything.
//!
//! Where each rule lives:
//! - [`task_state`]: an undecodable key → UNKNOWN; a failed task → CRITICAL; a stale
//!   last-error on a running task → WARNING;
//! - [`lag`]: checkpoint lag against the running or paused thresholds;
//! - [`gc`]: GC safepoint at or past the checkpoint → CRITICAL; a paused task's resume
//!   deadline; orphan log-backup safepoints of tasks that do not exist;
//! - [`stores`]: stores Down/Disconnected, advancer owner, checkpoint not persisted;
//! - [`tikv`]: `--throughput` signals from TiKV's `/metrics`;
//! - [`cluster`]: etcd unreadable (timeout → UNKNOWN, else `--unreachable-state`),
//!   missing or no task, PD's HTTP API unreadable, set-up notices, a refused state
//!   directory.
//!
//! Defaults live in [`policy`]; the result types in [`verdict`].

pub mod cluster;
pub mod gc;
pub mod gone;
pub mod lag;
pub mod liveness;
pub mod pause;
pub mod policy;
pub mod progress;
pub mod restore_point;
pub mod storage;
pub mod stores;
pub mod task_state;
pub mod tikv;
pub mod verdict;

pub use policy::{Policy, Thresholds};
pub use verdict::{
    ClusterFacts, Finding, Judged, LockView, Metric, Origin, PauseDetails, PausePayload, PauseView,
    StorageView, StoreCounts, TaskVerdict, Verdict,
};

use crate::facts::Observed;
use crate::model::{Status, Task};
use crate::pd::PdFacts;
use crate::service_state::State;
use crate::throughput::TikvFacts;
use crate::tso;

/// What the task rules need besides the task itself.
#[derive(Debug, Clone, Copy)]
struct Context<'a> {
    now_ms: u64,
    pd: Option<&'a PdFacts>,
    tikv: Option<&'a TikvFacts>,
    storage: Option<&'a crate::storage::StorageFacts>,
    /// The previous run's checkpoints (the state file), when kept.
    progress: Option<&'a std::collections::BTreeMap<String, crate::statefile::TaskProgress>>,
    owner_keys: usize,
    /// The live cluster's id (PD's `/pd/cluster_id`, in the snapshot).
    cluster_id: Option<u64>,
    /// `--throughput`: which TiDB says it runs the advancer.
    owner: Option<&'a crate::tidb::OwnerFacts>,
    policy: &'a Policy,
}

/// Judges one cluster from everything its collection observed (`observed.cluster` is the
/// decoded etcd snapshot, empty when etcd could not be read) at `now_ms` (Unix ms). The
/// one entry point of the rules: the runner, `--list-tasks` and the tests call it.
pub fn evaluate(observed: &Observed, policy: &Policy, now_ms: u64) -> Verdict {
    let cluster = &observed.cluster;
    if let Err(error) = &observed.etcd {
        let failure = cluster::fetch_failure(error, policy);
        return Verdict {
            state: failure.state,
            tasks: Vec::new(),
            findings: Vec::new(),
            metrics: Vec::new(),
            missing: Vec::new(),
            failure: Some(failure),
            cluster: ClusterFacts::default(),
            now_ms,
        };
    }
    let pd = observed.pd.as_ref();
    let mut run = cluster::selection(cluster, policy);
    run.metrics.push(cluster::task_count(cluster.tasks.len()));
    let mut store_counts = None;
    let mut gc_hold_seconds = None;
    if let Some(pd) = pd {
        run.extend(cluster::pd_readable(pd));
        if let Ok(gc) = &pd.gc {
            run.extend(gc::orphan_safepoints(gc, &cluster.task_names, now_ms));
        }
        if let Ok(stores) = &pd.stores {
            let counts = stores::counts(stores);
            run.metrics.extend(stores::count_metrics(&counts));
            store_counts = Some(counts);
        }
        if let Ok(gc) = &pd.gc {
            let (held, seconds) = gc::hold(gc, policy, now_ms);
            run.extend(held);
            gc_hold_seconds = seconds;
        }
    }
    if let Some(tikv) = &observed.tikv {
        run.extend(tikv::cluster(tikv));
    }
    if let Some(owner) = &observed.tidb {
        run.extend(liveness::owner(owner));
    }
    run.extend(cluster::notices(&observed.notices));
    run.extend(cluster::state_kept(observed.state.as_ref()));
    let no_tasks = std::collections::BTreeMap::new();
    let ctx = Context {
        now_ms,
        pd,
        tikv: observed.tikv.as_ref(),
        storage: observed.storage.as_ref(),
        progress: observed
            .state
            .as_ref()
            .and_then(|s| s.as_ref().ok())
            .map(|s| s.previous.as_ref().map_or(&no_tasks, |p| &p.tasks)),
        owner_keys: cluster.owner_keys,
        cluster_id: cluster.read.cluster_id,
        owner: observed.tidb.as_ref(),
        policy,
    };
    let mut tasks: Vec<TaskVerdict> = cluster.tasks.iter().map(|t| judge_task(t, &ctx)).collect();
    if let Some(previous) = observed
        .state
        .as_ref()
        .and_then(|s| s.as_ref().ok())
        .and_then(|s| s.previous.as_ref())
    {
        tasks.extend(gone::gone(&previous.seen, cluster, policy, now_ms));
    }
    let state = tasks
        .iter()
        .map(|t| t.state)
        .chain(run.findings.iter().map(|f| f.state))
        .max()
        .unwrap_or(State::Ok);
    Verdict {
        state,
        tasks,
        findings: run.findings,
        metrics: run.metrics,
        missing: cluster.missing.clone(),
        failure: None,
        cluster: ClusterFacts {
            orphans: cluster.orphans.clone(),
            owner_keys: cluster.owner_keys,
            read: cluster.read.clone(),
            gc_safe_point: pd
                .and_then(|p| p.gc.as_ref().ok())
                .map(|gc| gc.gc_safe_point),
            stores: store_counts,
            gc_hold_seconds,
            keyspace_level_gc: pd.and_then(|p| p.keyspace_gc.as_ref().ok()).cloned(),
            advancer_owner: observed
                .tidb
                .as_ref()
                .and_then(|t| t.owners.first().cloned()),
            tikv: observed.tikv.clone(),
        },
        now_ms,
    }
}

/// Judges one task: every rule in order, then worst first.
fn judge_task(task: &Task, ctx: &Context) -> TaskVerdict {
    let thresholds = ctx.policy.thresholds_for(&task.name);
    let paused = task.paused();
    let checkpoint = task.checkpoint();
    let lag_seconds = checkpoint.map(|(ts, _)| tso::lag_seconds(ctx.now_ms, tso::physical_ms(ts)));

    let origin = pause::origin(task, ctx.pd.and_then(|p| p.gc.as_ref().ok()));
    let mut judged = task_state::undecodable_keys(task);
    match origin {
        Some(Origin::AdvancerLagLimit) => judged.extend(pause::auto_paused(task, ctx.policy)),
        // `as-error` makes BR show ERROR, but an operator paused it: judged as a pause.
        Some(Origin::Operator) if task.status() == Status::Error => {
            judged.extend(pause::operator_error(task))
        }
        _ => judged.extend(task_state::failed(task)),
    }
    // Worth naming only when there is a choice: with one store it is the task's lag.
    let rows = task.store_rows();
    let slowest = (rows.len() > 1)
        .then(|| rows.iter().min_by_key(|s| s.ts))
        .flatten()
        .map(|s| {
            (
                s.store_id,
                tso::lag_seconds(ctx.now_ms, tso::physical_ms(s.ts)),
            )
        });
    judged.extend(lag::judge(lag_seconds, paused, thresholds, slowest));
    judged.extend(task_state::stale_last_error(task));
    judged.metrics.extend(task_state::state_metrics(task));
    let (horizon, auto_pause_in_seconds) = pause::horizon(task, ctx.policy, ctx.now_ms);
    judged.extend(horizon);
    let warn = if paused {
        thresholds.paused_warning
    } else {
        thresholds.warning
    };
    let moved = progress::judge(
        task,
        ctx.progress.and_then(|p| p.get(&task.name)),
        lag_seconds,
        &warn,
        ctx.policy,
        ctx.now_ms,
    );
    if ctx.progress.is_some() {
        judged.extend(moved.judged);
    }
    judged.extend(progress::never_advanced(
        task,
        lag_seconds,
        &warn,
        ctx.tikv,
        ctx.owner,
    ));
    let mut gc_margin_seconds = None;
    let mut resume_deadline_ms = None;
    if let (Some((ts, _)), Some(resume_ts)) = (checkpoint, task.resume_checkpoint()) {
        if let Some((Ok(gc), keyspace_gc)) = ctx.pd.map(|p| (&p.gc, &p.keyspace_gc)) {
            let g = gc::judge(task, resume_ts, gc, keyspace_gc, ctx.policy, ctx.now_ms);
            judged.extend(g.judged);
            gc_margin_seconds = Some(g.margin_seconds);
            resume_deadline_ms = g.resume_deadline_ms;
        }
        if !paused {
            let stores = match ctx.pd.map(|p| &p.stores) {
                Some(Ok(stores)) => Some(stores.as_slice()),
                _ => None,
            };
            judged.extend(stores::judge(task, ts, stores, ctx.owner_keys, ctx.policy));
            let gc = ctx.pd.and_then(|p| p.gc.as_ref().ok());
            if let Some(stores) = stores {
                judged.extend(liveness::stores(task, stores, gc, ctx.policy, ctx.now_ms));
            }
            if let Some(gc) = gc.filter(|_| ctx.owner_keys > 0) {
                judged.extend(liveness::advancer(gc, ctx.policy, ctx.now_ms, ctx.owner));
            }
        }
    }
    if let Some(tikv) = ctx.tikv {
        judged.extend(tikv::judge(task, tikv));
    }
    if ctx.policy.store_perfdata {
        for s in task.store_rows() {
            let lag = tso::lag_seconds(ctx.now_ms, tso::physical_ms(s.ts));
            judged.metrics.push(Metric::seconds(
                format!("store_{}_lag", s.store_id),
                Some(lag),
                None,
                None,
            ));
        }
    }
    let mut storage_view = None;
    if let Some(facts) = ctx.storage {
        if let Some(read) = facts.task(&task.name) {
            let (j, mut view) = storage::judge(task, read, facts, &ctx.policy.storage, ctx.now_ms);
            judged.extend(j);
            judged.extend(storage::identity(read, ctx.cluster_id));
            judged.extend(storage::verification(read, &mut view));
            storage_view = Some(view);
        }
    }
    let mut reasons = judged.findings;
    if reasons.is_empty() {
        // Unreachable: a task always has task info or a problem naming it; kept total.
        reasons.push(Finding::new(State::Unknown, "task info missing"));
    }
    // Stable sort: worst first, rule order among equals.
    reasons.sort_by_key(|r| std::cmp::Reverse(r.state));
    TaskVerdict {
        task: task.clone(),
        state: reasons[0].state,
        reasons,
        status: task.status(),
        checkpoint,
        lag_seconds,
        metrics: judged.metrics,
        pause: task
            .pause
            .as_ref()
            .map(|p| PauseView::of(p.as_ref(), origin.unwrap_or(Origin::Unknown))),
        auto_pause_in_seconds,
        gc_margin_seconds,
        resume_deadline_ms,
        storage: storage_view,
        progress: moved.record.filter(|_| ctx.progress.is_some()),
        checkpoint_rate: moved.rate,
    }
}
#[cfg(test)]
mod tests;
