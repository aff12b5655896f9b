//! The run-level and per-task rules of `judge` together, with `now` as an input.

use super::*;
use crate::model::{Cluster, StoreTs, TaskInfo};
use crate::pause::Pause;
use crate::pd::{GcSafepoints, ServiceSafepoint, Store};

const MIN: u64 = 60_000;
/// 2024-01-01 01:05:00 UTC in Unix ms: "now" in every case.
const NOW: u64 = 1_704_071_100_000;

fn ts(ms: u64) -> u64 {
    tso::from_physical_ms(ms)
}

/// A running v7.1+ task: start 2h ago, storage checkpoint `lag_min` minutes ago,
/// central_global 30 s later than that.
fn task(lag_min: u64) -> Task {
    let ckpt = NOW - lag_min * MIN;
    Task {
        info: Some(TaskInfo {
            name: "pitr".into(),
            start_ts: ts(NOW - 120 * MIN),
            end_ts: u64::MAX,
            storage: "s3://b/p".into(),
            table_filter: vec![],
            location: None,
        }),
        central_global: Some(ts(ckpt + 30_000)),
        storage_checkpoints: vec![StoreTs {
            store_id: 1,
            ts: ts(ckpt),
        }],
        ..Task::new("pitr".into())
    }
}

fn paused(mut t: Task) -> Task {
    t.pause = Some(Some(Pause::V1));
    t
}

fn sp(id: &str, expired_at_ms: u64, safe_point: u64) -> ServiceSafepoint {
    ServiceSafepoint {
        service_id: id.into(),
        expired_at: (expired_at_ms / 1000) as i64,
        safe_point,
    }
}

fn pd(gc_ms: u64, safepoints: Vec<ServiceSafepoint>, stores: &[(u64, &str)]) -> PdFacts {
    PdFacts {
        endpoint: "pd".into(),
        gc: Ok(GcSafepoints {
            service_gc_safe_points: safepoints,
            gc_safe_point: ts(gc_ms),
        }),
        stores: Ok(stores
            .iter()
            .map(|(id, state)| Store {
                id: *id,
                address: String::new(),
                status_address: String::new(),
                state_name: state.to_string(),
            })
            .collect()),
        keyspace_gc: Ok(vec![]),
    }
}

fn judge_one(t: Task, facts: Option<&PdFacts>, owner_keys: usize) -> TaskVerdict {
    let policy = Policy::default();
    judge_task(
        &t,
        &Context {
            now_ms: NOW,
            pd: facts,
            tikv: None,
            storage: None,
            progress: None,
            owner_keys,
            cluster_id: None,
            owner: None,
            policy: &policy,
        },
    )
}

fn texts(v: &TaskVerdict) -> Vec<(State, &str)> {
    v.reasons
        .iter()
        .map(|r| (r.state, r.text.as_str()))
        .collect()
}

#[test]
fn gc_safepoint_at_or_past_the_resume_point_is_critical() {
    let t = task(5);
    let resume_ms = NOW - 5 * MIN + 30_000; // central_global
    for (gc_ms, critical, margin) in [
        (resume_ms - 10 * MIN, false, 600),
        (resume_ms - 1000, false, 1),
        (resume_ms, true, 0),
        (resume_ms + MIN, true, -60),
    ] {
        let facts = pd(gc_ms, vec![], &[(1, "Up")]);
        let v = judge_one(t.clone(), Some(&facts), 1);
        assert_eq!(v.gc_margin_seconds, Some(margin), "gc at {gc_ms}");
        assert_eq!(v.state == State::Critical, critical, "{:?}", texts(&v));
        if critical {
            assert!(
                v.reasons[0].text.starts_with("GC safepoint "),
                "{:?}",
                texts(&v)
            );
            assert!(v.reasons[0]
                .text
                .contains("stop it and start a new one in a new storage path"));
        }
    }
}

