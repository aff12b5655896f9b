//! `--format prometheus` and `--output`: every golden exposition passes the real
//! `promtool check metrics` and carries every perfdata figure of the same fixture with
//! the same value; a real node_exporter's textfile collector scrapes the file the check
//! writes, with the same values and no scrape error; failures (usage error, unreachable
//! etcd) still write a valid exposition with `check_success 0`; `--output` replaces the
//! file atomically and a file that cannot be written is one UNKNOWN line, exit 3.

use crate::common::check;
use check_tidb_log_backup::render::perfdata::perf_labels;
use check_tidb_log_backup::render::prometheus::{FAMILIES, PREFIX};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use testkit::spawn::ServerProcess;
use testkit::{Etcd, PdServer};

/// One sample: the family name, its labels (sorted), its value.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// The samples of an exposition (comments skipped; label values unescaped).
fn samples(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("series value");
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("value in {line}"));
        let (name, mut rest) = match series.find('{') {
            Some(i) => (&series[..i], &series[i + 1..series.len() - 1]),
            None => (series, ""),
        };
        let mut labels = BTreeMap::new();
        while !rest.is_empty() {
            let (key, tail) = rest.split_once("=\"").expect("label=\"");
            let mut value = String::new();
            let mut chars = tail.char_indices();
            let end = loop {
                match chars.next().expect("closing quote") {
                    (_, '\\') => match chars.next().unwrap().1 {
                        'n' => value.push('\n'),
                        c => value.push(c),
                    },
                    (i, '"') => break i,
                    (_, c) => value.push(c),
                }
            };
            labels.insert(key.to_string(), value);
            rest = tail[end + 1..].trim_start_matches(',');
        }
        out.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    out
}

fn golden(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    // The first line is `exit=N`.
    text.split_once('\n').unwrap().1.to_string()
}

/// `promtool check metrics` (Debian package `prometheus`) on `text`: its complaints.
pub(crate) fn promtool_check(text: &str) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs (apt-get install prometheus; scripts/test installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn fixtures() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(testkit::fixture_path(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".toml") && n != "demo.toml")
        .map(|n| n.trim_end_matches(".toml").to_string())
        .collect();
    names.sort();
    names
}

/// The perfdata items of a nagios output's first line: label → value.
fn perfdata(nagios: &str) -> BTreeMap<String, f64> {
    let first = nagios.lines().next().unwrap_or("");
    let Some((_, perf)) = first.split_once(" | ") else {
        return BTreeMap::new();
    };
    perf.split(' ')
        .map(|item| {
            let (label, rest) = item.split_once('=').unwrap();
            let value = rest.split(';').next().unwrap().trim_end_matches('s');
            (label.to_string(), value.parse().unwrap())
        })
        .collect()
}

#[test]
fn every_golden_exposition_passes_promtool_and_carries_every_perfdata_figure() {
    let fixtures = fixtures();
    assert!(fixtures.len() >= 10);
    for fixture in &fixtures {
        let text = golden(&format!("{fixture}.prometheus"));
        let (ok, complaints) = promtool_check(&text);
        assert!(
            ok && complaints.trim().is_empty(),
            "{fixture}: promtool check metrics: {complaints}\n{text}"
        );
        let got = samples(&text);
        // No timestamps: the value is the last and only field after the series.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let after = line.rsplit_once('}').map_or(line, |(_, a)| a);
            let fields = after.split_whitespace().count();
            let expected = if line.contains('}') { 1 } else { 2 };
            assert_eq!(fields, expected, "{fixture}: {line}");
        }
        let one = |name: &str| got.iter().filter(|s| s.name == name).count();
        assert_eq!(one("tidb_log_backup_check_success"), 1, "{fixture}");
        assert_eq!(
            one("tidb_log_backup_check_duration_seconds"),
            1,
            "{fixture}"
        );

        // Every perfdata item is a sample of its family, with the same value.
        let mut perf = perfdata(&golden(&format!("{fixture}.nagios")));
        let tasks: Vec<String> = got
            .iter()
            .filter(|s| s.name == "tidb_log_backup_task_state")
            .map(|s| s.labels["task"].clone())
            .collect();
        let names: Vec<&str> = tasks.iter().map(String::as_str).collect();
        let task_labels = perf_labels(&names);
        for (label, family) in FAMILIES.iter().filter_map(|(l, f)| l.map(|l| (l, f))) {
            let name = format!("{PREFIX}{}", family.name);
            let run_value = perf.remove(label);
            let run_sample = got
                .iter()
                .find(|s| s.name == name && !s.labels.contains_key("task"));
            assert_eq!(
                run_value,
                run_sample.map(|s| s.value),
                "{fixture}: {label} vs {name}"
            );
            for (task, prefix) in tasks.iter().zip(&task_labels) {
                let value = perf.remove(&format!("{prefix}_{label}"));
                let sample = got
                    .iter()
                    .find(|s| s.name == name && s.labels.get("task") == Some(task));
                assert_eq!(
                    value,
                    sample.map(|s| s.value),
                    "{fixture}: {task} {label} vs {name}"
                );
            }
        }
        assert!(perf.is_empty(), "{fixture}: perfdata not exposed: {perf:?}");

        // The task's state is its nagios state; the run's is the exit code.
        let exit: f64 = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(format!("tests/golden/{fixture}.prometheus")),
        )
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .trim_start_matches("exit=")
        .parse()
        .unwrap();
        let state = got
            .iter()
            .find(|s| s.name == "tidb_log_backup_cluster_state")
            .unwrap();
        assert_eq!(state.value, exit, "{fixture}");
    }
}

