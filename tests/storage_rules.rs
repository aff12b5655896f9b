//! The `--storage` rules (src/judge/storage.rs): what the backup storage says can be
//! restored, as BR computes it. Pure: facts in, findings and values out, `now` an input.

use check_tidb_log_backup::judge::policy::StoragePolicy;
use check_tidb_log_backup::judge::storage::judge;
use check_tidb_log_backup::judge::LockView;
use check_tidb_log_backup::model::{StoreTs, Task};
use check_tidb_log_backup::range::Range;
use check_tidb_log_backup::service_state::State;
use check_tidb_log_backup::storage::{
    Flush, FullBackup, FullMeta, LogRead, LogStorage, RootMeta, StorageFacts, StorageLock,
};
use check_tidb_log_backup::tso;

const H: u64 = 3_600_000;
/// 2024-01-08 00:00:00 UTC: "now" in every case.
const NOW: u64 = 1_704_672_000_000;

fn ts(ms: u64) -> u64 {
    tso::from_physical_ms(ms)
}

/// A task whose etcd storage checkpoint is `etcd_ckpt_ms`.
fn task(etcd_ckpt_ms: u64) -> Task {
    let mut t = empty_task();
    t.storage_checkpoints = vec![StoreTs {
        store_id: 1,
        ts: ts(etcd_ckpt_ms),
    }];
    t
}

fn empty_task() -> Task {
    Task {
        ..Task::new("pitr".into())
    }
}

/// A log storage started 7 days before now, its checkpoint files 5 minutes before now.
fn healthy() -> LogRead {
    LogRead {
        backupmeta: Some(Ok(RootMeta {
            start_version: ts(NOW - 168 * H),
            end_version: 0,
            cluster_id: 7,
            is_raw_kv: false,
            backup_size: None,
        })),
        truncate_safepoint: 0,
        base_truncated_to: None,
        global_checkpoints: vec![
            ("1".into(), ts(NOW - H / 12)),
            ("4".into(), ts(NOW - H / 6)),
        ],
        skipped_checkpoint_files: 0,
        newest_flush: Some(Flush::Ts(ts(NOW - H / 20))),
        suspicious_metas: 0,
        cut_listings: Vec::new(),
        verified: None,
        compactions: None,
        migration_layers: 0,
        layer_truncated_to: Vec::new(),
        locks: Vec::new(),
        more_locks: 0,
        resume_state: None,
    }
}

fn storage(read: Result<LogRead, String>) -> LogStorage {
    LogStorage {
        url: "s3://b/p".into(),
        read,
        requests: 7,
        refused: false,
    }
}

fn full(url: &str, meta: Result<FullMeta, String>) -> FullBackup {
    FullBackup {
        url: url.into(),
        read: meta,
        incomplete_since_ms: None,
    }
}

/// A healthy task and log storage judged with these full backups under `policy`.
fn judge_bases(
    backups: Vec<FullBackup>,
    policy: &StoragePolicy,
) -> (
    check_tidb_log_backup::judge::Judged,
    check_tidb_log_backup::judge::StorageView,
) {
    let facts = StorageFacts {
        full_backups: backups,
        full_backups_asked: true,
        ..StorageFacts::default()
    };
    judge(
        &task(NOW - H / 12),
        &storage(Ok(healthy())),
        &facts,
        policy,
        NOW,
    )
}

fn snapshot(end_ms: u64, cluster_id: u64, raw: bool) -> Result<FullMeta, String> {
    Ok(FullMeta::Decoded(RootMeta {
        start_version: 0,
        end_version: ts(end_ms),
        cluster_id,
        is_raw_kv: raw,
        backup_size: None,
    }))
}

fn states(judged: &check_tidb_log_backup::judge::Judged) -> Vec<(State, String)> {
    judged
        .findings
        .iter()
        .map(|f| (f.state, f.text.clone()))
        .collect()
}

fn range(text: &str) -> Option<Range> {
    Some(Range::parse(text).unwrap())
}

