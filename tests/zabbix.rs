//! `plugins/zabbix/`: a real Zabbix agent 2 (`zabbix_agent2 -t`, no server) runs the
//! shipped user parameters, pointed at the built binary, against a real etcd; both keys
//! return valid JSON with the expected macros and values. The template parses as YAML, and
//! every item key, JSONPath and trigger expression in it refers to something the keys
//! return: the master keys are the user parameters, each JSONPath (of the one shape the
//! template uses) finds its field in what the agent returned, each trigger names an item.

use crate::common::check;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::Etcd;

const BINARY: &str = env!("CARGO_BIN_EXE_check_tidb_log_backup");
const TEMPLATE: &str = "TiDB log backup by Zabbix agent 2";

fn plugin(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("plugins/zabbix")
        .join(path)
}

/// An agent 2 config for `-t`: no server, the shipped user parameters with the built
/// binary in place of the packaged path.
struct Agent {
    dir: PathBuf,
}

impl Agent {
    fn new() -> Agent {
        let dir = std::env::temp_dir().join(format!("ctlb-zabbix-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let shipped = std::fs::read_to_string(plugin("check_tidb_log_backup.conf")).unwrap();
        let packaged = "/usr/lib/nagios/plugins/check_tidb_log_backup";
        assert_eq!(shipped.matches(packaged).count(), 2, "{shipped}");
        std::fs::write(
            dir.join("check_tidb_log_backup.conf"),
            shipped.replace(packaged, BINARY),
        )
        .unwrap();
        std::fs::write(
            dir.join("agent.conf"),
            format!(
                "Hostname=test\nLogType=console\nTimeout=30\nPidFile={0}/agent.pid\n\
                 ControlSocket={0}/agent.sock\nInclude={0}/check_tidb_log_backup.conf\n",
                dir.display()
            ),
        )
        .unwrap();
        Agent { dir }
    }

    /// `zabbix_agent2 -t KEY`: the value it returned.
    fn test(&self, key: &str) -> String {
        let out = Command::new("zabbix_agent2")
            .arg("-c")
            .arg(self.dir.join("agent.conf"))
            .args(["-t", key])
            .output()
            .expect("zabbix_agent2 runs (apt-get install zabbix-agent2; scripts/test installs it)");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{key}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // `<key>   [s|<value>]`
        let start = text.find("[s|").unwrap_or_else(|| panic!("{key}: {text}"));
        let value = text[start + 3..].trim_end();
        value.strip_suffix(']').unwrap_or(value).to_string()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The one JSONPath shape the template uses:
/// `$[?(@.kind == 'summary')].<field>.first()` or
/// `$[?(@.kind == 'task' && @.task == '{#TASK}')].<field>.first()`, evaluated on the
/// check key's array. `None`: no such event, or no such field.
fn jsonpath(path: &str, document: &Value, task: &str) -> Option<Value> {
    let shape = regex::Regex::new(
        r"^\$\[\?\(@\.kind == '(task|summary)'( && @\.task == '\{#TASK\}')?\)\]\.([a-z_]+)\.first\(\)$",
    )
    .unwrap();
    let caps = shape
        .captures(path)
        .unwrap_or_else(|| panic!("JSONPath of an unexpected shape: {path}"));
    let kind = &caps[1];
    assert_eq!(kind == "task", caps.get(2).is_some(), "{path}");
    document
        .as_array()
        .expect("an array")
        .iter()
        .find(|e| e["kind"] == kind && (kind == "summary" || e["task"] == task))
        .and_then(|e| e.get(&caps[3]).cloned())
}

struct Item {
    key: String,
    /// (JSONPath, has an error handler) when it is a dependent item.
    jsonpath: Option<(String, bool)>,
    master: Option<String>,
    prototype: bool,
}

fn template() -> (serde_yaml::Value, Vec<Item>, Vec<String>) {
    let text = std::fs::read_to_string(plugin("template_tidb_log_backup.yaml")).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("the template is YAML");
    let export = &doc["zabbix_export"];
    assert_eq!(export["version"].as_str(), Some("6.0"));
    let template = &export["templates"][0];
    assert_eq!(template["template"].as_str(), Some(TEMPLATE));
    let mut items = Vec::new();
    let mut triggers = Vec::new();
    let mut read = |list: &serde_yaml::Value, prototype: bool, trigger_field: &str| {
        for item in list.as_sequence().into_iter().flatten() {
            let jsonpath = item["preprocessing"]
                .as_sequence()
                .into_iter()
                .flatten()
                .find(|p| p["type"].as_str() == Some("JSONPATH"))
                .map(|p| {
                    (
                        p["parameters"][0].as_str().unwrap().to_string(),
                        p.get("error_handler").is_some(),
                    )
                });
            items.push(Item {
                key: item["key"].as_str().unwrap().to_string(),
                jsonpath,
                master: item["master_item"]["key"].as_str().map(str::to_string),
                prototype,
            });
            for t in item[trigger_field].as_sequence().into_iter().flatten() {
                triggers.push(t["expression"].as_str().unwrap().to_string());
                for d in t["dependencies"].as_sequence().into_iter().flatten() {
                    triggers.push(d["expression"].as_str().unwrap().to_string());
                }
            }
        }
    };
    read(&template["items"], false, "triggers");
    let rules = template["discovery_rules"].as_sequence().unwrap();
    assert_eq!(rules.len(), 1);
    read(&rules[0]["item_prototypes"], true, "trigger_prototypes");
    (template.clone(), items, triggers)
}

/// The keys the user parameter file defines (`UserParameter=<key>[*],…`).
fn user_parameters() -> BTreeSet<String> {
    std::fs::read_to_string(plugin("check_tidb_log_backup.conf"))
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("UserParameter="))
        .map(|l| l.split_once("[*],").expect("a [*] key").0.to_string())
        .collect()
}

#[test]
fn the_template_refers_only_to_what_the_keys_define() {
    let (template, items, triggers) = template();
    let keys = user_parameters();
    assert_eq!(
        keys,
        BTreeSet::from([
            "tidb.log_backup.check".to_string(),
            "tidb.log_backup.discovery".to_string()
        ])
    );
    let base = |key: &str| key.split('[').next().unwrap().to_string();
    let discovery = template["discovery_rules"][0]["key"].as_str().unwrap();
    assert_eq!(discovery, "tidb.log_backup.discovery[{$TIDB.PD}]");
    let masters: Vec<&Item> = items.iter().filter(|i| i.master.is_none()).collect();
    assert_eq!(masters.len(), 1, "one check per interval");
    assert!(keys.contains(&base(&masters[0].key)), "{}", masters[0].key);
    let item_keys: Vec<&str> = items.iter().map(|i| i.key.as_str()).collect();
    for item in &items {
        if let Some(master) = &item.master {
            assert_eq!(master, &masters[0].key, "{}: master item", item.key);
            assert!(
                item.jsonpath.is_some(),
                "{}: dependent without JSONPath",
                item.key
            );
        }
        if item.prototype {
            assert!(item.key.contains("[{#TASK}]"), "{}", item.key);
        }
    }
    // Every trigger expression is a function of an item of this template.
    let function = regex::Regex::new(r"(last|nodata)\(/([^/]+)/([^,)]+)").unwrap();
    let mut levels = BTreeSet::new();
    for expression in &triggers {
        let mut found = 0;
        for caps in function.captures_iter(expression) {
            assert_eq!(&caps[2], TEMPLATE, "{expression}");
            assert!(
                item_keys.contains(&&caps[3]),
                "{expression}: no item {}",
                &caps[3]
            );
            found += 1;
        }
        assert_eq!(found, 1, "{expression}");
        if expression.contains("task.state[{#TASK}])=") {
            levels.insert(expression.rsplit('=').next().unwrap().to_string());
        }
    }
    // WARNING (1) and CRITICAL (2) task triggers at least.
    assert!(levels.contains("1") && levels.contains("2"), "{levels:?}");
    let text = std::fs::read_to_string(plugin("template_tidb_log_backup.yaml")).unwrap();
    for priority in ["priority: WARNING", "priority: HIGH"] {
        assert!(text.contains(priority), "{priority}");
    }
}

#[test]
fn a_real_agent_runs_both_keys_against_a_real_etcd() {
    let etcd = Etcd::start();
    etcd.load(&["bad-task-beside-warning.toml"]);
    let agent = Agent::new();
    let pd = &etcd.endpoint;

    // Discovery: the LLD macros, one object per task, as --list-tasks lists them.
    let discovered = json(&agent.test(&format!("tidb.log_backup.discovery[{pd}]")));
    let listed = check(&["--pd", pd, "--list-tasks"]);
    let names: Vec<&str> = listed.stdout.lines().collect();
    assert_eq!(names.len(), 2, "{}", listed.stdout);
    let rows = discovered.as_array().expect("LLD array");
    assert_eq!(rows.len(), names.len(), "{discovered}");
    for (row, name) in rows.iter().zip(&names) {
        let object = row.as_object().unwrap();
        let macros: Vec<&str> = object.keys().map(String::as_str).collect();
        assert_eq!(macros, ["{#CLUSTER}", "{#TASK}"], "{row}");
        assert_eq!(row["{#TASK}"], *name);
        assert_eq!(row["{#CLUSTER}"], "");
    }

    // The check, every task (empty <task>): the events as one array, the same verdict as
    // the binary run directly.
    let all = json(&agent.test(&format!("tidb.log_backup.check[{pd},]")));
    let direct = json(&check(&["--pd", pd, "--format", "json"]).stdout);
    let events = all.as_array().expect("an array");
    assert_eq!(events.len(), 3, "{all}");
    assert_eq!(events[2]["kind"], "summary");
    assert_eq!(events[2]["tasks"], 2);
    for (got, want) in events.iter().zip(direct.as_array().unwrap()) {
        for field in [
            "kind",
            "task",
            "state_code",
            "status",
            "paused",
            "checkpoint_ts",
        ] {
            assert_eq!(got.get(field), want.get(field), "{field}: {got}");
        }
    }
    // One task: only its event, then the summary.
    let one = json(&agent.test(&format!("tidb.log_backup.check[{pd},{}]", names[0])));
    let one = one.as_array().unwrap();
    assert_eq!(one.len(), 2, "{one:?}");
    assert_eq!(one[0]["task"], names[0]);

    // Every JSONPath of the template finds its field in what the agent returned: a value
    // for those without an error handler; the others may be null or only in the failure.
    let closed = format!("127.0.0.1:{}", testkit::spawn::free_port());
    let failed = json(&agent.test(&format!("tidb.log_backup.check[{closed},]")));
    let summary = failed.as_array().unwrap().last().unwrap().clone();
    assert!(summary["error"].is_string(), "{summary}");
    assert!(summary["state_code"] == 2 || summary["state_code"] == 3);
    let (_, items, _) = template();
    for item in &items {
        let Some((path, handled)) = &item.jsonpath else {
            continue;
        };
        for name in &names {
            let value = jsonpath(path, &all, name);
            if *handled {
                // A field that may be null (no PD API here) or absent (`error` of a run
                // that worked): it exists in one of the two answers.
                let on_failure = jsonpath(path, &failed, name);
                assert!(
                    value.is_some() || on_failure.is_some(),
                    "{}: {path} finds nothing",
                    item.key
                );
            } else {
                assert!(
                    value.is_some_and(|v| !v.is_null()),
                    "{}: {path} finds nothing in {all}",
                    item.key
                );
            }
        }
    }
    // The discovery failure is one text line (the rule becomes unsupported, keeps tasks).
    let text = agent.test(&format!("tidb.log_backup.discovery[{closed}]"));
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    assert!(text.starts_with("TIDB_LOG_BACKUP "), "{text}");
}
