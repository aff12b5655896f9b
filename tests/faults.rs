//! Faults, each against a real etcd (and in-test PD/TiKV servers): the check never hangs,
//! never lies, and always ends with one result within `-t` + 1 s.

use crate::common::check;
use check_tidb_log_backup::snapshot::Kv;
use std::io::Write;
use std::net::TcpListener;
use std::time::{Duration, Instant};
use testkit::{Etcd, PdServer, Route, Run};

const NOW: &str = "2024-01-01T01:05:00Z";

fn timed(args: &[&str]) -> (Run, Duration) {
    let started = Instant::now();
    let run = check(args);
    (run, started.elapsed())
}

fn assert_within(elapsed: Duration, timeout_s: u64) {
    assert!(
        elapsed < Duration::from_secs(timeout_s) + Duration::from_secs(1),
        "took {elapsed:?} with -t {timeout_s}"
    );
}

#[test]
fn etcd_killed_before_the_check_is_unreachable() {
    let mut etcd = Etcd::start();
    etcd.kill();
    let (run, elapsed) = timed(&["--pd", &etcd.endpoint, "-t", "3"]);
    assert_within(elapsed, 3);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stdout.starts_with(&format!(
            "TIDB_LOG_BACKUP CRITICAL - cannot read PD etcd: {}: ",
            etcd.endpoint
        )),
        "{}",
        run.stdout
    );
    assert_eq!(run.stderr, "");
}

#[test]
fn frozen_etcd_times_out_as_unknown_on_time() {
    let etcd = Etcd::start();
    etcd.load(&["v71-running.toml"]);
    etcd.freeze();
    let (run, elapsed) = timed(&["--pd", &etcd.endpoint, "--no-pd-api", "-t", "2"]);
    etcd.thaw();
    assert_within(elapsed, 2);
    assert_eq!(run.code, 3, "{}", run.stdout);
    assert!(
        run.stdout
            .starts_with("TIDB_LOG_BACKUP UNKNOWN - timed out after 2s"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&etcd.endpoint),
        "names the endpoint it waited for: {}",
        run.stdout
    );
    assert_eq!(run.stdout.lines().count(), 1);
}

#[test]
fn dead_then_frozen_then_healthy_endpoint() {
    let frozen = Etcd::start();
    frozen.freeze();
    let healthy = Etcd::start();
    healthy.load(&["v71-running.toml"]);
    let dead = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let pd = format!("127.0.0.1:{dead},{},{}", frozen.endpoint, healthy.endpoint);
    let (run, elapsed) = timed(&["--pd", &pd, "--no-pd-api", "--now", NOW, "-t", "6"]);
    frozen.thaw();
    assert_within(elapsed, 6);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout
            .starts_with("TIDB_LOG_BACKUP OK - pitr NORMAL, checkpoint lag 5m30s |"),
        "{}",
        run.stdout
    );
}

#[test]
fn etcd_restarted_between_two_runs() {
    let mut etcd = Etcd::start();
    etcd.load(&["v71-running.toml"]);
    let endpoint = etcd.endpoint.clone();
    let args = ["--pd", endpoint.as_str(), "--no-pd-api", "--now", NOW];
    assert_eq!(check(&args).code, 0);
    etcd.restart();
    let run = check(&args);
    assert_eq!(run.code, 0, "data survives a restart: {}", run.stdout);
    assert!(run
        .stdout
        .starts_with("TIDB_LOG_BACKUP OK - pitr NORMAL, checkpoint lag 5m30s |"));
}

