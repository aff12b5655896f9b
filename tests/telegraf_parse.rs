//! Our nagios output as Telegraf's `inputs.exec` with `data_format = "nagios"` reads it.
//!
//! Telegraf is not packaged for Debian, so its parse rules are re-implemented here from
//! reading `influxdata/telegraf:plugins/parsers/nagios/parser.go` (and the conventions
//! in docs/output-contract.md#how-consumers-parse-the-output and #perfdata); no code is copied. The rules:
//!
//! - line 1 is split at `|`: one part = text only, two = text + perfdata, more than two
//!   rejects the whole result ("illegal output format");
//! - later lines are long output until the first one containing `|`; its right part and
//!   every line after it are perfdata (so a `|` in long text turns text into perfdata);
//! - perfdata is cut into `label=value...` items (a run of non-`=` characters, `=`, a
//!   run of non-blanks); each item must match, anchored at its start,
//!   `label=VALUE[UOM][;WARN][;CRIT][;MIN][;MAX]` with VALUE/MIN/MAX made of
//!   `[0-9.+-eE]`, UOM of `[A-Za-z0-9_/%]`, WARN/CRIT of `[0-9.+-eE:~@]`; items that do
//!   not match are skipped silently, and the value `U` is "undetermined";
//! - a threshold `a:b` becomes `<kind>_lt = a`, `<kind>_gt = b` (`_le`/`_ge` when it
//!   contains `@`); a bare `b` means `0:b`; `~` becomes the smallest positive float, an
//!   empty end the largest float; an unparsable start silently becomes 0 (so `@10:20`
//!   loses its lower bound);
//! - measurement `nagios` per item (tags `perfdata`, `unit`), measurement `nagios_state`
//!   with `service_output`, `long_service_output` and `state` (the exit code).
//!
//! Our contract is stricter than "Telegraf does not reject it": nothing may be dropped
//! or mangled silently. Every item must match completely, no value may be `U`, no `|`
//! may appear outside line 1.
//!
//! The tests apply this to every golden output (all fixtures, every state) and to a real
//! run of the command line in `plugins/telegraf/check_tidb_log_backup.conf` against a
//! real etcd and a PD HTTP stand-in.

use crate::common::check;
use std::collections::BTreeMap;
use std::path::Path;
use testkit::{Etcd, PdServer};

/// One `nagios` measurement.
#[derive(Debug, Clone, PartialEq)]
struct PerfMetric {
    label: String,
    unit: Option<String>,
    fields: BTreeMap<String, f64>,
}

/// What Telegraf stores for one run.
#[derive(Debug, Clone, PartialEq)]
struct Parsed {
    service_output: String,
    long_service_output: Option<String>,
    metrics: Vec<PerfMetric>,
    /// Items Telegraf would skip or reject (our outputs must have none).
    dropped: Vec<String>,
}

const VALUE_CHARS: &str = "0123456789.-+eE";
const THRESHOLD_CHARS: &str = "0123456789.-+eE:~@";

fn is_unit_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '/' || c == '%'
}

/// Longest prefix of `s` whose characters satisfy `ok`.
fn take_while(s: &str, ok: impl Fn(char) -> bool) -> (&str, &str) {
    let end = s.find(|c: char| !ok(c)).unwrap_or(s.len());
    s.split_at(end)
}

/// `[;]` then an optional run of `chars`, as the optional groups of the item pattern.
fn optional_field<'a>(rest: &'a str, chars: &str) -> (Option<&'a str>, &'a str) {
    let rest = rest.strip_prefix(';').unwrap_or(rest);
    let (field, rest) = take_while(rest, |c| chars.contains(c));
    ((!field.is_empty()).then_some(field), rest)
}

