//! `--storage`'s control objects end to end, on a local directory and on S3 (moto behind
//! the recording proxy), with the etcd of `fixtures/v71-running.toml`: the migration
//! layers (restorable_from as BR's `Load` merges them), the locks (their ages from the
//! listing) and the CRR resume state (restorable_to as the newest BR takes it); and the
//! storage URLs BR's `ParseBackend` accepts.

use crate::common::{check_env, check_in};
use std::time::{Duration, SystemTime};
use testkit::encode::{tso_at, tso_rfc3339 as at, tso_span, tso_time};
use testkit::layout::LogStorage;
use testkit::recorder::Recorder;
use testkit::sink::{set_modified, Sink, TempDir};
use testkit::{Etcd, Run};

const NOW: &str = "2024-01-01T01:05:00Z";
const READ_LOCK: &str = "v1/LOCK.READ.00000000deadbeef";

/// Task `pitr`'s log storage: started 00:00, the safepoint file at 00:10, BASE truncated
/// to 00:05; a truncation's layer to 00:20 not merged into BASE, and a compaction's
/// layer; one checkpoint file at 00:59:30 (etcd's newest); `truncating.lock` and a read
/// lock; and a CRR resume state at `resume`.
fn layout(resume: &str) -> testkit::store::Objects {
    LogStorage::new(at("2024-01-01T00:00:00Z"))
        .restarted()
        .safepoint(at("2024-01-01T00:10:00Z"))
        .migration_truncated_to(at("2024-01-01T00:05:00Z"))
        .layer_truncated_to(3, at("2024-01-01T00:20:00Z"))
        .compaction_layer(4, at("2024-01-01T00:00:00Z"), at("2024-01-01T00:30:00Z"))
        .checkpoint(1001, at("2024-01-01T00:59:30Z"))
        .lock("truncating.lock", "br log truncate")
        .lock(READ_LOCK, "restore")
        .resume_state(at(resume))
        .objects()
}

fn run_at(etcd: &Etcd, config: &str, now: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "--pd",
        &etcd.endpoint,
        "--no-pd-api",
        "--now",
        now,
        "--config",
        config,
    ];
    args.extend_from_slice(extra);
    check_env(&args, &[])
}

fn ndjson_task(run: &Run) -> serde_json::Value {
    serde_json::from_str(run.stdout.lines().next().unwrap()).unwrap()
}

