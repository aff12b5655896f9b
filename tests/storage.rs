//! `--storage` end to end, on real storage servers: a local directory, S3 (moto's server),
//! Azure Blob (Azurite) and GCS (an in-test stand-in of its API), the etcd of the
//! fixtures, and a recording proxy that proves only reads are sent and injects faults.

use crate::common::check_env;
use testkit::encode::tso_rfc3339 as at;
use testkit::layout::{Flush, LogStorage, MetaName};
use testkit::recorder::{Mode, Recorder};
use testkit::sink::{set_modified, Sink, TempDir};
use testkit::{Etcd, Run};

const NOW: &str = "2024-01-01T01:05:00Z";

/// The log storage of task `pitr` of v71-running.toml: started 00:00, truncated to 00:10,
/// checkpoint files at 00:59:30 and 00:59:00 (etcd says 00:59:30 at most), a 7-byte
/// `.ts` to skip, and flushes of every meta-name era, the newest at 01:01:00.
fn layout() -> (testkit::store::Objects, Vec<(String, &'static str)>) {
    let flushes = [
        Flush::new(1, at("2024-01-01T00:40:00Z")).named(MetaName::Legacy),
        Flush::new(4, at("2024-01-01T01:00:00Z")).named(MetaName::Hex),
        Flush::new(1, at("2024-01-01T01:01:00Z")).named(MetaName::Tagged),
        Flush::new(4, at("2024-01-01T00:58:00Z")).named(MetaName::TaggedFlags(2)),
        Flush::new(1, at("2024-01-01T01:00:30Z")).named(MetaName::Synthetic),
    ];
    // Names without a usable flush ts count by their last-modified time.
    let modified = vec![
        (flushes[0].meta_key(), "2024-01-01T00:50:00Z"),
        (flushes[4].meta_key(), "2024-01-01T00:55:00Z"),
    ];
    // Restarted once (`backup.lock`: the storage of a task started again).
    let objects = LogStorage::new(at("2024-01-01T00:00:00Z"))
        .restarted()
        .safepoint(at("2024-01-01T00:10:00Z"))
        .checkpoint(1, at("2024-01-01T00:59:30Z"))
        .checkpoint(4, at("2024-01-01T00:59:00Z"))
        .junk_checkpoint(9)
        .flushes(flushes)
        .objects();
    (objects, modified)
}

/// [`layout`] without the metas whose time is their last-modified one (the legacy and
/// the SYNTHETIC name): servers set that to the upload time, not to the layout's.
fn cloud_layout() -> testkit::store::Objects {
    layout()
        .0
        .into_iter()
        .filter(|(k, _)| {
            !k.ends_with(".meta") || !k.contains("SYNTHETIC") && !k.starts_with("v1/backupmeta/4")
        })
        .collect()
}

fn run(etcd: &Etcd, config: &str, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let mut args = vec![
        "--pd",
        &etcd.endpoint,
        "--no-pd-api",
        "--now",
        NOW,
        "--config",
        config,
    ];
    args.extend_from_slice(extra);
    check_env(&args, env)
}

const SUMMARY: &str = "TIDB_LOG_BACKUP OK - pitr NORMAL, checkpoint lag 5m30s | tasks=1;;;0 pitr_checkpoint_lag=330s;600;1800;0 pitr_paused=0;;;0;1 pitr_store_errors=0;;;0 pitr_auto_pause_in=172500s;43200:;7200:;0 pitr_restorable_window=2970s;;;0 pitr_newest_flush_age=240s;;;0\n";

/// The figures of [`layout`], read from whichever server holds it.
fn assert_same_window(etcd: &Etcd, config: &str) {
    let out = run(etcd, config, &["--format", "ndjson"], &[]);
    let t = ndjson_task(&out);
    assert_eq!(t["storage_state"], "ok", "{}", out.stdout);
    assert_eq!(t["restorable_window_seconds"], 2970, "{}", out.stdout);
    assert_eq!(t["newest_flush_age_seconds"], 240, "{}", out.stdout);
}

fn ndjson_task(run: &Run) -> serde_json::Value {
    serde_json::from_str(run.stdout.lines().next().unwrap()).unwrap()
}

#[test]
fn a_local_log_storage_gives_brs_window_and_the_newest_flush() {
    let etcd = Etcd::start();
    etcd.load(&["v71-running.toml"]);
    let dir = TempDir::new("storage-local");
    let (objects, modified) = layout();
    let root = dir.path.join("log");
    Sink::Dir(&root).write("", &objects);
    for (key, time) in &modified {
        let ms = testkit::encode::tso_unix_ms(at(time));
        let time = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
        set_modified(&root, "", key, time);
    }
    let config = dir.storage_config(&format!("url = \"local://{}\"", root.display()));
    let out = run(&etcd, &config, &[], &[]);
    assert_eq!(
        (
            out.code,
            out.stdout.lines().next().unwrap().to_string() + "\n"
        ),
        (0, SUMMARY.to_string()),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("1 meta file flushed while PD gave no TSO"),
        "{}",
        out.stdout
    );
    let out = run(&etcd, &config, &["--format", "ndjson"], &[]);
    let t = ndjson_task(&out);
    assert_eq!(t["storage_state"], "ok");
    assert_eq!(t["restorable_from"], "2024-01-01T00:10:00.000Z");
    assert_eq!(t["restorable_to"], "2024-01-01T00:59:30.000Z");
    assert_eq!(t["restorable_window_seconds"], 2970);
    assert_eq!(t["newest_flush_age_seconds"], 240);
    assert_eq!(t["truncate_ts"], at("2024-01-01T00:10:00Z"));
    // backupmeta, safepoint, BASE, LIST, 3 .ts files (one skipped), the freshness LIST;
    // the control reads: the LISTs of v1/migrations/ and of v1/'s locks, the GETs of
    // truncating.lock and of the CRR resume state (none of them here).
    assert_eq!(t["storage_requests"], 12);
    assert_eq!(t["migration_layers"], 0);
    assert_eq!(t["storage_locks"], serde_json::json!([]));
    assert_eq!(t["resume_state_checkpoint_ts"], serde_json::Value::Null);
    // The table's row, and a window threshold.
    let out = run(&etcd, &config, &["--format", "table"], &[("TZ", "UTC")]);
    // BR's 80-column frame wraps the value.
    assert!(
        out.stdout.contains(
            "        restorable: 2024-01-01 00:10:00 +0000 .. 2024-01-01 00:59:30 +0000 (wind\n                    ow 49m30s)\n"
        ),
        "{}",
        out.stdout
    );
    let out = run(&etcd, &config, &["--window-critical", "1h:"], &[]);
    assert_eq!(out.code, 2);
    assert!(
        out.stdout.contains("restorable window 49m30s < 1h0m0s"),
        "{}",
        out.stdout
    );
}

/// The same storage on S3 behind the recorder: the same figures, reads only, and the
/// faults (LIST denied, a server that never answers) as findings within the deadline.
#[test]
fn s3_reads_only_and_its_faults_are_findings() {
    let etcd = Etcd::start();
    etcd.load(&["v71-running.toml"]);
    let s3 = testkit::S3Server::start();
    s3.create_bucket("pitr-logs");
    let objects = cloud_layout();
    Sink::S3(&s3, "pitr-logs").write("prod/log", &objects);
    let recorder = Recorder::start(&s3.endpoint());
    let dir = TempDir::new("storage-s3");
    let config = dir.storage_config(&testkit::s3::storage_table(
        &dir.path,
        "pitr-logs",
        "prod/log",
        &recorder.endpoint(),
    ));
    assert_same_window(&etcd, &config);
    let requests = recorder.requests();
    assert!(
        recorder.writes().is_empty(),
        "write requests sent: {:?}",
        recorder.writes()
    );
    assert!(
        requests.iter().all(|(m, _)| m == "GET" || m == "HEAD"),
        "{requests:?}"
    );
    // Tier A (4 + 3 .ts) plus one freshness page, which starts after checkpoint - 30 min,
    // plus the control reads (2 LISTs, 2 GETs).
    assert_eq!(requests.len(), 12, "{requests:?}");
    assert!(
        requests
            .iter()
            .any(|(_, p)| p.contains("start-after=prod%2Flog%2Fv1%2Fbackupmeta%2F")),
        "{requests:?}"
    );

    recorder.set_mode(Mode::DenyList);
    let out = run(&etcd, &config, &[], &[]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stdout.starts_with("TIDB_LOG_BACKUP WARNING - pitr: backup storage s3://pitr-logs/prod/log unreadable: LIST v1/global_checkpoint/"), "{}", out.stdout);
    let out = run(
        &etcd,
        &config,
        &["--storage-unreachable-state", "critical"],
        &[],
    );
    assert_eq!(out.code, 2, "{}", out.stdout);

    recorder.set_mode(Mode::Hang);
    let started = std::time::Instant::now();
    let out = run(&etcd, &config, &["-t", "3"], &[]);
    let took = started.elapsed();
    assert!(
        took < std::time::Duration::from_millis(3500),
        "took {took:?}"
    );
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("unreadable: timed out before the storage answered"),
        "{}",
        out.stdout
    );
    assert!(recorder.writes().is_empty());
}

