//! Test harness: a real etcd (Debian `etcd-server`) on a free loopback port, and the
//! built binary. A missing etcd fails the test loudly; it never skips.
#![allow(dead_code)]

pub mod encode;

use check_tidb_log_backup::snapshot::Kv;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};
use testkit::fixture::{load_into_etcd, Fixture};

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

/// Test certificates made with openssl at test time (toolchain-notes.md §1.3):
/// `ca`, a server cert for 127.0.0.1/localhost, a client cert, and a second unrelated CA.
pub struct Certs {
    pub dir: PathBuf,
}

impl Certs {
    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).to_str().unwrap().to_string()
    }

    pub fn make(tag: &str) -> Certs {
        let dir = std::env::temp_dir().join(format!("ctlb-certs-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = r#"set -e
newkey() { openssl ecparam -name prime256v1 -genkey -noout -out "$1.tmp" && openssl pkcs8 -topk8 -nocrypt -in "$1.tmp" -out "$1" && rm "$1.tmp"; }
ca() { newkey $1.key; openssl req -x509 -new -key $1.key -sha256 -days 3650 -subj "/CN=$1" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out $1.crt; }
leaf() { # name ca cn ext
  newkey $1.key; openssl req -new -key $1.key -subj "/CN=$3" -out $1.csr
  printf "$4" > $1.ext
  openssl x509 -req -in $1.csr -CA $2.crt -CAkey $2.key -CAcreateserial -days 3650 -sha256 -extfile $1.ext -out $1.crt 2>/dev/null; }
ca ca; ca other-ca
leaf server ca etcd-server 'basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
'
leaf client ca check-client 'basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
'
leaf stranger other-ca stranger 'basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
'
rm -f *.csr *.ext *.srl
"#;
        let out = Command::new("bash")
            .arg("-c")
            .arg(script)
            .current_dir(&dir)
            .output()
            .expect("run openssl (apt-get install openssl)");
        assert!(
            out.status.success(),
            "making test certificates failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Certs { dir }
    }
}

impl Drop for Certs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
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
    check_env(args, &[])
}

/// [`check`] with extra environment variables (`TZ`, `NO_COLOR`, …).
pub fn check_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let output: Output = Command::new(env!("CARGO_BIN_EXE_check_tidb_log_backup"))
        .args(args)
        .env_remove("TIDB_PD")
        .env_remove("NO_COLOR")
        // The table prints BR's local dates: pin the zone so the golden files hold anywhere.
        .env("TZ", "UTC")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run check_tidb_log_backup");
    Run {
        stdout: String::from_utf8(output.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        code: output.status.code().expect("exit code, not a signal"),
    }
}

/// A stand-in for PD's HTTP API (PD cannot be installed here): serves recorded response
/// bodies by path on a loopback port, one request per connection.
pub struct PdServer {
    pub endpoint: String,
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// `(path, status, body)`.
pub type Route = (String, u16, String);

fn serve_one(mut stream: std::net::TcpStream, routes: &[Route]) {
    use std::io::{BufRead, BufReader, Write};
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => break,
            Ok(_) if header == "\r\n" || header == "\n" => break,
            Ok(_) => {}
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    let (status, body) = routes
        .iter()
        .find(|(p, _, _)| *p == path)
        .map(|(_, status, body)| (*status, body.clone()))
        .unwrap_or((404, "404 page not found\n".to_string()));
    let response = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json; charset=UTF-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes());
}

impl PdServer {
    pub fn start(routes: Vec<Route>) -> PdServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if flag.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    serve_one(stream, &routes);
                }
            }
        });
        PdServer {
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            stop,
            thread: Some(thread),
        }
    }

    /// Serves `stores` (a `/pd/api/v1/stores` body) with the default GC safepoints.
    pub fn with_stores(stores: String) -> PdServer {
        let gc = std::fs::read_to_string(fixture_path("pd/gc_safepoint.json")).unwrap();
        PdServer::start(vec![
            ("/pd/api/v1/stores".into(), 200, stores),
            ("/pd/api/v1/gc/safepoint".into(), 200, gc),
        ])
    }

    /// Serves a fixture's `[pd]` responses, or the defaults in `fixtures/pd/`.
    pub fn for_fixture(file: &str) -> PdServer {
        let fixture = Fixture::load(&fixture_path(file)).unwrap_or_else(|e| panic!("{e}"));
        let default =
            |name: &str| std::fs::read_to_string(fixture_path(&format!("pd/{name}"))).unwrap();
        PdServer::start(vec![
            (
                "/pd/api/v1/stores".into(),
                200,
                fixture
                    .pd
                    .stores
                    .clone()
                    .unwrap_or_else(|| default("stores.json")),
            ),
            (
                "/pd/api/v1/gc/safepoint".into(),
                200,
                fixture
                    .pd
                    .gc_safepoint
                    .clone()
                    .unwrap_or_else(|| default("gc_safepoint.json")),
            ),
        ])
    }
}

impl Drop for PdServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wake the blocking accept so the thread sees the flag and ends.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