#[test]
fn the_window_is_brs_log_min_to_log_max() {
    let mut read = healthy();
    read.truncate_safepoint = ts(NOW - 72 * H);
    read.base_truncated_to = Some(ts(NOW - 48 * H));
    read.skipped_checkpoint_files = 1;
    let facts = StorageFacts::default();
    let (judged, view) = judge(
        &task(NOW - H / 12),
        &storage(Ok(read)),
        &facts,
        &StoragePolicy::default(),
        NOW,
    );
    assert_eq!(states(&judged), vec![]);
    assert_eq!(view.state, "ok");
    // from = max(start 7d ago, safepoint 3d ago, BASE 2d ago); to = the newest .ts.
    assert_eq!(view.restorable_from_ts, Some(ts(NOW - 48 * H)));
    assert_eq!(view.restorable_to_ts, Some(ts(NOW - H / 12)));
    assert_eq!(view.window_seconds, Some(48 * 3600 - 300));
    assert_eq!(view.truncate_ts, Some(ts(NOW - 48 * H)));
    assert_eq!(view.newest_flush_age_seconds, Some(180));
    assert_eq!(view.requests, Some(7));
    let labels: Vec<_> = judged
        .metrics
        .iter()
        .map(|m| (m.label.as_ref(), m.value))
        .collect();
    assert_eq!(
        labels,
        vec![
            ("restorable_window", Some((48 * 3600 - 300) as f64)),
            ("newest_flush_age", Some(180.0))
        ]
    );
}

#[test]
fn window_and_flush_age_thresholds() {
    let policy = StoragePolicy {
        window_warning: range("7d:"),
        window_critical: range("1d:"),
        flush_age_warning: range("2m"),
        flush_age_critical: range("10m"),
        ..StoragePolicy::default()
    };
    let mut read = healthy();
    read.truncate_safepoint = ts(NOW - 72 * H);
    let (judged, _) = judge(
        &task(NOW - H / 12),
        &storage(Ok(read)),
        &StorageFacts::default(),
        &policy,
        NOW,
    );
    assert_eq!(
        states(&judged),
        vec![
            (State::Warning, "restorable window 2d23h55m < 7d0h0m (2024-01-05 00:00:00 +0000 .. 2024-01-07 23:55:00 +0000)".to_string()),
            (State::Warning, "newest flush in s3://b/p 3m0s ago > 2m0s".to_string()),
        ]
    );
    let metric = &judged.metrics[0];
    assert_eq!((metric.warn, metric.crit), (range("7d:"), range("1d:")));
    // Nothing flushed in the window: the flush rule says so in its worst state.
    let mut read = healthy();
    read.newest_flush = None;
    let (judged, view) = judge(
        &task(NOW - H / 12),
        &storage(Ok(read)),
        &StorageFacts::default(),
        &policy,
        NOW,
    );
    assert_eq!(view.newest_flush_age_seconds, None);
    assert!(states(&judged).contains(&(
        State::Critical,
        "no meta file flushed to s3://b/p since 30m0s before the checkpoint".to_string()
    )));
}

#[test]
fn unreadable_or_wrong_storage() {
    let policy = StoragePolicy::default();
    let facts = StorageFacts::default();
    let (judged, view) = judge(
        &task(NOW),
        &storage(Err("LIST v1/global_checkpoint/: 403".into())),
        &facts,
        &policy,
        NOW,
    );
    assert_eq!(
        states(&judged),
        vec![(
            State::Warning,
            "backup storage s3://b/p unreadable: LIST v1/global_checkpoint/: 403".to_string()
        )]
    );
    assert_eq!((view.state, view.restorable_from_ts), ("unreadable", None));
    let critical = StoragePolicy {
        unreachable_state: State::Critical,
        ..StoragePolicy::default()
    };
    let (judged, _) = judge(
        &task(NOW),
        &storage(Err("timed out".into())),
        &facts,
        &critical,
        NOW,
    );
    assert_eq!(judged.findings[0].state, State::Critical);

    for (backupmeta, want) in [
        (None, "s3://b/p is not a log backup storage: it has no backupmeta"),
        (
            Some(Ok(RootMeta { start_version: 0, end_version: 42, cluster_id: 7, is_raw_kv: false, backup_size: None })),
            "s3://b/p is not a log backup storage: its backupmeta is a full backup's (end_version 42)",
        ),
        (Some(Err("backupmeta does not decode: x".to_string())), "s3://b/p is not a log backup storage: backupmeta does not decode: x"),
    ] {
        let read = LogRead { backupmeta, ..healthy() };
        let (judged, view) = judge(&task(NOW - H / 12), &storage(Ok(read)), &facts, &policy, NOW);
        assert_eq!(states(&judged), vec![(State::Critical, want.to_string())]);
        assert_eq!(view.restorable_from_ts, None);
        assert_eq!(view.storage_checkpoint_ts, Some(ts(NOW - H / 12)));
    }
}