/// Azure Blob (Azurite) and GCS (the stand-in): the same reads, the same window.
#[test]
fn azure_and_gcs_give_the_same_window() {
    let etcd = Etcd::start();
    etcd.load(&["v71-running.toml"]);
    let objects = cloud_layout();
    let dir = TempDir::new("storage-cloud");

    let azurite = testkit::Azurite::start();
    azurite.create_container("pitr");
    Sink::Azure(&azurite, "pitr").write("log", &objects);
    std::fs::write(dir.path.join("azure.key"), azurite.key()).unwrap();
    let config_azure = dir.storage_config(&format!(
        "url = \"azure://pitr/log?account-name={}&endpoint={}\"\nazure_key_file = \"{}\"",
        azurite.account(),
        azurite.endpoint(),
        dir.path.join("azure.key").display()
    ));
    assert_same_window(&etcd, &config_azure);

    let gcs = testkit::GcsServer::start();
    gcs.create_bucket("pitr-gcs");
    Sink::Gcs(&gcs, "pitr-gcs").write("log", &objects);
    let config_gcs = dir.storage_config(&format!(
        "url = \"gcs://pitr-gcs/log?endpoint={}\"",
        gcs.endpoint()
    ));
    assert_same_window(&etcd, &config_gcs);
    assert!(gcs.writes().is_empty());
}

