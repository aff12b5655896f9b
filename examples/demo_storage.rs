//! Writes the demo's log backup storage for task `pitr` into a directory (times relative
//! to now, like fixtures/demo.toml): `cargo run --example demo_storage -- DIR`.
// A developer tool: printing is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::time::{Duration, SystemTime};
use testkit::encode::tso_at;
use testkit::layout::{Flush, LogStorage, MetaName};
use testkit::Sink;

fn main() {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: demo_storage DIR");
        std::process::exit(2);
    };
    let ago = |secs: u64| tso_at(SystemTime::now() - Duration::from_secs(secs));
    let objects = LogStorage::new(ago(7 * 86_400))
        .safepoint(ago(3 * 86_400))
        .checkpoint(1, ago(120))
        .checkpoint(4, ago(150))
        .checkpoint(1001, ago(130))
        .flushes([
            Flush::new(1, ago(180)).named(MetaName::Tagged),
            Flush::new(4, ago(90)).named(MetaName::Tagged),
        ])
        .objects();
    Sink::Dir(std::path::Path::new(&dir)).write("", &objects);
    println!(
        "wrote {} objects of a log backup storage into {dir}",
        objects.len()
    );
}
