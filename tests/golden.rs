//! Golden tests: every fixture loaded into a real etcd (and its PD HTTP responses served
//! by the fixture server), the built binary run in every
//! format at a fixed `--now`, the exact output compared with `tests/golden/`.
//! How each expected value follows from the reference is in `tests/golden/README.md`.
//! Regenerate after an intended change with
//! `UPDATE_GOLDEN=1 cargo test --test integration golden::` and review the diff.

use crate::common::{self, check};
use std::path::Path;
use testkit::{Etcd, PdServer};

const NOW: &str = "2024-01-01T01:05:00Z";

/// `duration_ms` (and prometheus's `check_duration_seconds`) is the only value that
/// depends on the machine.
pub(crate) fn normalize(text: &str) -> String {
    const DURATION: &str = "tidb_log_backup_check_duration_seconds ";
    let zeroed;
    let text = if text.contains(DURATION) {
        zeroed = text
            .split_inclusive('\n')
            .map(|l| match l.strip_prefix(DURATION) {
                Some(_) => format!("{DURATION}0\n"),
                None => l.to_string(),
            })
            .collect::<String>();
        zeroed.as_str()
    } else {
        text
    };
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
    let mut fixtures: Vec<String> = std::fs::read_dir(testkit::fixture_path(""))
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
            ("prometheus", "-v"),
            ("json", "-v"),
            // Discovery output only: the --list-tasks of the fixture.
            ("zabbix-lld", "--list-tasks"),
        ] {
            let mut args = format_args(&etcd, &pd, format);
            args.push(extra);
            let run = check(&args);
            // BR's contract for br-json: a failure is one stderr line (recorded), exit 1.
            if format != "br-json" {
                assert_eq!(run.stderr, "", "{fixture} {format}: stderr must stay empty");
            }
            let mut actual = format!("exit={}\n{}", run.code, normalize(&run.stdout));
            if !run.stderr.is_empty() {
                actual.push_str(&format!("stderr={}", run.stderr));
            }
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

/// Compares `actual` with `tests/golden/<name>` (or writes it with `UPDATE_GOLDEN=1`).
pub(crate) fn assert_golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing golden file {}", path.display()));
    assert_eq!(expected, actual, "{}", path.display());
}

/// The golden run's arguments: this etcd and PD stand-in, the fixed `--now`, `format`.
pub(crate) fn format_args<'a>(etcd: &'a Etcd, pd: &'a PdServer, format: &'a str) -> Vec<&'a str> {
    vec![
        "--pd",
        &etcd.endpoint,
        "--pd-api",
        &pd.endpoint,
        "--now",
        NOW,
        "--format",
        format,
    ]
}

#[test]
fn table_dates_are_in_the_local_time_zone_like_br() {
    let etcd = Etcd::start();
    etcd.load(&["pause-v2-error.toml"]);
    let pd = PdServer::for_fixture("pause-v2-error.toml");
    // start, end, checkpoint and error-happen-at move to +0800; pause-time keeps the
    // offset it was written with; the check row (our reasons) stays UTC like nagios.
    let run = common::check_env(
        &format_args(&etcd, &pd, "table"),
        &[("TZ", "Asia/Shanghai")],
    );
    assert_eq!(run.stderr, "");
    assert_golden(
        "pause-v2-error.table.Asia-Shanghai",
        &format!("exit={}\n{}", run.code, run.stdout),
    );
}

/// Runs the check on a real pseudo-terminal of `columns` columns (util-linux `script`),
/// so stdin and stdout are terminals as for a person typing the command.
fn on_terminal(args: &[&str], columns: u16, env: &[(&str, &str)]) -> (i32, String) {
    let quote = |a: &str| format!("'{}'", a.replace('\'', "'\\''"));
    let command = format!(
        "stty cols {columns} rows 50; exec {} {}",
        quote(env!("CARGO_BIN_EXE_check_tidb_log_backup")),
        args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")
    );
    let mut script = std::process::Command::new("script");
    let output = testkit::loopback::isolate(&mut script)
        .args(["--quiet", "--return", "--command", &command, "/dev/null"])
        .env_remove("NO_COLOR")
        .env("TZ", "UTC")
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("util-linux `script` runs (scripts/test installs it)");
    let text = String::from_utf8(output.stdout).expect("utf-8");
    // The terminal turns each \n into \r\n.
    (
        output.status.code().unwrap_or(-1),
        text.replace("\r\n", "\n"),
    )
}

#[test]
fn table_on_a_terminal_has_br_colours_bold_and_the_terminal_width() {
    let etcd = Etcd::start();
    etcd.load(&["pause-v2-error.toml"]);
    let pd = PdServer::for_fixture("pause-v2-error.toml");
    let args = format_args(&etcd, &pd, "table");
    let (code, coloured) = on_terminal(&args, 100, &[("TERM", "xterm-256color")]);
    assert!(coloured.contains("\x1b[1m"), "{coloured:?}");
    assert_golden(
        "pause-v2-error.table.terminal-100-colour",
        &format!("exit={code}\n{coloured}"),
    );
    // Same terminal, colour refused: NO_COLOR (no-color.org) or a dumb terminal.
    let (_, plain) = on_terminal(&args, 100, &[("TERM", "xterm-256color"), ("NO_COLOR", "1")]);
    assert!(!plain.contains('\x1b'), "{plain:?}");
    assert_golden(
        "pause-v2-error.table.terminal-100",
        &format!("exit={code}\n{plain}"),
    );
    let (_, dumb) = on_terminal(&args, 100, &[("TERM", "dumb")]);
    assert_eq!(dumb, plain, "TERM=dumb: no colour");
    // A narrow terminal: BR's two-line layout below 40 columns for the values.
    let (_, narrow) = on_terminal(&args, 50, &[("TERM", "dumb")]);
    assert!(narrow.lines().all(|l| l.chars().count() <= 50), "{narrow}");
    assert!(narrow.contains("pause-operator-pid: \n4242"), "{narrow}");
}

#[test]
fn br_json_fails_like_br_for_a_task_that_does_not_exist() {
    let etcd = Etcd::start();
    etcd.load(&["v71-running.toml"]);
    let run = check(&[
        "--pd",
        &etcd.endpoint,
        "--no-pd-api",
        "--format",
        "br-json",
        "--task",
        "nope",
    ]);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (1, "", "Error: no such task: nope\n")
    );
    // The cluster cannot be read: the same contract, never the plugin's 0-3.
    let run = check(&[
        "--pd",
        "127.0.0.1:1",
        "--no-pd-api",
        "-t",
        "2",
        "--format",
        "br-json",
    ]);
    assert_eq!((run.code, run.stdout.as_str()), (1, ""));
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    // A usage error too.
    let run = check(&["--format", "br-json", "--pd", "bogus url"]);
    assert_eq!((run.code, run.stdout.as_str()), (1, ""));
    assert!(run.stderr.contains("'bogus url'"), "{}", run.stderr);
}

/// The README's example outputs are the golden files it names, so they cannot drift.
#[test]
fn readme_examples_are_the_goldens() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for name in [
        "v71-running.nagios",
        "v71-running.ndjson",
        "v71-running.br-json",
    ] {
        let golden = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/golden")
                .join(name),
        )
        .unwrap();
        // The golden's first line is `exit=N`; the output follows.
        let output = golden.split_once('\n').unwrap().1;
        assert!(
            readme.contains(&format!("\n{output}```")),
            "README's example of tests/golden/{name} is out of date: paste\n{output}"
        );
    }
}
