//! An external test server process (moto, Azurite) on a free loopback port: started by
//! the test, ready when it answers HTTP, killed and its temporary directory removed on
//! drop. A missing binary fails the test loudly with the install hint; it never skips.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free loopback port (the kernel picks it; it may be taken again before use, which
/// [`ServerProcess::start`] handles by retrying).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind a loopback port")
        .local_addr()
        .unwrap()
        .port()
}

/// A running server process; its stdout and stderr go to `server.log` in its own
/// temporary directory, shown when it fails to start.
pub struct ServerProcess {
    child: Child,
    pub port: u16,
    /// The process's own temporary directory (data, log); removed on drop.
    pub dir: PathBuf,
    started_in: Duration,
}

impl ServerProcess {
    /// Starts `program` with `args(port, dir)` until it answers an HTTP request on the
    /// port (any status), trying three ports: a port freed by [`free_port`] can be taken
    /// by someone else before the server binds it. `hint` is how to install `program`.
    pub fn start(
        program: &str,
        hint: &str,
        args: impl Fn(u16, &Path) -> Vec<String>,
    ) -> ServerProcess {
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port();
            let dir = std::env::temp_dir().join(format!(
                "ctlb-{}-{}-{port}",
                program.replace('/', "_"),
                std::process::id()
            ));
            std::fs::create_dir_all(&dir).unwrap();
            let log = std::fs::File::create(dir.join("server.log")).unwrap();
            let started = Instant::now();
            let child = Command::new(program)
                .args(args(port, &dir))
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| {
                    let _ = std::fs::remove_dir_all(&dir);
                    panic!("cannot start {program} ({e}): install it with `{hint}` (or run scripts/test --deps-only)")
                });
            let mut server = ServerProcess {
                child,
                port,
                dir,
                started_in: Duration::ZERO,
            };
            match server.wait_ready(program) {
                Ok(()) => {
                    server.started_in = started.elapsed();
                    return server;
                }
                Err(log) => last = log,
            }
        }
        panic!("{program} did not start; last log:\n{last}");
    }

    /// How long the process took from spawn to its first HTTP answer.
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits (bounded, 30 s) for an HTTP status line on the port; `Err(log)` when the
    /// process exited or never answered.
    fn wait_ready(&mut self, program: &str) -> Result<(), String> {
        let started = Instant::now();
        let log = |dir: &Path| std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
        while started.elapsed() < Duration::from_secs(30) {
            if answers_http(self.port) {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "{program} exited with {status}:\n{}",
                    log(&self.dir)
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!(
            "{program} did not answer within 30s:\n{}",
            log(&self.dir)
        ))
    }
}

/// True when something on `port` answers `GET /` with an HTTP status line.
fn answers_http(port: u16) -> bool {
    use std::io::Write;
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut first = [0u8; 8];
    stream.read_exact(&mut first).is_ok() && first.starts_with(b"HTTP/1.")
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