/// The full-backup base from a root of snapshot backups, and storages that are not a
/// log backup's.
#[test]
fn full_backup_base_and_wrong_storages() {
    let etcd = Etcd::start();
    etcd.load(&["v71-running.toml"]);
    let dir = TempDir::new("storage-full");
    let (objects, _) = layout();
    let log = dir.path.join("log");
    Sink::Dir(&log).write("", &objects);
    let full = dir.path.join("full");
    let backups = [
        (
            "mon",
            testkit::FullBackup::new(at("2024-01-01T00:30:00Z"))
                .cluster_id(testkit::layout::CLUSTER_ID),
        ),
        (
            "tue",
            testkit::FullBackup::new(at("2024-01-01T00:50:00Z"))
                .cluster_id(testkit::layout::CLUSTER_ID),
        ),
        ("old", testkit::FullBackup::new(at("2023-12-31T00:00:00Z"))),
        (
            "raw",
            testkit::FullBackup::new(at("2024-01-01T00:40:00Z")).raw_kv(),
        ),
        (
            "running",
            testkit::FullBackup::new(at("2024-01-01T00:55:00Z")).in_progress(),
        ),
    ];
    for (name, backup) in &backups {
        Sink::Dir(&full).write(name, &backup.objects());
    }
    let log_config = dir.storage_config(&format!("url = \"local://{}\"", log.display()));
    let root = format!("local://{}", full.display());
    let out = run(
        &etcd,
        &log_config,
        &["--full-backup-root", &root, "--format", "ndjson"],
        &[],
    );
    let t = ndjson_task(&out);
    assert_eq!(
        t["full_backup_ts"],
        at("2024-01-01T00:50:00Z"),
        "{}",
        out.stdout
    );
    assert_eq!(t["full_backup_age_seconds"], 900);
    assert_eq!(t["pitr_restorable_from_ts"], at("2024-01-01T00:30:00Z"));
    let out = run(
        &etcd,
        &log_config,
        &["--full-backup-root", &root, "--full-age-warning", "10m"],
        &[],
    );
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout.contains("newest full backup 15m0s old > 10m0s"),
        "{}",
        out.stdout
    );
    // Only backups outside the window: PITR is impossible.
    let old = format!("local://{}/old", full.display());
    let out = run(&etcd, &log_config, &["--full-backup", &old], &[]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(out.stdout.contains("pitr: PITR impossible: no full backup inside the log window [2024-01-01 00:10:00 +0000, 2024-01-01 00:59:30 +0000]"), "{}", out.stdout);

    // A full backup's storage named as the task's log storage, and one without backupmeta.
    for (storage, want) in [
        (
            LogStorage::new(at("2024-01-01T00:00:00Z"))
                .full_backup_by_mistake(at("2024-01-01T00:30:00Z")),
            "is not a log backup storage: its backupmeta is a full backup's",
        ),
        (
            LogStorage::new(at("2024-01-01T00:00:00Z"))
                .without_backupmeta()
                .restarted(),
            "is not a log backup storage: it has no backupmeta",
        ),
    ] {
        let wrong = TempDir::new("storage-wrong");
        Sink::Dir(&wrong.path).write("", &storage.objects());
        let config = wrong.storage_config(&format!("url = \"local://{}\"", wrong.path.display()));
        let out = run(&etcd, &config, &[], &[]);
        assert_eq!(out.code, 2, "{}", out.stdout);
        assert!(out.stdout.contains(want), "{}", out.stdout);
    }
}

