//! The run, one straight line per cluster: collect every fact (all I/O) → evaluate (pure)
//! → save the state file → one outcome for the renderers. Fleet mode is the same over N
//! cluster plans.

use crate::collect;
use crate::deadline;
use crate::facts::Observed;
use crate::judge::restore_point::{self, RestoreAt, RestorePoint};
use crate::judge::{self, Finding, Verdict};
use crate::render::{ClusterResult, ListedTask, Outcome};
use crate::service_state::State;
use crate::settings::{ClusterPlan, Plan};
use crate::statefile::{self, Loaded, StateFile};
use crate::tso;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Instant, SystemTime};

/// The whole check.
pub fn run(plan: &Plan, started: Instant) -> Outcome {
    let budget = deadline::work_budget(plan.run.timeout);
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
    let now_ms = tso::unix_ms(now.unwrap_or_else(SystemTime::now));
    let observed = collect::collect(plan, deadline);
    deadline::set_stage("evaluating");
    let mut verdict = judge::evaluate(&observed, &plan.policy, now_ms);
    // A refused state directory is a finding already; nothing is written there.
    if let Some(Ok(state)) = &observed.state {
        deadline::set_stage("saving the state file");
        let next = next_state(state, &observed, &verdict, now_ms);
        if let Err(e) = statefile::save(&state.path, &next) {
            verdict
                .findings
                .push(Finding::new(State::Ok, format!("state not saved: {e}")));
        }
    }
    Outcome::from_verdict(verdict)
}

/// What this run leaves for the next: the TiKV samples it took (else the previous ones),
/// the tasks' checkpoints as judged and when each task was last seen.
fn next_state(loaded: &Loaded, observed: &Observed, verdict: &Verdict, now_ms: u64) -> StateFile {
    let mut file = loaded
        .previous
        .clone()
        .unwrap_or_else(|| StateFile::new(&loaded.cluster, now_ms));
    if let Some(tikv) = observed.tikv.as_ref().filter(|t| !t.stores.is_empty()) {
        file.taken_at_ms = tikv.sampled_at_ms;
        file.stores = tikv.stored();
    }
    file.tasks = verdict
        .tasks
        .iter()
        .filter_map(|t| t.progress.map(|p| (t.task.name.clone(), p)))
        .collect();
    file.seen = judge::gone::seen_next(&verdict.tasks, &file.seen, now_ms);
    // --verify: each verified task's progress; the others keep theirs.
    for t in &verdict.tasks {
        if let Some(state) = t.storage.as_ref().and_then(|s| s.verify_state.clone()) {
            file.verify.insert(t.task.name.clone(), state);
        }
    }
    file
}

/// `--restore-point`: the run as usual, then each judged task's answer (cluster name in
/// fleet mode), with the TSO asked for.
pub fn restore_point(
    plan: &Plan,
    at: RestoreAt,
    started: Instant,
) -> (Outcome, Vec<(Option<String>, RestorePoint)>, u64) {
    let outcome = run(plan, started);
    let verdicts: Vec<(Option<String>, &Verdict)> = match &outcome {
        Outcome::Checked(v) => vec![(None, v.as_ref())],
        Outcome::Fleet(clusters) => clusters
            .iter()
            .filter_map(|c| match &c.outcome {
                Outcome::Checked(v) => Some((Some(c.name.clone()), v.as_ref())),
                _ => None,
            })
            .collect(),
        Outcome::Failed { .. } => Vec::new(),
    };
    let now_ms = verdicts
        .first()
        .map(|(_, v)| v.now_ms)
        .unwrap_or_else(|| tso::unix_ms(plan.run.now.unwrap_or_else(SystemTime::now)));
    let at_ts = at.ts(now_ms);
    let answers = verdicts
        .into_iter()
        .flat_map(|(cluster, v)| {
            v.tasks
                .iter()
                .filter(|t| t.status != crate::model::Status::Gone)
                .map(move |t| {
                    let verified = t.storage.as_ref().and_then(|s| s.verified_restorable_to_ts);
                    (cluster.clone(), restore_point::answer(t, at_ts, verified))
                })
        })
        .collect();
    (outcome, answers, at_ts)
}

/// `--list-tasks`: the selected tasks of every cluster (cluster name in fleet mode), in
/// etcd key order; the first cluster that cannot be read ends it as a failed run.
pub fn list_tasks(plan: &Plan, started: Instant) -> Result<Vec<ListedTask>, Outcome> {
    let deadline = started + deadline::work_budget(plan.run.timeout);
    let mut out = Vec::new();
    for cluster in &plan.clusters {
        let observed = collect::collect_tasks(cluster, deadline);
        if observed.etcd.is_err() {
            let now = tso::unix_ms(plan.run.now.unwrap_or_else(SystemTime::now));
            let verdict = judge::evaluate(&observed, &cluster.policy, now);
            return Err(Outcome::from_verdict(verdict));
        }
        let cluster_id = observed.cluster.read.cluster_id;
        out.extend(observed.cluster.tasks.into_iter().map(|t| ListedTask {
            cluster: cluster.name.clone(),
            cluster_id,
            task: t.name,
        }));
    }
    Ok(out)
}
