//! `--storage` against a native S3 server (`bench/storage`, issue N item 8): s3s-fs, a
//! Rust S3 server serving a directory, on 127.0.0.1. Per scenario, interleaved in a
//! fresh random order each round, medians of fresh processes:
//!
//! - the check without `--storage` (etcd only),
//! - the same check with `--storage`,
//! - the floor (`bench/floor`'s `s3_floor`): one keep-alive connection sending the
//!   requests the check sent (recorded once through testkit's `Recorder`), one after
//!   another, SigV4-signed; its own connect-to-last-byte time and its process wall time.
//!
//! Goal: `--storage` wall ≤ etcd-only wall + 1.5 × floor, requests per task flat in the
//! meta count. Prints one table row per scenario (Markdown, for BENCHMARKS.md).
//!
//! `cargo run --release --example bench_storage_s3s -- [ROUNDS] [SCENARIO…]`
//! Environment: `CHECK_BINARY` (default target/release/check_tidb_log_backup),
//! `S3_FLOOR` (default bench/target/release/s3_floor), `S3S_FS` (default `s3s-fs`),
//! `CHECK_BINARY_BEFORE` (another build of the check, timed with `--storage` in the same
//! rounds: before/after a change), `BENCH_RAW` (a directory for every sample, TSV).
//! `S3S_NODELAY_SO` (bench/floor/nodelay.c built: the `-nodelay` scenarios run s3s-fs
//! with it preloaded), `BENCH_ROUNDS_BIG` (rounds above 10,000 metas, default 7).
//! Scenarios: `300`, `2800`, `100000` (3 stores, that many metas), `200x40` (200 stores,
//! 40 minutes of flushes every 3 minutes: 2,800 metas and 200 `.ts` files), and
//! `300-nodelay`, `200x40-nodelay` (the same against s3s-fs with Nagle off); default all.
// A developer tool: printing is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use testkit::encode::tso_rfc3339 as at;
use testkit::layout::{bench_metas, LogStorage, MetaName};
use testkit::{Etcd, Recorder};

struct Scenario {
    name: &'static str,
    metas: usize,
    stores: u64,
    /// The flush interval of one store; stores flush round-robin, staggered.
    per_store: Duration,
    /// s3s-fs with Nagle off on its connections (`S3S_NODELAY_SO`, an LD_PRELOAD shim).
    nodelay: bool,
}

const fn scenario(
    name: &'static str,
    metas: usize,
    stores: u64,
    per_store_ms: u64,
    nodelay: bool,
) -> Scenario {
    Scenario {
        name,
        metas,
        stores,
        per_store: Duration::from_millis(per_store_ms),
        nodelay,
    }
}