#[test]
fn resume_deadline_of_a_paused_task() {
    let resume = ts(NOW - 5 * MIN + 30_000);
    let hour = 60 * MIN;
    let cases: Vec<(Vec<ServiceSafepoint>, State, Option<u64>)> = vec![
        // Own pause safepoint far away: OK, and the latest protecting expiry wins.
        (
            vec![
                sp("pitr_pause_safepoint", NOW + 20 * hour, resume),
                sp("log-backup-coordinator", NOW + 3 * hour, resume - 1),
            ],
            State::Ok,
            Some(NOW + 20 * hour),
        ),
        (
            vec![sp("pitr_pause_safepoint", NOW + 5 * hour, resume)],
            State::Warning,
            Some(NOW + 5 * hour),
        ),
        (
            vec![sp("pitr-4-pause-guard", NOW + 90 * MIN, resume - 1)],
            State::Critical,
            Some(NOW + 90 * MIN),
        ),
        // A safepoint above the resume point protects nothing; other tasks' ones neither.
        (
            vec![
                sp("pitr_pause_safepoint", NOW + 20 * hour, resume + 1),
                sp("pitr2_pause_safepoint", NOW + 20 * hour, resume),
            ],
            State::Critical,
            None,
        ),
        (vec![], State::Critical, None),
    ];
    for (safepoints, want, deadline) in cases {
        let facts = pd(NOW - hour, safepoints.clone(), &[(1, "Up")]);
        let v = judge_one(paused(task(5)), Some(&facts), 1);
        assert_eq!(v.state, want, "{safepoints:?}: {:?}", texts(&v));
        assert_eq!(v.resume_deadline_ms, deadline);
    }
    // The same safepoints on a running task do not matter.
    let facts = pd(NOW - hour, vec![], &[(1, "Up")]);
    assert_eq!(judge_one(task(5), Some(&facts), 1).state, State::Ok);
}

#[test]
fn keyspace_level_gc_turns_an_unprotected_pause_into_cannot_see() {
    use crate::pd::Keyspace;
    let hour = 60 * MIN;
    let ks = |id: u32, name: &str| Keyspace {
        id,
        name: name.into(),
    };
    let none = "no service safepoint protects the paused checkpoint: GC may pass it at any time and resume would fail";
    let cases: Vec<(Result<Vec<Keyspace>, String>, State, String)> = vec![
        // A classic cluster (no keyspace-level GC, or a PD without the keyspace API).
        (Ok(vec![]), State::Critical, none.to_string()),
        (
            Ok(vec![ks(1, "ks1")]),
            State::Ok,
            "resume deadline unknown: no service safepoint protects the paused checkpoint, but keyspace-level GC is on for keyspace ks1 (id 1); BR then holds GC back with a per-keyspace GC barrier (pitr_pause_safepoint) that PD serves over no HTTP API, so the check cannot see keyspace barriers".into(),
        ),
        (
            Ok(vec![ks(1, "a"), ks(2, "b"), ks(3, "c"), ks(4, "d"), ks(5, "e")]),
            State::Ok,
            "resume deadline unknown: no service safepoint protects the paused checkpoint, but keyspace-level GC is on for keyspace a (id 1), b (id 2), c (id 3), +2 more; BR then holds GC back with a per-keyspace GC barrier (pitr_pause_safepoint) that PD serves over no HTTP API, so the check cannot see keyspace barriers".into(),
        ),
        // Not known: the classic verdict stands, and says why.
        (
            Err("HTTP 500 from /pd/api/v2/keyspaces?limit=256".into()),
            State::Critical,
            format!("{none} (PD's keyspace list unreadable, so keyspace GC barriers cannot be ruled out: HTTP 500 from /pd/api/v2/keyspaces?limit=256)"),
        ),
    ];
    for (keyspaces, want, text) in cases {
        let mut facts = pd(NOW - hour, vec![], &[(1, "Up")]);
        facts.keyspace_gc = keyspaces.clone();
        let v = judge_one(paused(task(5)), Some(&facts), 1);
        assert_eq!(v.state, want, "{keyspaces:?}: {:?}", texts(&v));
        assert!(
            texts(&v).contains(&(want, text.as_str())),
            "{keyspaces:?}: {:?}",
            texts(&v)
        );
        assert_eq!(v.resume_deadline_ms, None);
    }
    // A safepoint that protects the task is judged as always, keyspaces or not.
    let mut facts = pd(
        NOW - hour,
        vec![sp(
            "pitr_pause_safepoint",
            NOW + 90 * MIN,
            ts(NOW - 5 * MIN),
        )],
        &[(1, "Up")],
    );
    facts.keyspace_gc = Ok(vec![ks(1, "ks1")]);
    let v = judge_one(paused(task(5)), Some(&facts), 1);
    assert_eq!(v.state, State::Critical, "{:?}", texts(&v));
    assert_eq!(v.resume_deadline_ms, Some(NOW + 90 * MIN));
}

