//! `prometheus`: TiKV `/metrics` bodies (docs/rules.md#exposition-format) and the
//! throughput state file and rates computed from them.

use check_tidb_log_backup::statefile::StateFile;
use check_tidb_log_backup::throughput;
use check_tidb_log_backup::{prom, tikv};

/// `/metrics` parsing: no panic; parsed names are the line's first token; the extracted
/// series hold no NaN; a previous body (before the first NUL) and the current one go
/// through the state file (JSON, as saved and loaded) and the rate computation.
pub fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (previous, current) = match text.split_once('\0') {
        Some((a, b)) => (Some(a), b),
        None => (None, text.as_ref()),
    };
    for body in previous.into_iter().chain([current]) {
        for line in body.lines() {
            if let Some((name, labels, value)) = prom::parse_line(line) {
                let trimmed = line.trim();
                assert!(trimmed.starts_with(name), "name {name:?} of {line:?}");
                assert!(
                    !name.contains(|c: char| c == '{' || c.is_whitespace()),
                    "name {name:?} of {line:?}"
                );
                assert!(!trimmed.starts_with('#'), "comment parsed: {line:?}");
                let _ = (labels, value);
            }
        }
    }
    let sample = |body: &str| {
        let s = tikv::parse_metrics(body);
        assert!(
            !s.kv_events.is_nan() && !s.fatal_errors.is_nan(),
            "NaN sum in {s:?}"
        );
        assert!(s.task_status.values().all(|v| v.is_finite()), "{s:?}");
        s
    };
    let cur = sample(current);
    let prev = previous.map(sample);
    let state = prev.map(|p| {
        let mut file = StateFile::new("fuzz", 1_000);
        file.stores = throughput::stored([(1, &p)]);
        let json = serde_json::to_string(&file).expect("state file serialises");
        // What `statefile::load` would read back (None = "no previous sample").
        serde_json::from_str::<StateFile>(&json).ok()
    });
    let facts = throughput::compare(
        state.flatten().as_ref(),
        &[(1, Ok(cur)), (2, Err("x".into()))],
        61_000,
    );
    for s in &facts.stores {
        assert!(s.rate.is_none_or(|r| !r.is_nan()), "NaN rate {s:?}");
        assert!(
            !s.fatal_increase.is_nan() && s.fatal_increase >= 0.0,
            "{s:?}"
        );
    }
    assert!(
        facts.total_rate.is_none_or(|r| !r.is_nan()),
        "NaN total rate"
    );
}
