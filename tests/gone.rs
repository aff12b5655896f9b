//! A task that disappears (`br log stop` removes every key of it): reported as GONE for
//! `--gone-for` by runs that keep the state file, then forgotten; never by `--no-state`
//! or a `--now` replay, never on a first run, never when etcd could not be read.

use crate::common::check;
use testkit::Etcd;

fn demo_pairs() -> Vec<check_tidb_log_backup::snapshot::Kv> {
    testkit::Fixture::load(&testkit::fixture_path("demo.toml"))
        .unwrap()
        .pairs(std::time::SystemTime::now())
        .unwrap()
}

/// demo.toml without any key of `task`.
fn without(task: &str) -> Vec<check_tidb_log_backup::snapshot::Kv> {
    demo_pairs()
        .into_iter()
        .filter(|kv| {
            let key = String::from_utf8_lossy(&kv.key);
            !key.split('/').any(|segment| segment == task)
        })
        .collect()
}

fn events(run: &testkit::Run) -> Vec<serde_json::Value> {
    run.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn gone_events(run: &testkit::Run) -> Vec<serde_json::Value> {
    events(run)
        .into_iter()
        .filter(|e| e["kind"] == "task" && e["status"] == "GONE")
        .collect()
}

#[test]
fn a_stopped_task_is_reported_gone_then_forgotten() {
    let etcd = Etcd::start();
    let dir = std::env::temp_dir().join(format!("ctlb-gone-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let state = dir.to_str().unwrap();
    let args = |extra: &[&'static str]| -> Vec<String> {
        let mut a: Vec<String> = [
            "--pd",
            &etcd.endpoint,
            "--no-pd-api",
            "--state-dir",
            state,
            "--format",
            "ndjson",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let run = |extra: &[&'static str]| {
        let a = args(extra);
        check(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };

    etcd.load_pairs(&demo_pairs());
    let first = run(&[]);
    assert!(
        gone_events(&first).is_empty(),
        "first run: {}",
        first.stdout
    );

    // br log stop pitr_archive: every key of it is gone, the other tasks stay.
    etcd.load_pairs(&without("pitr_archive"));
    for replay in [&["--no-state"][..], &["--now", "2030-01-01T00:00:00Z"][..]] {
        let r = run(replay);
        assert!(gone_events(&r).is_empty(), "{replay:?}: {}", r.stdout);
    }
    let second = run(&[]);
    let gone = gone_events(&second);
    assert_eq!(gone.len(), 1, "{}", second.stdout);
    assert_eq!(gone[0]["task"], "pitr_archive");
    assert_eq!(gone[0]["state"], "WARNING");
    let reason = gone[0]["reasons"][0].as_str().unwrap();
    assert!(
        reason.starts_with("log backup task pitr_archive no longer exists (last seen ")
            && reason.ends_with("): stopped with br log stop?"),
        "{reason}"
    );
    let summary = events(&second).pop().unwrap();
    assert_eq!(summary["kind"], "summary");
    assert!(summary["warning"].as_u64().unwrap() >= 1, "{summary}");

    // The nagios output names it too; BR's own formats do not know it.
    let nagios = check(&["--pd", &etcd.endpoint, "--no-pd-api", "--state-dir", state]);
    assert!(
        nagios
            .stdout
            .contains("\n[WARNING] pitr_archive: GONE, log backup task pitr_archive no longer exists (last seen "),
        "{}",
        nagios.stdout
    );
    let br = check(&[
        "--pd",
        &etcd.endpoint,
        "--no-pd-api",
        "--state-dir",
        state,
        "--format",
        "br-json",
    ]);
    assert!(!br.stdout.contains("pitr_archive"), "{}", br.stdout);

    // Past --gone-for it is forgotten, and stays forgotten.
    let forgotten = run(&["--gone-for", "0s"]);
    assert!(gone_events(&forgotten).is_empty(), "{}", forgotten.stdout);
    let after = run(&[]);
    assert!(gone_events(&after).is_empty(), "{}", after.stdout);
    let _ = std::fs::remove_dir_all(&dir);
}

/// etcd that cannot be read is never "every task gone".
#[test]
fn an_unreadable_etcd_is_not_a_task_gone() {
    let etcd = Etcd::start();
    etcd.load_pairs(&demo_pairs());
    let dir = std::env::temp_dir().join(format!("ctlb-gone-down-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let state = dir.to_str().unwrap();
    let base = ["--no-pd-api", "--state-dir", state, "--format", "ndjson"];
    let ok = check(&[&["--pd", &etcd.endpoint][..], &base].concat());
    assert_eq!(ok.code, 2, "{}", ok.stdout);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let down = check(&[&["--pd", &dead, "-t", "2"][..], &base].concat());
    assert!(gone_events(&down).is_empty(), "{}", down.stdout);
    // And the next readable run still knows every task.
    let again = check(&[&["--pd", &etcd.endpoint][..], &base].concat());
    assert!(gone_events(&again).is_empty(), "{}", again.stdout);
    let _ = std::fs::remove_dir_all(&dir);
}
