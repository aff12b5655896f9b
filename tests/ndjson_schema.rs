//! `docs/ndjson.schema.json` against real `--format ndjson` output: every fixture (and a few
//! synthetic clusters and failures) is judged at a fixed time, rendered, and each line is
//! validated. The validator below is a deliberately small JSON Schema (draft 2020-12)
//! subset: exactly the keywords the schema uses, and it refuses any other keyword so the
//! schema cannot silently rely on one it ignores.

use check_tidb_log_backup::keys;
use check_tidb_log_backup::render::{renderer, Format, Outcome, RenderOptions};
use check_tidb_log_backup::service_state::State;
use check_tidb_log_backup::snapshot::{Kv, Snapshot};
use check_tidb_log_backup::tso;
use serde_json::{json, Value};
use std::path::Path;
use testkit::fixture::Fixture;

const NOW: &str = "2024-01-01T01:05:00Z";
const NOW_RFC3339_MS: &str = "2024-01-01T01:05:00.000Z";

// ---- the validator ----------------------------------------------------------------------

/// Assertion keywords, checked in this order (so `type` is reported before the rest).
const KEYWORDS: [&str; 13] = [
    "$ref",
    "type",
    "const",
    "enum",
    "minimum",
    "maximum",
    "format",
    "required",
    "additionalProperties",
    "properties",
    "items",
    "minItems",
    "oneOf",
];
const ANNOTATIONS: [&str; 6] = [
    "$schema",
    "$id",
    "title",
    "description",
    "$comment",
    "$defs",
];

struct Validator {
    root: Value,
}

fn has_type(v: &Value, ty: &str) -> bool {
    match ty {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.is_u64() || v.is_i64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        other => panic!("unknown type {other:?} in the schema"),
    }
}

/// `format: date-time`, held to what the schema promises: `YYYY-MM-DDTHH:MM:SS.mmmZ`.
fn is_utc_ms_time(s: &str) -> bool {
    let shape = "dddd-dd-ddTdd:dd:dd.dddZ";
    s.len() == shape.len()
        && s.bytes().zip(shape.bytes()).all(|(c, p)| match p {
            b'd' => c.is_ascii_digit(),
            _ => c == p,
        })
        && humantime::parse_rfc3339(s).is_ok()
}

impl Validator {
    fn load() -> Validator {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ndjson.schema.json");
        let text = std::fs::read_to_string(&path).expect("read docs/ndjson.schema.json");
        let root = serde_json::from_str(&text).expect("docs/ndjson.schema.json is valid JSON");
        Validator { root }
    }

    /// `Err("<JSON path>: <why>")` for the first violation.
    fn validate(&self, value: &Value) -> Result<(), String> {
        self.check(&self.root, value, "$")
    }