/// Telegraf's threshold decomposition: `(low, high)` or an error.
fn threshold(text: &str) -> Result<(f64, f64), String> {
    let parts: Vec<&str> = text.split(':').collect();
    let number = |s: &str| {
        s.parse::<f64>()
            .map_err(|_| format!("bad threshold {text:?}"))
    };
    match parts.as_slice() {
        [high] => Ok((0.0, number(high)?)),
        [low, high] => {
            let low = if *low == "~" {
                f64::from_bits(1) // the smallest positive subnormal, Go's math.SmallestNonzeroFloat64
            } else {
                low.parse::<f64>().unwrap_or(0.0)
            };
            let high = if high.is_empty() {
                f64::MAX
            } else {
                number(high)?
            };
            Ok((low, high))
        }
        _ => Err(format!("bad threshold {text:?}")),
    }
}

/// Cuts a perfdata string into items the way Telegraf's item pattern does.
fn items(perfdata: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = perfdata;
    while let Some(eq) = rest.find('=') {
        let after = &rest[eq + 1..];
        let value_len = after.find(char::is_whitespace).unwrap_or(after.len());
        if eq == 0 || value_len == 0 {
            // No label before '=' or nothing after it: skip past this '='.
            rest = after;
            continue;
        }
        out.push(rest[..eq + 1 + value_len].trim().to_string());
        rest = &after[value_len..];
    }
    out
}

/// One item → a metric, `Err` when Telegraf would skip it (the part it could not read).
fn metric(item: &str) -> Result<PerfMetric, String> {
    let eq = item.find('=').ok_or_else(|| format!("{item:?}: no '='"))?;
    let label = item[..eq].trim_matches('\'').to_string();
    let (value, rest) = take_while(&item[eq + 1..], |c| VALUE_CHARS.contains(c));
    if value.is_empty() {
        return Err(format!("{item:?}: value is not numeric (U or text)"));
    }
    let (unit, rest) = take_while(rest, is_unit_char);
    let (warn, rest) = optional_field(rest, THRESHOLD_CHARS);
    let (crit, rest) = optional_field(rest, THRESHOLD_CHARS);
    let (min, rest) = optional_field(rest, VALUE_CHARS);
    let (max, rest) = optional_field(rest, VALUE_CHARS);
    let rest = rest.strip_prefix(';').unwrap_or(rest);
    if !rest.trim().is_empty() {
        // Telegraf keeps the matched prefix and silently ignores the rest: for us a loss.
        return Err(format!("{item:?}: {rest:?} would be ignored"));
    }
    let mut fields = BTreeMap::new();
    let v: f64 = value
        .parse()
        .map_err(|_| format!("{item:?}: value {value:?} does not parse as a float"))?;
    fields.insert("value".to_string(), v);
    for (kind, text) in [("warning", warn), ("critical", crit)] {
        if let Some(text) = text {
            let (low, high) = threshold(text).map_err(|e| format!("{item:?}: {e}"))?;
            let (lo, hi) = if text.contains('@') {
                ("le", "ge")
            } else {
                ("lt", "gt")
            };
            fields.insert(format!("{kind}_{lo}"), low);
            fields.insert(format!("{kind}_{hi}"), high);
        }
    }
    for (name, text) in [("min", min), ("max", max)] {
        if let Some(text) = text {
            let n: f64 = text
                .parse()
                .map_err(|_| format!("{item:?}: {name} {text:?} does not parse"))?;
            fields.insert(name.to_string(), n);
        }
    }
    Ok(PerfMetric {
        label,
        unit: (!unit.is_empty()).then(|| unit.to_string()),
        fields,
    })
}

fn perfdata_into(perfdata: &str, parsed: &mut Parsed) {
    for item in items(perfdata) {
        match metric(&item) {
            Ok(m) => parsed.metrics.push(m),
            Err(e) => parsed.dropped.push(e),
        }
    }
}