#[test]
fn pd_http_errors_and_garbage_are_warnings_with_the_reason() {
    let etcd = Etcd::start();
    etcd.load(&["v71-running.toml"]);
    let cases: Vec<(Vec<Route>, &str)> = vec![
        (
            vec![(
                "/pd/api/v1/stores".into(),
                500,
                "[PD:server:ErrServerNotStarted]".into(),
            )],
            "HTTP 500 from /pd/api/v1/stores",
        ),
        (
            vec![(
                "/pd/api/v1/stores".into(),
                200,
                "<html>maintenance</html>".into(),
            )],
            "bad stores JSON",
        ),
        (
            vec![
                (
                    "/pd/api/v1/stores".into(),
                    200,
                    r#"{"count":0,"stores":[]}"#.into(),
                ),
                (
                    "/pd/api/v1/gc/safepoint".into(),
                    200,
                    r#"{"gc_safe_point":"not a number"}"#.into(),
                ),
            ],
            "bad gc/safepoint JSON",
        ),
    ];
    for (routes, want) in cases {
        let pd = PdServer::start(routes);
        let run = check(&[
            "--pd",
            &etcd.endpoint,
            "--pd-api",
            &pd.endpoint,
            "--now",
            NOW,
        ]);
        assert_eq!(run.code, 1, "{}", run.stdout);
        assert!(run.stdout.contains(want), "{want}: {}", run.stdout);
        assert!(
            run.stdout
                .contains("\n[OK] pitr: NORMAL, checkpoint lag 5m30s"),
            "{}",
            run.stdout
        );
    }
}

/// A TiKV status port that sends its headers, then one byte per 200 ms forever.
fn trickling_server() -> (u16, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        if let Some(Ok(mut stream)) = listener.incoming().next() {
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
            // Bounded: at most 50 bytes (10 s), ends early once the client hangs up.
            for _ in 0..50 {
                if stream.write_all(b"#").is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    });
    (port, handle)
}

#[test]
fn a_trickling_tikv_is_named_and_the_deadline_holds() {
    let etcd = Etcd::start();
    etcd.load(&["v71-running.toml"]);
    let (port, _server) = trickling_server();
    let stores = format!(
        r#"{{"count":1,"stores":[{{"store":{{"id":1,"address":"a:20160","status_address":"127.0.0.1:{port}","state_name":"Up"}},"status":{{}}}}]}}"#
    );
    let pd = PdServer::with_stores(stores);
    let state = std::env::temp_dir().join(format!("ctlb-trickle-{}", std::process::id()));
    let (run, elapsed) = timed(&[
        "--pd",
        &etcd.endpoint,
        "--pd-api",
        &pd.endpoint,
        "--now",
        NOW,
        "--throughput",
        "--state-dir",
        state.to_str().unwrap(),
        "-t",
        "3",
    ]);
    let _ = std::fs::remove_dir_all(&state);
    assert_within(elapsed, 3);
    assert_eq!(
        run.code, 0,
        "a slow TiKV never turns the verdict UNKNOWN: {}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("\nmetrics of TiKV store 1 unavailable: "),
        "{}",
        run.stdout
    );
}

