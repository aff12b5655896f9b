//! Who is silent: a TiKV store that does not flush for a running task, and a checkpoint
//! advancer that does not tick — read from the service safepoints they refresh
//! (docs/rules.md#service-safepoints).
//!
//! - each TiKV sets `backup-stream-<task>-<store>` (TTL 7200 s) after every flush
//!   (tikv/tikv:components/backup-stream/src/checkpoint_manager.rs);
//! - the advancer owner sets `log-backup-coordinator` (TTL 86400 s) on every tick while a
//!   task runs (pingcap/tidb:br/pkg/streamhelper/advancer.go).
//!
//! Refresh age = TTL − (expired_at − now): how long ago it was last set.

use super::policy::Policy;
use super::verdict::Judged;
use crate::model::Task;
use crate::pd::{GcSafepoints, Store, COORDINATOR};
use crate::service_state::State;
use crate::text::plural;
use crate::tidb::OwnerFacts;
use crate::tso;

const STORE_TTL: i64 = 7200;
const COORDINATOR_TTL: i64 = 86_400;

/// `None` for a safepoint that never expires, or one already expired: PD no longer
/// counts it (its minimum skips expired entries), so it says nothing of the last refresh.
fn refresh_age(expired_at: i64, ttl: i64, now_ms: u64) -> Option<u64> {
    let now = (now_ms / 1000) as i64;
    if expired_at == i64::MAX || expired_at < now {
        return None;
    }
    u64::try_from(ttl - (expired_at - now)).ok()
}

/// A running v7.1+ task (storage-checkpoint keys, no legacy ones): every Up store should
/// have a storage-checkpoint key and a fresh `backup-stream-<task>-<store>` safepoint.
pub fn stores(
    task: &Task,
    stores: &[Store],
    gc: Option<&GcSafepoints>,
    policy: &Policy,
    now_ms: u64,
) -> Judged {
    let mut out = Judged::default();
    if task.storage_checkpoints.is_empty() || !task.legacy_checkpoints.is_empty() {
        return out;
    }
    for store in stores
        .iter()
        .filter(|s| s.state_name.eq_ignore_ascii_case("Up"))
    {
        if !task
            .storage_checkpoints
            .iter()
            .any(|s| s.store_id == store.id)
        {
            out.push(
                State::Warning,
                format!(
                    "TiKV store {} is Up but has no storage checkpoint for the task: it does not flush its log backup",
                    store.id
                ),
            );
            continue;
        }
        let id = format!("backup-stream-{}-{}", task.name, store.id);
        let refreshed = gc
            .and_then(|gc| {
                gc.service_gc_safe_points
                    .iter()
                    .find(|sp| sp.service_id == id)
            })
            .and_then(|sp| refresh_age(sp.expired_at, STORE_TTL, now_ms));
        if let Some(age) = refreshed.filter(|age| *age > policy.flush_stale) {
            out.push(
                State::Warning,
                format!(
                    "TiKV store {} has not flushed for {} ({id} not refreshed)",
                    store.id,
                    tso::human_duration(age)
                ),
            );
        }
    }
    out
}

/// The advancer's tick, from the coordinator safepoint's refresh age, while a task runs.
/// The owner key holds a random id, not a TiDB: with `--throughput` the owner is the TiDB
/// whose `/metrics` says so (`owner`), otherwise the reason says it cannot be named.
pub fn advancer(
    gc: &GcSafepoints,
    policy: &Policy,
    now_ms: u64,
    owner: Option<&OwnerFacts>,
) -> Judged {
    let mut out = Judged::default();
    let age = gc
        .service_gc_safe_points
        .iter()
        .find(|sp| sp.service_id == COORDINATOR)
        .and_then(|sp| refresh_age(sp.expired_at, COORDINATOR_TTL, now_ms));
    if let Some(age) = age.filter(|age| *age > policy.advancer_stale) {
        let who = match owner {
            None => "the owner TiDB cannot be named from etcd".to_string(),
            Some(facts) => facts
                .named()
                .map(|n| format!("owner TiDB {n}"))
                .unwrap_or_else(|| no_owner(facts)),
        };
        out.push(
            State::Warning,
            format!(
                "checkpoint advancer not ticking: {COORDINATOR} last refreshed {} ago ({who})",
                tso::human_duration(age)
            ),
        );
    }
    out
}

/// `--throughput`, once per cluster: which TiDB the advancer runs on. Informational:
/// whether it ticks is judged from the coordinator safepoint ([`advancer`]).
pub fn owner(facts: &OwnerFacts) -> Judged {
    let mut out = Judged::default();
    let text = facts
        .named()
        .map(|n| format!("advancer owner: TiDB {n}"))
        .unwrap_or_else(|| no_owner(facts));
    out.push(State::Ok, text);
    out
}