    fn check(&self, schema: &Value, v: &Value, path: &str) -> Result<(), String> {
        let map = schema
            .as_object()
            .unwrap_or_else(|| panic!("schema for {path} is not an object"));
        for key in map.keys() {
            let known = KEYWORDS.contains(&key.as_str()) || ANNOTATIONS.contains(&key.as_str());
            assert!(
                known,
                "validator does not support keyword {key:?} (schema for {path})"
            );
        }
        let fail = |why: String| Err(format!("{path}: {why}"));
        for key in KEYWORDS {
            let Some(kw) = map.get(key) else { continue };
            match key {
                "$ref" => {
                    let pointer = kw.as_str().and_then(|r| r.strip_prefix('#'));
                    let target = pointer.and_then(|p| self.root.pointer(p));
                    let target = target.unwrap_or_else(|| panic!("unresolvable $ref {kw}"));
                    self.check(target, v, path)?;
                }
                "type" => {
                    let types: Vec<&str> = match kw {
                        Value::Array(a) => a.iter().map(|t| t.as_str().unwrap()).collect(),
                        t => vec![t.as_str().unwrap()],
                    };
                    if !types.iter().any(|t| has_type(v, t)) {
                        return fail(format!("wrong type: expected {kw}, got {v}"));
                    }
                }
                "const" if kw != v => return fail(format!("{v} is not the constant {kw}")),
                "enum" if !kw.as_array().unwrap().contains(v) => {
                    return fail(format!("{v} is not one of {kw}"))
                }
                "minimum" | "maximum" => {
                    let (Some(n), Some(bound)) = (v.as_f64(), kw.as_f64()) else {
                        continue;
                    };
                    if (key == "minimum" && n < bound) || (key == "maximum" && n > bound) {
                        return fail(format!("{v} violates {key} {kw}"));
                    }
                }
                "format" => {
                    assert_eq!(kw, "date-time", "unsupported format {kw}");
                    if v.as_str().is_some_and(|s| !is_utc_ms_time(s)) {
                        return fail(format!("{v} is not an RFC 3339 UTC time with milliseconds"));
                    }
                }
                "required" => {
                    let Some(obj) = v.as_object() else { continue };
                    for name in kw.as_array().unwrap().iter().map(|n| n.as_str().unwrap()) {
                        if !obj.contains_key(name) {
                            return fail(format!("missing required property {name:?}"));
                        }
                    }
                }
                "additionalProperties" => {
                    let (Some(obj), props) = (v.as_object(), map.get("properties")) else {
                        continue;
                    };
                    let named = |name: &str| props.and_then(|p| p.get(name)).is_some();
                    for (name, x) in obj.iter().filter(|(n, _)| !named(n)) {
                        match kw {
                            Value::Bool(false) => {
                                return Err(format!(
                                    "{path}.{name}: property not allowed by the schema"
                                ))
                            }
                            // A schema: every other property's value must match it (a map).
                            schema @ Value::Object(_) => {
                                self.check(schema, x, &format!("{path}.{name}"))?
                            }
                            other => panic!("unsupported additionalProperties {other}"),
                        }
                    }
                }
                "properties" => {
                    let Some(obj) = v.as_object() else { continue };
                    for (name, sub) in kw.as_object().unwrap() {
                        if let Some(x) = obj.get(name) {
                            self.check(sub, x, &format!("{path}.{name}"))?;
                        }
                    }
                }
                "items" => {
                    let Some(items) = v.as_array() else { continue };
                    for (i, x) in items.iter().enumerate() {
                        self.check(kw, x, &format!("{path}[{i}]"))?;
                    }
                }
                "minItems" => {
                    let min = kw.as_u64().unwrap() as usize;
                    if v.as_array().is_some_and(|a| a.len() < min) {
                        return fail(format!("fewer than {min} items"));
                    }
                }
                "oneOf" => {
                    let results: Vec<Result<(), String>> = kw
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|s| self.check(s, v, path))
                        .collect();
                    let matched = results.iter().filter(|r| r.is_ok()).count();
                    if matched != 1 {
                        let why: Vec<String> = results
                            .iter()
                            .enumerate()
                            .map(|(i, r)| format!("[{i}] {}", r.as_ref().err().map_or("ok", |e| e)))
                            .collect();
                        return fail(format!(
                            "matches {matched} oneOf branches, not 1: {}",
                            why.join(" | ")
                        ));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

// ---- producing real output -----------------------------------------------------------

fn fixtures() -> Vec<(String, Vec<Kv>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    assert!(names.len() >= 10, "fixtures missing: {names:?}");
    let now = tso::parse_now(NOW).unwrap();
    names
        .into_iter()
        .map(|name| {
            let fixture = Fixture::load(&dir.join(&name)).unwrap();
            let pairs = fixture.pairs(now).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, pairs)
        })
        .collect()
}

fn render_checked(pairs: Vec<Kv>, extra: &[&str]) -> String {
    let mut args = vec!["--now", NOW, "--format", "ndjson"];
    args.extend_from_slice(extra);
    let plan = testkit::plan::plan(&args).unwrap();
    let verdict = testkit::plan::judge_snapshot(
        &Snapshot::from_pairs(pairs),
        &plan.clusters[0],
        plan.run.now.unwrap(),
    );
    let render = RenderOptions {
        duration_ms: 1234,
        ..RenderOptions::default()
    };
    renderer(Format::Ndjson).render(&Outcome::Checked(Box::new(verdict)), &render)
}

fn render_failed(state: State, message: &str) -> String {
    let now_ms = tso::unix_ms(tso::parse_now(NOW).unwrap());
    let outcome = Outcome::Failed {
        state,
        message: message.to_string(),
        now_ms,
    };
    renderer(Format::Ndjson).render(&outcome, &RenderOptions::default())
}

/// The key `prefix` + `name` holding `value`.
fn named(prefix: &[u8], name: &str, value: &[u8]) -> Kv {
    testkit::encode::kv([prefix, name.as_bytes()].concat(), value)
}

fn info_keys(pairs: &[Kv]) -> usize {
    pairs
        .iter()
        .filter(|kv| kv.key.starts_with(keys::INFO))
        .count()
}

/// Checks the line structure and validates each line; returns the parsed events.
fn events(validator: &Validator, case: &str, output: &str, tasks: usize) -> Vec<Value> {
    assert!(
        output.ends_with('\n'),
        "{case}: output must end with a newline"
    );
    let lines: Vec<&str> = output.strip_suffix('\n').unwrap().split('\n').collect();
    assert_eq!(
        lines.len(),
        tasks + 1,
        "{case}: want {tasks} task lines + 1 summary:\n{output}"
    );
    let mut events = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        assert!(
            !line.is_empty() && !line.contains('\r'),
            "{case} line {i}: {line:?}"
        );
        let event: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("{case} line {i} is not JSON ({e}): {line}"));
        if let Err(e) = validator.validate(&event) {
            panic!("{case} line {i} violates docs/ndjson.schema.json at {e}\n{line}");
        }
        let want_kind = if i < tasks { "task" } else { "summary" };
        assert_eq!(event["kind"], want_kind, "{case} line {i}");
        assert_eq!(event["time"], NOW_RFC3339_MS, "{case} line {i}");
        let code = match event["state"].as_str().unwrap() {
            "OK" => 0,
            "WARNING" => 1,
            "CRITICAL" => 2,
            _ => 3,
        };
        assert_eq!(
            event["state_code"], code,
            "{case} line {i}: state_code vs state"
        );
        events.push(event);
    }
    let summary = events.last().unwrap();
    assert_eq!(summary["tasks"], tasks, "{case}: summary.tasks");
    let counted: u64 = ["ok", "warning", "critical", "unknown"]
        .iter()
        .map(|k| summary[k].as_u64().unwrap())
        .sum();
    assert_eq!(
        counted, tasks as u64,
        "{case}: state counts must add up to tasks"
    );
    events
}

/// Every event from every fixture, synthetic cluster and failure, validated.
fn all_events(validator: &Validator) -> Vec<Value> {
    let mut all = Vec::new();
    for (name, pairs) in fixtures() {
        let tasks = info_keys(&pairs);
        all.extend(events(validator, &name, &render_checked(pairs, &[]), tasks));
    }
    // Undecodable task info, pause marker and last-error: the nullable fields and `invalid`.
    let broken = vec![
        named(keys::INFO, "broken", b"\xff\xff\xff"),
        named(keys::PAUSE, "broken", b"{not json"),
        named(keys::LAST_ERROR, "broken", b"\x12\x40garbage"),
    ];
    all.extend(events(
        validator,
        "undecodable keys",
        &render_checked(broken, &[]),
        1,
    ));
    all.extend(events(
        validator,
        "no task",
        &render_checked(Vec::new(), &[]),
        0,
    ));
    let (_, running) = fixtures()
        .into_iter()
        .find(|(n, _)| n == "v71-running.toml")
        .unwrap();
    let missing = render_checked(
        running,
        &[
            "--task", "pitr", "--task", "nope", "-w", "@60:120", "-c", "~:",
        ],
    );
    all.extend(events(validator, "missing --task", &missing, 1));
    for (state, message) in [
        (
            State::Critical,
            "cannot connect to http://127.0.0.1:2379: connection refused",
        ),
        (
            State::Unknown,
            "timed out after 10s: reading \"/tidb/br-stream/\"\nsecond line",
        ),
    ] {
        let failed = events(validator, message, &render_failed(state, message), 0);
        assert_eq!(failed[0]["error"], message);
        assert_eq!(failed[0]["state"], state.as_str());
        all.extend(failed);
    }
    all
}

// ---- tests --------------------------------------------------------------------------

#[test]
fn every_line_of_every_fixture_matches_the_schema() {
    let validator = Validator::load();
    let all = all_events(&validator);
    // The schema's optional and nullable branches were really exercised by real output.
    let tasks: Vec<&Value> = all.iter().filter(|e| e["kind"] == "task").collect();
    let summaries: Vec<&Value> = all.iter().filter(|e| e["kind"] == "summary").collect();
    for format in ["v1", "v2", "invalid"] {
        assert!(
            tasks.iter().any(|t| t["pause"]["format"] == format),
            "no pause {format}"
        );
    }
    let seen = |what: &str, f: &dyn Fn(&Value) -> bool, list: &[&Value]| {
        assert!(list.iter().any(|e| f(e)), "no event with {what}");
    };
    seen("pause null", &|t| t["pause"].is_null(), &tasks);
    seen(
        "pause message",
        &|t| t["pause"]["message"].is_string(),
        &tasks,
    );
    seen("pause error", &|t| t["pause"]["error"].is_object(), &tasks);
    seen(
        "errors",
        &|t| !t["errors"].as_array().unwrap().is_empty(),
        &tasks,
    );
    seen(
        "null checkpoint",
        &|t| t["checkpoint_ts"].is_null() && t["storage"].is_null(),
        &tasks,
    );
    seen(
        "null global checkpoint",
        &|t| t["global_checkpoint_ts"].is_null(),
        &tasks,
    );
    seen(
        "region keys",
        &|t| t["region_checkpoint_keys"].as_u64() > Some(0),
        &tasks,
    );
    seen(
        "orphans",
        &|s| !s["orphans"].as_array().unwrap().is_empty(),
        &summaries,
    );
    seen(
        "run-level reasons",
        &|s| !s["reasons"].as_array().unwrap().is_empty(),
        &summaries,
    );
    seen("error", &|s| s.get("error").is_some(), &summaries);
    seen("no error", &|s| s.get("error").is_none(), &summaries);
}

/// A real task event and a real summary, known valid, to break one constraint at a time.
fn samples(validator: &Validator) -> (Value, Value) {
    let (_, pairs) = fixtures()
        .into_iter()
        .find(|(n, _)| n == "pause-v2-error.toml")
        .unwrap();
    let events = events(validator, "pause-v2-error", &render_checked(pairs, &[]), 1);
    (events[0].clone(), events[1].clone())
}

/// `event` with the value at `pointer` replaced (or a top-level field added).
fn with(event: &Value, pointer: &str, value: Value) -> Value {
    let mut broken = event.clone();
    match broken.pointer_mut(pointer) {
        Some(slot) => *slot = value,
        None => broken[&pointer[1..]] = value,
    }
    broken
}

fn assert_rejected(validator: &Validator, event: &Value, want: &[&str]) {
    let err = validator
        .validate(event)
        .expect_err("the broken event must be rejected");
    for part in want {
        assert!(err.contains(part), "error should mention {part:?}: {err}");
    }
}

#[test]
fn extra_properties_are_rejected_at_every_level() {
    let validator = Validator::load();
    let (mut task, mut summary) = samples(&validator);
    summary["extra"] = json!(1);
    assert_rejected(&validator, &summary, &["$.extra: property not allowed"]);
    task["stores"][1]["region"] = json!(7);
    assert_rejected(
        &validator,
        &task,
        &["$.stores[1].region: property not allowed"],
    );
    let (mut task, _) = samples(&validator);
    task["pause"]["error"]["retry"] = json!(true);
    assert_rejected(
        &validator,
        &task,
        &["$.pause.error.retry: property not allowed"],
    );
}

#[test]
fn missing_required_fields_are_rejected() {
    let validator = Validator::load();
    let (task, summary) = samples(&validator);
    for (event, field) in [
        (&task, "task"),
        (&task, "checkpoint_ts"),
        (&task, "pause"),
        (&summary, "duration_ms"),
    ] {
        let mut broken = event.clone();
        broken.as_object_mut().unwrap().remove(field);
        assert_rejected(
            &validator,
            &broken,
            &[&format!("$: missing required property {field:?}")],
        );
    }
    let mut broken = task.clone();
    broken["errors"][0]
        .as_object_mut()
        .unwrap()
        .remove("happen_at");
    assert_rejected(
        &validator,
        &broken,
        &["$.errors[0]: missing required property \"happen_at\""],
    );
    // `error` is the one optional field: valid both with and without it.
    let mut with_error = summary.clone();
    with_error["error"] = json!("connection refused");
    validator.validate(&with_error).unwrap();
}

#[test]
fn wrong_types_are_rejected() {
    let validator = Validator::load();
    let (task, summary) = samples(&validator);
    let cases = [
        (
            &task,
            "/checkpoint_ts",
            json!("446711927930880000"),
            "$.checkpoint_ts: wrong type",
        ),
        (&task, "/paused", json!("true"), "$.paused: wrong type"),
        (
            &task,
            "/stores/0/lag_seconds",
            json!(1.5),
            "$.stores[0].lag_seconds: wrong type",
        ),
        (
            &task,
            "/pause/operation_pid",
            json!("4242"),
            "$.pause.operation_pid: wrong type",
        ),
        (
            &task,
            "/table_filter",
            json!("*.*"),
            "$.table_filter: wrong type",
        ),
        (
            &task,
            "/time",
            json!("2024-01-01T01:05:00Z"),
            "$.time: \"2024-01-01T01:05:00Z\" is not an RFC 3339",
        ),
        (
            &task,
            "/reasons",
            json!([]),
            "$.reasons: fewer than 1 items",
        ),
        (
            &summary,
            "/tasks",
            json!(-1),
            "$.tasks: -1 violates minimum",
        ),
        (
            &summary,
            "/state_code",
            json!(4),
            "$.state_code: 4 violates maximum",
        ),
        (
            &summary,
            "/schema",
            json!(2),
            "$.schema: 2 is not the constant 1",
        ),
        (&summary, "/error", json!(null), "$.error: wrong type"),
    ];
    for (event, pointer, value, want) in cases {
        assert_rejected(&validator, &with(event, pointer, value), &[want]);
    }
}

#[test]
fn bad_enum_values_are_rejected() {
    let validator = Validator::load();
    let (task, summary) = samples(&validator);
    let cases = [
        (
            &task,
            "/state",
            json!("FINE"),
            "$.state: \"FINE\" is not one of",
        ),
        (
            &task,
            "/status",
            json!("RUNNING"),
            "$.status: \"RUNNING\" is not one of",
        ),
        (
            &task,
            "/pause/format",
            json!("v3"),
            "$.pause.format: \"v3\" is not one of",
        ),
        (
            &summary,
            "/state",
            json!("ok"),
            "$.state: \"ok\" is not one of",
        ),
        (
            &summary,
            "/kind",
            json!("tasks"),
            "matches 0 oneOf branches",
        ),
    ];
    for (event, pointer, value, want) in cases {
        assert_rejected(&validator, &with(event, pointer, value), &[want]);
    }
}

#[test]
fn one_of_needs_exactly_one_branch() {
    let validator = Validator {
        root: json!({"oneOf": [{"type": "integer"}, {"type": "number"}]}),
    };
    assert!(validator.validate(&json!(1.5)).is_ok());
    let err = validator.validate(&json!(1)).unwrap_err();
    assert!(err.starts_with("$: matches 2 oneOf branches"), "{err}");
}

/// The schema's own rules: every property described, closed objects, every field required
/// except the summary's `error`.
#[test]
fn schema_documents_and_closes_every_object() {
    fn walk(schema: &Value, path: &str, optional: &mut Vec<String>) {
        match schema {
            Value::Object(map) => {
                if let Some(props) = map.get("properties").and_then(Value::as_object) {
                    assert_eq!(
                        map.get("additionalProperties"),
                        Some(&json!(false)),
                        "{path}"
                    );
                    let required: Vec<&str> = map["required"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| r.as_str().unwrap())
                        .collect();
                    for (name, sub) in props {
                        let described = sub
                            .get("description")
                            .and_then(Value::as_str)
                            .is_some_and(|d| !d.is_empty());
                        assert!(described, "{path}.properties.{name} has no description");
                        if !required.contains(&name.as_str()) {
                            optional.push(format!("{path}.properties.{name}"));
                        }
                    }
                    assert!(
                        required.iter().all(|r| props.contains_key(*r)),
                        "{path}: required names an unknown property"
                    );
                }
                for (key, sub) in map {
                    walk(sub, &format!("{path}.{key}"), optional);
                }
            }
            Value::Array(items) => items
                .iter()
                .enumerate()
                .for_each(|(i, s)| walk(s, &format!("{path}[{i}]"), optional)),
            _ => {}
        }
    }
    let validator = Validator::load();
    assert_eq!(
        validator.root["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    let mut optional = Vec::new();
    walk(&validator.root, "#", &mut optional);
    assert_eq!(optional, ["#.$defs.summaryEvent.properties.error"]);
}

/// The golden ndjson files come from real runs with PD's HTTP API served, so they carry
/// the PD-derived fields (gc margin, resume deadline, store counts) with values.
#[test]
fn golden_ndjson_with_pd_data_matches_the_schema() {
    let validator = Validator::load();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut seen = (0, 0, 0);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("ndjson") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let body = text.split_once('\n').map(|(_, rest)| rest).unwrap_or("");
        let tasks = body.lines().count().saturating_sub(1);
        for event in events(&validator, &path.display().to_string(), body, tasks) {
            seen.0 += usize::from(!event["gc_margin_seconds"].is_null() && event["kind"] == "task");
            seen.1 += usize::from(!event["resume_deadline"].is_null() && event["kind"] == "task");
            seen.2 += usize::from(event["stores"].is_object() && event["kind"] == "summary");
        }
    }
    assert!(
        seen.0 > 0 && seen.1 > 0 && seen.2 > 0,
        "PD fields never exercised: {seen:?}"
    );
}

/// Fleet mode: every cluster's events carry the cluster tag, then one `fleet` event.
#[test]
fn fleet_events_match_the_schema() {
    let validator = Validator::load();
    let (_, pairs) = fixtures()
        .into_iter()
        .find(|(name, _)| name == "v71-running.toml")
        .unwrap();
    let plan = testkit::plan::plan(&["--now", NOW]).unwrap();
    let verdict = testkit::plan::judge_snapshot(
        &Snapshot::from_pairs(pairs),
        &plan.clusters[0],
        plan.run.now.unwrap(),
    );
    let now_ms = tso::unix_ms(tso::parse_now(NOW).unwrap());
    let fleet = Outcome::Fleet(vec![
        check_tidb_log_backup::render::ClusterResult {
            name: "prod-a".into(),
            cluster_id: Some(7),
            outcome: Outcome::Checked(Box::new(verdict)),
        },
        check_tidb_log_backup::render::ClusterResult {
            name: "prod-b".into(),
            cluster_id: None,
            outcome: Outcome::Failed {
                state: State::Critical,
                message: "cannot read PD etcd".into(),
                now_ms,
            },
        },
    ]);
    let out = renderer(Format::Ndjson).render(&fleet, &RenderOptions::default());
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "{out}");
    for (i, event) in lines.iter().enumerate() {
        if let Err(e) = validator.validate(event) {
            panic!("fleet line {i} violates the schema: {e}\n{event}");
        }
    }
    assert_eq!(lines[0]["cluster"], "prod-a");
    assert_eq!(lines[2]["cluster"], "prod-b");
    assert_eq!(lines[3]["kind"], "fleet");
    assert_eq!(lines[3]["state"], "CRITICAL");
}

/// A map's values (`additionalProperties` as a schema) are checked too: the throughput
/// golden's `store_metrics[].retryable_errors_increase` maps error types to counts.
#[test]
fn map_values_are_checked_against_their_schema() {
    let validator = Validator::load();
    let golden = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/throughput.ndjson"),
    )
    .unwrap();
    let summary: Value = serde_json::from_str(golden.lines().last().unwrap()).unwrap();
    assert_eq!(validator.validate(&summary), Ok(()));
    let counted = with(
        &summary,
        "/store_metrics/0/retryable_errors_increase",
        json!({"KV:LogBackup:RaftReq": 10.0}),
    );
    assert_eq!(validator.validate(&counted), Ok(()));
    let broken = with(
        &summary,
        "/store_metrics/0/retryable_errors_increase",
        json!({"KV:LogBackup:RaftReq": "ten"}),
    );
    assert_rejected(
        &validator,
        &broken,
        &[
            "$.store_metrics[0].retryable_errors_increase.KV:LogBackup:RaftReq",
            "wrong type",
        ],
    );
}

/// `--restore-point`'s events (possible, impossible, cannot be told, and the failed run)
/// match the schema's `restorePointEvent`.
#[test]
fn restore_point_events_match_the_schema() {
    use check_tidb_log_backup::judge::restore_point::RestorePoint;
    use check_tidb_log_backup::render::{restore_point, Outcome};
    let validator = Validator::load();
    let answer = |state: State, possible: Option<bool>, base: bool| RestorePoint {
        task: "pitr".into(),
        at_ts: 446_711_927_930_880_000,
        state,
        possible,
        reason: "why".into(),
        base: base.then(|| ("s3://full/b1".to_string(), 446_711_000_000_000_000)),
        log_from_ts: Some(446_710_000_000_000_000),
        log_to_ts: possible.map(|_| 446_712_000_000_000_000),
        verified: false,
    };
    let answers = vec![
        (None, answer(State::Ok, Some(true), true)),
        (
            Some("east".to_string()),
            answer(State::Critical, Some(false), false),
        ),
        (None, answer(State::Unknown, None, false)),
    ];
    let checked = Outcome::Fleet(Vec::new());
    let failed = Outcome::Failed {
        state: State::Critical,
        message: "cannot read PD etcd".into(),
        now_ms: 0,
    };
    for (answers, outcome) in [(answers, &checked), (Vec::new(), &failed)] {
        let (text, _) = restore_point::render(&answers, outcome, 446_711_927_930_880_000, true);
        for line in text.lines() {
            let event: Value = serde_json::from_str(line).unwrap();
            if let Err(e) = validator.validate(&event) {
                panic!("violates docs/ndjson.schema.json at {e}\n{line}");
            }
        }
    }
}

/// `--format json` is the same events in one array: every element of every golden
/// `.json` matches the schema and is the golden `.ndjson`'s line at its place; the
/// `--list-tasks` json array holds `task-list` events.
#[test]
fn every_element_of_every_json_golden_matches_the_schema_and_the_ndjson_lines() {
    let validator = Validator::load();
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut checked = 0;
    for entry in std::fs::read_dir(&golden).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let body = text.split_once('\n').unwrap().1;
        assert_eq!(body.matches('\n').count(), 1, "{path:?}: one line");
        let array: Value = serde_json::from_str(body).unwrap();
        let ndjson = std::fs::read_to_string(path.with_extension("ndjson")).unwrap();
        let lines: Vec<Value> = ndjson
            .lines()
            .skip(1)
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(array.as_array().unwrap(), &lines, "{path:?}");
        for event in &lines {
            if let Err(e) = validator.validate(event) {
                panic!("{path:?} violates docs/ndjson.schema.json at {e}\n{event}");
            }
        }
        checked += 1;
    }
    assert!(checked >= 10, "{checked}");
    let tasks = [
        check_tidb_log_backup::render::ListedTask {
            cluster: None,
            cluster_id: Some(7001),
            task: "pitr".to_string(),
        },
        check_tidb_log_backup::render::ListedTask {
            cluster: Some("prod-a".to_string()),
            cluster_id: None,
            task: "a\"b".to_string(),
        },
    ];
    let listed: Value = serde_json::from_str(&check_tidb_log_backup::render::task_list(
        &tasks,
        Format::Json,
    ))
    .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    for event in listed.as_array().unwrap() {
        validator.validate(event).unwrap();
        assert_eq!(event["kind"], "task-list");
    }
}