#[test]
fn a_storage_checkpoint_behind_etcd_warns() {
    let (judged, _) = judge(
        &task(NOW - H / 60),
        &storage(Ok(healthy())),
        &StorageFacts::default(),
        &StoragePolicy::default(),
        NOW,
    );
    assert_eq!(
        states(&judged),
        vec![(State::Warning, "storage holds an older checkpoint than TiKV reported: wrong bucket or rolled back? (2024-01-07 23:55:00 +0000 in s3://b/p, 2024-01-07 23:59:00 +0000 in etcd)".to_string())]
    );
    let mut read = healthy();
    read.global_checkpoints.clear();
    let (judged, view) = judge(
        &task(NOW - H / 60),
        &storage(Ok(read)),
        &StorageFacts::default(),
        &StoragePolicy::default(),
        NOW,
    );
    assert_eq!(view.storage_checkpoint_ts, None);
    assert!(
        judged.findings[0].text.contains("(none in s3://b/p,"),
        "{:?}",
        states(&judged)
    );
}

#[test]
fn the_full_backup_base() {
    let policy = StoragePolicy {
        full_age_warning: range("2d"),
        ..StoragePolicy::default()
    };
    let run = |backups: Vec<FullBackup>| judge_bases(backups, &policy);
    // The newest valid one is reported; the oldest valid one is where PITR can start.
    let (judged, view) = run(vec![
        full("s3://f/mon", snapshot(NOW - 150 * H, 7, false)),
        full("s3://f/wed", snapshot(NOW - 100 * H, 0, false)),
        full("s3://f/old", snapshot(NOW - 200 * H, 7, false)),
        full("s3://f/raw", snapshot(NOW - 10 * H, 7, true)),
        full("s3://f/other", snapshot(NOW - 10 * H, 8, false)),
    ]);
    assert_eq!(view.full_backup_ts, Some(ts(NOW - 100 * H)));
    assert_eq!(view.full_backup_age_seconds, Some(100 * 3600));
    assert_eq!(view.pitr_restorable_from_ts, Some(ts(NOW - 150 * H)));
    assert_eq!(
        states(&judged),
        vec![(
            State::Warning,
            "newest full backup 4d4h0m old > 2d0h0m".to_string()
        )]
    );
    assert_eq!(judged.metrics.last().unwrap().label, "full_backup_age");
    // None valid: PITR is impossible, with why.
    let (judged, view) = run(vec![
        full("s3://f/old", snapshot(NOW - 200 * H, 7, false)),
        full("s3://f/raw", snapshot(NOW - 10 * H, 7, true)),
        full("s3://f/other", snapshot(NOW - 10 * H, 8, false)),
        full(
            "s3://f/running",
            Err("no backupmeta: the backup is still running, failed, or is not here".into()),
        ),
    ]);
    assert_eq!(view.full_backup_ts, None);
    assert_eq!(states(&judged), vec![(State::Critical, "PITR impossible: no full backup inside the log window [2024-01-01 00:00:00 +0000, 2024-01-07 23:55:00 +0000] (s3://f/old: 2023-12-30 16:00:00 +0000 outside the log window; s3://f/raw: a raw-KV backup; s3://f/other: from cluster 8, the log from cluster 7; s3://f/running: no backupmeta: the backup is still running, failed, or is not here)".to_string())]);
    // An encrypted backupmeta: its last-modified time, said to be approximate.
    let (judged, view) = run(vec![full(
        "s3://f/enc",
        Ok(FullMeta::Encrypted {
            modified_ms: NOW - 20 * H,
        }),
    )]);
    assert_eq!(view.full_backup_ts, Some(ts(NOW - 20 * H)));
    assert!(view.full_backup_approximate);
    assert!(judged
        .findings
        .iter()
        .any(|f| f.text.contains("encrypted") && f.text.contains("approximate")));
}