/// 3 stores flush every 1.8 s between them (one meta every 0.6 s, as bench_storage);
/// 200 stores every 3 minutes (TiKV's default), 14 flushes each: 40 minutes.
const SCENARIOS: &[Scenario] = &[
    scenario("300", 300, 3, 1_800, false),
    scenario("2800", 2_800, 3, 1_800, false),
    scenario("100000", 100_000, 3, 1_800, false),
    scenario("200x40", 200 * 14, 200, 180_000, false),
    scenario("300-nodelay", 300, 3, 1_800, true),
    scenario("200x40-nodelay", 200 * 14, 200, 180_000, true),
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(30);
    let wanted: Vec<&str> = args.iter().skip(1).map(String::as_str).collect();
    let env = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
    let check = env("CHECK_BINARY", "target/release/check_tidb_log_backup");
    let floor = env("S3_FLOOR", "bench/target/release/s3_floor");
    let s3s = env("S3S_FS", "s3s-fs");
    let before = std::env::var("CHECK_BINARY_BEFORE").ok();
    let nodelay = std::env::var("S3S_NODELAY_SO").ok();
    let big_rounds: usize = env("BENCH_ROUNDS_BIG", "7").parse().unwrap_or(7);
    let version = Command::new(&s3s)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|e| panic!("{s3s} --version: {e} (bench/storage installs it)"));

    let etcd = Etcd::start();
    etcd.load(&["v71-running.toml"]);
    let mut rows = Vec::new();
    for scenario in SCENARIOS
        .iter()
        .filter(|s| wanted.is_empty() || wanted.contains(&s.name))
    {
        let preload = match (scenario.nodelay, &nodelay) {
            (false, _) => None,
            (true, Some(so)) => Some(so.as_str()),
            (true, None) => {
                eprintln!("[{}] skipped: S3S_NODELAY_SO is not set", scenario.name);
                continue;
            }
        };
        let server = Server {
            program: &s3s,
            version: &version,
            preload,
        };
        let rounds = if scenario.metas > 10_000 {
            big_rounds
        } else {
            rounds
        };
        rows.push(run_scenario(
            scenario,
            rounds,
            &etcd,
            (&check, before.as_deref()),
            &floor,
            &server,
        ));
    }
    println!();
    let before_head = if before.is_some() {
        (" `--storage` before (ms) |", "---:|")
    } else {
        ("", "")
    };
    println!("| scenario | metas | `.ts` files | requests (LIST + GET) | rounds | etcd only (ms) | `--storage` (ms) |{} floor (ms) | floor without quickack (ms) | goal: `--storage` ≤ etcd only + 1.5 × floor | ratio (`--storage` − etcd only) ÷ floor | server |", before_head.0);
    println!(
        "|---|---:|---:|---|---:|---:|---:|{}---:|---:|---|---:|---|",
        before_head.1
    );
    for row in rows {
        println!("{row}");
    }
}

/// The S3 server of one scenario.
struct Server<'a> {
    program: &'a str,
    version: &'a str,
    /// A shared object to LD_PRELOAD into it.
    preload: Option<&'a str>,
}

