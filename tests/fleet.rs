//! Fleet mode: three real etcds in one run — healthy, lagging, frozen (SIGSTOP) — all
//! reported, in time, each event tagged with its cluster.

use crate::common::check;
use check_tidb_log_backup::snapshot::Kv;
use std::time::{Duration, Instant};
use testkit::Etcd;

const NOW: &str = "2024-01-01T01:05:00Z";

fn with_cluster_id(etcd: &Etcd, fixture: &str, id: u64) {
    let mut pairs = testkit::fixture::Fixture::load(&testkit::fixture_path(fixture))
        .unwrap()
        .pairs(std::time::SystemTime::now())
        .unwrap();
    pairs.push(Kv {
        key: b"/pd/cluster_id".to_vec(),
        value: id.to_be_bytes().to_vec(),
    });
    etcd.load_pairs(&pairs);
}

struct Fleet {
    _etcds: Vec<Etcd>,
    dir: std::path::PathBuf,
    config: String,
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn fleet(tag: &str) -> Fleet {
    let healthy = Etcd::start();
    with_cluster_id(&healthy, "v71-running.toml", 7001);
    let lagging = Etcd::start();
    with_cluster_id(&lagging, "fresh-task.toml", 7002);
    let frozen = Etcd::start();
    with_cluster_id(&frozen, "v71-running.toml", 7003);
    frozen.freeze();
    let dir = std::env::temp_dir().join(format!("ctlb-fleet-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("fleet.toml");
    std::fs::write(
        &config,
        format!(
            r#"no_pd_api = true
warning = "15m"

[[clusters]]
name = "prod-a"
pd = "{}"

[[clusters]]
name = "prod-b"
pd = "{}"
critical = "2h"        # its own override: 1h5m lag is then only WARNING (> 15m)

[[clusters]]
name = "prod-c"
pd = ["{}"]
"#,
            healthy.endpoint, lagging.endpoint, frozen.endpoint
        ),
    )
    .unwrap();
    Fleet {
        _etcds: vec![healthy, lagging, frozen],
        config: config.to_str().unwrap().to_string(),
        dir,
    }
}

#[test]
fn prometheus_labels_each_cluster_by_name_and_groups_each_family() {
    let fleet = fleet("prometheus");
    let run = check(&[
        "--config",
        &fleet.config,
        "--now",
        NOW,
        "--format",
        "prometheus",
        "-t",
        "3",
    ]);
    assert_eq!((run.code, run.stderr.as_str()), (3, ""), "{}", run.stdout);
    let (ok, complaints) = crate::prometheus::promtool_check(&run.stdout);
    assert!(
        ok && complaints.trim().is_empty(),
        "{complaints}\n{}",
        run.stdout
    );
    for line in [
        "tidb_log_backup_check_success{cluster=\"prod-a\"} 1\n",
        "tidb_log_backup_check_success{cluster=\"prod-b\"} 1\n",
        "tidb_log_backup_check_success{cluster=\"prod-c\"} 0\n",
        "tidb_log_backup_cluster_state{cluster=\"prod-c\"} 3\n",
        "tidb_log_backup_task_state{cluster=\"prod-a\",task=\"pitr\"} 0\n",
        "tidb_log_backup_task_state{cluster=\"prod-b\",task=\"pitr\"} 1\n",
        "tidb_log_backup_checkpoint_lag_seconds{cluster=\"prod-b\",task=\"pitr\"} 3900\n",
    ] {
        assert!(run.stdout.contains(line), "{line} in\n{}", run.stdout);
    }
    // Each family once, its samples together (what the exposition format requires).
    let mut seen = Vec::new();
    let mut last = "";
    for line in run.stdout.lines().filter(|l| !l.starts_with('#')) {
        let name = line.split(['{', ' ']).next().unwrap();
        if name != last {
            assert!(!seen.contains(&name), "{name} split:\n{}", run.stdout);
            seen.push(name);
            last = name;
        }
    }
    // One cluster without a fleet: the cluster label is PD's cluster id.
    let single = Etcd::start();
    with_cluster_id(&single, "v71-running.toml", 7001);
    let run = check(&[
        "--pd",
        &single.endpoint,
        "--no-pd-api",
        "--now",
        NOW,
        "--format",
        "prometheus",
    ]);
    assert!(
        run.stdout
            .contains("tidb_log_backup_task_state{cluster=\"7001\",task=\"pitr\"} 0\n"),
        "{}",
        run.stdout
    );
    // And zabbix-lld's {#CLUSTER} the same.
    let run = check(&[
        "--pd",
        &single.endpoint,
        "--list-tasks",
        "--format",
        "zabbix-lld",
    ]);
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "[{\"{#TASK}\":\"pitr\",\"{#CLUSTER}\":\"7001\"}]\n")
    );
}

#[test]
fn three_clusters_one_frozen_all_reported_in_time() {
    let fleet = fleet("ndjson");
    let started = Instant::now();
    let run = check(&[
        "--config",
        &fleet.config,
        "--now",
        NOW,
        "--format",
        "ndjson",
        "-t",
        "3",
    ]);
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(4), "took {elapsed:?}");
    assert_eq!(
        run.code, 3,
        "frozen cluster: UNKNOWN is the worst here\n{}",
        run.stdout
    );
    let events: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summaries: Vec<(&str, &str, Option<u64>)> = events
        .iter()
        .filter(|e| e["kind"] == "summary")
        .map(|e| {
            (
                e["cluster"].as_str().unwrap(),
                e["state"].as_str().unwrap(),
                e["cluster_id"].as_u64(),
            )
        })
        .collect();
    assert_eq!(
        summaries,
        vec![
            ("prod-a", "OK", Some(7001)),
            ("prod-b", "WARNING", Some(7002)),
            ("prod-c", "UNKNOWN", None)
        ]
    );
    let tasks: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e["kind"] == "task")
        .map(|e| (e["cluster"].as_str().unwrap(), e["state"].as_str().unwrap()))
        .collect();
    assert_eq!(tasks, vec![("prod-a", "OK"), ("prod-b", "WARNING")]);
    let last = events.last().unwrap();
    assert_eq!(last["kind"], "fleet");
    assert_eq!(
        (
            last["clusters"].as_u64(),
            last["ok"].as_u64(),
            last["warning"].as_u64(),
            last["unknown"].as_u64()
        ),
        (Some(3), Some(1), Some(1), Some(1))
    );
    let frozen = events.iter().find(|e| e["cluster"] == "prod-c").unwrap();
    assert!(
        frozen["error"]
            .as_str()
            .unwrap()
            .starts_with("timed out after 3s: "),
        "{frozen}"
    );
}