/// The newest valid base's size (`backup_size` of its backupmeta) is reported with it,
/// in bytes: never an older base's, a rejected backup's or an encrypted one's.
#[test]
fn the_newest_valid_base_s_size() {
    let run = |backups: Vec<FullBackup>| judge_bases(backups, &StoragePolicy::default());
    let sized = |end_ms: u64, cluster_id: u64, raw: bool, size: u64| {
        snapshot(end_ms, cluster_id, raw).map(|m| match m {
            FullMeta::Decoded(root) => FullMeta::Decoded(RootMeta {
                backup_size: Some(size),
                ..root
            }),
            other => other,
        })
    };
    let bytes_metric = |judged: &check_tidb_log_backup::judge::Judged| {
        judged
            .metrics
            .iter()
            .find(|m| m.label == "full_backup_bytes")
            .map(|m| (m.value, m.uom))
    };
    let (judged, view) = run(vec![
        full("s3://f/mon", sized(NOW - 150 * H, 7, false, 111)),
        full("s3://f/wed", sized(NOW - 100 * H, 7, false, 5_000_000_000)),
        full("s3://f/raw", sized(NOW - 10 * H, 7, true, 999)),
        full("s3://f/other", sized(NOW - 10 * H, 8, false, 888)),
    ]);
    assert_eq!(view.full_backup_ts, Some(ts(NOW - 100 * H)));
    assert_eq!(view.full_backup_bytes, Some(5_000_000_000));
    assert_eq!(bytes_metric(&judged), Some((Some(5_000_000_000.0), "B")));
    // The perfdata item follows the base's age.
    let labels: Vec<_> = judged.metrics.iter().map(|m| m.label.as_ref()).collect();
    assert!(
        labels.ends_with(&["full_backup_age", "full_backup_bytes"]),
        "{labels:?}"
    );
    // A size is just a number, however large.
    let (judged, view) = run(vec![full(
        "s3://f/huge",
        sized(NOW - H, 7, false, u64::MAX),
    )]);
    assert_eq!(view.full_backup_bytes, Some(u64::MAX));
    assert_eq!(bytes_metric(&judged), Some((Some(u64::MAX as f64), "B")));
    // The newest valid base wrote no size: none, not the older base's.
    let (judged, view) = run(vec![
        full("s3://f/mon", sized(NOW - 150 * H, 7, false, 111)),
        full("s3://f/wed", snapshot(NOW - 100 * H, 7, false)),
    ]);
    assert_eq!(view.full_backup_ts, Some(ts(NOW - 100 * H)));
    assert_eq!(
        (view.full_backup_bytes, bytes_metric(&judged)),
        (None, None)
    );
    // The newest one is encrypted: its size is unknown.
    let (judged, view) = run(vec![
        full("s3://f/mon", sized(NOW - 150 * H, 7, false, 111)),
        full(
            "s3://f/enc",
            Ok(FullMeta::Encrypted {
                modified_ms: NOW - 20 * H,
            }),
        ),
    ]);
    assert!(view.full_backup_approximate);
    assert_eq!(
        (view.full_backup_bytes, bytes_metric(&judged)),
        (None, None)
    );
    // None valid: no size either.
    let (judged, view) = run(vec![full("s3://f/raw", sized(NOW - 10 * H, 7, true, 999))]);
    assert_eq!(view.full_backup_ts, None);
    assert_eq!(
        (view.full_backup_bytes, bytes_metric(&judged)),
        (None, None)
    );
}

