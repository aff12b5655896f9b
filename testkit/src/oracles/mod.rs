//! The properties every fuzz target asserts, one module per target, each with a
//! `check(data)` that panics (with a message naming the broken property) on a violation;
//! that is what libFuzzer and `cargo test` both report.
//!
//! Shared by the fuzz targets (`fuzz/fuzz_targets/*.rs`), the seed generator
//! (`fuzz/seedgen/`) and the regression replay in `cargo test`
//! (`tests/fuzz_regressions.rs`). So they use only the public library API and the main
//! crate's own dependencies (prost, serde_json): no libfuzzer, no arbitrary.

use std::sync::OnceLock;

pub mod checkpoint_key;
pub mod pause_v2;
pub mod prometheus;
pub mod protobuf;
pub mod range;
pub mod snapshot_to_render;

/// The six targets, also the directory names under `fuzz/seeds/` and `fuzz/regressions/`.
pub const TARGETS: [&str; 6] = [
    "pause_v2",
    "protobuf",
    "checkpoint_key",
    "range",
    "prometheus",
    "snapshot_to_render",
];

/// Runs one target's checks on one input (regression replay).
pub fn check(target: &str, data: &[u8]) {
    match target {
        "pause_v2" => pause_v2::check(data),
        "protobuf" => protobuf::check(data),
        "checkpoint_key" => checkpoint_key::check(data),
        "range" => range::check(data),
        "prometheus" => prometheus::check(data),
        "snapshot_to_render" => snapshot_to_render::check(data),
        other => panic!("unknown fuzz target {other}"),
    }
}

/// Known, reported, not yet fixed violations to step over while fuzzing for new ones:
/// `FUZZ_IGNORE=name,name` (see fuzz/README.md). Replays run without it, so they stay red.
pub fn ignored(name: &str) -> bool {
    static IGNORED: OnceLock<Vec<String>> = OnceLock::new();
    IGNORED
        .get_or_init(|| {
            std::env::var("FUZZ_IGNORE")
                .unwrap_or_default()
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .iter()
        .any(|n| n == name)
}
