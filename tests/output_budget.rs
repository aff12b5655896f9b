//! The nagios output stays within its byte budget and parseable whatever the data.

use check_tidb_log_backup::render::{renderer, Format, Outcome, RenderOptions};
use check_tidb_log_backup::snapshot::{Kv, Snapshot};
use std::time::{Duration, UNIX_EPOCH};
use testkit::encode::kv;

const START_TS: u64 = 446_710_992_076_800_000; // 2024-01-01 00:00:00 UTC

fn varint(mut n: u64, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// StreamBackupTaskInfo { start_ts: 2, end_ts: 3, name: 4 }.
fn task_info(name: &str) -> Vec<u8> {
    let mut out = vec![0x10];
    varint(START_TS, &mut out);
    out.push(0x18);
    varint(999_999_999_999_999_999, &mut out);
    out.push(0x22);
    varint(name.len() as u64, &mut out);
    out.extend_from_slice(name.as_bytes());
    out
}

fn render(mut pairs: Vec<Kv>, max: usize, verbosity: u8) -> String {
    // An advancer owner, so that only the lag decides.
    pairs.push(kv("/tidb/br-stream/owner/1", b"uuid"));
    let options = testkit::plan::cluster_plan(&["--now", "2024-01-01T01:05:00Z"]);
    let now = UNIX_EPOCH + Duration::from_secs(1_704_071_100);
    let verdict = testkit::plan::judge_snapshot(&Snapshot::from_pairs(pairs), &options, now);
    let render_options = RenderOptions {
        max_bytes: max,
        verbosity,
        ..RenderOptions::default()
    };
    renderer(Format::Nagios).render(&Outcome::Checked(Box::new(verdict)), &render_options)
}

fn assert_engine_safe(out: &str, max: usize) {
    assert!(out.len() <= max, "{} bytes > {max}", out.len());
    assert!(out.starts_with("TIDB_LOG_BACKUP "), "{out}");
    assert_eq!(
        out.matches('|').count(),
        1,
        "exactly one perfdata separator:\n{out}"
    );
    let first = out.lines().next().unwrap();
    let (_, perf) = first.split_once(" | ").expect("perfdata on line 1");
    for item in perf.split(' ') {
        let (label, value) = item
            .split_once('=')
            .unwrap_or_else(|| panic!("label=value: {item:?} in {out}"));
        let fields: Vec<&str> = value.split(';').collect();
        assert!(
            fields[0]
                .trim_end_matches(['s', 'c', '%', 'B'])
                .parse::<f64>()
                .is_ok(),
            "value of {item}"
        );
        assert!(
            label
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "label {label}"
        );
        assert!(!value.starts_with('U'), "{item}");
    }
}

#[test]
fn many_tasks_fit_in_8_kib_and_keep_the_worst() {
    let mut pairs = Vec::new();
    for i in 0..400 {
        let name = format!("task_with_a_rather_long_name_{i:04}");
        pairs.push(kv(format!("/tidb/br-stream/info/{name}"), task_info(&name)));
        // Task 0399 lags 1h (CRITICAL); the others are 100 s behind.
        let ms: u64 = if i == 399 {
            1_704_067_500_000
        } else {
            1_704_071_000_000
        };
        pairs.push(kv(
            format!("/tidb/br-stream/storage-checkpoint/{name}/1"),
            (ms << 18).to_be_bytes(),
        ));
    }
    for verbosity in [0, 1, 3] {
        let out = render(pairs.clone(), 8192, verbosity);
        assert_engine_safe(&out, 8192);
        assert!(out.starts_with("TIDB_LOG_BACKUP CRITICAL - task_with_a_rather_long_name_0399: checkpoint lag 1h0m0s > 30m0s (400 tasks: 1 critical, 399 ok)"), "{out}");
        assert!(
            out.contains("task_with_a_rather_long_name_0399_checkpoint_lag=3600s;600;1800;0"),
            "worst task keeps its perfdata"
        );
        assert!(out.contains("\n[CRITICAL] task_with_a_rather_long_name_0399:"));
        assert!(out.trim_end().ends_with("more lines"), "{out}");
        assert!(
            out.contains("_0000_checkpoint_lag="),
            "OK tasks keep perfdata while room is left"
        );
    }
    let small = render(pairs.clone(), 1024, 0);
    assert_engine_safe(&small, 1024);
    // The smallest budget allowed: perfdata is dropped whole, never cut mid-item.
    let tiny = render(pairs, 256, 0);
    assert_engine_safe(&tiny, 256);
    assert!(tiny.starts_with("TIDB_LOG_BACKUP CRITICAL - "), "{tiny}");
}

#[test]
fn hostile_task_names_stay_parseable() {
    let names = ["a|b", "it's", "x=y", "with space", "new\nline", "ünïcode"];
    let mut pairs = Vec::new();
    for name in names {
        pairs.push(kv(format!("/tidb/br-stream/info/{name}"), task_info(name)));
        pairs.push(kv(
            format!("/tidb/br-stream/storage-checkpoint/{name}/1"),
            ((1_704_071_000_000u64) << 18).to_be_bytes(),
        ));
    }
    let out = render(pairs, 8192, 1);
    assert_engine_safe(&out, 8192);
    let first = out.lines().next().unwrap();
    let labels: Vec<&str> = first
        .split(" | ")
        .nth(1)
        .unwrap()
        .split(' ')
        .map(|i| i.split('=').next().unwrap())
        .collect();
    let unique: std::collections::HashSet<&&str> = labels.iter().collect();
    assert_eq!(unique.len(), labels.len(), "labels unique: {labels:?}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("[OK] ")).count(),
        names.len(),
        "one line per task:\n{out}"
    );
}
