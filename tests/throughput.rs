//! `--throughput` end to end: real etcd, PD's stores served with status addresses that
//! point at in-test TiKV `/metrics` servers, and the state file between runs.

use crate::common::check;
use testkit::{Etcd, PdServer};

const NOW: &str = "2024-01-01T01:05:00Z";

/// A TiKV `/metrics` body in the exact text format (histogram, labels, Go exponents).
fn metrics(kv_events: u64, fatal: u64, status: u8) -> String {
    format!(
        "# HELP tikv_log_backup_handle_kv_batch The total kv pair change handle by the stream backup
# TYPE tikv_log_backup_handle_kv_batch histogram
tikv_log_backup_handle_kv_batch_bucket{{le=\"1\"}} 48211
tikv_log_backup_handle_kv_batch_bucket{{le=\"+Inf\"}} 70015
tikv_log_backup_handle_kv_batch_sum {kv_events}
tikv_log_backup_handle_kv_batch_count 70015
# HELP tikv_log_backup_fatal_errors The errors during stream backup.
# TYPE tikv_log_backup_fatal_errors counter
tikv_log_backup_fatal_errors{{type=\"KV:LogBackup:Io\"}} {fatal}
# HELP tikv_log_backup_store_checkpoint_ts The checkpoint ts (next backup ts) of task
# TYPE tikv_log_backup_store_checkpoint_ts gauge
tikv_log_backup_store_checkpoint_ts{{task=\"pitr\"}} 4.4671192793088e+17
# HELP tikv_log_backup_task_status The status of tasks
# TYPE tikv_log_backup_task_status gauge
tikv_log_backup_task_status{{task=\"pitr\"}} {status}
"
    )
}

/// `body` plus the series that inform: retryable errors, saved flushes (count and seconds)
/// and the initial-scan backlog, in TiKV's exact exposition.
fn with_progress(
    body: String,
    raft_req: u64,
    flushes: u64,
    flush_sum: f64,
    pending: u64,
) -> String {
    format!(
        "{body}# HELP tikv_log_backup_errors The errors during stream backup.
# TYPE tikv_log_backup_errors counter
tikv_log_backup_errors{{type=\"KV:LogBackup:RaftReq\"}} {raft_req}
# HELP tikv_log_backup_flush_duration_sec The time cost of flushing a task.
# TYPE tikv_log_backup_flush_duration_sec histogram
tikv_log_backup_flush_duration_sec_bucket{{stage=\"save_files\",le=\"+Inf\"}} {flushes}
tikv_log_backup_flush_duration_sec_sum{{stage=\"save_files\"}} {flush_sum}
tikv_log_backup_flush_duration_sec_count{{stage=\"save_files\"}} {flushes}
# HELP tikv_log_backup_pending_initial_scan The pending initial scan
# TYPE tikv_log_backup_pending_initial_scan gauge
tikv_log_backup_pending_initial_scan{{stage=\"executing\"}} 0
tikv_log_backup_pending_initial_scan{{stage=\"queuing\"}} {pending}
"
    )
}

/// TiKV servers for stores 1 and 4 with the given bodies, and a PD listing them (plus a
/// store 1001 whose status port is closed) with the default GC safepoints.
fn cluster(bodies: [String; 2]) -> (Vec<PdServer>, PdServer) {
    let gc = std::fs::read_to_string(testkit::fixture_path("pd/gc_safepoint.json")).unwrap();
    cluster_with_gc(bodies, gc)
}

/// [`cluster`] with PD serving `gc` as its GC safepoints.
fn cluster_with_gc(bodies: [String; 2], gc: String) -> (Vec<PdServer>, PdServer) {
    let tikvs: Vec<PdServer> = bodies
        .into_iter()
        .map(|b| PdServer::start(vec![("/metrics".into(), 200, b)]))
        .collect();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = |s: &PdServer| s.endpoint.trim_start_matches("http://").to_string();
    let stores = format!(
        r#"{{"count":3,"stores":[{{"store":{{"id":1,"address":"a:20160","status_address":"{}","state_name":"Up"}},"status":{{}}}},{{"store":{{"id":4,"address":"b:20160","status_address":"{}","state_name":"Up"}},"status":{{}}}},{{"store":{{"id":1001,"address":"c:20160","status_address":"127.0.0.1:{closed}","state_name":"Up"}},"status":{{}}}}]}}"#,
        addr(&tikvs[0]),
        addr(&tikvs[1])
    );
    let pd = PdServer::start(vec![
        ("/pd/api/v1/stores".into(), 200, stores),
        ("/pd/api/v1/gc/safepoint".into(), 200, gc),
    ]);
    (tikvs, pd)
}

/// Runs that keep the state file cannot be `--now` replays (a replay never touches it), so
/// they judge at the wall clock: v71-running.toml's task with its checkpoints a minute or
/// two old, and PD's safepoints refreshed as a healthy advancer refreshes them.
fn load_live(etcd: &Etcd) -> String {
    use check_tidb_log_backup::tso;
    let now_ms = tso::unix_ms(std::time::SystemTime::now());
    let ago = |secs: u64| tso::from_physical_ms(now_ms - secs * 1000);
    let pairs: Vec<_> = fixture_pairs("v71-running.toml")
        .into_iter()
        .map(|mut kv| {
            let key = String::from_utf8_lossy(&kv.key).into_owned();
            if key.ends_with("/central_global") {
                kv.value = ago(60).to_be_bytes().to_vec();
            } else if let Some(store) = key.strip_prefix("/tidb/br-stream/storage-checkpoint/pitr/")
            {
                let secs = match store {
                    "4" => 150,
                    "1" => 120,
                    _ => 90,
                };
                kv.value = ago(secs).to_be_bytes().to_vec();
            }
            kv
        })
        .collect();
    etcd.load_pairs(&pairs);
    // The coordinator's safepoint sits just before the global checkpoint, refreshed a
    // minute ago with its 24 h TTL; GC itself is 10 minutes behind.
    format!(
        r#"{{"service_gc_safe_points":[{{"service_id":"gc_worker","expired_at":9223372036854775807,"safe_point":{gc}}},{{"service_id":"log-backup-coordinator","expired_at":{expires},"safe_point":{coordinator}}}],"min_service_gc_safe_point":{gc},"gc_safe_point":{gc}}}"#,
        gc = ago(600),
        coordinator = ago(150) - 1,
        expires = now_ms / 1000 + 24 * 3600 - 60,
    )
}

/// [`run`] at the wall clock, keeping the state file in `state_dir`.
fn run_live(pd: &PdServer, etcd: &Etcd, state_dir: &str, extra: &[&str]) -> testkit::Run {
    let mut args = vec![
        "--pd",
        &etcd.endpoint,
        "--pd-api",
        &pd.endpoint,
        "--throughput",
        "--state-dir",
        state_dir,
        "-v",
    ];
    args.extend_from_slice(extra);
    check(&args)
}

fn run(etcd: &Etcd, pd: &PdServer, state_dir: &str, extra: &[&str]) -> testkit::Run {
    let mut args = vec![
        "--pd",
        &etcd.endpoint,
        "--pd-api",
        &pd.endpoint,
        "--now",
        NOW,
        "--throughput",
        "--state-dir",
        state_dir,
        "-v",
    ];
    args.extend_from_slice(extra);
    check(&args)
}

/// A fixture's keys, to load together with keys of the test's own (loading replaces all).
fn fixture_pairs(file: &str) -> Vec<check_tidb_log_backup::snapshot::Kv> {
    testkit::Fixture::load(&testkit::fixture_path(file))
        .unwrap()
        .pairs(std::time::SystemTime::now())
        .unwrap()
}

fn perf_value(stdout: &str, label: &str) -> Option<f64> {
    let perf = stdout.lines().next()?.split_once(" | ")?.1;
    perf.split(' ')
        .find_map(|item| item.strip_prefix(&format!("{label}=")))
        .map(|v| v.split(';').next().unwrap().parse().unwrap())
}

#[test]
fn rates_come_from_the_previous_run_and_tikv_failures_are_critical() {
    let etcd = Etcd::start();
    let gc = load_live(&etcd);
    let dir = std::env::temp_dir().join(format!("ctlb-tput-{}", std::process::id()));
    let state_dir = dir.to_str().unwrap();

    // First run: no previous sample, so no rate; store 1001's metrics cannot be read.
    let (_tikvs, pd) = cluster_with_gc(
        [
            with_progress(metrics(1000, 0, 0), 10, 100, 50.0, 0),
            with_progress(metrics(5000, 0, 0), 0, 90, 45.0, 0),
        ],
        gc.clone(),
    );
    let first = run_live(&pd, &etcd, state_dir, &[]);
    assert_eq!(first.code, 0, "{}", first.stdout);
    assert_eq!(
        perf_value(&first.stdout, "kv_events_per_second"),
        None,
        "{}",
        first.stdout
    );
    assert!(
        first
            .stdout
            .contains("\nfirst throughput sample: no rate yet (or use --sample)\n"),
        "{}",
        first.stdout
    );
    assert!(
        first
            .stdout
            .contains("\nmetrics of TiKV store 1001 unavailable: "),
        "{}",
        first.stdout
    );
    assert_eq!(first.stderr, "");

    // Second run: counters went up (store 4 restarted: its counter is lower) -> a rate;
    // store 1 hit 5 more retryable errors and saved 4 flushes in 6 s, store 4 has a backlog.
    let (_tikvs, pd) = cluster_with_gc(
        [
            with_progress(metrics(3000, 0, 0), 15, 104, 56.0, 0),
            with_progress(metrics(400, 0, 0), 0, 2, 1.0, 30),
        ],
        gc.clone(),
    );
    let second = run_live(&pd, &etcd, state_dir, &[]);
    assert_eq!(second.code, 0, "{}", second.stdout);
    let rate =
        perf_value(&second.stdout, "kv_events_per_second").expect("a rate on the second run");
    assert!(rate > 0.0, "{}", second.stdout);
    assert!(
        second.stdout.contains("\nstore 1 kv events "),
        "per-store rate at -v: {}",
        second.stdout
    );
    for line in [
        "sampled 2 of 3 stores",
        "retryable log backup errors since the last check: KV:LogBackup:RaftReq +5 (most on store 1)",
        "6 flushes since the last check, 1.17s each on average, slowest store 1 at 1.5s",
        "initial scan pending for 30 regions on 1 store",
    ] {
        assert!(
            second.stdout.contains(&format!("\n{line}\n")),
            "{line}: {}",
            second.stdout
        );
    }
    assert_eq!(perf_value(&second.stdout, "retryable_errors"), Some(5.0));
    assert_eq!(
        perf_value(&second.stdout, "pending_initial_scan"),
        Some(30.0)
    );

    // Third run: a new fatal error on store 1 and task status 2 on store 4, while etcd says NORMAL.
    let (_tikvs, pd) = cluster_with_gc([metrics(3500, 1, 0), metrics(600, 0, 2)], gc.clone());
    let third = run_live(&pd, &etcd, state_dir, &["--format", "ndjson"]);
    assert_eq!(third.code, 2, "{}", third.stdout);
    let task: serde_json::Value =
        serde_json::from_str(third.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(task["status"], "NORMAL");
    assert_eq!(task["state"], "CRITICAL");
    let reasons: Vec<&str> = task["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(
        reasons.contains(&"TiKV store 1 logged 1 new fatal log backup errors since the last check"),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&"TiKV store 4 reports the task in error (tikv_log_backup_task_status 2)"),
        "{reasons:?}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(third.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(summary["store_metrics"][2]["store_id"], 1001);
    assert!(summary["store_metrics"][2]["error"].is_string());

    // A corrupt state file is replaced, never fatal.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            std::fs::write(&path, "garbage").unwrap();
        }
    }
    let (_tikvs, pd) = cluster_with_gc([metrics(3500, 1, 0), metrics(600, 0, 0)], gc.clone());
    let fourth = run_live(&pd, &etcd, state_dir, &[]);
    assert_eq!(fourth.code, 0, "{}", fourth.stdout);
    assert!(
        fourth.stdout.contains("first throughput sample"),
        "{}",
        fourth.stdout
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sample_takes_two_samples_on_the_first_run() {
    let etcd = Etcd::start();
    etcd.load(&["v71-running.toml"]);
    let dir = std::env::temp_dir().join(format!("ctlb-tput-sample-{}", std::process::id()));
    let (_tikvs, pd) = cluster([metrics(1000, 0, 0), metrics(5000, 0, 0)]);
    let run = run(&etcd, &pd, dir.to_str().unwrap(), &["--sample", "200ms"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    // A --now replay keeps no state: the rate came from the two samples of this run.
    assert!(!dir.exists(), "a --now replay wrote {}", dir.display());
    // Unchanged counters between the two samples: a real rate of 0, not a placeholder.
    assert_eq!(
        perf_value(&run.stdout, "kv_events_per_second"),
        Some(0.0),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("no rate yet"), "{}", run.stdout);
}

#[test]
fn an_unwritable_state_dir_is_a_note_not_a_failure() {
    let etcd = Etcd::start();
    let gc = load_live(&etcd);
    let (_tikvs, pd) = cluster_with_gc([metrics(1000, 0, 0), metrics(5000, 0, 0)], gc);
    let run = run_live(&pd, &etcd, "/proc/ctlb-cannot-write-here", &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(
        run.stdout
            .matches("state directory /proc/ctlb-cannot-write-here: cannot create it: ")
            .count(),
        1,
        "one note: {}",
        run.stdout
    );
    assert_eq!(run.stderr, "");
}

/// Every run keeps the tasks' checkpoints (not only with --throughput): the second run
/// knows the rate; --no-state and a --now replay keep nothing.
#[test]
fn every_run_keeps_the_checkpoints_for_the_rate() {
    let etcd = Etcd::start();
    etcd.load(&["demo.toml"]);
    let dir = std::env::temp_dir().join(format!("ctlb-progress-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let state = dir.to_str().unwrap();
    let args = [
        "--pd",
        &etcd.endpoint,
        "--no-pd-api",
        "--format",
        "ndjson",
        "--state-dir",
        state,
    ];
    let rate = |run: &testkit::Run| -> serde_json::Value {
        let first: serde_json::Value =
            serde_json::from_str(run.stdout.lines().next().unwrap()).unwrap();
        first["checkpoint_rate"].clone()
    };
    let first = crate::common::check(&args);
    assert_eq!(rate(&first), serde_json::Value::Null, "{}", first.stdout);
    let second = crate::common::check(&args);
    // Nothing moved between the runs: 0 seconds of data per second.
    assert_eq!(rate(&second), serde_json::json!(0.0), "{}", second.stdout);
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(
        files
            .iter()
            .filter(|f| f
                .as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|e| e == "json"))
            .count(),
        1
    );
    let _ = std::fs::remove_dir_all(&dir);
    let mut no_state = args.to_vec();
    no_state.push("--no-state");
    assert_eq!(
        rate(&crate::common::check(&no_state)),
        serde_json::Value::Null
    );
    assert!(!dir.exists(), "--no-state wrote {}", dir.display());
    let mut replay = args.to_vec();
    replay.extend(["--now", "2024-01-01T01:05:00Z"]);
    assert_eq!(
        rate(&crate::common::check(&replay)),
        serde_json::Value::Null
    );
    assert!(!dir.exists(), "a --now replay wrote {}", dir.display());
}

/// The TiDBs registered under `/tidb/server/info/` are asked who runs the advancer: the
/// one whose `/metrics` says `tidb_log_backup_advancer_owner 1` is named (its SQL address).
#[test]
fn the_advancer_owner_is_the_tidb_whose_metrics_say_so() {
    let etcd = Etcd::start();
    let gauge = |v: u8| {
        format!(
            "# HELP tidb_log_backup_advancer_owner If the node is the owner of advancers, set this to `1`, otherwise `0`.
# TYPE tidb_log_backup_advancer_owner gauge
tidb_log_backup_advancer_owner {v}
"
        )
    };
    let follower = PdServer::start(vec![("/metrics".into(), 200, gauge(0))]);
    let owner = PdServer::start(vec![("/metrics".into(), 200, gauge(1))]);
    let info = |server: &PdServer, listening: u16| {
        let (ip, port) = server
            .endpoint
            .trim_start_matches("http://")
            .split_once(':')
            .unwrap();
        format!(
            r#"{{"version":"8.0.11-TiDB-v8.5.0","git_hash":"0","ddl_id":"x","ip":"{ip}","listening_port":{listening},"status_port":{port},"lease":"45s","binlog_status":"Off","start_timestamp":1704070800,"labels":{{}},"server_id":1}}"#
        )
    };
    let mut pairs = fixture_pairs("v71-running.toml");
    pairs.extend([
        testkit::encode::kv("/tidb/server/info/0b9a-follower", info(&follower, 4000)),
        testkit::encode::kv("/tidb/server/info/7c1e-owner", info(&owner, 4001)),
    ]);
    etcd.load_pairs(&pairs);
    let (_tikvs, pd) = cluster([metrics(1000, 0, 0), metrics(5000, 0, 0)]);
    let dir = std::env::temp_dir().join(format!("ctlb-owner-{}", std::process::id()));
    let text = run(&etcd, &pd, dir.to_str().unwrap(), &[]);
    assert!(
        text.stdout.starts_with("TIDB_LOG_BACKUP OK - pitr NORMAL"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("\nadvancer owner: TiDB 127.0.0.1:4001\n"),
        "{}",
        text.stdout
    );
    let events = run(&etcd, &pd, dir.to_str().unwrap(), &["--format", "ndjson"]);
    let summary: serde_json::Value =
        serde_json::from_str(events.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(
        summary["advancer_owner"], "127.0.0.1:4001",
        "{}",
        events.stdout
    );

    // Without --throughput no TiDB is asked.
    let plain = check(&crate::golden::format_args(&etcd, &pd, "ndjson"));
    let summary: serde_json::Value =
        serde_json::from_str(plain.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(summary["advancer_owner"], serde_json::Value::Null);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The `--throughput` signals in exact output: a task lagging at start_ts while two
/// TiKVs still have regions in their initial scan, one TiDB owning the advancer, the
/// first sample (no rate yet: rates depend on the wall time between runs).
#[test]
fn throughput_signals_match_their_golden_files() {
    let etcd = Etcd::start();
    let tikvs: Vec<PdServer> = [(0, 120), (3, 6)]
        .into_iter()
        .map(|(raft_req, pending)| {
            let body = with_progress(metrics(1000, 0, 0), raft_req, 90, 45.0, pending);
            PdServer::start(vec![("/metrics".into(), 200, body)])
        })
        .collect();
    let addr = |s: &PdServer| s.endpoint.trim_start_matches("http://").to_string();
    let stores = format!(
        r#"{{"count":2,"stores":[{{"store":{{"id":1,"address":"a:20160","status_address":"{}","state_name":"Up"}},"status":{{}}}},{{"store":{{"id":4,"address":"b:20160","status_address":"{}","state_name":"Up"}},"status":{{}}}}]}}"#,
        addr(&tikvs[0]),
        addr(&tikvs[1])
    );
    // fresh-task's own GC safepoints (10 min of margin), with these stores.
    let gc = testkit::Fixture::load(&testkit::fixture_path("fresh-task.toml"))
        .unwrap()
        .pd
        .gc_safepoint
        .unwrap();
    let pd = PdServer::start(vec![
        ("/pd/api/v1/stores".into(), 200, stores),
        ("/pd/api/v1/gc/safepoint".into(), 200, gc),
    ]);
    let tidb = PdServer::start(vec![(
        "/metrics".into(),
        200,
        "tidb_log_backup_advancer_owner 1\n".into(),
    )]);
    let (ip, port) = addr(&tidb)
        .split_once(':')
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .unwrap();
    let mut pairs = fixture_pairs("fresh-task.toml");
    pairs.push(testkit::encode::kv(
        "/tidb/server/info/7c1e",
        format!(r#"{{"ip":"{ip}","listening_port":4000,"status_port":{port}}}"#),
    ));
    etcd.load_pairs(&pairs);
    for format in ["nagios", "ndjson"] {
        let dir =
            std::env::temp_dir().join(format!("ctlb-tput-golden-{format}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let run = run(&etcd, &pd, dir.to_str().unwrap(), &["--format", format]);
        assert_eq!(run.stderr, "");
        crate::golden::assert_golden(
            &format!("throughput.{format}"),
            &format!(
                "exit={}\n{}",
                run.code,
                crate::golden::normalize(&run.stdout)
            ),
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// `--no-state` and a `--now` replay neither read nor write the state file, with
/// `--throughput` too: after a run that kept a sample, both still say "no rate yet" and
/// leave the file as it was.
#[test]
fn no_state_and_replays_neither_read_nor_write_the_state_file() {
    let etcd = Etcd::start();
    let gc = load_live(&etcd);
    let (_tikvs, pd) = cluster_with_gc([metrics(1000, 0, 0), metrics(5000, 0, 0)], gc);
    let dir = std::env::temp_dir().join(format!("ctlb-tput-untouched-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let state_dir = dir.to_str().unwrap();
    let kept = run_live(&pd, &etcd, state_dir, &[]);
    assert_eq!(kept.code, 0, "{}", kept.stdout);
    let files = |dir: &std::path::Path| -> Vec<(std::path::PathBuf, Vec<u8>)> {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
            .collect();
        files.sort();
        files
    };
    let before = files(&dir);
    assert!(
        before
            .iter()
            .any(|(p, _)| p.extension().is_some_and(|e| e == "json")),
        "{before:?}"
    );
    for extra in [&["--no-state"][..], &["--now", NOW][..]] {
        let run = run_live(&pd, &etcd, state_dir, extra);
        assert!(
            run.stdout
                .contains("\nfirst throughput sample: no rate yet"),
            "{extra:?} read the previous sample: {}",
            run.stdout
        );
        assert_eq!(files(&dir), before, "{extra:?} wrote the state directory");
        assert_eq!(run.stderr, "");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