#[test]
fn store_health_matters_for_running_tasks_only() {
    let facts = pd(
        NOW - 60 * MIN,
        vec![],
        &[(1, "Up"), (4, "Down"), (5, "Disconnected"), (6, "Offline")],
    );
    let v = judge_one(task(5), Some(&facts), 1);
    assert_eq!(
        texts(&v)[..2],
        [
            (
                State::Critical,
                "TiKV store 4 Down: the checkpoint cannot advance"
            ),
            (
                State::Warning,
                "TiKV store 5 Disconnected: the checkpoint cannot advance"
            ),
        ]
    );
    let facts = pd(NOW - 60 * MIN, vec![], &[(1, "Up"), (5, "Disconnected")]);
    assert_eq!(judge_one(task(5), Some(&facts), 1).state, State::Warning);
    let facts = pd(
        NOW - 60 * MIN,
        vec![sp("pitr_pause_safepoint", NOW + 20 * 60 * MIN, 0)],
        &[(4, "Down")],
    );
    assert_eq!(judge_one(paused(task(5)), Some(&facts), 1).state, State::Ok);
}

#[test]
fn advancer_owner_is_needed_from_v6_2_on() {
    let v = judge_one(task(5), None, 0);
    assert_eq!(v.state, State::Warning);
    assert!(v.reasons[0]
        .text
        .starts_with("no checkpoint advancer owner"));
    let mut legacy = task(5);
    legacy.storage_checkpoints.clear();
    legacy.central_global = None;
    legacy.legacy_checkpoints = vec![StoreTs {
        store_id: 1,
        ts: ts(NOW - 5 * MIN),
    }];
    assert_eq!(
        judge_one(legacy, None, 0).state,
        State::Ok,
        "v6.1 has no owner election"
    );
    assert_eq!(
        judge_one(paused(task(5)), None, 0).state,
        State::Ok,
        "a paused task needs no advancer"
    );
}

#[test]
fn central_global_far_ahead_of_the_storage_checkpoint_warns() {
    let mut t = task(8);
    t.central_global = Some(ts(NOW - 2 * MIN)); // 6 minutes ahead
    t.storage_checkpoints.push(StoreTs {
        store_id: 4,
        ts: ts(NOW - 9 * MIN),
    });
    let v = judge_one(t.clone(), None, 1);
    assert_eq!(
        texts(&v)[0],
        (State::Warning, "TiKV cannot persist the checkpoint to external storage: central_global 6m0s ahead of the restorable checkpoint; store 4 7m0s behind, store 1 6m0s behind")
    );
    t.central_global = Some(ts(NOW - 3 * MIN)); // exactly 5 minutes: not more than persist_lag
    assert_eq!(judge_one(t, None, 1).state, State::Ok);
}

/// `tasks` judged; `names`: every task with task info, selected or not.
fn cluster(tasks: Vec<Task>, names: &[&str]) -> Cluster {
    Cluster {
        tasks,
        missing: vec![],
        orphans: vec![],
        owner_keys: 1,
        read: crate::model::ReadInfo {
            cluster_id: None,
            revision: 1,
            endpoint: "e".into(),
            round_trips: 2,
        },
        task_names: names.iter().map(|n| n.to_string()).collect(),
    }
}

fn judge_with_pd(cluster: Cluster, pd: Option<&PdFacts>, policy: &Policy, now_ms: u64) -> Verdict {
    let observed = Observed {
        cluster,
        pd: pd.cloned(),
        ..Observed::default()
    };
    evaluate(&observed, policy, now_ms)
}

#[test]
fn orphan_safepoints_are_those_of_tasks_that_do_not_exist() {
    let safepoints = vec![
        sp("gc_worker", u64::MAX / 2, 1),
        sp("pitr-4-pause-guard", NOW + MIN, 1),
        sp("backup-stream-pitr-1", NOW + MIN, 1),
        sp("log-backup-coordinator", NOW + MIN, 1),
        // Expired: PD ignores it, so it holds nothing back.
        sp("backup-stream-pitr-4", NOW, 1),
        sp("ticdc-default-changefeed", NOW + MIN, 1),
    ];
    let facts = pd(NOW - MIN, safepoints, &[]);
    let policy = Policy {
        no_task_state: State::Ok,
        // Not what this test is about (these safepoints are decades old).
        gc_hold_warning: u64::MAX,
        ..Policy::default()
    };
    let v = judge_with_pd(cluster(vec![], &[]), Some(&facts), &policy, NOW);
    assert_eq!(v.state, State::Warning);
    assert_eq!(v.findings[1].text, "orphan log-backup safepoints hold GC back while no task exists: pitr-4-pause-guard, backup-stream-pitr-1, log-backup-coordinator");
    // With the task present (even one not selected) they belong to it, and the
    // coordinator serves every task.
    let v = judge_with_pd(cluster(vec![], &["pitr"]), Some(&facts), &policy, NOW);
    assert_eq!(v.state, State::Ok);
    assert_eq!(v.findings.len(), 1, "{:?}", v.findings);
    // With another task only, pitr's are orphans; the coordinator is not.
    let v = judge_with_pd(cluster(vec![], &["pitr2"]), Some(&facts), &policy, NOW);
    assert_eq!(v.state, State::Warning);
    assert_eq!(v.findings[1].text, "orphan log-backup safepoints hold GC back for tasks that no longer exist: pitr-4-pause-guard, backup-stream-pitr-1");
    // Once they expire, nothing is left to say.
    let later = NOW + MIN;
    let v = judge_with_pd(cluster(vec![], &[]), Some(&facts), &policy, later);
    assert_eq!(v.findings.len(), 1, "{:?}", v.findings);
}