/// BR's `Load` merges BASE, every migration layer and the safepoint file: a layer whose
/// `truncated_to` is past BASE (an interrupted truncation) moves restorable_from.
#[test]
fn migration_layers_move_restorable_from() {
    let mut read = healthy();
    read.truncate_safepoint = ts(NOW - 72 * H);
    read.base_truncated_to = Some(ts(NOW - 48 * H));
    read.migration_layers = 3;
    read.layer_truncated_to = vec![
        ("00000001_0000000000000001.mgrt".into(), 0),
        ("00000002_00000000000000AB.mgrt".into(), ts(NOW - 24 * H)),
        ("00000003_0000000000000003.mgrt".into(), ts(NOW - 36 * H)),
    ];
    let (judged, view) = judge(
        &task(NOW - H / 12),
        &storage(Ok(read.clone())),
        &StorageFacts::default(),
        &StoragePolicy::default(),
        NOW,
    );
    assert_eq!(view.restorable_from_ts, Some(ts(NOW - 24 * H)));
    assert_eq!(view.truncate_ts, Some(ts(NOW - 24 * H)));
    assert_eq!(view.window_seconds, Some(24 * 3600 - 300));
    assert_eq!(view.migration_layers, Some(3));
    assert_eq!(
        states(&judged),
        vec![(
            State::Ok,
            "s3://b/p: migration layer v1/migrations/00000002_00000000000000AB.mgrt truncates to 2024-01-07 00:00:00 +0000, past BASE and the safepoint file: a truncation not merged into BASE yet (BR counts it)".to_string()
        )]
    );
    // A layer behind BASE changes nothing; a layer in the future is not believed.
    read.layer_truncated_to = vec![
        ("00000001_1.mgrt".into(), ts(NOW - 60 * H)),
        ("00000002_2.mgrt".into(), ts(NOW + H)),
    ];
    let (judged, view) = judge(
        &task(NOW - H / 12),
        &storage(Ok(read.clone())),
        &StorageFacts::default(),
        &StoragePolicy::default(),
        NOW,
    );
    assert_eq!(view.restorable_from_ts, Some(ts(NOW - 48 * H)));
    assert_eq!(
        states(&judged),
        vec![(
            State::Warning,
            "s3://b/p: v1/migrations/00000002_2.mgrt claims a time in the future (2024-01-08 01:00:00 +0000): not used for the window".to_string()
        )]
    );
    // More layers than are read: said, as a WARNING.
    read.layer_truncated_to.clear();
    read.migration_layers = 65;
    let (judged, _) = judge(
        &task(NOW - H / 12),
        &storage(Ok(read)),
        &StorageFacts::default(),
        &StoragePolicy::default(),
        NOW,
    );
    assert_eq!(
        states(&judged),
        vec![(
            State::Warning,
            "s3://b/p: 65 migration layers in v1/migrations/, only the newest 64 read: restorable_from may be earlier than BR's (br log truncate merges them into BASE)".to_string()
        )]
    );
}

/// Each lock's age against `--storage-lock-stale`: older is a WARNING naming it, younger
/// an OK-level line; a time in the future is not judged.
#[test]
fn storage_locks_and_their_ages() {
    let lock = |name: &str, modified_ms: u64| StorageLock {
        name: name.into(),
        modified_ms,
    };
    let mut read = healthy();
    read.locks = vec![
        lock("truncating.lock", NOW - 2 * H),
        lock("v1/LOCK.READ.00000000deadbeef", NOW - H / 6),
        lock("v1/LOCK.WRIT", NOW + H),
    ];
    read.more_locks = 2;
    let run = |policy: &StoragePolicy| {
        judge(
            &task(NOW - H / 12),
            &storage(Ok(read.clone())),
            &StorageFacts::default(),
            policy,
            NOW,
        )
    };
    let (judged, view) = run(&StoragePolicy::default());
    assert_eq!(
        states(&judged),
        vec![
            (State::Warning, "s3://b/p: lock truncating.lock is 2h0m0s old, over 1h0m0s: left by br log truncate that died? It blocks the next truncation and compaction until removed".to_string()),
            (State::Ok, "s3://b/p: lock v1/LOCK.READ.00000000deadbeef held for 10m0s: a restore or a compaction is running".to_string()),
            (State::Warning, "s3://b/p: lock v1/LOCK.WRIT claims a time in the future (2024-01-08 01:00:00 +0000): its age is not judged".to_string()),
            (State::Ok, "s3://b/p: 2 more locks not shown (the oldest 32 are)".to_string()),
        ]
    );
    assert_eq!(
        view.locks,
        Some(vec![
            LockView {
                name: "truncating.lock".into(),
                age_seconds: Some(7200)
            },
            LockView {
                name: "v1/LOCK.READ.00000000deadbeef".into(),
                age_seconds: Some(600)
            },
            LockView {
                name: "v1/LOCK.WRIT".into(),
                age_seconds: None
            },
        ])
    );
    let (judged, _) = run(&StoragePolicy {
        lock_stale: 3 * 3600,
        ..StoragePolicy::default()
    });
    assert_eq!(
        judged.findings[0].text,
        "s3://b/p: lock truncating.lock held for 2h0m0s: br log truncate is running"
    );
    assert_eq!(judged.findings[0].state, State::Ok);
    // No lock at all: an empty list, not null.
    let (judged, view) = judge(
        &task(NOW - H / 12),
        &storage(Ok(healthy())),
        &StorageFacts::default(),
        &StoragePolicy::default(),
        NOW,
    );
    assert_eq!((states(&judged), view.locks), (vec![], Some(vec![])));
}

