//! Redaction is structural: task info carries cloud credentials (S3 keys and session
//! token, GCS credentials blob, Azure keys and SAS, CloudDynamic attrs, the log-encryption
//! data key). A known secret sits in every such field of every backend, plus in an
//! undecodable task info; none may appear in any output, format or verbosity, nor in a
//! Debug print of anything the check holds.

use crate::common::check;
use check_tidb_log_backup::snapshot::Snapshot;
use std::time::SystemTime;
use testkit::fixture::Fixture;
use testkit::{Etcd, PdServer};

const SECRETS: [&str; 16] = [
    "AKIASECRETACCESSKEY1",
    "S3SECRETACCESSKEY2",
    "S3KMSKEYID3",
    "S3EXTERNALID4",
    "S3SESSIONTOKEN5",
    "S3PROFILE6",
    "GCSCREDENTIALSBLOB7",
    "AZURESHAREDKEY8",
    "AZURESASTOKEN9",
    "AZURECUSTOMERKEY10",
    "AZUREKEYSHA11",
    "CLOUDDYNAMICSECRET12",
    "HDFSPASSWORD13",
    "PLAINTEXTDATAKEY14",
    "AKIABROKENSECRET15",
    "BROKENSECRETKEY16",
];

fn assert_clean(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} shows {secret}:\n{text}");
    }
}

#[test]
fn no_secret_in_any_output() {
    let etcd = Etcd::start();
    etcd.load(&["secrets.toml"]);
    let pd = PdServer::for_fixture("secrets.toml");
    let mut runs = 0;
    for format in ["nagios", "ndjson", "table", "br-json", "prometheus", "json"] {
        for verbosity in ["", "-v", "-vv", "-vvv"] {
            for task in ["*", "broken_task"] {
                let mut args = vec![
                    "--pd",
                    &etcd.endpoint,
                    "--pd-api",
                    &pd.endpoint,
                    "--format",
                    format,
                    "--task",
                    task,
                ];
                if !verbosity.is_empty() {
                    args.push(verbosity);
                }
                let run = check(&args);
                let what = format!("{format} {verbosity} --task {task}");
                assert_clean(&what, &run.stdout);
                assert_clean(&what, &run.stderr);
                if format == "br-json" {
                    // BR's contract: a task that does not decode fails the whole document.
                    let failed = task == "broken_task" || task == "*";
                    assert_eq!(run.code, if failed { 1 } else { 0 }, "{what}");
                    assert_eq!(run.stdout.is_empty(), failed, "{what}");
                    assert_eq!(run.stderr.lines().count(), usize::from(failed), "{what}");
                } else {
                    assert_eq!(run.stderr, "", "{what}");
                }
                runs += 1;
            }
        }
    }
    // The discovery outputs too.
    for format in ["zabbix-lld", "json", "ndjson", "nagios"] {
        let run = check(&["--pd", &etcd.endpoint, "--list-tasks", "--format", format]);
        assert_clean(&format!("--list-tasks {format}"), &run.stdout);
        assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{format}");
        runs += 1;
    }
    // The outputs do show what is not secret, as BR renders it.
    let run = check(&[
        "--pd",
        &etcd.endpoint,
        "--pd-api",
        &pd.endpoint,
        "--format",
        "table",
    ]);
    for url in [
        "s3://bkt/logs",
        "gcs://gbkt/glogs",
        "azure://container/alogs",
    ] {
        assert!(run.stdout.contains(url), "{url} in\n{}", run.stdout);
    }
    let nagios = check(&["--pd", &etcd.endpoint, "--pd-api", &pd.endpoint]);
    assert!(
        nagios.stdout.contains(
            "cannot decode /tidb/br-stream/info/broken_task: bad StreamBackupTaskInfo protobuf"
        ),
        "{}",
        run.stdout
    );
    assert_eq!(runs, 52);
}

#[test]
fn no_secret_in_debug_prints() {
    let pairs = Fixture::load(&testkit::fixture_path("secrets.toml"))
        .unwrap()
        .pairs(SystemTime::now())
        .unwrap();
    let snapshot = Snapshot::from_pairs(pairs);
    let options = testkit::plan::cluster_plan(&["-vvv"]);
    let verdict = testkit::plan::judge_snapshot(&snapshot, &options, SystemTime::now());
    assert_eq!(verdict.tasks.len(), 6);
    assert_clean("Debug of the snapshot", &format!("{snapshot:?}"));
    assert_clean("Debug of the verdict", &format!("{verdict:?}"));
    assert_clean("Debug of the options", &format!("{options:?}"));
}
