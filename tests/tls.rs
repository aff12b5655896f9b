//! TLS and etcd auth against a real etcd started with `--client-cert-auth`, and PD's HTTP
//! API served over HTTPS with client-certificate checking (`openssl s_server -WWW`).

use crate::common::check;
use check_tidb_log_backup::etcd::Access;
use check_tidb_log_backup::tls::Tls;
use std::path::Path;
use std::process::Command;
use std::time::SystemTime;
use testkit::fixture::{load_into_etcd_with, Fixture};
use testkit::{Certs, Etcd, HttpsPd, Run};

const NOW: &str = "2024-01-01T01:05:00Z";

/// One argument list from its parts (the TLS flags among them).
fn args<'a>(parts: &[&[&'a str]]) -> Vec<&'a str> {
    parts.concat()
}

fn client_tls(certs: &Certs) -> Tls {
    let p = |n: &str| certs.dir.join(n);
    Tls::load(
        Some(&p("ca.crt")),
        Some(&p("client.crt")),
        Some(&p("client.key")),
        None,
    )
    .unwrap()
    .unwrap()
}

fn load(etcd: &Etcd, access: Access, fixture: &str) {
    let pairs = Fixture::load(&testkit::fixture_path(fixture))
        .unwrap()
        .pairs(SystemTime::now())
        .unwrap();
    load_into_etcd_with(&etcd.endpoint, &pairs, access).unwrap();
}

fn assert_unreachable(run: &Run, want: &str) {
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stdout
            .starts_with("TIDB_LOG_BACKUP CRITICAL - cannot read PD etcd: "),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(want), "want {want:?} in {}", run.stdout);
    assert_eq!(run.stdout.lines().count(), 1, "one line: {}", run.stdout);
    assert_eq!(run.stderr, "");
}

#[test]
fn mutual_tls_to_etcd() {
    let certs = Certs::make("etcd");
    let etcd = Etcd::start_with(Some(&certs));
    let tls = client_tls(&certs);
    load(
        &etcd,
        Access {
            tls: Some(&tls),
            ..Access::default()
        },
        "v71-running.toml",
    );
    let (ca, cert, key) = (
        certs.path("ca.crt"),
        certs.path("client.crt"),
        certs.path("client.key"),
    );
    let base = ["--no-pd-api", "--now", NOW, "-t", "5"];
    let with = |extra: &[&str]| {
        let mut args: Vec<&str> = base.to_vec();
        args.extend_from_slice(extra);
        check(&args)
    };

    // Right certificates: a verdict, with https:// or with bare host:port (TLS implied).
    let bare = etcd.endpoint.trim_start_matches("https://").to_string();
    for pd in [etcd.endpoint.as_str(), bare.as_str()] {
        let run = with(&args(&[
            &["--pd", pd][..],
            &certs.flags("ca.crt", "client.crt", "client.key"),
        ]));
        assert_eq!(run.code, 0, "{}", run.stdout);
        assert!(
            run.stdout
                .starts_with("TIDB_LOG_BACKUP OK - pitr NORMAL, checkpoint lag 5m30s |"),
            "{}",
            run.stdout
        );
    }
    // The certificate names 127.0.0.1 and localhost; --tls-server-name picks which to verify.
    let run = with(&args(&[
        &["--pd", &etcd.endpoint][..],
        &certs.flags("ca.crt", "client.crt", "client.key"),
        &["--tls-server-name", "localhost"],
    ]));
    assert_eq!(run.code, 0, "{}", run.stdout);

    let run = with(&["--pd", &etcd.endpoint, "--cacert", &ca]);
    assert_unreachable(&run, "rejected our client certificate");
    let run = with(&args(&[
        &["--pd", &etcd.endpoint][..],
        &certs.flags("other-ca.crt", "client.crt", "client.key"),
    ]));
    assert_unreachable(
        &run,
        "TLS: server certificate is not signed by the --cacert CA (unknown CA)",
    );
    let run = with(&args(&[
        &["--pd", &etcd.endpoint][..],
        &certs.flags("ca.crt", "stranger.crt", "stranger.key"),
    ]));
    assert_unreachable(&run, "rejected our client certificate");
    let run = with(&args(&[
        &["--pd", &etcd.endpoint][..],
        &certs.flags("ca.crt", "client.crt", "client.key"),
        &["--tls-server-name", "pd.example.com"],
    ]));
    assert_unreachable(&run, "name mismatch");

    // Never a silent downgrade, and bad files are clear start-up errors.
    let plain = etcd.endpoint.replace("https://", "http://");
    let run = with(&args(&[
        &["--pd", &plain][..],
        &certs.flags("ca.crt", "client.crt", "client.key"),
    ]));
    assert_eq!(run.code, 3);
    assert!(
        run.stdout
            .contains("is plain http:// but --cacert/--cert/--key are given"),
        "{}",
        run.stdout
    );
    let run = with(&["--pd", &etcd.endpoint, "--cacert", &key]);
    assert_eq!(run.code, 3);
    assert!(
        run.stdout.contains("not a PEM certificate"),
        "{}",
        run.stdout
    );
    let run = with(&["--pd", &etcd.endpoint, "--cert", &cert]);
    assert_eq!(run.code, 3);
    assert!(
        run.stdout.contains("--cert and --key go together"),
        "{}",
        run.stdout
    );
}