/// The newest BR takes the CRR resume state's last_checkpoint as restorable_to; one the
/// checkpoint files do not reach is a WARNING.
#[test]
fn the_crr_resume_state_bounds_restorable_to() {
    let run = |resume: Option<Result<u64, String>>, files: Vec<(String, u64)>| {
        let read = LogRead {
            resume_state: resume,
            global_checkpoints: files,
            ..healthy()
        };
        judge(
            &empty_task(),
            &storage(Ok(read)),
            &StorageFacts::default(),
            &StoragePolicy::default(),
            NOW,
        )
    };
    let files = healthy().global_checkpoints; // the newest: 5 minutes before now
                                              // Behind the files: BR's bound is the lower one.
    let (judged, view) = run(Some(Ok(ts(NOW - H))), files.clone());
    assert_eq!(view.restorable_to_ts, Some(ts(NOW - H)));
    assert_eq!(view.resume_state_checkpoint_ts, Some(ts(NOW - H)));
    assert_eq!(view.storage_checkpoint_ts, Some(ts(NOW - H / 12)));
    assert_eq!(
        states(&judged),
        vec![(
            State::Ok,
            "restorable to 2024-01-07 23:00:00 +0000 as BR takes it from crr-checkpoint/resume-state.json in s3://b/p (the checkpoint files reach 2024-01-07 23:55:00 +0000)".to_string()
        )]
    );
    // Ahead of the files: BR would accept restore points nothing proves.
    let (judged, view) = run(Some(Ok(ts(NOW - H / 60))), files.clone());
    assert_eq!(view.restorable_to_ts, Some(ts(NOW - H / 60)));
    assert_eq!(
        states(&judged),
        vec![(
            State::Warning,
            "BR would accept restore points up to 2024-01-07 23:59:00 +0000 that the storage's checkpoint files do not prove (only up to 2024-01-07 23:55:00 +0000): crr-checkpoint/resume-state.json in s3://b/p from another replication lineage?".to_string()
        )]
    );
    let (judged, _) = run(Some(Ok(ts(NOW - H))), Vec::new());
    assert!(judged.findings[0]
        .text
        .contains("do not prove (there are none)"));
    // Equal: nothing to say.
    let (judged, view) = run(Some(Ok(ts(NOW - H / 12))), files.clone());
    assert_eq!(
        (states(&judged), view.restorable_to_ts),
        (vec![], Some(ts(NOW - H / 12)))
    );
    // Not a resume state, or one in the future: the files bound the window.
    let (judged, view) = run(Some(Err("it has no last_checkpoint".into())), files.clone());
    assert_eq!(view.restorable_to_ts, Some(ts(NOW - H / 12)));
    assert_eq!(view.resume_state_checkpoint_ts, None);
    assert_eq!(
        states(&judged),
        vec![(
            State::Warning,
            "s3://b/p: crr-checkpoint/resume-state.json holds no last_checkpoint (it has no last_checkpoint): TiKV's compact-log-backup refuses this storage; the window uses the checkpoint files".to_string()
        )]
    );
    let (judged, view) = run(Some(Ok(ts(NOW + H))), files);
    assert_eq!(view.restorable_to_ts, Some(ts(NOW - H / 12)));
    assert_eq!(view.resume_state_checkpoint_ts, Some(ts(NOW + H)));
    assert_eq!(
        states(&judged),
        vec![(
            State::Warning,
            "s3://b/p: crr-checkpoint/resume-state.json claims a time in the future (2024-01-08 01:00:00 +0000): not used for the window".to_string()
        )]
    );
}
