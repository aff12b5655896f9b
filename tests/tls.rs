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

/// `--storage` on an `https://` endpoint verifies the storage's certificate against the
/// host's CA roots (`SSL_CERT_FILE` here), read at the TLS handshake; on `http://` they
/// are never read, so a CA file that does not parse does not matter there (reqwest, as
/// object_store builds it, refused to build any client with it).
#[test]
fn storage_certificates_are_checked_with_the_host_roots_only_over_https() {
    let certs = Certs::make("storage");
    let etcd = Etcd::start();
    etcd.load(&["v71-running.toml"]);
    let dir = testkit::sink::TempDir::new("storage-tls");
    std::fs::write(dir.path.join("id"), testkit::s3::ACCESS_KEY_ID).unwrap();
    std::fs::write(dir.path.join("key"), testkit::s3::SECRET_ACCESS_KEY).unwrap();
    let no_dir = dir.path.join("no-certs");
    std::fs::create_dir(&no_dir).unwrap();
    let broken = dir.path.join("broken.pem");
    std::fs::write(
        &broken,
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let run = |endpoint: &str, roots: &Path| {
        let config = dir.path.join("config.toml");
        std::fs::write(
            &config,
            format!(
                "[tasks.pitr.storage]\nurl = \"s3://pitr/log?endpoint={endpoint}&region=us-east-1&force-path-style=true\"\naccess_key_id_file = \"{}\"\nsecret_access_key_file = \"{}\"\n",
                dir.path.join("id").display(),
                dir.path.join("key").display()
            ),
        )
        .unwrap();
        crate::common::check_env(
            &[
                "--pd",
                &etcd.endpoint,
                "--no-pd-api",
                "--now",
                NOW,
                "--storage",
                "--config",
                config.to_str().unwrap(),
            ],
            &[
                ("SSL_CERT_FILE", roots.to_str().unwrap()),
                ("SSL_CERT_DIR", no_dir.to_str().unwrap()),
            ],
        )
    };

    // https: openssl's toy web server, not S3. Trusted, the handshake succeeds and the
    // GET fails on its answer; otherwise the request is never sent (reqwest's message
    // hides the TLS cause).
    let server = TlsFiles::start(&certs, &[("pitr/log/backupmeta", b"x")]);
    let unreadable = "backup storage s3://pitr/log unreadable: GET backupmeta: Generic S3 error: ";
    let trusted = run(&server.endpoint, &certs.dir.join("ca.crt"));
    assert!(
        trusted.stdout.contains(&format!(
            "{unreadable}Content-Length Header missing from response"
        )),
        "{}",
        trusted.stdout
    );
    let other = run(&server.endpoint, &certs.dir.join("other-ca.crt"));
    assert!(
        other.stdout.contains(unreadable)
            && other.stdout.contains("HTTP error: error sending request"),
        "{}",
        other.stdout
    );
    // A CA file that does not parse: the https client cannot be built, the storage is
    // unreadable (and nothing is sent).
    let broken_roots = run(&server.endpoint, &broken);
    assert!(
        broken_roots
            .stdout
            .contains("backup storage s3://pitr/log unreadable: cannot build the HTTP client"),
        "{}",
        broken_roots.stdout
    );

    // http: the same broken CA file, never read.
    let s3 = testkit::S3Server::start();
    s3.create_bucket("pitr");
    let objects = testkit::LogStorage::new(testkit::encode::tso_rfc3339("2024-01-01T00:00:00Z"))
        .checkpoint(1, testkit::encode::tso_rfc3339("2024-01-01T00:59:30Z"))
        .objects();
    testkit::Sink::S3(&s3, "pitr").write("log", &objects);
    let plain = run(&s3.endpoint(), &broken);
    assert!(!plain.stdout.contains("unreadable"), "{}", plain.stdout);
    assert!(
        plain.stdout.contains("pitr_restorable_window="),
        "{}",
        plain.stdout
    );
}

/// `openssl s_server -WWW` serving `files` over HTTPS with the set's server certificate
/// (127.0.0.1), no client certificate asked.
struct TlsFiles {
    child: std::process::Child,
    _dir: testkit::sink::TempDir,
    endpoint: String,
}

impl TlsFiles {
    fn start(certs: &Certs, files: &[(&str, &[u8])]) -> TlsFiles {
        let dir = testkit::sink::TempDir::new("tls-files");
        for (path, bytes) in files {
            let path = dir.path.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        }
        let port = testkit::spawn::free_port();
        let child = Command::new("openssl")
            .args(["s_server", "-quiet", "-WWW", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-cert", &certs.path("server.crt")])
            .args(["-key", &certs.path("server.key")])
            .current_dir(&dir.path)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("openssl s_server");
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed().as_secs() < 10,
                "openssl s_server did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        TlsFiles {
            child,
            _dir: dir,
            endpoint: format!("https://127.0.0.1:{port}"),
        }
    }
}

impl Drop for TlsFiles {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