#[test]
fn mutual_tls_to_pd_http_api() {
    let certs = Certs::make("pd");
    let etcd = Etcd::start_with(Some(&certs));
    let tls = client_tls(&certs);
    load(
        &etcd,
        Access {
            tls: Some(&tls),
            ..Access::default()
        },
        "v71-running.toml",
    );
    let pd = HttpsPd::start(&certs, "ca.crt");
    let run = check(&args(&[
        &["--pd", &etcd.endpoint, "--pd-api", &pd.endpoint][..],
        &certs.flags("ca.crt", "client.crt", "client.key"),
        &["--now", NOW, "--format", "ndjson"],
    ]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    let summary: serde_json::Value =
        serde_json::from_str(run.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(summary["stores"]["up"], 3, "{}", run.stdout);
    assert_eq!(
        summary["gc_safe_point"].as_u64(),
        Some(446_711_778_508_800_000)
    );

    // Same certificates, but --tls-server-name over HTTP: verified against "localhost".
    let run = check(&args(&[
        &["--pd", &etcd.endpoint, "--pd-api", &pd.endpoint][..],
        &certs.flags("ca.crt", "client.crt", "client.key"),
        &["--tls-server-name", "localhost", "--now", NOW],
    ]));
    assert_eq!(run.code, 0, "{}", run.stdout);

    // A PD that trusts another CA for clients rejects ours: its checks are skipped, with
    // the reason, and the etcd verdict stands.
    let picky = HttpsPd::start(&certs, "other-ca.crt");
    let run = check(&args(&[
        &["--pd", &etcd.endpoint, "--pd-api", &picky.endpoint][..],
        &certs.flags("ca.crt", "client.crt", "client.key"),
        &["--now", NOW],
    ]));
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout
            .starts_with("TIDB_LOG_BACKUP WARNING - PD HTTP API unreadable"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("client certificate"), "{}", run.stdout);
    assert!(run.stdout.contains("\n[OK] pitr: NORMAL"), "{}", run.stdout);
}

fn enable_auth(etcd: &Etcd) {
    for args in [
        vec!["user", "add", "root:rootpw"],
        vec!["role", "add", "br-reader"],
        vec![
            "role",
            "grant-permission",
            "br-reader",
            "--prefix=true",
            "read",
            "/tidb/br-stream/",
        ],
        vec![
            "role",
            "grant-permission",
            "br-reader",
            "read",
            "/pd/cluster_id",
        ],
        vec!["user", "add", "checker:checkpw"],
        vec!["user", "grant-role", "checker", "br-reader"],
        vec!["auth", "enable"],
    ] {
        etcd.etcdctl(&args);
    }
}

fn check_env(args: &[&str], password: Option<&str>) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_check_tidb_log_backup"));
    testkit::loopback::isolate(&mut command)
        .args(args)
        .env_remove("TIDB_PD")
        .env_remove("TIDB_LOG_BACKUP_PASSWORD");
    if let Some(p) = password {
        command.env("TIDB_LOG_BACKUP_PASSWORD", p);
    }
    let out = command.output().unwrap();
    Run {
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
        code: out.status.code().unwrap(),
    }
}

#[test]
fn etcd_user_and_password() {
    let etcd = Etcd::start();
    etcd.load(&["v71-running.toml"]);
    enable_auth(&etcd);
    let base = [
        "--pd",
        etcd.endpoint.as_str(),
        "--no-pd-api",
        "--now",
        NOW,
        "--user",
        "checker",
    ];

    let run = check_env(&base, Some("checkpw"));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout.starts_with("TIDB_LOG_BACKUP OK - pitr NORMAL"),
        "{}",
        run.stdout
    );

    // A role limited to /tidb/br-stream/ cannot list the TiDBs: --throughput says so
    // and judges the rest.
    let pd = testkit::PdServer::with_stores(r#"{"count":0,"stores":[]}"#.to_string());
    let state = std::env::temp_dir().join(format!("ctlb-auth-state-{}", std::process::id()));
    let mut throughput = base.to_vec();
    throughput.retain(|a| *a != "--no-pd-api");
    throughput.extend([
        "--pd-api",
        &pd.endpoint,
        "--throughput",
        "--state-dir",
        state.to_str().unwrap(),
        "-v",
    ]);
    let run = check_env(&throughput, Some("checkpw"));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout.contains("\nadvancer owner not known: cannot list the TiDBs under /tidb/server/info/: PermissionDenied: etcdserver: permission denied\n"),
        "{}",
        run.stdout
    );
    let _ = std::fs::remove_dir_all(&state);

    let run = check_env(&base, Some("wrong"));
    assert_unreachable(&run, "authentication failed, invalid user ID or password");
    assert!(
        !run.stdout.contains("wrong"),
        "the password never shows: {}",
        run.stdout
    );

    let run = check_env(&base, None);
    assert_eq!(run.code, 3);
    assert!(
        run.stdout.contains("--user needs a password"),
        "{}",
        run.stdout
    );

    // A password file readable by others works, with a WARNING to fix its mode.
    let dir = std::env::temp_dir().join(format!("ctlb-auth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("password");
    std::fs::write(&file, "checkpw\n").unwrap();
    set_mode(&file, 0o644);
    let mut args = base.to_vec();
    args.extend(["--password-file", file.to_str().unwrap()]);
    let run = check_env(&args, None);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("is readable by others: chmod 600 it"),
        "{}",
        run.stdout
    );
    set_mode(&file, 0o600);
    assert_eq!(check_env(&args, None).code, 0);

    // The same from a config file; 0644 with a password in it → WARNING.
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "pd = \"{}\"\nuser = \"checker\"\npassword = \"checkpw\"\nno_pd_api = true\n",
            etcd.endpoint
        ),
    )
    .unwrap();
    set_mode(&config, 0o644);
    let run = check_env(&["--config", config.to_str().unwrap(), "--now", NOW], None);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("holds a password and is readable by others: chmod 640 it"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("checkpw"));
    set_mode(&config, 0o640);
    assert_eq!(
        check_env(&["--config", config.to_str().unwrap(), "--now", NOW], None).code,
        0
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}
