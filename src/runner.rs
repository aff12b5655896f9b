//! The run, one way: for each cluster of the plan, collect (all I/O) → decode → judge;
//! then one outcome for the renderers. Fleet mode is the same over N cluster plans.

use crate::collect::{self, Observed};
use crate::guard;
use crate::judge;
use crate::model::{self, Cluster};
use crate::render::{ClusterResult, Outcome};
use crate::settings::{ClusterPlan, Plan};
use crate::throughput;
use crate::tso;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// The deadline the I/O aims for: a fifth of `-t` (at most 1 s) before it, so that the
/// results gathered so far are judged and printed, even on a loaded machine, before the
/// watchdog fires at `-t` exactly.
pub fn work_budget(timeout: Duration) -> Duration {
    timeout - (timeout / 5).min(Duration::from_secs(1))
}

/// The whole check.
pub fn run(plan: &Plan, started: Instant) -> Outcome {
    let budget = work_budget(plan.run.timeout);
    let now = plan.run.now;
    if !plan.run.fleet {
        return match plan.clusters.first() {
            Some(cluster) => check(cluster, now, started + budget),
            None => Outcome::Fleet(Vec::new()),
        };
    }
    // At most `parallel` clusters at once, each with an equal share of the budget per
    // round of workers, so a dead or frozen cluster is reported as such and cannot
    // starve the clusters queued behind it.
    let clusters = &plan.clusters;
    let deadline = started + budget;
    let workers = plan.run.parallel.clamp(1, clusters.len().max(1));
    let rounds = clusters.len().div_ceil(workers).max(1) as u32;
    let share = budget / rounds;
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<ClusterResult>>> = Mutex::new(vec![None; clusters.len()]);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(cluster) = clusters.get(i) else {
                    break;
                };
                let outcome = check(cluster, now, deadline.min(Instant::now() + share));
                let cluster_id = match &outcome {
                    Outcome::Checked(v) => v.cluster.read.cluster_id,
                    _ => None,
                };
                let result = ClusterResult {
                    name: cluster.name.clone().unwrap_or_default(),
                    cluster_id,
                    outcome,
                };
                if let Ok(mut r) = results.lock() {
                    r[i] = Some(result);
                }
            });
        }
    });
    let results = results.into_inner().unwrap_or_default();
    Outcome::Fleet(results.into_iter().flatten().collect())
}

/// One cluster, all I/O bounded by `deadline`; judged at `now` (`--now`, else the clock
/// when the check starts).
pub fn check(plan: &ClusterPlan, now: Option<SystemTime>, deadline: Instant) -> Outcome {
    let now = now.unwrap_or_else(SystemTime::now);
    let mut observed: Observed = collect::collect(plan, deadline);
    let cluster = match &observed.etcd {
        Ok(snapshot) => model::decode(snapshot, &plan.selection),
        Err(_) => Cluster::default(),
    };
    if let Ok(snapshot) = &observed.etcd {
        observed.storage = collect::storage(plan, &cluster, snapshot, deadline);
    }
    guard::set_stage("evaluating");
    let mut verdict = judge::judge(&cluster, &observed, &plan.policy, tso::unix_ms(now));
    if let Some(progress) = &observed.progress {
        guard::set_stage("saving the state file");
        if let Err(e) = save_progress(progress, &verdict, tso::unix_ms(now)) {
            verdict.findings.push(judge::Finding::new(
                crate::state::State::Ok,
                format!("state not saved: {e}"),
            ));
        }
    }
    Outcome::from_verdict(verdict)
}

/// The tasks' checkpoints for the next run, beside the TiKV samples in the same file.
fn save_progress(
    progress: &collect::Progress,
    verdict: &judge::Verdict,
    now_ms: u64,
) -> Result<(), String> {
    let mut file = throughput::load(&progress.path, &progress.cluster)
        .unwrap_or_else(|| throughput::StateFile::new(&progress.cluster, now_ms, &[]));
    file.tasks = verdict
        .tasks
        .iter()
        .filter_map(|t| t.progress.map(|p| (t.task.name.clone(), p)))
        .collect();
    throughput::save(&progress.path, &file)
}

/// `--list-tasks`: the selected tasks of every cluster (cluster name in fleet mode), in
/// etcd key order; the first cluster that cannot be read ends it as a failed run.
pub fn list_tasks(plan: &Plan, started: Instant) -> Result<Vec<(Option<String>, String)>, Outcome> {
    let deadline = started + work_budget(plan.run.timeout);
    let mut out = Vec::new();
    for cluster in &plan.clusters {
        let access = crate::etcd::Access {
            tls: cluster.tls.as_ref(),
            credentials: cluster.credentials.as_ref(),
            tidb_servers: false,
        };
        let observed = Observed {
            etcd: crate::etcd::read_snapshot(&cluster.endpoints, access, deadline),
            ..Observed::default()
        };
        let decoded = match &observed.etcd {
            Ok(snapshot) => model::decode(snapshot, &cluster.selection),
            Err(_) => {
                let now = tso::unix_ms(plan.run.now.unwrap_or_else(SystemTime::now));
                let verdict = judge::judge(&Cluster::default(), &observed, &cluster.policy, now);
                return Err(Outcome::from_verdict(verdict));
            }
        };
        out.extend(
            decoded
                .tasks
                .into_iter()
                .map(|t| (cluster.name.clone(), t.name)),
        );
    }
    Ok(out)
}
