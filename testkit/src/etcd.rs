//! A real etcd (Debian `etcd-server`) on a free loopback port, plain or with client
//! certificates, that a test can kill, restart, freeze and load fixtures into. A missing
//! etcd fails the test loudly; it never skips.

use crate::certs::Certs;
use crate::fixture::{fixture_path, load_into_etcd, Fixture};
use check_tidb_log_backup::snapshot::Kv;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

pub struct Etcd {
    child: Child,
    dir: PathBuf,
    pub endpoint: String,
    pub port: u16,
    certs: Option<PathBuf>,
    args: Vec<String>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind a loopback port")
        .local_addr()
        .unwrap()
        .port()
}

fn spawn_etcd(args: &[String], dir: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("etcd.log"))
        .unwrap();
    Command::new("etcd")
        .args(args)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start etcd ({e}): install it with `apt-get install etcd-server` (see README)"))
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "kill {sig} {pid} failed");
}

impl Etcd {
    pub fn start() -> Etcd {
        Etcd::start_with(None)
    }

    /// With `certs`: HTTPS client URL requiring client certificates signed by `ca`.
    pub fn start_with(certs: Option<&Certs>) -> Etcd {
        // A freed port can be taken again before etcd binds it: then etcd exits at once,
        // and we try other ports.
        let mut last = String::new();
        for _ in 0..3 {
            match Etcd::try_start(certs) {
                Ok(etcd) => return etcd,
                Err(log) => last = log,
            }
        }
        panic!("etcd did not start; last log:\n{last}");
    }

    fn try_start(certs: Option<&Certs>) -> Result<Etcd, String> {
        let (client, peer) = (free_port(), free_port());
        let scheme = if certs.is_some() { "https" } else { "http" };
        let dir = std::env::temp_dir().join(format!("ctlb-etcd-{}-{client}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut args: Vec<String> = vec![
            "--name".into(),
            "test".into(),
            "--data-dir".into(),
            dir.join("data").to_str().unwrap().into(),
        ];
        let mut add = |items: &[&str]| args.extend(items.iter().map(|s| s.to_string()));
        add(&[
            "--listen-client-urls",
            &format!("{scheme}://127.0.0.1:{client}"),
        ]);
        add(&[
            "--advertise-client-urls",
            &format!("{scheme}://127.0.0.1:{client}"),
        ]);
        add(&["--listen-peer-urls", &format!("http://127.0.0.1:{peer}")]);
        add(&[
            "--initial-advertise-peer-urls",
            &format!("http://127.0.0.1:{peer}"),
        ]);
        add(&[
            "--initial-cluster",
            &format!("test=http://127.0.0.1:{peer}"),
        ]);
        add(&[
            "--heartbeat-interval",
            "10",
            "--election-timeout",
            "50",
            "--log-level",
            "error",
            "--logger",
            "zap",
        ]);
        if let Some(c) = certs {
            add(&[
                "--cert-file",
                &c.path("server.crt"),
                "--key-file",
                &c.path("server.key"),
            ]);
            add(&["--trusted-ca-file", &c.path("ca.crt"), "--client-cert-auth"]);
        }
        let child = spawn_etcd(&args, &dir);
        let mut etcd = Etcd {
            child,
            dir,
            endpoint: format!("{scheme}://127.0.0.1:{client}"),
            port: client,
            certs: certs.map(|c| c.dir.clone()),
            args,
        };
        etcd.wait_ready()?;
        Ok(etcd)
    }

    /// Kills etcd (as a crash would); `restart` brings it back on the same port and data.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn restart(&mut self) {
        self.kill();
        self.child = spawn_etcd(&self.args, &self.dir);
        self.wait_ready()
            .unwrap_or_else(|log| panic!("etcd did not restart; log:\n{log}"));
    }

    /// SIGSTOP / SIGCONT: a frozen member that accepts TCP (the kernel does) but never answers.
    pub fn freeze(&self) {
        signal(self.child.id(), "-STOP");
    }

    pub fn thaw(&self) {
        signal(self.child.id(), "-CONT");
    }

    fn certs_args(&self) -> Vec<String> {
        match &self.certs {
            None => Vec::new(),
            Some(dir) => {
                let p = |n: &str| dir.join(n).to_str().unwrap().to_string();
                vec![
                    "--cacert".into(),
                    p("ca.crt"),
                    "--cert".into(),
                    p("client.crt"),
                    "--key".into(),
                    p("client.key"),
                ]
            }
        }
    }

    /// etcdctl against this etcd (with the client certificate when TLS is on).
    pub fn etcdctl(&self, args: &[&str]) -> Output {
        let out = Command::new("etcdctl")
            .env("ETCDCTL_API", "3")
            .args(["--endpoints", &self.endpoint])
            .args(self.certs_args())
            .args(args)
            .output()
            .expect("run etcdctl (apt-get install etcd-client)");
        assert!(
            out.status.success(),
            "etcdctl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Healthy = etcdctl's health check passes (it reads, never writes: a restart keeps data).
    fn ready(&self) -> bool {
        TcpStream::connect(("127.0.0.1", self.port)).is_ok()
            && Command::new("etcdctl")
                .env("ETCDCTL_API", "3")
                .args(["--endpoints", &self.endpoint, "--command-timeout", "2s"])
                .args(self.certs_args())
                .args(["endpoint", "health"])
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false)
    }

    /// Waits (bounded) until etcd answers; `Err(log)` when it exited or never answered.
    fn wait_ready(&mut self) -> Result<(), String> {
        let started = Instant::now();
        let log = |dir: &Path| std::fs::read_to_string(dir.join("etcd.log")).unwrap_or_default();
        while started.elapsed() < Duration::from_secs(30) {
            if self.ready() {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("etcd exited with {status}:\n{}", log(&self.dir)));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!(
            "etcd did not answer within 30s:\n{}",
            log(&self.dir)
        ))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Loads fixture files (relative times resolved against the wall clock).
    pub fn load(&self, files: &[&str]) {
        let mut pairs = Vec::new();
        for file in files {
            let path = fixture_path(file);
            let fixture = Fixture::load(&path).unwrap_or_else(|e| panic!("{e}"));
            pairs.extend(
                fixture
                    .pairs(SystemTime::now())
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display())),
            );
        }
        self.load_pairs(&pairs);
    }

    pub fn load_pairs(&self, pairs: &[Kv]) {
        load_into_etcd(&self.endpoint, pairs).unwrap_or_else(|e| panic!("loading etcd: {e}"));
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        // A frozen etcd must be woken to die cleanly.
        let _ = Command::new("kill")
            .args(["-CONT", &self.child.id().to_string()])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
