//! Test harness: a real etcd (Debian `etcd-server`) on a free loopback port, and the
//! built binary. A missing etcd fails the test loudly; it never skips.
#![allow(dead_code)]

use check_tidb_log_backup::fixture::{load_into_etcd, Fixture};
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
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind a loopback port")
        .local_addr()
        .unwrap()
        .port()
}

impl Etcd {
    pub fn start() -> Etcd {
        let (client, peer) = (free_port(), free_port());
        let dir = std::env::temp_dir().join(format!("ctlb-etcd-{}-{client}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = std::fs::File::create(dir.join("etcd.log")).unwrap();
        let child = Command::new("etcd")
            .args(["--name", "test", "--data-dir"])
            .arg(dir.join("data"))
            .args(["--listen-client-urls", &format!("http://127.0.0.1:{client}")])
            .args(["--advertise-client-urls", &format!("http://127.0.0.1:{client}")])
            .args(["--listen-peer-urls", &format!("http://127.0.0.1:{peer}")])
            .args(["--initial-advertise-peer-urls", &format!("http://127.0.0.1:{peer}")])
            .args(["--initial-cluster", &format!("test=http://127.0.0.1:{peer}")])
            .args(["--heartbeat-interval", "10", "--election-timeout", "50", "--log-level", "error", "--logger", "zap"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start etcd ({e}): install it with `apt-get install etcd-server` (see README)"));
        let etcd = Etcd {
            child,
            dir,
            endpoint: format!("http://127.0.0.1:{client}"),
            port: client,
        };
        etcd.wait_ready();
        etcd
    }

    fn wait_ready(&self) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok()
                && load_into_etcd(&self.endpoint, &[]).is_ok()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let log = std::fs::read_to_string(self.dir.join("etcd.log")).unwrap_or_default();
        panic!("etcd did not become ready within 20s; log:\n{log}");
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
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

/// Runs the built binary with a clean environment (no $TIDB_PD leaking in).
pub fn check(args: &[&str]) -> Run {
    let output: Output = Command::new(env!("CARGO_BIN_EXE_check_tidb_log_backup"))
        .args(args)
        .env_remove("TIDB_PD")
        .stdin(Stdio::null())
        .output()
        .expect("run check_tidb_log_backup");
    Run {
        stdout: String::from_utf8(output.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        code: output.status.code().expect("exit code, not a signal"),
    }
}
