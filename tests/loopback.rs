//! Tests never leave loopback: the check, run as the tests run it, on storages that name
//! no endpoint (and some no credentials, so that object_store falls back to the cloud
//! metadata services) sends every request to the closed loopback port of
//! `testkit/loopback.env`, where it fails at once. Under scripts/test the test process
//! itself has that environment, and in its network namespace only loopback.

use crate::common::check_env;
use std::time::{Duration, Instant};
use testkit::loopback::{environment, CLOSED};
use testkit::sink::TempDir;
use testkit::{Etcd, Run};

/// Runs the check with `--storage` on task `pitr` of v71-running.toml, its storage at
/// `url` (a `[tasks.pitr.storage]` table, plus `extra` lines), within `-t 10`, with
/// `env` besides the loopback environment.
fn storage_run(etcd: &Etcd, url: &str, extra: &str, env: &[(&str, &str)]) -> (Run, Duration) {
    let dir = TempDir::new("loopback");
    let config = dir.path.join("config.toml");
    std::fs::write(
        &config,
        format!("storage = true\n[tasks.pitr.storage]\nurl = \"{url}\"\n{extra}"),
    )
    .unwrap();
    let started = Instant::now();
    let run = check_env(
        &[
            "--pd",
            &etcd.endpoint,
            "--no-pd-api",
            "--now",
            "2024-01-01T01:05:00Z",
            "-t",
            "10",
            "--format",
            "ndjson",
            "--config",
            config.to_str().unwrap(),
        ],
        env,
    );
    (run, started.elapsed())
}

/// The task's storage reason (`backup storage URL unreadable: …`), from the run's
/// NDJSON line.
fn storage_reason(run: &Run) -> String {
    let line: serde_json::Value = serde_json::from_str(run.stdout.lines().next().unwrap())
        .unwrap_or_else(|e| panic!("{e}: {}", run.stdout));
    assert_eq!(line["storage_state"], "unreadable", "{}", run.stdout);
    line["reasons"][0].as_str().unwrap().to_string()
}

/// The request went to the closed port (`http://127.0.0.1:9<path>`, maybe with a query)
/// and failed there at once, well within `-t 10`. object_store's message names the
/// request, not its cause; testkit::loopback's self-test proves the port refuses.
fn assert_refused(url: &str, reason: &str, path: &str, took: Duration) {
    let request = format!("http://{CLOSED}{path}");
    assert!(
        (reason.contains(&format!("{request} in ")) || reason.contains(&format!("{request}?")))
            && reason.ends_with("error sending request"),
        "{url}: not a failed request to {request}: {reason}"
    );
    assert!(
        took < Duration::from_secs(3),
        "{url}: took {took:?}: {reason}"
    );
}

/// The attacker: every cloud, no endpoint, no credentials. object_store falls back to
/// the cloud's metadata service for credentials; the check's request goes to the closed
/// port instead (the path shows which service it meant) and is refused.
#[test]
fn a_storage_without_endpoint_or_credentials_is_refused_on_loopback() {
    let etcd = Etcd::start();
    etcd.load(&["v71-running.toml"]);
    for (url, extra, fallback) in [
        // AWS: the EC2 instance metadata service (IMDSv2 asks for a token first).
        (
            "s3://pitr-logs/log?region=us-east-1",
            "",
            "/latest/api/token",
        ),
        // GCP: the metadata server (by name, then by address).
        (
            "gcs://pitr-logs/log",
            "",
            "/computeMetadata/v1/instance/service-accounts/default/token",
        ),
        // Azure: the managed-identity endpoint.
        (
            "azure://pitr/log?account-name=devstoreaccount1",
            "",
            "/metadata/identity/oauth2/token",
        ),
    ] {
        let (run, took) = storage_run(&etcd, url, extra, &[]);
        assert_refused(url, &storage_reason(&run), fallback, took);
    }
}