/// node_exporter with only the textfile collector, reading `dir`, on a loopback port.
fn node_exporter(dir: &Path) -> ServerProcess {
    let dir = dir.display().to_string();
    ServerProcess::start(
        "prometheus-node-exporter",
        "apt-get install prometheus-node-exporter",
        move |port, _| {
            vec![
                "--collector.disable-defaults".into(),
                "--collector.textfile".into(),
                format!("--collector.textfile.directory={dir}"),
                format!("--web.listen-address=127.0.0.1:{port}"),
            ]
        },
    )
}

/// `GET /metrics` (HTTP/1.0: no chunked body).
fn scrape(port: u16) -> String {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    body.to_string()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ctlb-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every sample of `file` is on node_exporter's page with the same labels and value.
fn assert_scraped(file: &str, page: &str) {
    let scraped = samples(page);
    for s in samples(file) {
        assert!(
            scraped.contains(&s),
            "{s:?} missing from node_exporter's /metrics:\n{page}"
        );
    }
    let error = scraped
        .iter()
        .find(|s| s.name == "node_textfile_scrape_error")
        .expect("node_textfile_scrape_error");
    assert_eq!(error.value, 0.0, "{page}");
}

#[test]
fn node_exporter_scrapes_the_written_file_with_the_same_values() {
    let etcd = Etcd::start();
    etcd.load(&["store-down.toml"]);
    let pd = PdServer::for_fixture("store-down.toml");
    let dir = temp_dir("textfile");
    let file = dir.join("tidb_log_backup.prom");
    let path = file.display().to_string();
    let run = check(&[
        "--pd",
        &etcd.endpoint,
        "--pd-api",
        &pd.endpoint,
        "--now",
        "2024-01-01T01:05:00Z",
        "--perfdata",
        "stores",
        "--format",
        "prometheus",
        "--output",
        &path,
    ]);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (2, "", "")
    );
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(
        written.contains(
            "tidb_log_backup_store_checkpoint_lag_seconds{cluster=\"\",task=\"pitr\",store=\"4\"}"
        ),
        "{written}"
    );
    // Only the .prom file is left: the temp file was renamed.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);

    let exporter = node_exporter(&dir);
    assert_scraped(&written, &scrape(exporter.port));

    // The cluster becomes unreachable: the file is replaced by the failure, which
    // node_exporter serves as well.
    let run = check(&[
        "--pd",
        &format!("127.0.0.1:{}", testkit::spawn::free_port()),
        "--no-pd-api",
        "-t",
        "3",
        "--format",
        "prometheus",
        "--output",
        &path,
    ]);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (2, "", "")
    );
    let failed = std::fs::read_to_string(&file).unwrap();
    assert!(
        failed.contains("tidb_log_backup_check_success{cluster=\"\"} 0\n"),
        "{failed}"
    );
    assert!(!failed.contains("task_state"), "{failed}");
    assert_scraped(&failed, &scrape(exporter.port));
    drop(exporter);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn failures_are_still_a_valid_exposition_with_check_success_0() {
    let dir = temp_dir("prom-failures");
    let file = dir.join("out.prom");
    let path = file.display().to_string();
    let closed = format!("127.0.0.1:{}", testkit::spawn::free_port());
    // Usage error, bad value, unreachable etcd: on stdout, then through --output.
    for (args, code) in [
        (vec!["--bogus"], 3),
        (vec!["--warning", "x"], 3),
        (vec!["--pd", &closed, "--no-pd-api", "-t", "3"], 2),
        (vec!["--list-tasks"], 3),
    ] {
        let mut argv = args.clone();
        argv.extend(["--format", "prometheus"]);
        let run = check(&argv);
        assert_eq!((run.code, run.stderr.as_str()), (code, ""), "{args:?}");
        let (ok, complaints) = promtool_check(&run.stdout);
        assert!(ok && complaints.trim().is_empty(), "{args:?}: {complaints}");
        assert!(
            run.stdout
                .contains("tidb_log_backup_check_success{cluster=\"\"} 0\n"),
            "{args:?}: {}",
            run.stdout
        );
        argv.extend(["--output", &path]);
        let _ = std::fs::remove_file(&file);
        let run = check(&argv);
        assert_eq!((run.code, run.stdout.as_str()), (code, ""), "{args:?}");
        let written = std::fs::read_to_string(&file).unwrap();
        assert!(
            written.contains("check_success{cluster=\"\"} 0\n"),
            "{written}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The deadline (a PD that accepts and never answers) and a panic: the watchdog's and the
/// panic hook's results are expositions too, through --output.
#[test]
fn a_timeout_and_a_panic_still_write_check_success_0() {
    let dir = temp_dir("prom-timeout");
    let file = dir.join("out.prom");
    let path = file.display().to_string();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts and holds connections without a word; the thread ends with the test process
    // (bounded: at most 8 connections).
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(8).flatten() {
            held.push(stream);
        }
    });
    let pd = format!("127.0.0.1:{port}");
    let started = std::time::Instant::now();
    let run = check(&[
        "--pd",
        &pd,
        "--no-pd-api",
        "-t",
        "2",
        "--format",
        "prometheus",
        "--output",
        &path,
    ]);
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (3, "", "")
    );
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(
        written.contains("check_success{cluster=\"\"} 0\n"),
        "{written}"
    );
    assert!(
        written.contains("cluster_state{cluster=\"\"} 3\n"),
        "{written}"
    );
    assert!(promtool_check(&written).0, "{written}");

    std::fs::remove_file(&file).unwrap();
    let run = crate::common::check_env(
        &["--format", "prometheus", "--output", &path],
        &[("CHECK_TIDB_LOG_BACKUP_TEST_PANIC", "1")],
    );
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (3, "", "")
    );
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(
        written.contains("check_success{cluster=\"\"} 0\n"),
        "{written}"
    );
    assert!(promtool_check(&written).0, "{written}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_file_that_cannot_be_written_is_one_unknown_line_and_leaves_no_temp_file() {
    let dir = temp_dir("prom-unwritable");
    // The target is a directory: the rename fails; the directory stays as it was.
    let target = dir.join("taken");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("keep"), "x").unwrap();
    let missing = dir.join("no-such-dir/out.prom");
    for path in [&target, &missing] {
        let run = check(&[
            "--bogus",
            "--format",
            "prometheus",
            "--output",
            &path.display().to_string(),
        ]);
        assert_eq!((run.code, run.stderr.as_str()), (3, ""), "{path:?}");
        assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
        assert!(
            run.stdout
                .starts_with("TIDB_LOG_BACKUP UNKNOWN - cannot write --output "),
            "{}",
            run.stdout
        );
    }
    let left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(left, ["taken"], "no temp file left behind");
    assert_eq!(std::fs::read_to_string(target.join("keep")).unwrap(), "x");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn output_replaces_the_previous_file_in_any_format() {
    let etcd = Etcd::start();
    etcd.load(&["v71-running.toml"]);
    let dir = temp_dir("output-any");
    let file = dir.join("result.txt");
    std::fs::write(&file, "previous\n").unwrap();
    let path = file.display().to_string();
    for format in ["nagios", "ndjson", "json", "table", "br-json"] {
        let run = check(&[
            "--pd",
            &etcd.endpoint,
            "--no-pd-api",
            "--now",
            "2024-01-01T01:05:00Z",
            "--format",
            format,
            "--output",
            &path,
        ]);
        assert_eq!(
            (run.code, run.stdout.as_str(), run.stderr.as_str()),
            (0, "", ""),
            "{format}"
        );
        let direct = check(&[
            "--pd",
            &etcd.endpoint,
            "--no-pd-api",
            "--now",
            "2024-01-01T01:05:00Z",
            "--format",
            format,
        ]);
        let written = std::fs::read_to_string(&file).unwrap();
        assert_eq!(
            crate::golden::normalize(&written),
            crate::golden::normalize(&direct.stdout),
            "{format}"
        );
    }
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

fn plugin_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("plugins")
        .join(path)
}

