//! `--verify`'s cost (`bench/storage`, issue P item 1): requests per run against s3s-fs, a
//! Rust S3 server serving a directory on 127.0.0.1, in the two scenarios the goal names:
//!
//! - `steady`: 200 stores flushing every 3 minutes (TiKV's default, staggered), an hour
//!   of history verified first, then one run a minute for 90 minutes (two hour
//!   boundaries) with that minute's flushes added before each: goal ≤ 10 requests per
//!   run per task;
//! - `catchup`: 100,000 metas (200 stores, 500 flushes each: 25 hours) never verified:
//!   runs at the default budget until the backlog is 0: goal ≤ 10 runs.
//!
//! Each flush is a meta and its data file (64 bytes). `--verify`'s requests in a run are
//! the run's `storage_requests` less those of the same run without `--verify`
//! (`--no-state`, which reads and writes no state file). `--verify-lengths` (every meta
//! read) is measured beside the default in `steady`.
//!
//! `cargo run --release --example bench_verify -- [SCENARIO…]`; environment:
//! `CHECK_BINARY` (default target/release/check_tidb_log_backup), `S3S_FS` (default
//! `s3s-fs`).
// A developer tool: printing is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use testkit::encode::{tso_rfc3339 as at, tso_span};
use testkit::layout::{Flush, LogStorage};
use testkit::Etcd;

const STORES: u64 = 200;
const INTERVAL: Duration = Duration::from_secs(180);

/// Every flush of the 200 stores with a flush ts in `[from, to)`: store s flushes at
/// `origin + s × 0.9 s + k × 3 min`.
fn flushes(origin: u64, from: u64, to: u64) -> Vec<Flush> {
    let step = tso_span(INTERVAL);
    let stagger = step / STORES;
    let mut out = Vec::new();
    for store in 1..=STORES {
        let first = origin + store * stagger;
        let mut k = if from > first {
            (from - first).div_ceil(step)
        } else {
            0
        };
        while first + k * step < to {
            out.push(Flush::new(store, first + k * step));
            k += 1;
        }
    }
    out
}

fn objects(flushes: &[Flush]) -> testkit::store::Objects {
    flushes.iter().flat_map(Flush::objects).collect()
}

struct Bench {
    etcd: Etcd,
    check: String,
    config: PathBuf,
    data: PathBuf,
    _dir: testkit::sink::TempDir,
}

/// One run's figures.
struct Run {
    verify_requests: u64,
    by_name: u64,
    backlog: u64,
    wall: Duration,
}