/// Credential files that give no keys for the cloud (a key id without its secret, or
/// another cloud's key): the check reads nothing else from the environment, but
/// object_store still falls back to the metadata service, and the check sends it to the
/// address the standard variables name, the closed port here.
#[test]
fn credential_files_without_keys_for_the_cloud_ask_the_metadata_service_on_loopback() {
    let etcd = Etcd::start();
    etcd.load(&["v71-running.toml"]);
    let dir = TempDir::new("loopback-files");
    let id = dir.path.join("id");
    std::fs::write(&id, "AKIAEXAMPLE").unwrap();
    let only_id = format!("access_key_id_file = \"{}\"\n", id.display());
    for (url, fallback) in [
        ("s3://pitr-logs/log?region=us-east-1", "/latest/api/token"),
        (
            "gcs://pitr-logs/log",
            "/computeMetadata/v1/instance/service-accounts/default/token",
        ),
        (
            "azure://pitr/log?account-name=devstoreaccount1",
            "/metadata/identity/oauth2/token",
        ),
    ] {
        let (run, took) = storage_run(&etcd, url, &only_id, &[]);
        assert_refused(url, &storage_reason(&run), fallback, took);
    }
}

/// The host's credentials from its environment but no endpoint: the storage requests
/// themselves (to S3's and Azure Blob's endpoints in the cloud) go to the closed port.
/// With credentials from files or the task info the check reads nothing from the
/// environment, endpoints included: such a test must name a loopback endpoint.
#[test]
fn a_storage_with_host_credentials_but_no_endpoint_is_refused_on_loopback() {
    let etcd = Etcd::start();
    etcd.load(&["v71-running.toml"]);
    for (url, env, path) in [
        // https://pitr-logs.s3.us-east-1.amazonaws.com/log/backupmeta in the cloud.
        (
            "s3://pitr-logs/log?region=us-east-1",
            &[
                ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"),
                ("AWS_SECRET_ACCESS_KEY", "secret"),
            ][..],
            "/log/backupmeta",
        ),
        // https://devstoreaccount1.blob.core.windows.net/pitr/log/backupmeta; any base64
        // key (Azure signs with it locally).
        (
            "azure://pitr/log?account-name=devstoreaccount1",
            &[("AZURE_STORAGE_ACCOUNT_KEY", "c2VjcmV0")][..],
            "/pitr/log/backupmeta",
        ),
    ] {
        let (run, took) = storage_run(&etcd, url, "", env);
        assert_refused(url, &storage_reason(&run), path, took);
    }
}

/// Under scripts/test (which says so in `CTLB_LOOPBACK`), the test process has the
/// loopback environment itself, so the servers and clients it starts inherit it; in
/// the network namespace (`CTLB_LOOPBACK=netns`) its only interface is `lo`.
#[test]
fn scripts_test_gives_the_test_process_the_loopback_environment() {
    let Ok(mode) = std::env::var("CTLB_LOOPBACK") else {
        // A plain `cargo test`: only the checks the tests run are isolated.
        return;
    };
    let env = environment();
    for (name, value) in &env.set {
        assert_eq!(std::env::var(name).as_deref(), Ok(*value), "{name}");
    }
    for (name, _) in std::env::vars_os() {
        let set = env.set.iter().any(|(n, _)| name == *n);
        assert!(set || !env.drops(&name), "{name:?} is set");
    }
    match mode.as_str() {
        "netns" => {
            // /proc/net/dev is the namespace's own (/sys/class/net would be the host's).
            let devices = std::fs::read_to_string("/proc/net/dev").unwrap();
            let interfaces: Vec<_> = devices
                .lines()
                .skip(2)
                .filter_map(|l| l.split(':').next())
                .map(str::trim)
                .collect();
            assert_eq!(interfaces, ["lo"], "{devices}");
        }
        "redirect" => {}
        other => panic!("CTLB_LOOPBACK={other}"),
    }
}