/// The whole output as Telegraf's nagios parser reads it; `Err` = rejected outright.
fn telegraf_parse(output: &str) -> Result<Parsed, String> {
    let mut lines = output.lines();
    let first = lines.next().unwrap_or("");
    let parts: Vec<&str> = first.split('|').collect();
    if parts.len() > 2 {
        return Err("illegal output format".to_string());
    }
    let mut parsed = Parsed {
        service_output: parts[0].trim().to_string(),
        long_service_output: None,
        metrics: Vec::new(),
        dropped: Vec::new(),
    };
    if let Some(perfdata) = parts.get(1) {
        perfdata_into(perfdata, &mut parsed);
    }
    let mut long = Vec::new();
    let mut in_perfdata = false;
    for line in lines {
        if in_perfdata {
            perfdata_into(line, &mut parsed);
        } else if let Some((text, perfdata)) = line.split_once('|') {
            long.push(text.trim().to_string());
            // Telegraf takes only the part between the first and a second '|'.
            perfdata_into(perfdata.split('|').next().unwrap_or(""), &mut parsed);
            in_perfdata = true;
        } else {
            long.push(line.trim().to_string());
        }
    }
    if !long.is_empty() {
        parsed.long_service_output = Some(long.join("\n"));
    }
    Ok(parsed)
}

/// Our contract on top of "Telegraf accepts it": every perfdata item arrives complete.
fn assert_lossless(name: &str, output: &str, code: i32) -> Parsed {
    let first = output.lines().next().unwrap_or("");
    assert!(
        first.matches('|').count() <= 1,
        "{name}: more than one '|' on line 1: {first}"
    );
    for (n, line) in output.lines().enumerate().skip(1) {
        assert!(
            !line.contains('|'),
            "{name}: '|' in long output line {}: Telegraf would read the rest as perfdata: {line}",
            n + 1
        );
    }
    let parsed = telegraf_parse(output).unwrap_or_else(|e| panic!("{name}: rejected: {e}"));
    assert!(
        parsed.dropped.is_empty(),
        "{name}: items Telegraf would drop or cut: {:?}",
        parsed.dropped
    );
    let perfdata = first.split_once('|').map(|(_, p)| p).unwrap_or("");
    let tokens: Vec<&str> = perfdata.split_whitespace().collect();
    assert_eq!(
        parsed.metrics.len(),
        tokens.len(),
        "{name}: every perfdata token must become exactly one metric"
    );
    let state = ["OK", "WARNING", "CRITICAL", "UNKNOWN"][code as usize];
    assert!(
        parsed
            .service_output
            .starts_with(&format!("TIDB_LOG_BACKUP {state} - ")),
        "{name}: service_output {:?} does not carry state {state} (exit {code})",
        parsed.service_output
    );
    for m in &parsed.metrics {
        assert!(
            !m.label.is_empty()
                && m.label
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{name}: label {:?} is not [a-z0-9_]",
            m.label
        );
        assert!(m.fields.contains_key("value"), "{name}: {m:?} has no value");
        if let Some(unit) = &m.unit {
            assert!(
                ["s", "B", "%", "c"].contains(&unit.as_str()),
                "{name}: unit {unit:?}"
            );
        }
    }
    parsed
}

fn golden_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// `tests/golden/<name>.nagios`: `exit=N`, then the output.
fn golden(name: &str) -> (String, i32) {
    let text = std::fs::read_to_string(golden_dir().join(format!("{name}.nagios")))
        .unwrap_or_else(|e| panic!("read golden {name}: {e}"));
    let (head, output) = text.split_once('\n').expect("exit=N line");
    let code = head
        .strip_prefix("exit=")
        .and_then(|c| c.parse().ok())
        .expect("exit=N");
    (output.to_string(), code)
}