#[test]
fn an_unreadable_pd_api_is_a_warning_finding_and_skips_its_rules() {
    let facts = PdFacts {
        endpoint: String::new(),
        gc: Err("refused".into()),
        stores: Err("refused".into()),
        keyspace_gc: Err("refused".into()),
    };
    let v = judge_with_pd(
        cluster(vec![task(5)], &["pitr"]),
        Some(&facts),
        &Policy::default(),
        NOW,
    );
    assert_eq!(v.state, State::Warning);
    assert_eq!(
        v.findings[0].text,
        "PD HTTP API unreadable, GC safepoint and store checks skipped: refused"
    );
    assert_eq!(v.tasks[0].state, State::Ok);
    assert_eq!(v.tasks[0].gc_margin_seconds, None);
    assert_eq!(v.cluster.stores, None);
}

#[test]
fn an_unreadable_etcd_is_the_unreachable_state_and_a_timeout_unknown() {
    use crate::snapshot::FetchError;
    let policy = Policy {
        unreachable_state: State::Warning,
        timeout: std::time::Duration::from_secs(7),
        ..Policy::default()
    };
    for (timed_out, state, text) in [
        (false, State::Warning, "refused"),
        (true, State::Unknown, "timed out after 7s: refused"),
    ] {
        let observed = Observed {
            etcd: Err(FetchError {
                message: "refused".into(),
                timed_out,
            }),
            ..Observed::default()
        };
        let v = evaluate(&observed, &policy, NOW);
        assert_eq!(v.state, state);
        assert_eq!(v.failure, Some(Finding::new(state, text)));
        assert!(v.tasks.is_empty() && v.findings.is_empty());
    }
}

#[test]
fn gc_held_back_by_log_backup() {
    let hour = 60 * MIN;
    let policy = Policy::default();
    let cases = [
        // The coordinator 30 h old and the oldest (gc_worker aside): WARNING.
        (
            vec![
                sp("gc_worker", u64::MAX / 4, ts(NOW - 30 * hour)),
                sp("log-backup-coordinator", NOW + hour, ts(NOW - 30 * hour)),
                sp("ticdc", NOW + hour, ts(NOW - 2 * hour)),
            ],
            Some(30 * 3600),
            true,
        ),
        // Another service holds GC further back: reported, not blamed.
        (
            vec![
                sp("log-backup-coordinator", NOW + hour, ts(NOW - 30 * hour)),
                sp("ticdc", NOW + hour, ts(NOW - 40 * hour)),
            ],
            Some(30 * 3600),
            false,
        ),
        // Younger than 24 h, or expired, or none at all.
        (
            vec![sp("pitr_pause_safepoint", NOW + hour, ts(NOW - 20 * hour))],
            Some(20 * 3600),
            false,
        ),
        (
            vec![sp("backup-stream-pitr-1", NOW - MIN, ts(NOW - 30 * hour))],
            None,
            false,
        ),
        (
            vec![sp("ticdc", NOW + hour, ts(NOW - 30 * hour))],
            None,
            false,
        ),
    ];
    for (safepoints, want_hold, warns) in cases {
        let gc = GcSafepoints {
            service_gc_safe_points: safepoints.clone(),
            gc_safe_point: 0,
        };
        let (judged, held) = gc::hold(&gc, &policy, NOW);
        assert_eq!(held, want_hold, "{safepoints:?}");
        assert_eq!(judged.findings.len(), usize::from(warns), "{safepoints:?}");
        assert_eq!(judged.metrics[0].value, want_hold.map(|h| h as f64));
    }
    let gc = GcSafepoints {
        service_gc_safe_points: vec![sp(
            "log-backup-coordinator",
            NOW + 60 * MIN,
            ts(NOW - 30 * 60 * MIN),
        )],
        gc_safe_point: 0,
    };
    assert_eq!(
        gc::hold(&gc, &policy, NOW).0.findings[0].text,
        "log backup holds GC back by 1d6h0m (log-backup-coordinator at 2023-12-30 19:05:00 +0000): old MVCC versions pile up until the task advances or is stopped"
    );
}