impl Bench {
    fn task(&self, args: &[&str], state: &Path) -> (serde_json::Value, Duration) {
        let started = Instant::now();
        let out = Command::new(&self.check)
            .args([
                "--pd",
                &self.etcd.endpoint,
                "--no-pd-api",
                "--format",
                "ndjson",
            ])
            .arg("--config")
            .arg(&self.config)
            .arg("--state-dir")
            .arg(state)
            .args(args)
            .env_remove("TIDB_PD")
            .stdin(Stdio::null())
            .output()
            .expect("run the check");
        let wall = started.elapsed();
        assert!(out.status.code().unwrap_or(9) <= 3, "{out:?}");
        assert!(out.stderr.is_empty(), "{out:?}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let task = stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v["kind"] == "task")
            .unwrap_or_else(|| panic!("no task line: {stdout}"));
        assert_eq!(task["storage_state"], "ok", "{task}");
        (task, wall)
    }

    /// A `--verify` run keeping its state in `state`, and its verification's requests.
    fn run(&self, extra: &[&str], state: &Path) -> Run {
        let mut args = vec!["--storage", "--verify"];
        args.extend_from_slice(extra);
        let (task, wall) = self.task(&args, state);
        let mut plain_args = vec!["--storage", "--no-state"];
        plain_args.extend(
            extra
                .iter()
                .filter(|a| **a == "-t" || a.parse::<u32>().is_ok()),
        );
        let (plain, _) = self.task(&plain_args, state);
        let n = |t: &serde_json::Value, k: &str| t[k].as_u64().unwrap_or(0);
        let reasons = task["reasons"].to_string();
        assert!(!reasons.contains("would fail"), "{reasons}");
        Run {
            verify_requests: n(&task, "storage_requests") - n(&plain, "storage_requests"),
            by_name: n(&task, "verify_by_name_metas"),
            backlog: n(&task, "verify_backlog_metas"),
            wall,
        }
    }

    fn write(&self, flushes: &[Flush]) {
        testkit::sink::write_dir(&self.data, "log", &objects(flushes));
    }
}

fn stats(values: &mut [u64]) -> (u64, u64, u64, f64) {
    values.sort_unstable();
    let mean = values.iter().sum::<u64>() as f64 / values.len().max(1) as f64;
    (
        values[0],
        values[values.len() / 2],
        values[values.len() - 1],
        mean,
    )
}

fn main() {
    let wanted: Vec<String> = std::env::args().skip(1).collect();
    let env = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
    let check = env("CHECK_BINARY", "target/release/check_tidb_log_backup");
    let s3s = env("S3S_FS", "s3s-fs");
    let wants = |s: &str| wanted.is_empty() || wanted.iter().any(|w| w == s);
    let mut rows = Vec::new();
    for scenario in ["steady", "catchup"].into_iter().filter(|s| wants(s)) {
        let server = testkit::s3::start_s3s_fs(&s3s, None);
        let endpoint = format!("http://127.0.0.1:{}", server.port);
        let dir = testkit::sink::TempDir::new("bench-verify");
        let config = PathBuf::from(dir.storage_config(&testkit::s3::storage_table(
            &dir.path, "bench", "log", &endpoint,
        )));
        let etcd = Etcd::start();
        etcd.load(&["v71-running.toml"]);
        let bench = Bench {
            etcd,
            check: check.clone(),
            config,
            data: server.dir.join("data/bench"),
            _dir: dir,
        };
        let start = at("2023-12-31T00:00:00Z");
        let mut storage = LogStorage::new(start);
        for store in 1..=STORES {
            storage = storage.checkpoint(store, at("2024-01-01T00:59:30Z"));
        }
        testkit::sink::write_dir(&bench.data, "log", &storage.objects());
        match scenario {
            "steady" => {
                let t0 = at("2024-01-01T00:30:00Z");
                let minute = tso_span(Duration::from_secs(60));
                bench.write(&flushes(start, t0 - 60 * minute, t0));
                let modes: [(&str, &[&str]); 2] = [
                    ("--verify", &[]),
                    ("--verify-lengths", &["--verify-lengths"]),
                ];
                let root = bench.data.parent().unwrap().parent().unwrap().to_path_buf();
                let states: Vec<PathBuf> = (0..modes.len())
                    .map(|i| root.join(format!("state{i}")))
                    .collect();
                // The hour of history first, in as many runs as it takes.
                let mut first = Vec::new();
                for ((_, extra), state) in modes.iter().zip(&states) {
                    let mut runs = Vec::new();
                    loop {
                        let run = bench.run(extra, state);
                        let done = run.backlog == 0;
                        runs.push(run.verify_requests);
                        if done {
                            break;
                        }
                    }
                    first.push(runs);
                }
                // Then a run a minute, both modes on the same objects.
                let mut figures: Vec<[Vec<u64>; 3]> = vec![Default::default(); modes.len()];
                for k in 0..90u64 {
                    bench.write(&flushes(start, t0 + k * minute, t0 + (k + 1) * minute));
                    for (i, ((_, extra), state)) in modes.iter().zip(&states).enumerate() {
                        let run = bench.run(extra, state);
                        assert_eq!(run.backlog, 0, "minute {k}");
                        figures[i][0].push(run.verify_requests);
                        figures[i][1].push(run.by_name);
                        figures[i][2].push(run.wall.as_millis() as u64);
                    }
                }
                for (i, (label, _)) in modes.iter().enumerate() {
                    let [requests, by_name, walls] = &mut figures[i];
                    let (lo, med, hi, mean) = stats(requests);
                    let (_, _, _, names) = stats(by_name);
                    let (_, wall, _, _) = stats(walls);
                    let catchup: Vec<String> = first[i].iter().map(u64::to_string).collect();
                    rows.push(format!(
                        "| steady {label} | 90 runs, 200 stores, ~67 new metas a run | {lo} / {med} / {hi} (mean {mean:.1}) | {names:.1} | {wall} | the hour of history before (4,000 metas): {} run(s), requests {} |",
                        first[i].len(),
                        catchup.join(", ")
                    ));
                    eprintln!("{}", rows.last().unwrap());
                }
            }
            _ => {
                let timeout = env("BENCH_VERIFY_TIMEOUT", "300");
                let end = at("2024-01-01T01:00:00Z");
                let from = end - 500 * tso_span(INTERVAL);
                let all = flushes(from, from, end);
                eprintln!("[catchup] writing {} flushes", all.len());
                bench.write(&all);
                let state = bench
                    .data
                    .parent()
                    .unwrap()
                    .parent()
                    .unwrap()
                    .join("state-catchup");
                let mut runs = Vec::new();
                loop {
                    // s3s-fs walks a directory for each LIST page: with 100,000 objects
                    // in one, a page takes seconds, so these runs get the time their
                    // requests need (BENCH_VERIFY_TIMEOUT, default 300 s).
                    let run = bench.run(&["-t", &timeout], &state);
                    eprintln!(
                        "[catchup] run {}: {} requests, backlog {}, {} by name, {:?}",
                        runs.len() + 1,
                        run.verify_requests,
                        run.backlog,
                        run.by_name,
                        run.wall
                    );
                    let done = run.backlog == 0;
                    runs.push(run);
                    if done || runs.len() == 30 {
                        break;
                    }
                }
                let requests: Vec<String> =
                    runs.iter().map(|r| r.verify_requests.to_string()).collect();
                let walls: Vec<String> = runs
                    .iter()
                    .map(|r| r.wall.as_millis().to_string())
                    .collect();
                rows.push(format!(
                    "| catchup --verify | {} metas, 200 stores, 25 hours | per run: {} | | {} | runs to a backlog of 0: {} |",
                    all.len(),
                    requests.join(", "),
                    walls.join(", "),
                    runs.len()
                ));
            }
        }
    }
    println!();
    println!("| scenario | what | `--verify` requests per run: min / median / max | metas proven by name per run (mean) | wall per run (ms, median) | notes |");
    println!("|---|---|---|---:|---|---|");
    for row in rows {
        println!("{row}");
    }
}
