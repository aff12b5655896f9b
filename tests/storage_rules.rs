//! The `--storage` rules (src/judge/storage.rs): what the backup storage says can be
//! restored, as BR computes it. Pure: facts in, findings and values out, `now` an input.

use check_tidb_log_backup::judge::policy::StoragePolicy;
use check_tidb_log_backup::judge::storage::judge;
use check_tidb_log_backup::model::{StoreTs, Task};
use check_tidb_log_backup::range::Range;
use check_tidb_log_backup::service_state::State;
use check_tidb_log_backup::storage::{
    Flush, FullBackup, FullMeta, LogRead, LogStorage, RootMeta, StorageFacts,
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
    }
}

fn snapshot(end_ms: u64, cluster_id: u64, raw: bool) -> Result<FullMeta, String> {
    Ok(FullMeta::Decoded(RootMeta {
        start_version: 0,
        end_version: ts(end_ms),
        cluster_id,
        is_raw_kv: raw,
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
            Some(Ok(RootMeta { start_version: 0, end_version: 42, cluster_id: 7, is_raw_kv: false })),
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
    let facts = |backups: Vec<FullBackup>| StorageFacts {
        full_backups: backups,
        full_backups_asked: true,
        ..StorageFacts::default()
    };
    let run = |backups: Vec<FullBackup>| {
        judge(
            &task(NOW - H / 12),
            &storage(Ok(healthy())),
            &facts(backups),
            &policy,
            NOW,
        )
    };
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
