//! Loads fixture files into an etcd: `cargo run --example load_fixture -- ENDPOINT FILE...`
//! (used by the demo script and the benchmark; it replaces everything under /tidb/br-stream/).
// A developer tool: printing is its job (the check itself never prints directly).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::Path;
use std::time::SystemTime;
use testkit::fixture::{load_into_etcd, Fixture};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: load_fixture ENDPOINT FILE...");
        std::process::exit(2);
    }
    let now = SystemTime::now();
    let mut pairs = Vec::new();
    for path in &args[1..] {
        let fixture = Fixture::load(Path::new(path)).unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(1)
        });
        pairs.extend(fixture.pairs(now).unwrap_or_else(|e| {
            eprintln!("{path}: {e}");
            std::process::exit(1)
        }));
    }
    if let Err(e) = load_into_etcd(&args[0], &pairs) {
        eprintln!("loading into {}: {e}", args[0]);
        std::process::exit(1);
    }
    println!("loaded {} keys into {}", pairs.len(), args[0]);
}