#[test]
fn every_golden_output_arrives_complete_in_telegraf() {
    let mut names: Vec<String> = std::fs::read_dir(golden_dir())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".nagios").map(str::to_string)
        })
        .collect();
    names.sort();
    assert!(names.len() >= 10, "golden files: {names:?}");
    let mut codes = std::collections::BTreeSet::new();
    for name in &names {
        let (output, code) = golden(name);
        let parsed = assert_lossless(name, &output, code);
        assert!(!parsed.metrics.is_empty(), "{name}: no perfdata");
        codes.insert(code);
    }
    // The goldens cover every state, so every state's output shape was checked.
    assert_eq!(
        codes.into_iter().collect::<Vec<_>>(),
        vec![0, 1, 2, 3],
        "golden exit codes"
    );
}

#[test]
fn v71_running_fields_as_telegraf_stores_them() {
    let (output, code) = golden("v71-running");
    let parsed = assert_lossless("v71-running", &output, code);
    assert_eq!(
        parsed.service_output,
        "TIDB_LOG_BACKUP OK - pitr NORMAL, checkpoint lag 5m30s"
    );
    let long = parsed.long_service_output.as_deref().unwrap();
    assert!(long.starts_with("[OK] pitr: NORMAL, checkpoint lag 5m30s\ncheckpoint 2024-01-01"));
    let lag = parsed
        .metrics
        .iter()
        .find(|m| m.label == "pitr_checkpoint_lag")
        .expect("pitr_checkpoint_lag");
    assert_eq!(lag.unit.as_deref(), Some("s"));
    let expected: BTreeMap<String, f64> = [
        ("value", 330.0),
        ("warning_lt", 0.0),
        ("warning_gt", 600.0),
        ("critical_lt", 0.0),
        ("critical_gt", 1800.0),
        ("min", 0.0),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(lag.fields, expected);
    let paused = parsed
        .metrics
        .iter()
        .find(|m| m.label == "pitr_paused")
        .unwrap();
    assert_eq!(paused.unit, None);
    assert_eq!(paused.fields.get("max"), Some(&1.0));
    let labels: Vec<&str> = parsed.metrics.iter().map(|m| m.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "tasks",
            "stores_down",
            "stores_disconnected",
            "gc_hold",
            "pitr_checkpoint_lag",
            "pitr_paused",
            "pitr_store_errors",
            "pitr_auto_pause_in"
        ]
    );
    // 48h lag limit − (01:05:00 − central_global 01:00:00) = 172500 s, alerting below 12h/2h.
    let horizon = parsed
        .metrics
        .iter()
        .find(|m| m.label == "pitr_auto_pause_in")
        .unwrap();
    assert_eq!(horizon.fields.get("value"), Some(&172_500.0));
    assert_eq!(horizon.fields.get("warning_lt"), Some(&43_200.0));
    assert_eq!(horizon.fields.get("critical_lt"), Some(&7_200.0));
}

/// The emulation itself: the cases where Telegraf rejects, drops or mangles.
#[test]
fn the_parse_rules_reject_drop_and_mangle_as_telegraf_does() {
    assert_eq!(
        telegraf_parse("X OK - a | b | c=1").unwrap_err(),
        "illegal output format"
    );
    let p = telegraf_parse("X OK - a | u=U;1;2 n=3s;@10:20;~:5;0;").unwrap();
    assert_eq!(p.dropped.len(), 1, "{p:?}");
    assert!(p.dropped[0].contains("U or text"));
    let n = &p.metrics[0];
    assert_eq!(n.label, "n");
    assert_eq!(n.unit.as_deref(), Some("s"));
    // `@10:20` loses its lower bound; `~` is the smallest positive float, not -inf.
    assert_eq!(n.fields["warning_le"], 0.0);
    assert_eq!(n.fields["warning_ge"], 20.0);
    assert_eq!(n.fields["critical_lt"], f64::from_bits(1));
    assert_eq!(n.fields["critical_gt"], 5.0);
    assert_eq!(n.fields["min"], 0.0);
    // `10:` (no end) is the largest float.
    let p = telegraf_parse("X OK | a=1;10:").unwrap();
    assert_eq!(p.metrics[0].fields["warning_gt"], f64::MAX);
    // A '|' in long output makes the rest of that line and all later lines perfdata.
    let p = telegraf_parse("X OK - a\nline one\nline | two=2\nthree=3 junk\n").unwrap();
    assert_eq!(p.long_service_output.as_deref(), Some("line one\nline"));
    let labels: Vec<&str> = p.metrics.iter().map(|m| m.label.as_str()).collect();
    assert_eq!(labels, ["two", "three"]);
    // A quoted label loses its quotes; an item with trailing garbage is cut.
    let p = telegraf_parse("X OK | 'q'=1 b=2x;;").unwrap();
    assert_eq!(p.metrics[0].label, "q");
    assert_eq!(p.metrics[1].unit.as_deref(), Some("x"));
    let p = telegraf_parse("X OK | b=2s;1;2;3;4;5").unwrap();
    assert_eq!(p.dropped.len(), 1, "{p:?}");
}