fn no_owner(facts: &OwnerFacts) -> String {
    match &facts.listing {
        Err(e) => {
            format!("advancer owner not known: cannot list the TiDBs under /tidb/server/info/: {e}")
        }
        Ok(0) => {
            "advancer owner not known: no TiDB registered under /tidb/server/info/".to_string()
        }
        Ok(n) => format!(
            "no TiDB reports tidb_log_backup_advancer_owner 1, {} of {} answered",
            facts.sampled,
            plural(*n, "TiDB")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::StoreTs;
    use crate::pd::ServiceSafepoint;

    /// 2024-01-01 01:05:00 UTC.
    const NOW: u64 = 1_704_071_100_000;

    fn store(id: u64, state: &str) -> Store {
        Store {
            id,
            address: String::new(),
            status_address: String::new(),
            state_name: state.into(),
        }
    }

    fn sp(id: &str, expires_in: i64) -> ServiceSafepoint {
        ServiceSafepoint {
            service_id: id.into(),
            expired_at: (NOW / 1000) as i64 + expires_in,
            safe_point: 1,
        }
    }

    fn texts(j: &Judged) -> Vec<String> {
        j.findings.iter().map(|f| f.text.clone()).collect()
    }

    #[test]
    fn silent_stores_and_a_still_advancer() {
        let mut task = Task {
            storage_checkpoints: vec![
                StoreTs { store_id: 1, ts: 1 },
                StoreTs { store_id: 4, ts: 1 },
            ],
            ..Task::new("pitr".into())
        };
        let stores = [
            store(1, "Up"),
            store(4, "Up"),
            store(5, "Up"),
            store(6, "Down"),
        ];
        let gc = GcSafepoints {
            service_gc_safe_points: vec![
                // Store 1 flushed 10 min ago (TTL 2h), store 4 20 min ago.
                sp("backup-stream-pitr-1", 7200 - 600),
                sp("backup-stream-pitr-4", 7200 - 1200),
                // The advancer ticked 11 min ago (TTL 24h).
                sp("log-backup-coordinator", 86_400 - 660),
            ],
            gc_safe_point: 0,
        };
        let policy = Policy::default();
        assert_eq!(
            texts(&stores_rule(&task, &stores, Some(&gc), &policy)),
            vec![
                "TiKV store 4 has not flushed for 20m0s (backup-stream-pitr-4 not refreshed)",
                "TiKV store 5 is Up but has no storage checkpoint for the task: it does not flush its log backup",
            ]
        );
        assert_eq!(
            texts(&advancer(&gc, &policy, NOW, None)),
            vec!["checkpoint advancer not ticking: log-backup-coordinator last refreshed 11m0s ago (the owner TiDB cannot be named from etcd)"]
        );
        // With --throughput the TiDB whose /metrics says it owns the advancer is named.
        let found = OwnerFacts {
            listing: Ok(3),
            sampled: 3,
            owners: vec!["10.0.1.5:4000".into()],
        };
        assert_eq!(
            texts(&advancer(&gc, &policy, NOW, Some(&found))),
            vec!["checkpoint advancer not ticking: log-backup-coordinator last refreshed 11m0s ago (owner TiDB 10.0.1.5:4000)"]
        );
        let none = OwnerFacts {
            listing: Ok(3),
            sampled: 2,
            owners: Vec::new(),
        };
        assert_eq!(
            texts(&advancer(&gc, &policy, NOW, Some(&none))),
            vec!["checkpoint advancer not ticking: log-backup-coordinator last refreshed 11m0s ago (no TiDB reports tidb_log_backup_advancer_owner 1, 2 of 3 TiDBs answered)"]
        );
        let relaxed = Policy {
            flush_stale: 1800,
            advancer_stale: 900,
            ..Policy::default()
        };
        assert_eq!(
            texts(&stores_rule(&task, &stores, Some(&gc), &relaxed)).len(),
            1
        );
        assert!(advancer(&gc, &relaxed, NOW, Some(&found))
            .findings
            .is_empty());
        // A v6.1 layout (legacy keys) has neither.
        task.legacy_checkpoints = vec![StoreTs { store_id: 1, ts: 1 }];
        assert!(stores_rule(&task, &stores, Some(&gc), &policy)
            .findings
            .is_empty());
    }

    #[test]
    fn the_owner_is_named_once_per_cluster() {
        let one = OwnerFacts {
            listing: Ok(2),
            sampled: 2,
            owners: vec!["10.0.1.5:4000".into()],
        };
        let owner_finding = |facts: &OwnerFacts| {
            let j = owner(facts);
            assert!(j.findings.iter().all(|f| f.state == State::Ok));
            texts(&j)
        };
        assert_eq!(
            owner_finding(&one),
            vec!["advancer owner: TiDB 10.0.1.5:4000"]
        );
        let moving = OwnerFacts {
            owners: vec!["10.0.1.5:4000".into(), "10.0.1.6:4000".into()],
            ..one
        };
        assert_eq!(
            owner_finding(&moving),
            vec!["advancer owner: TiDB 10.0.1.5:4000, 10.0.1.6:4000"]
        );
        let single = OwnerFacts {
            listing: Ok(1),
            sampled: 0,
            owners: Vec::new(),
        };
        assert_eq!(
            owner_finding(&single),
            vec!["no TiDB reports tidb_log_backup_advancer_owner 1, 0 of 1 TiDB answered"]
        );
        let refused = OwnerFacts {
            listing: Err("PermissionDenied: etcdserver: permission denied".into()),
            ..OwnerFacts::default()
        };
        assert_eq!(
            owner_finding(&refused),
            vec!["advancer owner not known: cannot list the TiDBs under /tidb/server/info/: PermissionDenied: etcdserver: permission denied"]
        );
        assert_eq!(
            owner_finding(&OwnerFacts::default()),
            vec!["advancer owner not known: no TiDB registered under /tidb/server/info/"]
        );
    }

    fn stores_rule(
        task: &Task,
        stores: &[Store],
        gc: Option<&GcSafepoints>,
        policy: &Policy,
    ) -> Judged {
        super::stores(task, stores, gc, policy, NOW)
    }
}
