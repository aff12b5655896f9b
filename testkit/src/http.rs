//! A stand-in for PD's HTTP API and for TiKV's status port (`/metrics`): recorded
//! response bodies served by path on a loopback port (PD and TiKV cannot be installed
//! here).

use crate::fixture::{fixture_path, Fixture};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

/// Serves recorded response bodies by path on a loopback port, one request per
/// connection: PD's API (`/pd/api/v1/...`) or a TiKV `/metrics`.
pub struct PdServer {
    pub endpoint: String,
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// `(path, status, body)`: `path` with its query, or without one to answer any query.
pub type Route = (String, u16, String);

/// PD's keyspace list (tikv/pd:server/apiv2/handlers/keyspace.go), asked page by page.
pub const KEYSPACES: &str = "/pd/api/v2/keyspaces";

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
    // The exact path and query first, then the path alone (a route for
    // `/pd/api/v2/keyspaces` answers every page of it).
    let bare = path.split('?').next().unwrap_or(&path);
    let (status, body) = routes
        .iter()
        .find(|(p, _, _)| *p == path)
        .or_else(|| routes.iter().find(|(p, _, _)| p == bare))
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

    /// Serves a fixture's `[pd]` responses, or the defaults in `fixtures/pd/`; the
    /// keyspace list only when the fixture has one (else HTTP 404, as a PD without the
    /// keyspace API answers).
    pub fn for_fixture(file: &str) -> PdServer {
        let fixture = Fixture::load(&fixture_path(file)).unwrap_or_else(|e| panic!("{e}"));
        let default =
            |name: &str| std::fs::read_to_string(fixture_path(&format!("pd/{name}"))).unwrap();
        let mut routes: Vec<Route> = fixture
            .pd
            .keyspaces
            .iter()
            .map(|body| (KEYSPACES.to_string(), 200, body.clone()))
            .collect();
        routes.extend([
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
        ]);
        PdServer::start(routes)
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
