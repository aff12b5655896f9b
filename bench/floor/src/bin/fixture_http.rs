//! A stand-in for PD's HTTP API and N TiKV status servers, on one loopback port.
//!
//! usage: fixture_http --stores N [--delay-ms D] [--metrics-bytes B] [--lifetime-secs S]
//!
//! Prints the port on the first stdout line, then serves until killed or S seconds
//! (default 900) have passed. Routes:
//! - `GET /pd/api/v1/stores`: N Up TiKV stores (ids 1, 4, 7, …, PD's JSON shape), every
//!   `status_address` pointing back at this server;
//! - `GET /pd/api/v1/gc/safepoint`: GC safepoint 2 h ago, log-backup coordinator at now − 10 s;
//! - `GET /metrics`: after D ms, a TiKV-format exposition of about B bytes with the
//!   log-backup series (task `pitr` running, KV events growing with time) plus filler;
//! - `GET /stats`: `metrics_requests R max_in_flight M`; `GET /stats/reset` zeroes both.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

struct Config {
    stores: u64,
    delay: Duration,
    metrics_bytes: usize,
    port: u16,
    started: Instant,
}

#[derive(Default)]
struct Stats {
    requests: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn stores_json(config: &Config) -> String {
    let stores: Vec<String> = (0..config.stores)
        .map(|i| {
            let id = 1 + 3 * i;
            format!(
                r#"{{"store":{{"id":{id},"address":"tikv-{id}:20160","labels":[{{"key":"zone","value":"z{}"}}],"version":"8.5.1","peer_address":"tikv-{id}:20160","status_address":"127.0.0.1:{}","git_hash":"0000000000000000000000000000000000000000","start_timestamp":1704000000,"deploy_path":"/tidb-deploy/tikv-20160/bin","last_heartbeat":{}000000,"node_state":1,"state_name":"Up"}},"status":{{"capacity":"1.8TiB","available":"1.2TiB","used_size":"310GiB","leader_count":5012,"region_count":15030,"uptime":"19h36m30s"}}}}"#,
                i % 3,
                config.port,
                now_ms()
            )
        })
        .collect();
    format!(
        r#"{{"count":{},"stores":[{}]}}"#,
        config.stores,
        stores.join(",")
    )
}

fn gc_json() -> String {
    let now = now_ms();
    let gc = (now - 2 * 3600 * 1000) << 18;
    let coordinator = ((now - 10_000) << 18) - 1;
    format!(
        r#"{{"service_gc_safe_points":[{{"service_id":"gc_worker","expired_at":9223372036854775807,"safe_point":{gc}}},{{"service_id":"log-backup-coordinator","expired_at":{},"safe_point":{coordinator}}}],"min_service_gc_safe_point":{gc},"gc_safe_point":{gc}}}"#,
        now / 1000 + 3600
    )
}

fn metrics_body(config: &Config) -> String {
    let events = config.started.elapsed().as_millis() as u64 * 10;
    let mut body = format!(
        "# HELP tikv_log_backup_handle_kv_batch The total kv pair change handle by the stream backup
# TYPE tikv_log_backup_handle_kv_batch histogram
tikv_log_backup_handle_kv_batch_bucket{{le=\"1\"}} 48211
tikv_log_backup_handle_kv_batch_bucket{{le=\"+Inf\"}} 70015
tikv_log_backup_handle_kv_batch_sum {events}
tikv_log_backup_handle_kv_batch_count 70015
# HELP tikv_log_backup_task_status The status of tasks
# TYPE tikv_log_backup_task_status gauge
tikv_log_backup_task_status{{task=\"pitr\"}} 0
# HELP tikv_engine_size_bytes Sizes of each column families
# TYPE tikv_engine_size_bytes gauge
"
    );
    let mut i = 0u64;
    while body.len() < config.metrics_bytes {
        body.push_str(&format!(
            "tikv_engine_size_bytes{{db=\"kv\",type=\"filler_{i}\"}} {}\n",
            i * 7919
        ));
        i += 1;
    }
    body
}

/// Waits `delay`; false as soon as the peer has closed the connection.
fn wait_unless_closed(stream: &TcpStream, delay: Duration) -> bool {
    let until = Instant::now() + delay;
    if stream.set_nonblocking(true).is_err() {
        std::thread::sleep(delay);
        return true;
    }
    let mut byte = [0u8; 1];
    let open = loop {
        match stream.peek(&mut byte) {
            Ok(0) => break false,
            Err(e) if e.kind() != std::io::ErrorKind::WouldBlock => break false,
            _ => {}
        }
        let now = Instant::now();
        if now >= until {
            break true;
        }
        std::thread::sleep((until - now).min(Duration::from_millis(5)));
    };
    let _ = stream.set_nonblocking(false);
    open
}

fn serve(stream: TcpStream, config: &Config, stats: &Stats) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) if line == "\r\n" || line == "\n" => break,
            Ok(_) => {}
        }
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/");
    let (status, body) = match path {
        "/pd/api/v1/stores" => ("200 OK", stores_json(config)),
        "/pd/api/v1/gc/safepoint" => ("200 OK", gc_json()),
        "/metrics" => {
            stats.requests.fetch_add(1, Ordering::SeqCst);
            let now = stats.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            stats.max_in_flight.fetch_max(now, Ordering::SeqCst);
            // Sleep, but notice a client that gave up (the check's deadline): it no longer
            // counts as in flight, so `max_in_flight` is the client's real concurrency.
            if !wait_unless_closed(&stream, config.delay) {
                stats.in_flight.fetch_sub(1, Ordering::SeqCst);
                return;
            }
            let body = metrics_body(config);
            // Done before the reply is written: the client cannot send its next request
            // before it has the reply, so the count never includes a worker twice.
            stats.in_flight.fetch_sub(1, Ordering::SeqCst);
            ("200 OK", body)
        }
        "/stats" => (
            "200 OK",
            format!(
                "metrics_requests {} max_in_flight {}\n",
                stats.requests.load(Ordering::SeqCst),
                stats.max_in_flight.load(Ordering::SeqCst)
            ),
        ),
        "/stats/reset" => {
            stats.requests.store(0, Ordering::SeqCst);
            stats.max_in_flight.store(0, Ordering::SeqCst);
            ("200 OK", "reset\n".to_string())
        }
        _ => ("404 Not Found", "not found\n".to_string()),
    };
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(body.as_bytes());
    let _ = stream.flush();
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let get = |name: &str| -> Option<u64> {
        args.windows(2).find(|w| w[0] == name).map(|w| {
            w[1].parse()
                .unwrap_or_else(|_| panic!("{name} needs a number"))
        })
    };
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().unwrap().port();
    let lifetime = Duration::from_secs(get("--lifetime-secs").unwrap_or(900));
    let config = Arc::new(Config {
        stores: get("--stores").unwrap_or(3),
        delay: Duration::from_millis(get("--delay-ms").unwrap_or(0)),
        metrics_bytes: get("--metrics-bytes").unwrap_or(64 << 10) as usize,
        port,
        started: Instant::now(),
    });
    let stats = Arc::new(Stats::default());
    println!("{port}");
    let _ = std::io::stdout().flush();
    // Bounded in time: exits by itself even if the script that started it is gone.
    std::thread::spawn(move || {
        std::thread::sleep(lifetime);
        std::process::exit(0);
    });
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let config = Arc::clone(&config);
        let stats = Arc::clone(&stats);
        std::thread::spawn(move || serve(stream, &config, &stats));
    }
}
