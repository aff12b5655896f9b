//! What PD's GC safepoints say about a task, end to end: the built binary against a real
//! etcd and the PD stand-in, at `--now 2024-01-01T01:05:00Z` (docs/rules.md).
//!
//! - A stopped task's flush safepoints (`backup-stream-<task>-<store>`): left behind by a
//!   TiKV without tikv/tikv#19829, removed by one with it; the orphan rule is right for
//!   both, with and without another task (docs/rules.md#run-level-rules).

use crate::common::check;
use testkit::{fixture_path, Etcd, PdServer, Run};

const NOW: &str = "2024-01-01T01:05:00Z";
/// `NOW` in Unix seconds.
const NOW_S: i64 = 1_704_071_100;

/// One service safepoint as PD's `GET /pd/api/v1/gc/safepoint` lists it.
fn safepoint(id: &str, expired_at: i64, safe_point: u64) -> String {
    format!(r#"{{"service_id":"{id}","expired_at":{expired_at},"safe_point":{safe_point}}}"#)
}

/// The `GET /pd/api/v1/gc/safepoint` body: GC's own at 00:50:00 and `entries`.
fn gc_body(entries: &[String]) -> String {
    let mut all = vec![safepoint("gc_worker", i64::MAX, 446_711_778_508_800_000)];
    all.extend(entries.iter().cloned());
    format!(
        r#"{{"service_gc_safe_points":[{}],"min_service_gc_safe_point":446711778508800000,"gc_safe_point":446711778508800000}}"#,
        all.join(",")
    )
}

/// PD serving the default stores (fixtures/pd/stores.json) and `gc`.
fn pd_with_gc(gc: String) -> PdServer {
    let stores = std::fs::read_to_string(fixture_path("pd/stores.json")).unwrap();
    PdServer::start(vec![
        ("/pd/api/v1/stores".into(), 200, stores),
        ("/pd/api/v1/gc/safepoint".into(), 200, gc),
    ])
}

/// The check at `NOW` in the nagios format, `-v`.
fn run(etcd: &Etcd, pd: &PdServer, extra: &[&str]) -> Run {
    let mut args = vec![
        "--pd",
        &etcd.endpoint,
        "--pd-api",
        &pd.endpoint,
        "--now",
        NOW,
        "-v",
    ];
    args.extend_from_slice(extra);
    let run = check(&args);
    assert_eq!(run.stderr, "", "nothing on stderr");
    run
}

// ---------------------------------------------------------------------------------------
// Flush safepoints after `br log stop` (tikv/tikv#19829).
// ---------------------------------------------------------------------------------------

/// What TiKV leaves of task `old`, stopped at 01:00:00 after its last flush at 00:59:00
/// (global checkpoint 00:58:00): each store's flush safepoint, 2 h from that flush
/// (tikv/tikv:components/backup-stream/src/checkpoint_manager.rs). A TiKV with
/// tikv/tikv#19829 removes them when the task is stopped (`on_unregister`), so it leaves
/// nothing.
fn old_tikv_leftovers(flushed_at: i64) -> Vec<String> {
    let checkpoint_minus_one = 446_711_904_337_920_000 - 1; // 00:58:00 − 1
    [1, 4, 1001]
        .iter()
        .map(|store| {
            safepoint(
                &format!("backup-stream-old-{store}"),
                flushed_at + 7200,
                checkpoint_minus_one,
            )
        })
        .collect()
}

/// 00:59:00, the stopped task's last flush.
const LAST_FLUSH_S: i64 = NOW_S - 360;

#[test]
fn a_stopped_tasks_flush_safepoints_left_by_an_old_tikv_are_orphans_while_they_live() {
    // No task left: `br log stop` deleted every key of `old` (the owner key is the TiDB's).
    let etcd = Etcd::start();
    etcd.load(&["no-task-orphan-safepoints.toml"]);
    let pd = pd_with_gc(gc_body(&old_tikv_leftovers(LAST_FLUSH_S)));
    let out = run(&etcd, &pd, &["--no-task-state", "OK"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout.starts_with(
            "TIDB_LOG_BACKUP WARNING - orphan log-backup safepoints hold GC back while no task exists: backup-stream-old-1, backup-stream-old-4, backup-stream-old-1001 |"
        ),
        "{}",
        out.stdout
    );

    // Another task runs (`pitr`, started after the stop): `old`'s are still orphans.
    let etcd = Etcd::start();
    etcd.load(&["v71-running.toml"]);
    let mut entries = vec![safepoint(
        "log-backup-coordinator",
        1_704_157_200,
        446_711_935_795_199_999,
    )];
    entries.extend(old_tikv_leftovers(LAST_FLUSH_S));
    let pd = pd_with_gc(gc_body(&entries));
    let out = run(&etcd, &pd, &[]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout.starts_with(
            "TIDB_LOG_BACKUP WARNING - orphan log-backup safepoints hold GC back for tasks that no longer exist: backup-stream-old-1, backup-stream-old-4, backup-stream-old-1001 |"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("\n[OK] pitr: NORMAL, checkpoint lag 5m30s\n"),
        "{}",
        out.stdout
    );

    // Two hours after the last flush they have expired: PD ignores them, and so does the
    // rule, with or without a task (PD lists them until it drops them lazily).
    let etcd = Etcd::start();
    etcd.load(&["v71-running.toml"]);
    let mut entries = vec![safepoint(
        "log-backup-coordinator",
        1_704_157_200,
        446_711_935_795_199_999,
    )];
    entries.extend(old_tikv_leftovers(NOW_S - 7200));
    let pd = pd_with_gc(gc_body(&entries));
    let out = run(&etcd, &pd, &[]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(!out.stdout.contains("orphan"), "{}", out.stdout);
}

#[test]
fn a_new_tikv_removes_a_stopped_tasks_flush_safepoints_and_nothing_is_an_orphan() {
    // No task left and nothing in PD but GC's own: only "no log backup task".
    let etcd = Etcd::start();
    etcd.load(&["no-task-orphan-safepoints.toml"]);
    let pd = pd_with_gc(gc_body(&[]));
    let out = run(&etcd, &pd, &[]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(
        out.stdout
            .starts_with("TIDB_LOG_BACKUP CRITICAL - no log backup task |"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("orphan"), "{}", out.stdout);
    let out = run(&etcd, &pd, &["--no-task-state", "OK"]);
    assert_eq!(out.code, 0, "{}", out.stdout);

    // Another task runs: its own safepoints are not orphans, and `old` left none.
    let etcd = Etcd::start();
    etcd.load(&["v71-running.toml"]);
    let pd = pd_with_gc(gc_body(&[
        safepoint(
            "log-backup-coordinator",
            1_704_157_200,
            446_711_935_795_199_999,
        ),
        safepoint(
            "backup-stream-pitr-1",
            LAST_FLUSH_S + 7200,
            446_711_920_066_559_999,
        ),
    ]));
    let out = run(&etcd, &pd, &[]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stdout
            .starts_with("TIDB_LOG_BACKUP OK - pitr NORMAL, checkpoint lag 5m30s |"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("orphan"), "{}", out.stdout);
}
