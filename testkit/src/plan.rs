//! The library's settings and judging entry points, as the tests call them.

use check_tidb_log_backup::facts::Observed;
use check_tidb_log_backup::judge::{self, Verdict};
use check_tidb_log_backup::model;
use check_tidb_log_backup::settings::{self, ClusterPlan, Env, Plan, Refusal};
use check_tidb_log_backup::snapshot::Snapshot;
use check_tidb_log_backup::tso;
use std::time::SystemTime;

/// `args` (without the program name) → the plan the binary would make, with `env`.
pub fn plan_with(args: &[&str], env: &Env) -> Result<Plan, String> {
    let argv = std::iter::once("check_tidb_log_backup").chain(args.iter().copied());
    settings::resolve(argv, env).map_err(|refusal| match refusal {
        Refusal::Info(text) | Refusal::Usage(text) => text,
        Refusal::Invalid { message, .. } => message,
    })
}

/// [`plan_with`] an empty environment.
pub fn plan(args: &[&str]) -> Result<Plan, String> {
    plan_with(args, &Env::default())
}

/// The one cluster of a plan made from `args`; panics (a test failure) when invalid.
pub fn cluster_plan(args: &[&str]) -> ClusterPlan {
    let mut plan = plan(args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    plan.clusters.remove(0)
}

/// Snapshot → verdict as the runner makes it (decoded as `collect` decodes it, then the
/// one `judge::evaluate`), with `observed` besides etcd.
pub fn judge_observed(
    snapshot: &Snapshot,
    observed: &Observed,
    plan: &ClusterPlan,
    now: SystemTime,
) -> Verdict {
    let observed = Observed {
        cluster: model::decode(snapshot, &plan.selection),
        ..observed.clone()
    };
    judge::evaluate(&observed, &plan.policy, tso::unix_ms(now))
}

/// Snapshot → verdict from etcd alone (PD and TiKV not asked).
pub fn judge_snapshot(snapshot: &Snapshot, plan: &ClusterPlan, now: SystemTime) -> Verdict {
    judge_observed(snapshot, &Observed::default(), plan, now)
}