fn promtool(args: &[&str]) -> String {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(plugin_file("prometheus"))
        .output()
        .expect("promtool runs (apt-get install prometheus; scripts/test installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?}:\n{text}");
    text
}

#[test]
fn alert_rules_pass_promtool_and_their_unit_tests_and_name_only_our_families() {
    let checked = promtool(&["check", "rules", "alerts.yml"]);
    assert!(checked.contains("SUCCESS"), "{checked}");
    let tested = promtool(&["test", "rules", "alerts.test.yml"]);
    assert!(tested.contains("SUCCESS"), "{tested}");
    let rules = std::fs::read_to_string(plugin_file("prometheus/alerts.yml")).unwrap();
    let mut named = 0;
    for (i, _) in rules.match_indices(PREFIX) {
        let name: String = rules[i + PREFIX.len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        assert!(
            FAMILIES.iter().any(|(_, f)| f.name == name),
            "alerts.yml names {PREFIX}{name}, which the check does not write"
        );
        named += 1;
    }
    assert!(named >= 10, "{named}");
    // The states the issue asks for each have a rule.
    for alert in [
        "TidbLogBackupTaskCritical",
        "TidbLogBackupCheckpointLagWarning",
        "TidbLogBackupTaskPaused",
        "TidbLogBackupTaskFailed",
        "TidbLogBackupGcPassedCheckpoint",
        "TidbLogBackupAutoPauseWarning",
        "TidbLogBackupRestorableWindowShort",
        "TidbLogBackupFullBackupOld",
        "TidbLogBackupCheckFailing",
        "TidbLogBackupCheckStale",
    ] {
        assert!(rules.contains(&format!("- alert: {alert}\n")), "{alert}");
    }
}

#[test]
fn the_readme_recipes_are_accepted_by_the_cli() {
    let readme = std::fs::read_to_string(plugin_file("prometheus/README.md")).unwrap();
    let bin = "/usr/lib/nagios/plugins/check_tidb_log_backup ";
    let mut seen = 0;
    for line in readme.lines() {
        let Some(i) = line.find(bin) else { continue };
        let argv: Vec<&str> = line[i + bin.len()..].split_whitespace().collect();
        assert!(
            argv.windows(2).any(|w| w == ["--format", "prometheus"]),
            "{line}"
        );
        assert!(argv.contains(&"--output"), "{line}");
        // The config file is read at run time; the rest must validate now.
        let mut args = Vec::new();
        let mut words = argv.iter();
        while let Some(w) = words.next() {
            if *w == "--config" {
                words.next();
            } else {
                args.push(*w);
            }
        }
        testkit::plan::plan(&args).unwrap_or_else(|e| panic!("{line}: {e}"));
        seen += 1;
    }
    assert_eq!(seen, 2, "the cron line and the systemd ExecStart");
}

#[test]
fn docs_list_every_family() {
    let docs =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/prometheus.md"))
            .unwrap();
    for (_, f) in FAMILIES {
        assert!(
            docs.contains(&format!("| `{PREFIX}{}` |", f.name)),
            "docs/prometheus.md lacks {}",
            f.name
        );
    }
}
