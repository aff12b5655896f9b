//! Fuzz regressions in the normal `cargo test`: every file under
//! `fuzz/regressions/<target>/` (inputs a fuzzer once broke, kept after the fix) and
//! under `fuzz/seeds/<target>/` (the fixtures and reference examples the corpora start
//! from) goes through the fuzz target's own assertions, `testkit::oracles`, which
//! use only the public library API (no libfuzzer, no nightly).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use testkit::oracles;

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.is_file())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            !name.starts_with('.') && !name.ends_with(".md")
        })
        .collect();
    files.sort();
    files
}

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

/// Replays one directory; returns how many files passed. Fails naming every bad file.
fn replay(kind: &str, target: &str) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind)
        .join(target);
    let mut failures = Vec::new();
    let files = files(&dir);
    for path in &files {
        let data = std::fs::read(path).expect("readable fuzz input");
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| oracles::check(target, &data))) {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let shown = if data.len() <= 256 {
                hex(&data)
            } else {
                format!("{} bytes", data.len())
            };
            failures.push(format!("{}: {message}\n  input: {shown}", path.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} {kind} inputs of fuzz target {target} fail:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    files.len()
}

fn replay_target(target: &str) {
    replay("regressions", target);
    replay("seeds", target);
}

#[test]
fn pause_v2() {
    replay_target("pause_v2");
}

#[test]
fn protobuf() {
    replay_target("protobuf");
}

#[test]
fn checkpoint_key() {
    replay_target("checkpoint_key");
}

#[test]
fn range() {
    replay_target("range");
}

#[test]
fn prometheus() {
    replay_target("prometheus");
}

#[test]
fn snapshot_to_render() {
    replay_target("snapshot_to_render");
}

#[test]
fn every_target_has_seeds_and_no_regression_dir_is_unknown() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for target in oracles::TARGETS {
        assert!(
            !files(&fuzz.join("seeds").join(target)).is_empty(),
            "fuzz/seeds/{target} is empty"
        );
    }
    for kind in ["seeds", "regressions"] {
        for entry in std::fs::read_dir(fuzz.join(kind)).into_iter().flatten() {
            let entry = entry.unwrap();
            if entry.path().is_dir() {
                let name = entry.file_name().to_string_lossy().into_owned();
                assert!(
                    oracles::TARGETS.contains(&name.as_str()),
                    "fuzz/{kind}/{name} is not a fuzz target"
                );
            }
        }
    }
}