fn run_scenario(
    scenario: &Scenario,
    rounds: usize,
    etcd: &Etcd,
    (check, before): (&str, Option<&str>),
    floor: &str,
    s3s: &Server,
) -> String {
    let server = testkit::s3::start_s3s_fs(s3s.program, s3s.preload);
    let endpoint = format!("http://127.0.0.1:{}", server.port);
    let started = Instant::now();
    // Checkpoint files: stores 1, 4, 1001 (the fixture's etcd keys), or 1..=200.
    let stores: Vec<u64> = if scenario.stores == 3 {
        vec![1, 4, 1001]
    } else {
        (1..=scenario.stores).collect()
    };
    let mut storage = LogStorage::new(at("2024-01-01T00:00:00Z"));
    for (i, store) in stores.iter().enumerate() {
        storage = storage.checkpoint(*store, at("2024-01-01T00:59:30Z") - i as u64 % 7);
    }
    let mut objects = storage.objects();
    // Round-robin over the stores, one flush every per_store / stores, up to 01:00.
    let step = scenario.per_store / scenario.stores as u32;
    let first =
        at("2024-01-01T01:00:00Z") - testkit::encode::tso_span(step * scenario.metas as u32);
    objects.extend(bench_metas(
        scenario.metas,
        scenario.stores,
        first,
        step,
        MetaName::Tagged,
    ));
    testkit::sink::write_dir(&server.dir.join("data/bench"), "log", &objects);
    eprintln!(
        "[{}] {} objects written under {} in {:?}",
        scenario.name,
        objects.len(),
        server.dir.display(),
        started.elapsed()
    );

    let dir = testkit::sink::TempDir::new("bench-s3s");
    std::fs::write(dir.path.join("id"), testkit::s3::ACCESS_KEY_ID).unwrap();
    std::fs::write(dir.path.join("key"), testkit::s3::SECRET_ACCESS_KEY).unwrap();
    let config = |endpoint: &str, name: &str| {
        let path = dir.path.join(name);
        std::fs::write(
            &path,
            format!(
                "[tasks.pitr.storage]\nurl = \"s3://bench/log?endpoint={endpoint}&region=us-east-1&force-path-style=true\"\naccess_key_id_file = \"{}\"\nsecret_access_key_file = \"{}\"\n",
                dir.path.join("id").display(),
                dir.path.join("key").display()
            ),
        )
        .unwrap();
        path
    };
    let direct = config(&endpoint, "direct.toml");
    let state = dir.path.join("state");
    let command = |binary: &str, config: &Path, storage: bool, format: &str| {
        let mut cmd = Command::new(binary);
        cmd.args([
            "--pd",
            &etcd.endpoint,
            "--no-pd-api",
            "--now",
            "2024-01-01T01:05:00Z",
        ])
        .args(["--format", format, "--config"])
        .arg(config)
        .env_remove("TIDB_PD")
        .env("XDG_STATE_HOME", &state)
        .stdin(Stdio::null());
        if storage {
            cmd.arg("--storage");
        }
        cmd
    };

    // The requests of one run: ndjson's storage_requests, and what they were (through
    // the recorder, which the timed runs do not go through).
    let out = command(check, &direct, true, "ndjson")
        .output()
        .expect("run the check");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let task = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["kind"] == "task")
        .unwrap_or_else(|| panic!("no task line: {stdout}"));
    let counted = task["storage_requests"].as_u64().expect("storage_requests");
    assert_eq!(
        task["storage_state"], "ok",
        "the storage read failed: {task}"
    );
    assert!(
        task["newest_flush_age_seconds"].is_number(),
        "no flush: {task}"
    );
    let recorder = Recorder::start(&endpoint);
    let via = config(&recorder.endpoint(), "recorded.toml");
    let out = command(check, &via, true, "ndjson")
        .output()
        .expect("run the check");
    assert!(out.status.code().unwrap_or(9) <= 3, "{out:?}");
    let requests = recorder.requests();
    assert!(
        recorder.writes().is_empty(),
        "a write: {:?}",
        recorder.writes()
    );
    assert_eq!(
        requests.len() as u64,
        counted,
        "recorded vs storage_requests"
    );
    let lists = recorder.lists().len();
    let replay = dir.path.join("requests.txt");
    std::fs::write(
        &replay,
        requests
            .iter()
            .map(|(m, t)| format!("{m} {t}\n"))
            .collect::<String>(),
    )
    .unwrap();
    drop(recorder);
    if std::env::var_os("BENCH_KEEP").is_some() {
        eprintln!(
            "[{}] requests in {}; s3s-fs on {endpoint}, dir {}: press Enter",
            scenario.name,
            replay.display(),
            server.dir.display()
        );
        let _ = std::io::stdin().read_line(&mut String::new());
    }

    let addr = format!("127.0.0.1:{}", server.port);
    // What each round runs, in a fresh random order: the check without and with
    // --storage (and with the binary before a change, if given), the floor, and the
    // floor without TCP_QUICKACK. Times in ms: process wall, and the floor's own
    // connect-to-last-byte time.
    let floor_run = |naive: bool| -> (f64, f64) {
        let mut cmd = Command::new(floor);
        if naive {
            cmd.arg("--no-quickack");
        }
        let t = Instant::now();
        let out = cmd
            .args([&addr, replay.to_str().unwrap()])
            .stdin(Stdio::null())
            .output()
            .expect("run s3_floor (bench/storage builds it)");
        let wall = t.elapsed().as_secs_f64() * 1000.0;
        assert!(out.status.success(), "s3_floor: {out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        let us: f64 = text
            .split_whitespace()
            .rev()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("s3_floor printed {text}"));
        (us / 1000.0, wall)
    };
    let check_run = |binary: &str, storage: bool| -> f64 {
        let mut cmd = command(binary, &direct, storage, "nagios");
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        let t = Instant::now();
        let status = cmd.status().expect("run the check");
        let took = t.elapsed().as_secs_f64() * 1000.0;
        assert!(status.code().unwrap_or(9) <= 3, "{status:?}");
        took
    };
    const PLAIN: usize = 0;
    const STORAGE: usize = 1;
    const FLOOR: usize = 2;
    const FLOOR_WALL: usize = 3;
    const NAIVE: usize = 4;
    const BEFORE: usize = 5;
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); 6];
    let mut kinds = vec![PLAIN, STORAGE, FLOOR, NAIVE];
    if before.is_some() {
        kinds.push(BEFORE);
    }
    let once = |kind: usize, samples: &mut Vec<Vec<f64>>| match kind {
        PLAIN => samples[PLAIN].push(check_run(check, false)),
        STORAGE => samples[STORAGE].push(check_run(check, true)),
        BEFORE => samples[BEFORE].push(check_run(before.unwrap_or(check), true)),
        NAIVE => samples[NAIVE].push(floor_run(true).0),
        _ => {
            let (own, wall) = floor_run(false);
            samples[FLOOR].push(own);
            samples[FLOOR_WALL].push(wall);
        }
    };
    let mut warm = vec![Vec::new(); 6];
    for _ in 0..3 {
        for &kind in &kinds {
            once(kind, &mut warm);
        }
    }
    let mut seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64
        | 1;
    for _ in 0..rounds {
        let mut order = kinds.clone();
        for i in (1..order.len()).rev() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            order.swap(i, (seed % (i as u64 + 1)) as usize);
        }
        for kind in order {
            once(kind, &mut samples);
        }
    }
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let (p, s, f, fw, naive) = (
        median(&samples[PLAIN]),
        median(&samples[STORAGE]),
        median(&samples[FLOOR]),
        median(&samples[FLOOR_WALL]),
        median(&samples[NAIVE]),
    );
    let goal = p + 1.5 * f;
    let verdict = if s <= goal { "✓" } else { "**✗**" };
    let quartiles = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        format!("{:.1}–{:.1}", v[v.len() / 4], v[v.len() * 3 / 4])
    };
    eprintln!(
        "[{}] {} requests; medians of {rounds}: etcd only {p:.1} ms, --storage {s:.1} ms (p25–p75 {}), floor {f:.1} ms ({fw:.1} ms as a process; {naive:.1} ms without quickack, p25–p75 {}); goal {goal:.1} ms {verdict}",
        scenario.name,
        requests.len(),
        quartiles(&samples[STORAGE]),
        quartiles(&samples[NAIVE]),
    );
    if before.is_some() {
        eprintln!(
            "[{}] --storage, binary before the change: {:.1} ms (p25–p75 {}); after: {s:.1} ms",
            scenario.name,
            median(&samples[BEFORE]),
            quartiles(&samples[BEFORE]),
        );
    }
    if let Ok(dir) = std::env::var("BENCH_RAW") {
        let names = [
            "etcd_only",
            "storage",
            "floor",
            "floor_process",
            "floor_no_quickack",
            "storage_before",
        ];
        let mut tsv = String::new();
        for (name, values) in names.iter().zip(&samples) {
            for v in values {
                tsv.push_str(&format!("{}\t{name}\t{v:.3}\n", scenario.name));
            }
        }
        let path = Path::new(&dir).join(format!("s3s-{}.tsv", scenario.name));
        std::fs::write(&path, tsv).unwrap();
    }
    let what = if scenario.stores == 3 {
        format!("3 stores, {} metas", thousands(scenario.metas as u64))
    } else {
        format!(
            "{} stores × 40 min of flushes ({} each)",
            scenario.stores,
            scenario.metas as u64 / scenario.stores
        )
    };
    let server_cell = match s3s.preload {
        Some(_) => format!("{} + TCP_NODELAY (LD_PRELOAD shim)", s3s.version),
        None => s3s.version.to_string(),
    };
    let before_cell = if before.is_some() {
        format!(" {:.1} |", median(&samples[BEFORE]))
    } else {
        String::new()
    };
    format!(
        "| {what} | {} | {} | {} ({lists} + {}) | {rounds} | {p:.1} | {s:.1} |{before_cell} {f:.1} | {naive:.1} | {verdict} {s:.1} ≤ {goal:.1} | {:.2} | {server_cell} |",
        thousands(scenario.metas as u64),
        stores.len(),
        requests.len(),
        requests.len() - lists,
        (s - p) / f,
    )
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