/// The newest valid base's size, as its backupmeta records it (`backup_size`), in every
/// format; none when that backupmeta is encrypted, even if an older base has one.
#[test]
fn the_newest_valid_full_backup_s_size() {
    let etcd = Etcd::start();
    etcd.load(&["v71-running.toml"]);
    let dir = TempDir::new("storage-full-size");
    let log = dir.path.join("log");
    Sink::Dir(&log).write("", &layout().0);
    let full = dir.path.join("full");
    let backup = |time: &str| testkit::FullBackup::new(at(time));
    for (name, b) in [
        ("mon", backup("2024-01-01T00:30:00Z").size(111)),
        ("tue", backup("2024-01-01T00:50:00Z").size(5_000_000_000)),
        // Bigger and newer, but not a PITR base.
        ("raw", backup("2024-01-01T00:55:00Z").raw_kv().size(999)),
    ] {
        Sink::Dir(&full).write(name, &b.objects());
    }
    let config = dir.storage_config(&format!("url = \"local://{}\"", log.display()));
    let root = format!("local://{}", full.display());
    let base = ["--full-backup-root", root.as_str()];
    let with = |format: &str| {
        let mut args = base.to_vec();
        args.extend(["--format", format]);
        let out = run(&etcd, &config, &args, &[]);
        assert_eq!(out.stderr, "", "{format}");
        assert_eq!(out.code, 0, "{format}: {}", out.stdout);
        out.stdout
    };
    let out = run(&etcd, &config, &base, &[]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{}", out.stdout);
    assert!(
        out.stdout
            .contains(" pitr_full_backup_age=900s;;;0 pitr_full_backup_bytes=5000000000B;;;0"),
        "{}",
        out.stdout
    );
    let ndjson = with("ndjson");
    let t: serde_json::Value = serde_json::from_str(ndjson.lines().next().unwrap()).unwrap();
    assert_eq!(t["full_backup_ts"], at("2024-01-01T00:50:00Z"), "{ndjson}");
    assert_eq!(t["full_backup_bytes"], 5_000_000_000u64, "{ndjson}");
    let json: serde_json::Value = serde_json::from_str(&with("json")).unwrap();
    assert_eq!(json[0]["full_backup_bytes"], 5_000_000_000u64);
    let prometheus = with("prometheus");
    assert!(
        prometheus.lines().any(|l| {
            l.starts_with("tidb_log_backup_full_backup_size_bytes{")
                && l.contains("task=\"pitr\"")
                && l.ends_with("} 5000000000")
        }),
        "{prometheus}"
    );

    // The newest base encrypted (its backupmeta does not decode): no size, no perfdata
    // item, not the older base's 111.
    Sink::Dir(&full).write(
        "wed",
        &backup("2024-01-01T00:52:00Z")
            .size(777)
            .encrypted()
            .objects(),
    );
    let ms = testkit::encode::tso_unix_ms(at("2024-01-01T00:58:00Z"));
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    set_modified(&full, "wed", "backupmeta", time);
    let out = run(&etcd, &config, &base, &[]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{}", out.stdout);
    assert!(
        out.stdout.contains(" pitr_full_backup_age="),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("full_backup_bytes"), "{}", out.stdout);
    let ndjson = with("ndjson");
    let t: serde_json::Value = serde_json::from_str(ndjson.lines().next().unwrap()).unwrap();
    assert_eq!(t["full_backup_age_seconds"], 420, "{ndjson}");
    assert_eq!(t["full_backup_bytes"], serde_json::Value::Null, "{ndjson}");
    assert!(!with("prometheus").contains("full_backup_size_bytes{"));
}

/// The cluster's identity: a log storage written by another cluster (a copied config, a
/// reused bucket) is CRITICAL, naming both ids; the same cluster's is not.
#[test]
fn a_log_storage_of_another_cluster_is_critical() {
    let etcd = Etcd::start();
    let dir = TempDir::new("storage-identity");
    let root = dir.path.join("log");
    Sink::Dir(&root).write("", &layout().0);
    let config = dir.storage_config(&format!("url = \"local://{}\"", root.display()));
    let fixture = testkit::Fixture::load(&testkit::fixture_path("v71-running.toml"))
        .unwrap()
        .pairs(std::time::SystemTime::now())
        .unwrap();
    for (live, critical) in [(testkit::layout::CLUSTER_ID, false), (42, true)] {
        let mut pairs = fixture.clone();
        pairs.push(testkit::encode::kv("/pd/cluster_id", live.to_be_bytes()));
        etcd.load_pairs(&pairs);
        let out = run(&etcd, &config, &[], &[]);
        let reason = format!(
            "storage local://{} holds the log backup of cluster {}, this is cluster 42",
            root.display(),
            testkit::layout::CLUSTER_ID
        );
        assert_eq!(out.stdout.contains(&reason), critical, "{}", out.stdout);
        assert_eq!(out.code == 2, critical, "{}", out.stdout);
        assert_eq!(out.stderr, "");
    }
}

/// `--restore-point`: before, inside and after the window, with and without a base; one
/// line per task, ndjson `restore-point` events, exit 0 possible, 2 impossible, 3 when it
/// cannot be told.
#[test]
fn restore_point_answers_can_i_restore_to_t() {
    let etcd = Etcd::start();
    etcd.load(&["v71-running.toml"]);
    let dir = TempDir::new("storage-restore-point");
    let log = dir.path.join("log");
    Sink::Dir(&log).write("", &layout().0);
    let full = dir.path.join("full");
    let base = testkit::FullBackup::new(at("2024-01-01T00:30:00Z"))
        .cluster_id(testkit::layout::CLUSTER_ID);
    Sink::Dir(&full).write("mon", &base.objects());
    let config = dir.storage_config(&format!("url = \"local://{}\"", log.display()));
    let root = format!("local://{}", full.display());
    let ask = |point: &str, extra: &[&str]| {
        let mut args = vec!["--restore-point", point];
        args.extend_from_slice(extra);
        run(&etcd, &config, &args, &[])
    };
    let with_base = ["--full-backup-root", root.as_str()];
    let possible = ask("2024-01-01T00:45:00Z", &with_base);
    assert_eq!(possible.code, 0, "{}", possible.stdout);
    assert_eq!(
        possible.stdout,
        format!(
            "TIDB_LOG_BACKUP OK - PITR to 2024-01-01 00:45:00 +0000 possible for task pitr: restore the full backup {root}/mon (2024-01-01 00:30:00 +0000), then the log from 2024-01-01 00:30:00 +0000 to 2024-01-01 00:45:00 +0000 (claimed by its metas, not verified: use --verify)\n"
        )
    );
    // 15 minutes before --now (01:05): 00:50, inside too.
    assert_eq!(ask("15m", &with_base).code, 0);
    for (point, why) in [
        ("2024-01-01T00:05:00Z", "is before the log window, which starts at 2024-01-01 00:10:00 +0000"),
        ("2024-01-01T01:00:00Z", "is after the restorable checkpoint 2024-01-01 00:59:30 +0000"),
        ("2024-01-01T00:20:00Z", "no full backup between the log start 2024-01-01 00:10:00 +0000 and 2024-01-01 00:20:00 +0000"),
    ] {
        let out = ask(point, &with_base);
        assert_eq!(out.code, 2, "{point}: {}", out.stdout);
        assert!(out.stdout.starts_with("TIDB_LOG_BACKUP CRITICAL - PITR to "), "{}", out.stdout);
        assert!(out.stdout.contains(why), "{point}: {}", out.stdout);
        assert_eq!(out.stdout.lines().count(), 1);
    }
    let no_base = ask("2024-01-01T00:45:00Z", &[]);
    assert_eq!(no_base.code, 3, "{}", no_base.stdout);
    assert!(
        no_base
            .stdout
            .contains("cannot be told for task pitr: no --full-backup"),
        "{}",
        no_base.stdout
    );
    let event = ask(
        "2024-01-01T00:45:00Z",
        &["--full-backup-root", &root, "--format", "ndjson"],
    );
    let e: serde_json::Value = serde_json::from_str(event.stdout.trim()).unwrap();
    assert_eq!(e["kind"], "restore-point");
    assert_eq!(e["possible"], true);
    assert_eq!(e["base"], format!("{root}/mon"));
    assert_eq!(e["base_ts"], at("2024-01-01T00:30:00Z"));
    assert_eq!(e["log_from_ts"], at("2024-01-01T00:10:00Z"));
    assert_eq!(e["log_to_ts"], at("2024-01-01T00:59:30Z"));
    assert_eq!(e["verified"], false);
    assert_eq!(event.stderr, "");
    let bad = ask("yesterday-ish", &[]);
    assert_eq!(bad.code, 3);
    assert!(
        bad.stdout
            .contains("invalid --restore-point 'yesterday-ish'"),
        "{}",
        bad.stdout
    );
}

/// Under --full-backup-root: backups without a backupmeta but with BR's backup.lock or a
/// checkpoints/ prefix are unfinished attempts (failed, or still running), listed with
/// their start; the newest attempt unfinished for longer than --full-incomplete-warning
/// is a WARNING; --full-min-count counts the valid bases.
#[test]
fn unfinished_full_backups_and_the_minimum_count() {
    let etcd = Etcd::start();
    etcd.load(&["v71-running.toml"]);
    let dir = TempDir::new("storage-unfinished");
    let log = dir.path.join("log");
    Sink::Dir(&log).write("", &layout().0);
    let full = dir.path.join("full");
    let done = testkit::FullBackup::new(at("2024-01-01T00:30:00Z"))
        .cluster_id(testkit::layout::CLUSTER_ID);
    Sink::Dir(&full).write("mon", &done.objects());
    // Failed long ago (its lock from 2023), and the newest attempt, started 00:40.
    let attempt = testkit::FullBackup::new(at("2024-01-01T00:40:00Z")).in_progress();
    for (name, started) in [
        ("old", "2023-12-31T00:00:00Z"),
        ("tue", "2024-01-01T00:40:00Z"),
    ] {
        Sink::Dir(&full).write(name, &attempt.objects());
        let ms = testkit::encode::tso_unix_ms(at(started));
        let time = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
        set_modified(&full, name, "backup.lock", time);
    }
    let config = dir.storage_config(&format!("url = \"local://{}\"", log.display()));
    let root = format!("local://{}", full.display());
    let base = ["--full-backup-root", root.as_str()];
    let quiet = run(&etcd, &config, &base, &[]);
    assert_eq!(quiet.code, 0, "{}", quiet.stdout);
    assert!(
        quiet.stdout.contains(&format!(
            "; 2 unfinished full backups (failed, or still running): {root}/old (started 2023-12-31 00:00:00 +0000), {root}/tue (started 2024-01-01 00:40:00 +0000)\n"
        )),
        "{}",
        quiet.stdout
    );
    let late = run(
        &etcd,
        &config,
        &[&base[..], &["--full-incomplete-warning", "10m"]].concat(),
        &[],
    );
    assert_eq!(late.code, 1, "{}", late.stdout);
    assert!(
        late.stdout.contains(&format!(
            "the last full backup did not finish: {root}/tue started 2024-01-01 00:40:00 +0000, 25m0s ago (failed, or still running)"
        )),
        "{}",
        late.stdout
    );
    let few = run(
        &etcd,
        &config,
        &[&base[..], &["--full-min-count", "2"]].concat(),
        &[],
    );
    assert_eq!(few.code, 1, "{}", few.stdout);
    assert!(
        few.stdout
            .contains("1 valid full backup inside the log window, fewer than --full-min-count 2"),
        "{}",
        few.stdout
    );
}
