//! The `--storage` benchmark (`bench/storage`): the etcd-only check against the same check
//! with `--storage`, on an S3 server (moto) holding 100,000 meta files, behind the
//! recording proxy that counts the requests. Prints the figures; times nothing in tests.
//!
//! `cargo run --release --example bench_storage -- [ROUNDS] [METAS]`
// A developer tool: printing is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::Command;
use std::time::{Duration, Instant};
use testkit::encode::tso_rfc3339 as at;
use testkit::layout::{bench_metas, LogStorage, MetaName};
use testkit::{Etcd, Recorder, S3Server, Sink};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(20);
    let metas: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let binary = std::env::var("CHECK_BINARY")
        .unwrap_or_else(|_| "target/release/check_tidb_log_backup".to_string());

    let etcd = Etcd::start();
    etcd.load(&["v71-running.toml"]);
    let s3 = S3Server::start();
    s3.create_bucket("bench");
    let started = Instant::now();
    let mut objects = LogStorage::new(at("2024-01-01T00:00:00Z"))
        .checkpoint(1, at("2024-01-01T00:59:30Z"))
        .checkpoint(4, at("2024-01-01T00:59:00Z"))
        .checkpoint(1001, at("2024-01-01T00:59:30Z"))
        .objects();
    // Flushes every 0.6 s up to 01:00: the window (checkpoint − 30 min) holds the last
    // 3,000 of them, the listing reads one page of 1,000.
    let interval = Duration::from_millis(600);
    let first = at("2024-01-01T01:00:00Z") - testkit::encode::tso_span(interval * metas as u32);
    objects.extend(bench_metas(metas, 3, first, interval, MetaName::Tagged));
    Sink::S3(&s3, "bench").write("log", &objects);
    eprintln!(
        "loaded {} objects into moto in {:?}",
        objects.len(),
        started.elapsed()
    );

    let recorder = Recorder::start(&s3.endpoint());
    let dir = testkit::sink::TempDir::new("bench-storage");
    std::fs::write(dir.path.join("id"), testkit::s3::ACCESS_KEY_ID).unwrap();
    std::fs::write(dir.path.join("key"), testkit::s3::SECRET_ACCESS_KEY).unwrap();
    let config = dir.path.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[tasks.pitr.storage]\nurl = \"s3://bench/log?endpoint={}&region=us-east-1&force-path-style=true\"\naccess_key_id_file = \"{}\"\nsecret_access_key_file = \"{}\"\n",
            recorder.endpoint(),
            dir.path.join("id").display(),
            dir.path.join("key").display()
        ),
    )
    .unwrap();
    let base = [
        "--pd",
        &etcd.endpoint,
        "--no-pd-api",
        "--now",
        "2024-01-01T01:05:00Z",
        "--config",
        config.to_str().unwrap(),
    ];
    let run = |storage: bool| -> Duration {
        let mut cmd = Command::new(&binary);
        cmd.args(base);
        if storage {
            cmd.arg("--storage");
        }
        let t = Instant::now();
        let out = cmd.output().expect("run the check");
        let took = t.elapsed();
        assert!(out.status.code().unwrap_or(9) <= 3, "{out:?}");
        took
    };
    // One run of each to warm up and to count the storage requests of one run.
    run(false);
    recorder.clear();
    run(true);
    let requests = recorder.requests();
    let lists = recorder.lists().len();
    let mut plain = Vec::new();
    let mut storage = Vec::new();
    for _ in 0..rounds {
        plain.push(run(false));
        storage.push(run(true));
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (p, s) = (median(&mut plain), median(&mut storage));
    // CPU and peak RSS of one run each: what the check itself spends, apart from waiting.
    let resources = |storage: bool| -> String {
        let mut cmd = Command::new("/usr/bin/time");
        cmd.args(["-f", "%U %S %M", &binary]).args(base);
        if storage {
            cmd.arg("--storage");
        }
        let out = cmd.output().expect("/usr/bin/time (apt-get install time)");
        let text = String::from_utf8_lossy(&out.stderr);
        let f: Vec<f64> = text
            .lines()
            .last()
            .unwrap_or("")
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        match f.as_slice() {
            [u, s, m] => format!(
                "{:.0} ms CPU, {:.1} MB peak RSS",
                (u + s) * 1000.0,
                m / 1024.0
            ),
            _ => text.to_string(),
        }
    };
    println!("etcd only, one run:             {}", resources(false));
    println!("with --storage, one run:        {}", resources(true));
    println!("metas in the bucket:            {metas}");
    println!(
        "storage requests per run:       {} ({lists} LIST, {} GET)",
        requests.len(),
        requests.len() - lists
    );
    println!("Tier A for 3 checkpoint files:  {}", 4 + 3);
    // 2 LISTs (v1/migrations/, v1/'s locks) and 2 GETs (truncating.lock, the CRR resume
    // state); the layout has no migration layer.
    println!("control reads:                  {}", 4);
    println!(
        "beyond Tier A and control:      {}",
        requests.len() as i64 - 11
    );
    println!(
        "etcd only, median of {rounds}:      {:.1} ms",
        p.as_secs_f64() * 1000.0
    );
    println!(
        "with --storage, median of {rounds}: {:.1} ms",
        s.as_secs_f64() * 1000.0
    );
    println!(
        "ratio:                          {:.2}",
        s.as_secs_f64() / p.as_secs_f64()
    );
    assert!(
        recorder.writes().is_empty(),
        "a write was sent: {:?}",
        recorder.writes()
    );
}