#[test]
fn bad_keys_are_named_and_the_other_tasks_still_judged() {
    let etcd = Etcd::start();
    let mut pairs = testkit::fixture::Fixture::load(&testkit::fixture_path("v71-running.toml"))
        .unwrap()
        .pairs(std::time::SystemTime::now())
        .unwrap();
    let kv = |k: &str, v: &[u8]| Kv {
        key: k.as_bytes().to_vec(),
        value: v.to_vec(),
    };
    let good_info = pairs[0].value.clone();
    // Task "bad": its info is fine, every other key is broken in its own way.
    let mut bad_info = good_info.clone();
    let name_at = bad_info
        .windows(6)
        .position(|w| w == b"\x22\x04pitr")
        .unwrap();
    bad_info.splice(name_at..name_at + 6, b"\x22\x03bad".iter().copied());
    pairs.push(kv("/tidb/br-stream/info/bad", &bad_info));
    pairs.push(kv("/tidb/br-stream/storage-checkpoint/bad/1", &[0; 7]));
    pairs.push(kv("/tidb/br-stream/storage-checkpoint/bad/2", &[0; 9]));
    pairs.push(kv("/tidb/br-stream/storage-checkpoint/bad/x3", &[0; 8]));
    pairs.push(kv("/tidb/br-stream/last-error/bad/4", b"\xff\xff\xff"));
    pairs.push(kv("/tidb/br-stream/pause/bad", b"{\"severity\": "));
    // Task "huge": a 1 MiB task info of garbage.
    pairs.push(kv("/tidb/br-stream/info/huge", &vec![0xff; 1 << 20]));
    etcd.load_pairs(&pairs);

    let run = check(&["--pd", &etcd.endpoint, "--no-pd-api", "--now", NOW]);
    // "bad" is paused with a last-error key: ERROR, CRITICAL, whatever else is broken.
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(run.stdout.contains("\n[CRITICAL] bad: ERROR, task failed: a store reported an error that cannot be decoded;"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("\n[UNKNOWN] huge: NORMAL, cannot decode /tidb/br-stream/info/huge"),
        "{}",
        run.stdout
    );
    for key in [
        "cannot decode /tidb/br-stream/storage-checkpoint/bad/1: checkpoint value is 7 bytes, want 8",
        "cannot decode /tidb/br-stream/storage-checkpoint/bad/2: checkpoint value is 9 bytes, want 8",
        "cannot decode /tidb/br-stream/storage-checkpoint/bad/x3: store id 'x3' is not a decimal number",
        "cannot decode /tidb/br-stream/last-error/bad/4: bad StreamBackupError protobuf",
        "cannot decode /tidb/br-stream/pause/bad: invalid PauseV2 JSON",
        "cannot decode /tidb/br-stream/info/huge: bad StreamBackupTaskInfo protobuf",
    ] {
        assert!(run.stdout.contains(key), "{key}\n{}", run.stdout);
    }
    assert!(
        run.stdout
            .contains("\n[OK] pitr: NORMAL, checkpoint lag 5m30s\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.len() <= 8192);
}

#[test]
fn ten_thousand_tasks() {
    let etcd = Etcd::start();
    let info = testkit::fixture::parse_hex(
        "0a161a141a066261636b75702208706974722d6c6f6750011080808080fda8c2990618ffff8fbbbad6adf00d",
    )
    .unwrap();
    let ckpt = (1_704_071_000_000u64 << 18).to_be_bytes().to_vec();
    let mut pairs = vec![Kv {
        key: b"/tidb/br-stream/owner/1".to_vec(),
        value: b"u".to_vec(),
    }];
    for i in 0..10_000 {
        let name = format!("t{i:05}");
        let mut value = info.clone();
        value.push(0x22);
        value.push(name.len() as u8);
        value.extend_from_slice(name.as_bytes());
        pairs.push(Kv {
            key: format!("/tidb/br-stream/info/{name}").into_bytes(),
            value,
        });
        pairs.push(Kv {
            key: format!("/tidb/br-stream/storage-checkpoint/{name}/1").into_bytes(),
            value: ckpt.clone(),
        });
    }
    etcd.load_pairs(&pairs);
    let (run, elapsed) = timed(&[
        "--pd",
        &etcd.endpoint,
        "--no-pd-api",
        "--now",
        NOW,
        "--format",
        "ndjson",
        "-t",
        "20",
    ]);
    assert_within(elapsed, 20);
    assert_eq!(
        run.code,
        0,
        "{}",
        &run.stdout[run.stdout.len().saturating_sub(500)..]
    );
    assert_eq!(run.stdout.lines().count(), 10_001);
    let summary: serde_json::Value =
        serde_json::from_str(run.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(summary["ok"], 10_000);
    let nagios = check(&["--pd", &etcd.endpoint, "--no-pd-api", "--now", NOW]);
    assert!(nagios.stdout.len() <= 8192, "{} bytes", nagios.stdout.len());
    assert!(
        nagios.stdout.starts_with(
            "TIDB_LOG_BACKUP OK - 10000 tasks ok, max checkpoint lag 1m40s (t00000) |"
        ),
        "{}",
        &nagios.stdout[..200]
    );
}