#[test]
fn nagios_summarises_the_fleet_worst_first() {
    let fleet = fleet("nagios");
    let run = check(&["--config", &fleet.config, "--now", NOW, "-t", "3"]);
    assert_eq!(run.code, 3, "{}", run.stdout);
    let first = run.stdout.lines().next().unwrap();
    assert!(
        first.starts_with("TIDB_LOG_BACKUP UNKNOWN - prod-c: timed out after 3s: "),
        "{first}"
    );
    assert!(first.contains("; prod-b: pitr: checkpoint lag 1h5m0s > 15m0s (3 clusters: 1 unknown, 1 warning, 1 ok) | "), "{first}");
    let perf = first.split_once(" | ").unwrap().1;
    // "prod-a" is not a valid label: sanitised, with a short hash of the real name (stable).
    assert!(
        perf.starts_with("clusters=3;;;0 prod_a_700bca0e_tasks=1;;;0 prod_b_700bc85b_tasks=1;;;0 "),
        "{perf}"
    );
    assert!(
        perf.contains(" prod_a_700bca0e_pitr_checkpoint_lag=330s;900;1800;0 "),
        "{perf}"
    );
    assert!(
        perf.contains(" prod_b_700bc85b_pitr_checkpoint_lag=3900s;900;7200;0 "),
        "{perf}"
    );
    assert!(perf.split(' ').all(|i| i
        .split('=')
        .next()
        .unwrap()
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')));
    let lines: Vec<&str> = run.stdout.lines().skip(1).collect();
    assert!(
        lines[0].starts_with("[UNKNOWN] cluster prod-c: timed out"),
        "{lines:?}"
    );
    assert_eq!(
        lines[1],
        "[WARNING] cluster prod-b (PD cluster id 7002): pitr: checkpoint lag 1h5m0s > 15m0s"
    );
    assert_eq!(
        lines[2],
        "  [WARNING] pitr: NORMAL, checkpoint lag 1h5m0s > 15m0s; never advanced since start_ts: the advancer may skip the task (restart the TiDB owning it) or the initial scan is long"
    );
    assert_eq!(
        lines[3],
        "[OK] cluster prod-a (PD cluster id 7001): pitr NORMAL, checkpoint lag 5m30s"
    );
    assert!(run.stdout.len() <= 8192);

    // --cluster picks some; br-json needs exactly one.
    let run = check(&[
        "--config",
        &fleet.config,
        "--now",
        NOW,
        "--cluster",
        "prod-a",
        "--format",
        "br-json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout.starts_with("[{\"name\":\"pitr\","),
        "{}",
        run.stdout
    );
    // A set-up error in br-json mode follows BR: stderr and exit 1, stdout empty.
    let run = check(&["--config", &fleet.config, "--format", "br-json"]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains("br-json shows one cluster"),
        "{}",
        run.stderr
    );
    let run = check(&["--config", &fleet.config, "--cluster", "nope"]);
    assert_eq!(run.code, 3);
    assert!(
        run.stdout
            .contains("--cluster nope: no such [[clusters]] entry"),
        "{}",
        run.stdout
    );
}