/// The exact command line shipped in plugins/telegraf/, run against a real etcd with the
/// demo cluster (three tasks: OK, WARNING, CRITICAL) and a PD HTTP stand-in.
#[test]
fn shipped_telegraf_command_output_arrives_complete() {
    let conf_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins/telegraf/check_tidb_log_backup.conf");
    let conf: toml::Value = toml::from_str(&std::fs::read_to_string(&conf_path).unwrap())
        .expect("the Telegraf snippet is valid TOML");
    let exec = &conf["inputs"]["exec"][0];
    assert_eq!(exec["data_format"].as_str(), Some("nagios"));
    let timeout = humantime::parse_duration(exec["timeout"].as_str().unwrap()).unwrap();
    let commands = exec["commands"].as_array().unwrap();
    assert_eq!(commands.len(), 1);
    let argv: Vec<&str> = commands[0].as_str().unwrap().split_whitespace().collect();
    assert_eq!(argv[0], "/usr/lib/nagios/plugins/check_tidb_log_backup");
    // The plugin's own deadline must end the run before Telegraf kills it.
    let t = argv
        .iter()
        .position(|a| *a == "--timeout")
        .expect("--timeout");
    let plugin_timeout = humantime::parse_duration(argv[t + 1]).unwrap();
    assert!(
        plugin_timeout < timeout,
        "{plugin_timeout:?} >= {timeout:?}"
    );

    let etcd = Etcd::start();
    etcd.load(&["demo.toml"]);
    let pd = PdServer::for_fixture("demo.toml");
    let dir = std::env::temp_dir().join(format!("ctlb-telegraf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!("pd = \"{}\"\npd_api = \"{}\"\n", etcd.endpoint, pd.endpoint),
    )
    .unwrap();
    let args: Vec<String> = argv[1..]
        .iter()
        .map(|a| match *a {
            "/etc/check_tidb_log_backup/config.toml" => config.to_str().unwrap().to_string(),
            other => other.to_string(),
        })
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = check(&args);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(run.stderr, "", "stderr must stay empty");
    assert_eq!(
        run.code, 2,
        "demo cluster has a failed task:\n{}",
        run.stdout
    );
    let parsed = assert_lossless("telegraf command", &run.stdout, run.code);
    let labels: Vec<&str> = parsed.metrics.iter().map(|m| m.label.as_str()).collect();
    for label in [
        "tasks",
        "stores_down",
        "pitr_checkpoint_lag",
        "pitr_archive_checkpoint_lag",
        "pitr_local_checkpoint_lag",
    ] {
        assert!(labels.contains(&label), "{label} missing from {labels:?}");
    }
    let tasks = parsed.metrics.iter().find(|m| m.label == "tasks").unwrap();
    assert_eq!(tasks.fields["value"], 3.0);
    let long = parsed.long_service_output.unwrap();
    assert!(long.contains("[CRITICAL] pitr_local"), "{long}");
    assert!(long.contains("[OK] pitr:"), "{long}");
}
