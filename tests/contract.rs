//! The contract with the monitoring engine, tested on the built binary: exit codes 0-3 on
//! every path, nothing on stderr, one result even when PD hangs, the deadline holds.

use crate::common::check;
use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};
use testkit::{Etcd, PdServer};

/// A port with nothing listening (bound, then released).
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server that accepts TCP connections and never answers (a frozen PD).
fn silent_server() -> (u16, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let mut held = Vec::new();
        // Bounded: at most a few connections, then the thread ends with the test process.
        for stream in listener.incoming().take(8).flatten() {
            held.push(stream);
        }
    });
    (port, handle)
}

fn assert_one_line(stdout: &str) {
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        !stdout.trim_end().contains('|') || stdout.matches('|').count() == 1,
        "{stdout}"
    );
}

#[test]
fn unreachable_pd_is_critical_by_default_and_configurable() {
    let port = closed_port();
    let pd = format!("127.0.0.1:{port}");
    let run = check(&["--pd", &pd]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stdout.starts_with(&format!(
            "TIDB_LOG_BACKUP CRITICAL - cannot read PD etcd: http://127.0.0.1:{port}: "
        )),
        "{}",
        run.stdout
    );
    assert_one_line(&run.stdout);
    assert_eq!(run.stderr, "");

    let run = check(&["--pd", &pd, "--unreachable-state", "unknown"]);
    assert_eq!(run.code, 3);
    assert!(
        run.stdout
            .starts_with("TIDB_LOG_BACKUP UNKNOWN - cannot read PD etcd"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_frozen_pd_ends_in_unknown_within_the_deadline() {
    let (port, _server) = silent_server();
    let started = Instant::now();
    let run = check(&["--pd", &format!("127.0.0.1:{port}"), "-t", "1"]);
    let elapsed = started.elapsed();
    assert_eq!(run.code, 3, "{}", run.stdout);
    assert!(
        run.stdout
            .starts_with("TIDB_LOG_BACKUP UNKNOWN - timed out after 1s"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!("127.0.0.1:{port}")),
        "names the endpoint: {}",
        run.stdout
    );
    assert!(elapsed < Duration::from_millis(1900), "took {elapsed:?}");
    assert_eq!(run.stderr, "");
}

#[test]
fn endpoints_fail_over_one_at_a_time() {
    let etcd = Etcd::start();
    etcd.load(&["v71-running.toml"]);
    let (frozen, _server) = silent_server();
    let pd = format!("127.0.0.1:{},127.0.0.1:{frozen}", closed_port());
    let api = PdServer::for_fixture("v71-running.toml");
    let run = check(&[
        "--pd",
        &pd,
        "--pd",
        &etcd.endpoint,
        "--pd-api",
        &api.endpoint,
        "--now",
        "2024-01-01T01:05:00Z",
        "-t",
        "6",
    ]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout
            .starts_with("TIDB_LOG_BACKUP OK - pitr NORMAL, checkpoint lag 5m30s |"),
        "{}",
        run.stdout
    );
}

#[test]
fn usage_and_config_errors_are_unknown_on_stdout() {
    let run = check(&["--bogus"]);
    assert_eq!(run.code, 3);
    assert_eq!(
        run.stdout,
        "TIDB_LOG_BACKUP UNKNOWN - usage: unexpected argument '--bogus' found (see --help)\n"
    );
    assert_eq!(run.stderr, "");

    let run = check(&["-w", "20:10"]);
    assert_eq!(run.code, 3);
    assert!(
        run.stdout
            .starts_with("TIDB_LOG_BACKUP UNKNOWN - invalid warning range"),
        "{}",
        run.stdout
    );

    let run = check(&["--format", "ndjson", "--bogus"]);
    assert_eq!(run.code, 3);
    let event: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(event["kind"], "summary");
    assert_eq!(event["state"], "UNKNOWN");

    let dir = std::env::temp_dir().join(format!("ctlb-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.toml");
    std::fs::write(&config, "warning = \"5m\"\ncritcal = \"1h\"\n").unwrap();
    let run = check(&["--config", config.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(run.code, 3);
    assert!(
        run.stdout.contains("critcal") && run.stdout.contains("line 2"),
        "{}",
        run.stdout
    );
    assert_one_line(&run.stdout);
}

#[test]
fn help_and_version_exit_unknown() {
    let run = check(&["--help"]);
    assert_eq!(run.code, 3);
    assert!(run.stdout.contains("Usage: check_tidb_log_backup"));
    let run = check(&["--version"]);
    assert_eq!(run.code, 3);
    assert_eq!(
        run.stdout,
        format!("check_tidb_log_backup {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_panic_is_one_unknown_line_and_exit_3() {
    let mut command = Command::new(env!("CARGO_BIN_EXE_check_tidb_log_backup"));
    let output = testkit::loopback::isolate(&mut command)
        .env("CHECK_TIDB_LOG_BACKUP_TEST_PANIC", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stdout.starts_with(
            "TIDB_LOG_BACKUP UNKNOWN - internal error: test panic requested at src/main.rs:"
        ),
        "{stdout}"
    );
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

#[test]
fn no_task_and_missing_task() {
    let etcd = Etcd::start();
    let run = check(&["--pd", &etcd.endpoint, "--no-pd-api"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stdout, "TIDB_LOG_BACKUP CRITICAL - no log backup task | tasks=0;;;0\n[CRITICAL] no log backup task\n");
    let run = check(&[
        "--pd",
        &etcd.endpoint,
        "--no-pd-api",
        "--no-task-state",
        "ok",
    ]);
    assert_eq!(run.code, 0);
    assert_eq!(
        run.stdout,
        "TIDB_LOG_BACKUP OK - no log backup task | tasks=0;;;0\n"
    );

    etcd.load(&["v71-running.toml"]);
    let run = check(&[
        "--no-pd-api",
        "--pd",
        &etcd.endpoint,
        "--now",
        "2024-01-01T01:05:00Z",
        "--task",
        "pitr",
        "--task",
        "nope",
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stdout
            .starts_with("TIDB_LOG_BACKUP CRITICAL - task nope not found |"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("\n[OK] pitr: NORMAL"), "{}", run.stdout);
}

#[test]
fn wall_clock_run_far_from_thresholds() {
    // Checkpoints relative to now (2 minutes and 3 hours old), thresholds far away.
    let etcd = Etcd::start();
    etcd.load(&["demo.toml"]);
    let run = check(&["--pd", &etcd.endpoint, "--format", "ndjson"]);
    assert_eq!(run.code, 2);
    let states: Vec<(String, String)> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["kind"] == "task")
        .map(|e| {
            (
                e["task"].as_str().unwrap().to_string(),
                e["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected = [
        ("pitr", "OK"),
        ("pitr_archive", "WARNING"),
        ("pitr_local", "CRITICAL"),
    ];
    assert_eq!(
        states,
        expected.map(|(a, b)| (a.to_string(), b.to_string()))
    );
}

#[test]
fn an_unreadable_pd_http_api_warns_and_keeps_the_etcd_verdict() {
    let etcd = Etcd::start();
    etcd.load(&["v71-running.toml"]);
    // etcd answers 404 for PD's paths: the same as a PD whose HTTP API is unreachable.
    let run = check(&["--pd", &etcd.endpoint, "--now", "2024-01-01T01:05:00Z"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.starts_with(&format!(
            "TIDB_LOG_BACKUP WARNING - PD HTTP API unreadable, GC safepoint and store checks skipped: {}: HTTP 404 from /pd/api/v1/stores |",
            etcd.endpoint
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("\n[OK] pitr: NORMAL, checkpoint lag 5m30s\n"),
        "{}",
        run.stdout
    );

    // A PD that answers the stores but not the GC call: only the GC checks are skipped.
    let api = PdServer::start(vec![(
        "/pd/api/v1/stores".into(),
        200,
        std::fs::read_to_string(testkit::fixture_path("pd/stores.json")).unwrap(),
    )]);
    let run = check(&[
        "--pd",
        &etcd.endpoint,
        "--pd-api",
        &api.endpoint,
        "--now",
        "2024-01-01T01:05:00Z",
    ]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("PD GC safepoints unreadable, GC checks skipped"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(" stores_down=0;;0;0 "),
        "{}",
        run.stdout
    );
}

#[test]
fn a_pd_http_api_that_never_answers_cannot_break_the_deadline() {
    let etcd = Etcd::start();
    etcd.load(&["v71-running.toml"]);
    let (frozen, _server) = silent_server();
    let started = Instant::now();
    let run = check(&[
        "--pd",
        &etcd.endpoint,
        "--pd-api",
        &format!("127.0.0.1:{frozen}"),
        "-t",
        "2",
        "--now",
        "2024-01-01T01:05:00Z",
    ]);
    assert!(
        started.elapsed() < Duration::from_millis(2900),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout
            .starts_with("TIDB_LOG_BACKUP WARNING - PD HTTP API unreadable"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("\n[OK] pitr: NORMAL"), "{}", run.stdout);
}
