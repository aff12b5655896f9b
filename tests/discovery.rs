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
