//! Golden tests: every fixture loaded into a real etcd (and its PD HTTP responses served
//! by the fixture server), the built binary run in every
//! format at a fixed `--now`, the exact output compared with `tests/golden/`.
//! How each expected value follows from the reference is in `tests/golden/README.md`.
//! Regenerate after an intended change with `UPDATE_GOLDEN=1 cargo test --test golden`
//! and review the diff.

mod common;
use common::{check, Etcd, PdServer};
use std::path::Path;

const NOW: &str = "2024-01-01T01:05:00Z";

/// `duration_ms` is the only value that depends on the machine.
fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("\"duration_ms\":") {
        let (head, tail) = rest.split_at(i + "\"duration_ms\":".len());
        out.push_str(head);
        out.push('0');
        rest = tail.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

#[test]
fn every_fixture_in_every_format_matches_its_golden_file() {
    let etcd = Etcd::start();
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let golden_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut fixtures: Vec<String> = std::fs::read_dir(common::fixture_path(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".toml") && name != "demo.toml") // demo times are relative to now
        .collect();
    fixtures.sort();
    assert!(fixtures.len() >= 10, "fixtures missing: {fixtures:?}");
    let mut mismatches = Vec::new();
    for fixture in &fixtures {
        etcd.load(&[fixture]);
        let pd = PdServer::for_fixture(fixture);
        let stem = fixture.trim_end_matches(".toml");
        for (format, extra) in [
            ("nagios", "-v"),
            ("ndjson", "-v"),
            ("table", "-v"),
            ("br-json", "-v"),
        ] {
            let run = check(&[
                "--pd",
                &etcd.endpoint,
                "--pd-api",
                &pd.endpoint,
                "--now",
                NOW,
                "--format",
                format,
                extra,
            ]);
            assert_eq!(run.stderr, "", "{fixture} {format}: stderr must stay empty");
            let actual = format!("exit={}\n{}", run.code, normalize(&run.stdout));
            let path = golden_dir.join(format!("{stem}.{format}"));
            if update {
                std::fs::write(&path, &actual).unwrap();
            } else {
                let expected = std::fs::read_to_string(&path)
                    .unwrap_or_else(|_| panic!("missing golden file {}", path.display()));
                if expected != actual {
                    mismatches.push(format!(
                        "--- {}\n{expected}\n+++ actual\n{actual}",
                        path.display()
                    ));
                }
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