fn reasons(task: &serde_json::Value) -> Vec<String> {
    task["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect()
}

fn set_time(root: &std::path::Path, key: &str, time: &str) {
    let ms = testkit::encode::tso_unix_ms(at(time));
    set_modified(
        root,
        "",
        key,
        SystemTime::UNIX_EPOCH + Duration::from_millis(ms),
    );
}

/// The three control objects of a local log storage, and what each rule makes of them.
#[test]
fn layers_locks_and_resume_state_on_a_local_storage() {
    let etcd = Etcd::start();
    etcd.load(&["v71-running.toml"]);
    let dir = TempDir::new("storage-control");
    let root = dir.path.join("log");
    Sink::Dir(&root).write("", &layout("2024-01-01T00:58:00Z"));
    set_time(&root, "truncating.lock", "2024-01-01T00:00:00Z");
    set_time(&root, READ_LOCK, "2024-01-01T00:55:00Z");
    let config = dir.storage_config(&format!("url = \"local://{}\"", root.display()));

    let out = run_at(&etcd, &config, NOW, &["--format", "ndjson"]);
    let t = ndjson_task(&out);
    assert_eq!(t["storage_state"], "ok", "{}", out.stdout);
    // restorable_from: the layer's 00:20, past BASE (00:05) and the safepoint (00:10).
    assert_eq!(t["migration_layers"], 2);
    assert_eq!(t["truncate_ts"], at("2024-01-01T00:20:00Z"));
    assert_eq!(t["restorable_from"], "2024-01-01T00:20:00.000Z");
    // restorable_to: the resume state's 00:58, not the checkpoint file's 00:59:30.
    assert_eq!(t["resume_state_checkpoint_ts"], at("2024-01-01T00:58:00Z"));
    assert_eq!(t["storage_checkpoint_ts"], at("2024-01-01T00:59:30Z"));
    assert_eq!(t["restorable_to"], "2024-01-01T00:58:00.000Z");
    assert_eq!(t["restorable_window_seconds"], 38 * 60);
    assert_eq!(
        t["storage_locks"],
        serde_json::json!([
            {"name": "truncating.lock", "age_seconds": 3900},
            {"name": READ_LOCK, "age_seconds": 600},
        ])
    );
    // Tier A (4 + 1 .ts), the freshness LIST, and the control reads: the LIST of
    // v1/migrations/ and a GET of each of its 2 layers, the GET of truncating.lock, the
    // listing of v1/ and the GET of the resume state.
    assert_eq!(t["storage_requests"], 12);
    let url = format!("local://{}", root.display());
    assert_eq!(
        reasons(&t),
        [
            // Worst first.
            format!("{url}: lock truncating.lock is 1h5m0s old, over 1h0m0s: left by br log truncate that died? It blocks the next truncation and compaction until removed"),
            "checkpoint lag 5m30s".to_string(),
            format!("{url}: migration layer v1/migrations/00000003_{:016X}.mgrt truncates to 2024-01-01 00:20:00 +0000, past BASE and the safepoint file: a truncation not merged into BASE yet (BR counts it)", at("2024-01-01T00:20:00Z")),
            format!("{url}: lock {READ_LOCK} held for 10m0s: a restore or a compaction is running"),
            format!("restorable to 2024-01-01 00:58:00 +0000 as BR takes it from crr-checkpoint/resume-state.json in {url} (the checkpoint files reach 2024-01-01 00:59:30 +0000)"),
        ],
        "{}",
        out.stdout
    );
    // The stale lock is the one WARNING.
    let out = run_at(&etcd, &config, NOW, &[]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout.starts_with("TIDB_LOG_BACKUP WARNING - pitr: "),
        "{}",
        out.stdout
    );
    let out = run_at(&etcd, &config, NOW, &["--storage-lock-stale", "2h"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("lock truncating.lock held for 1h5m0s: br log truncate is running"),
        "{}",
        out.stdout
    );

    // A resume state ahead of every checkpoint file: BR would accept restore points
    // nothing proves.
    let ahead = LogStorage::new(0)
        .without_backupmeta()
        .resume_state(at("2024-01-01T01:02:00Z"));
    Sink::Dir(&root).write("", &ahead.objects());
    let out = run_at(
        &etcd,
        &config,
        NOW,
        &["--storage-lock-stale", "2h", "--format", "ndjson"],
    );
    let t = ndjson_task(&out);
    assert_eq!(t["restorable_to"], "2024-01-01T01:02:00.000Z");
    assert_eq!(t["state"], "WARNING", "{}", out.stdout);
    assert!(
        reasons(&t).contains(&format!("BR would accept restore points up to 2024-01-01 01:02:00 +0000 that the storage's checkpoint files do not prove (only up to 2024-01-01 00:59:30 +0000): crr-checkpoint/resume-state.json in {url} from another replication lineage?")),
        "{}",
        out.stdout
    );

    // A layer BR's `Load` cannot decode: the storage cannot be read as BR reads it.
    Sink::Dir(&root).write(
        "",
        &[("v1/migrations/00000009_BAD.mgrt".to_string(), vec![0xff])],
    );
    let out = run_at(&etcd, &config, NOW, &["--format", "ndjson"]);
    let t = ndjson_task(&out);
    assert_eq!(t["storage_state"], "unreadable", "{}", out.stdout);
    assert_eq!(t["migration_layers"], serde_json::Value::Null);
    assert!(
        reasons(&t)[0].contains("unreadable: v1/migrations/00000009_BAD.mgrt does not decode"),
        "{}",
        out.stdout
    );
}

/// The same storage on S3 behind the recorder: the same layers and resume state, reads
/// only, the lock listing one page from `v1/APPEND_LOCK`; the locks' ages are moto's
/// upload times, so a run "two hours later" finds them stale, and one at the fixture's
/// time finds them in the future.
#[test]
fn layers_locks_and_resume_state_on_s3() {
    let etcd = Etcd::start();
    etcd.load(&["v71-running.toml"]);
    let s3 = testkit::S3Server::start();
    s3.create_bucket("pitr-logs");
    let uploaded = SystemTime::now();
    Sink::S3(&s3, "pitr-logs").write("prod/log", &layout("2024-01-01T00:58:00Z"));
    let recorder = Recorder::start(&s3.endpoint());
    let dir = TempDir::new("storage-control-s3");
    let config = dir.storage_config(&testkit::s3::storage_table(
        &dir.path,
        "pitr-logs",
        "prod/log",
        &recorder.endpoint(),
    ));

    let out = run_at(&etcd, &config, NOW, &["--format", "ndjson"]);
    let t = ndjson_task(&out);
    assert_eq!(t["storage_state"], "ok", "{}", out.stdout);
    assert_eq!(t["migration_layers"], 2);
    assert_eq!(t["restorable_from"], "2024-01-01T00:20:00.000Z");
    assert_eq!(t["restorable_to"], "2024-01-01T00:58:00.000Z");
    assert_eq!(t["resume_state_checkpoint_ts"], at("2024-01-01T00:58:00Z"));
    // Uploaded "now", they are two years after the run's 2024 time: not judged.
    assert_eq!(
        t["storage_locks"],
        serde_json::json!([
            {"name": "truncating.lock", "age_seconds": null},
            {"name": READ_LOCK, "age_seconds": null},
        ])
    );
    let future = reasons(&t)
        .into_iter()
        .filter(|r| {
            r.contains("claims a time in the future") && r.ends_with("its age is not judged")
        })
        .count();
    assert_eq!(future, 2, "{}", out.stdout);
    let requests = recorder.requests();
    assert!(recorder.writes().is_empty(), "{:?}", recorder.writes());
    assert!(requests.iter().all(|(m, _)| m == "GET"), "{requests:?}");
    assert_eq!(t["storage_requests"], 12);
    assert_eq!(requests.len(), 12, "{requests:?}");
    let locks_listing: Vec<_> = requests
        .iter()
        .filter(|(_, p)| p.contains("start-after=prod%2Flog%2Fv1%2FAPPEND_LOCK"))
        .collect();
    assert_eq!(locks_listing.len(), 1, "{requests:?}");

    // Two hours after the upload (plus the servers' whole-second last-modified times):
    // truncating.lock and the read lock are stale.
    let later = tso_time(tso_at(uploaded) + tso_span(Duration::from_secs(7205)));
    let out = run_at(&etcd, &config, &later, &["--format", "ndjson"]);
    let t = ndjson_task(&out);
    let locks = t["storage_locks"].as_array().unwrap();
    assert_eq!(locks.len(), 2, "{}", out.stdout);
    for lock in locks {
        let age = lock["age_seconds"].as_u64().unwrap();
        assert!((7200..=7215).contains(&age), "{lock}");
    }
    let stale: Vec<String> = reasons(&t)
        .into_iter()
        .filter(|r| r.contains("old, over 1h0m0s: left by"))
        .collect();
    assert_eq!(stale.len(), 2, "{}", out.stdout);
    assert!(
        stale[0].starts_with("s3://pitr-logs/prod/log: lock truncating.lock is 2h0m"),
        "{stale:?}"
    );
    assert!(
        stale[1].starts_with(&format!(
            "s3://pitr-logs/prod/log: lock {READ_LOCK} is 2h0m"
        )),
        "{stale:?}"
    );
}

/// `--full-backup` as BR's `ParseBackend` takes a storage: a bare path (absolute, or
/// relative to the working directory), `file://`, and `local://` whose host BR drops.
#[test]
fn full_backup_urls_as_br_takes_them() {
    let etcd = Etcd::start();
    etcd.load(&["v71-running.toml"]);
    let dir = TempDir::new("storage-urls");
    let log = dir.path.join("log");
    Sink::Dir(&log).write(
        "",
        &LogStorage::new(at("2024-01-01T00:00:00Z"))
            .checkpoint(1001, at("2024-01-01T00:59:30Z"))
            .objects(),
    );
    let full = dir.path.join("full");
    Sink::Dir(&full).write(
        "tue",
        &testkit::FullBackup::new(at("2024-01-01T00:50:00Z"))
            .cluster_id(testkit::layout::CLUSTER_ID)
            .objects(),
    );
    let config = dir.storage_config(&format!("url = \"local://{}\"", log.display()));
    let tue = full.join("tue").display().to_string();
    let base = |out: &Run| ndjson_task(out)["full_backup_ts"].clone();
    for url in [
        tue.clone(),
        format!("{tue}/"),
        format!("{}/../full/./tue", full.display()),
        format!("file://{tue}"),
        format!("file:{tue}"),
        format!("local://{tue}"),
        format!("local://any-host{tue}"),
    ] {
        let out = run_at(
            &etcd,
            &config,
            NOW,
            &["--full-backup", &url, "--format", "ndjson"],
        );
        assert_eq!(
            base(&out),
            at("2024-01-01T00:50:00Z"),
            "{url}: {}",
            out.stdout
        );
    }
    // A relative path: the working directory's.
    let args = [
        "--pd",
        &etcd.endpoint,
        "--no-pd-api",
        "--now",
        NOW,
        "--config",
        &config,
        "--format",
        "ndjson",
        "--full-backup",
        "tue",
    ];
    let out = check_in(&full, &args, &[]);
    assert_eq!(base(&out), at("2024-01-01T00:50:00Z"), "{}", out.stdout);
    // What BR refuses stays a usage error.
    for (url, why) in [
        ("file:tue", "no path"),
        ("hdfs://nn/backup", "scheme hdfs cannot be read"),
        ("b a:d/x", "first path segment in URL cannot contain colon"),
    ] {
        let out = run_at(&etcd, &config, NOW, &["--full-backup", url]);
        assert_eq!(out.code, 3, "{url}: {}", out.stdout);
        assert!(out.stdout.contains(why), "{url}: {}", out.stdout);
    }
}
