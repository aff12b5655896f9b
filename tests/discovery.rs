//! Discovery and selection: `--list-tasks` for Icinga `apply for` rules and Director
//! imports, and `--task-match` / `--task-ignore` (whole-name regular expressions).

use crate::common::check;
use testkit::Etcd;

#[test]
fn list_tasks_prints_the_selected_names_and_exits_0() {
    let etcd = Etcd::start();
    etcd.load(&["demo.toml"]);
    let run = check(&["--pd", &etcd.endpoint, "--list-tasks"]);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, "pitr\npitr_archive\npitr_local\n", "")
    );
    let run = check(&[
        "--pd",
        &etcd.endpoint,
        "--list-tasks",
        "--format",
        "ndjson",
        "--task-match",
        "pitr_.*",
        "--task-ignore",
        "pitr_l.*",
    ]);
    assert_eq!(run.code, 0);
    assert_eq!(
        run.stdout,
        "{\"kind\":\"task-list\",\"cluster\":null,\"task\":\"pitr_archive\"}\n"
    );
    // Anchored: "pitr" matches only the task named pitr, not pitr_archive.
    let run = check(&[
        "--pd",
        &etcd.endpoint,
        "--list-tasks",
        "--task-match",
        "pitr",
    ]);
    assert_eq!(run.stdout, "pitr\n");
    // A named task that does not exist is still reported by the check, not the list.
    let run = check(&[
        "--pd",
        &etcd.endpoint,
        "--no-pd-api",
        "--task",
        "nope",
        "--task-ignore",
        "pitr.*",
    ]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(run.stdout.contains("task nope not found"), "{}", run.stdout);
}

#[test]
fn list_tasks_of_an_unreachable_cluster_is_the_usual_failure() {
    let run = check(&["--pd", "127.0.0.1:1", "--list-tasks", "-t", "2"]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stdout.starts_with("TIDB_LOG_BACKUP CRITICAL - "),
        "{}",
        run.stdout
    );
    let run = check(&["--task-match", "("]);
    assert_eq!(run.code, 3);
    assert_eq!(
        run.stdout,
        "TIDB_LOG_BACKUP UNKNOWN - invalid task pattern '(': error: unclosed group\n"
    );
}

/// `--perfdata stores`: one lag item per store, off by default.
#[test]
fn per_store_perfdata_on_request() {
    let etcd = Etcd::start();
    etcd.load(&["v71-running.toml"]);
    let args = [
        "--pd",
        &etcd.endpoint,
        "--no-pd-api",
        "--now",
        "2024-01-01T01:05:00Z",
    ];
    let plain = check(&args);
    assert!(!plain.stdout.contains("_store_1_lag"), "{}", plain.stdout);
    let mut with = args.to_vec();
    with.extend(["--perfdata", "stores"]);
    let run = check(&with);
    assert_eq!(
        run.stdout.lines().next().unwrap(),
        "TIDB_LOG_BACKUP OK - pitr NORMAL, checkpoint lag 5m30s | tasks=1;;;0 pitr_checkpoint_lag=330s;600;1800;0 pitr_paused=0;;;0;1 pitr_store_errors=0;;;0 pitr_auto_pause_in=172500s;43200:;7200:;0 pitr_store_1_lag=360s;;;0 pitr_store_1001_lag=330s;;;0 pitr_store_4_lag=390s;;;0"
    );
    let bad = check(&["--perfdata", "regions"]);
    assert_eq!(bad.code, 3);
}
