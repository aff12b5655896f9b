//! What PD's GC safepoints say about a task, end to end: the built binary against a real
//! etcd and the PD stand-in, at `--now 2024-01-01T01:05:00Z` (docs/rules.md).
//!
//! - A stopped task's flush safepoints (`backup-stream-<task>-<store>`): left behind by a
//!   TiKV without tikv/tikv#19829, removed by one with it; the orphan rule is right for
//!   both, with and without another task (docs/rules.md#orphan-safepoints).
//! - Keyspace clusters: a paused task whose `<task>_pause_safepoint` is a per-keyspace GC
//!   barrier, which PD serves over no HTTP route (docs/rules.md#keyspace-gc-barriers).
//! - A pause of severity ERROR with an operator's text: who wrote it follows from its
//!   `<task>_pause_safepoint` (docs/rules.md#auto-pause; the golden fixture
//!   `pause-operator-error` has the safepoint).

use crate::common::check;
use testkit::{fixture_path, Etcd, PdServer, Route, Run};

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
    pd_with(gc, vec![])
}

/// [`pd_with_gc`] plus `more` routes (anything else is HTTP 404).
fn pd_with(gc: String, more: Vec<Route>) -> PdServer {
    let stores = std::fs::read_to_string(fixture_path("pd/stores.json")).unwrap();
    let mut routes: Vec<Route> = vec![
        ("/pd/api/v1/stores".into(), 200, stores),
        ("/pd/api/v1/gc/safepoint".into(), 200, gc),
    ];
    routes.extend(more);
    PdServer::start(routes)
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

// ---------------------------------------------------------------------------------------
// Keyspace clusters: GC barriers PD does not serve over HTTP.
// ---------------------------------------------------------------------------------------

/// One keyspace as `GET /pd/api/v2/keyspaces` lists it (tikv/pd:server/apiv2/handlers/keyspace.go).
fn keyspace(id: u32, name: &str, gc_management_type: Option<&str>) -> String {
    let gc = gc_management_type
        .map(|t| format!(r#""gc_management_type":"{t}","#))
        .unwrap_or_default();
    format!(
        r#"{{"id":{id},"name":"{name}","state":"ENABLED","created_at":1704000000,"state_changed_at":1704000000,"config":{{{gc}"tso_keyspace_group_id":"0"}}}}"#
    )
}

fn keyspace_page(keyspaces: &[String], next: &str) -> String {
    format!(
        r#"{{"keyspaces":[{}],"next_page_token":"{next}"}}"#,
        keyspaces.join(",")
    )
}

const UNPROTECTED: &str = "no service safepoint protects the paused checkpoint: GC may pass it at any time and resume would fail";
const CANNOT_SEE: &str = "resume deadline unknown: no service safepoint protects the paused checkpoint, but keyspace-level GC is on for keyspace ks1 (id 1); BR then holds GC back with a per-keyspace GC barrier (pitr_pause_safepoint) that PD serves over no HTTP API, so the check cannot see keyspace barriers";

/// The ndjson summary's `keyspace_level_gc` (raw JSON) of a run.
fn keyspace_field(etcd: &Etcd, pd: &PdServer) -> String {
    let out = run(etcd, pd, &["--format", "ndjson"]);
    let summary = out.stdout.lines().last().unwrap().to_string();
    let value: serde_json::Value = serde_json::from_str(&summary).unwrap();
    value["keyspace_level_gc"].to_string()
}

#[test]
fn a_paused_task_on_a_keyspace_cluster_is_not_critical_for_a_barrier_the_check_cannot_see() {
    // `br log pause` at 01:05 (fixtures/pause-v2-manual.toml); PD's /gc/safepoint lists
    // GC's own entry only: the pause safepoint is a GC barrier of keyspace ks1.
    let etcd = Etcd::start();
    etcd.load(&["pause-v2-manual.toml"]);
    let gc = gc_body(&[]);
    let ks1 = keyspace(1, "ks1", Some("keyspace_level"));
    let default = keyspace(0, "DEFAULT", None);
    let list = |body: String| vec![(testkit::http::KEYSPACES.to_string(), 200, body)];

    // Keyspace-level GC on: the rule says it cannot see the barrier, and stays OK.
    let pd = pd_with(
        gc.clone(),
        list(keyspace_page(&[default.clone(), ks1.clone()], "")),
    );
    let out = run(&etcd, &pd, &[]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stdout.contains(&format!(
            "\n[OK] pitr: PAUSE, paused, checkpoint lag 5m30s; {CANNOT_SEE}\n"
        )),
        "{}",
        out.stdout
    );
    assert_eq!(keyspace_field(&etcd, &pd), r#"[{"id":1,"name":"ks1"}]"#);

    // Found on a later page: the check follows next_page_token.
    let pd = pd_with(
        gc.clone(),
        vec![
            (
                "/pd/api/v2/keyspaces?limit=256".into(),
                200,
                keyspace_page(std::slice::from_ref(&default), "1"),
            ),
            (
                "/pd/api/v2/keyspaces?limit=256&page_token=1".into(),
                200,
                keyspace_page(std::slice::from_ref(&ks1), ""),
            ),
        ],
    );
    let out = run(&etcd, &pd, &[]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(out.stdout.contains(CANNOT_SEE), "{}", out.stdout);

    // A classic cluster: PD lists only keyspaces of the unified GC, or has no keyspace
    // API at all (HTTP 404). No safepoint protects the task: CRITICAL, as ever.
    let unified = keyspace(2, "ks2", Some("unified"));
    for pd in [
        pd_with(
            gc.clone(),
            list(keyspace_page(&[default.clone(), unified], "")),
        ),
        pd_with(gc.clone(), list(keyspace_page(&[], ""))),
        pd_with(gc.clone(), vec![]),
    ] {
        let out = run(&etcd, &pd, &[]);
        assert_eq!(out.code, 2, "{}", out.stdout);
        assert!(
            out.stdout
                .starts_with(&format!("TIDB_LOG_BACKUP CRITICAL - pitr: {UNPROTECTED} |")),
            "{}",
            out.stdout
        );
        assert_eq!(keyspace_field(&etcd, &pd), "[]");
    }

    // The keyspace list fails: nothing rules a barrier out, so CRITICAL, saying why.
    let pd = pd_with(
        gc.clone(),
        vec![(testkit::http::KEYSPACES.into(), 500, "\"boom\"".into())],
    );
    let out = run(&etcd, &pd, &[]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(
        out.stdout.contains(&format!(
            "{UNPROTECTED} (PD's keyspace list unreadable, so keyspace GC barriers cannot be ruled out: HTTP 500 from /pd/api/v2/keyspaces?limit=256)"
        )),
        "{}",
        out.stdout
    );
    assert_eq!(keyspace_field(&etcd, &pd), "null");

    // A pause safepoint PD does list (a keyspace on the unified GC: its barriers are the
    // null keyspace's) is judged as always, keyspace-level GC elsewhere or not.
    let own = gc_body(&[safepoint(
        "pitr_pause_safepoint",
        1_704_157_500,
        446_711_935_795_200_000,
    )]);
    let pd = pd_with(own, list(keyspace_page(&[ks1], "")));
    let out = run(&etcd, &pd, &[]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("resume deadline 2024-01-02 01:05:00 +0000 in 1d0h0m (pitr_pause_safepoint)"),
        "{}",
        out.stdout
    );
}

// ---------------------------------------------------------------------------------------
// Pauses written as errors: the pause safepoint tells an operator's.
// ---------------------------------------------------------------------------------------

#[test]
fn an_error_pause_with_an_operators_text_is_the_operators_only_with_its_pause_safepoint() {
    // fixtures/pause-operator-error.toml: severity ERROR, text "storage migration".
    let etcd = Etcd::start();
    etcd.load(&["pause-operator-error.toml"]);
    let coordinator = safepoint(
        "log-backup-coordinator",
        1_704_157_200,
        446_711_935_795_199_999,
    );
    // No pitr_pause_safepoint: nobody can tell who paused it, so it is a failure.
    let pd = pd_with_gc(gc_body(std::slice::from_ref(&coordinator)));
    let out = run(&etcd, &pd, &[]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(
        out.stdout.starts_with(
            "TIDB_LOG_BACKUP CRITICAL - pitr: task failed: paused with severity ERROR: storage migration |"
        ),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("(origin unknown)"), "{}", out.stdout);
    // With it (what `br log pause` sets first): an operator's pause, OK.
    let own = safepoint(
        "pitr_pause_safepoint",
        1_704_157_500,
        446_711_935_795_200_000,
    );
    let pd = pd_with_gc(gc_body(&[coordinator, own]));
    let out = run(&etcd, &pd, &[]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stdout.starts_with("TIDB_LOG_BACKUP OK - pitr ERROR, paused by an operator with severity ERROR (br log pause, as-error) on br-host: storage migration |"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("(origin operator)"), "{}", out.stdout);
}
