//! The engine and collector examples in `plugins/` stay in step with the CLI:
//! the Icinga 2 CheckCommand maps every option (ITL naming, secrets only via `env`),
//! every command line in the examples is accepted by the real argument parser, and the
//! example config file (with every commented key switched on) is a valid config.
//! `packaging/test-engines` runs the same files in real engines.

use check_tidb_log_backup::settings;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn plugins(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("plugins")
        .join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(plugins(path)).unwrap_or_else(|e| panic!("read plugins/{path}: {e}"))
}

/// Every long option of the CLI except --help/--version.
fn long_options() -> BTreeSet<String> {
    settings::command()
        .get_arguments()
        .filter_map(|a| a.get_long())
        .filter(|l| !["help", "version"].contains(l))
        .map(str::to_string)
        .collect()
}

/// `"--key" = ...` / `"-v" = ...` entries of the CheckCommand's `arguments` block.
fn icinga_arguments(conf: &str) -> Vec<(String, String)> {
    let start = conf.find("arguments = {").expect("arguments block");
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in conf[start..].lines().skip(1) {
        let t = line.trim();
        if t == "}" && line.starts_with("  }") {
            break; // end of the arguments block (two-space indent)
        }
        if let Some(rest) = t.strip_prefix('"') {
            if let Some((key, tail)) = rest.split_once("\" = ") {
                current = Some(key.to_string());
                if tail.starts_with('"') {
                    out.push((key.to_string(), tail.trim_matches('"').to_string()));
                } else {
                    out.push((key.to_string(), String::new()));
                }
                continue;
            }
        }
        if let (Some(key), Some(body)) = (&current, t.strip_prefix("value = ")) {
            out.last_mut().filter(|(k, _)| k == key).unwrap().1 =
                body.trim_matches('"').to_string();
        }
        if let (Some(key), Some(body)) = (&current, t.strip_prefix("set_if = ")) {
            out.last_mut().filter(|(k, _)| k == key).unwrap().1 = body.to_string();
        }
    }
    out
}

#[test]
fn icinga_check_command_maps_every_option_with_itl_names() {
    let conf = read("icinga2/command.conf");
    assert!(conf.contains("object CheckCommand \"tidb_log_backup\""));
    assert!(conf.contains("command = [ PluginContribDir + \"/check_tidb_log_backup\" ]"));
    let arguments = icinga_arguments(&conf);
    let mut mapped: BTreeSet<String> = arguments
        .iter()
        .filter_map(|(k, _)| k.strip_prefix("--"))
        .map(str::to_string)
        .collect();
    // --verbose is a counter: mapped as -v/-vv/-vvv on tidb_log_backup_verbose (ITL style).
    if arguments.iter().any(|(k, _)| k == "-v") {
        mapped.insert("verbose".to_string());
    }
    let expected = long_options();
    assert_eq!(
        mapped, expected,
        "CheckCommand arguments vs. the CLI's long options"
    );
    for (key, value) in &arguments {
        let var = match key.strip_prefix("--") {
            Some(long) => format!("$tidb_log_backup_{}$", long.replace('-', "_")),
            None => "$tidb_log_backup_verbose$".to_string(), // -v, -vv, -vvv
        };
        assert!(
            value.contains(&var),
            "argument {key} should use {var}, has {value:?}"
        );
    }
    let verbose: Vec<&str> = arguments
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !k.starts_with("--"))
        .collect();
    assert_eq!(verbose, ["-v", "-vv", "-vvv"]);
    // The password only ever travels in the environment.
    assert!(conf.contains("TIDB_LOG_BACKUP_PASSWORD = \"$tidb_log_backup_password$\""));
    assert!(!arguments
        .iter()
        .any(|(k, _)| k.contains("password") && k != "--password-file"));
    // Every custom variable anywhere in the file follows the naming convention.
    for (i, _) in conf.match_indices("vars.") {
        let name: String = conf[i + 5..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        assert!(name.starts_with("tidb_log_backup_"), "vars.{name}");
    }
    // The plugin deadline stays below the command timeout.
    assert!(
        conf.contains("timeout = 30s") && conf.contains("vars.tidb_log_backup_timeout = \"20s\"")
    );
}

/// Command lines (argv after the binary) found in the example files, with the Nagios
/// `$ARGn$` macros and shell quoting resolved to sample values.
fn example_command_lines() -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let bin = "/usr/lib/nagios/plugins/check_tidb_log_backup";
    let split = |line: &str| -> Vec<String> {
        line.split_whitespace()
            .map(|w| {
                w.trim_matches('\'')
                    .trim_matches('"')
                    .trim_end_matches(',')
                    .to_string()
            })
            .filter(|w| !w.is_empty())
            .collect()
    };
    // Nagios: command_name + command_line $USER1$/check_tidb_log_backup ...
    let mut name = String::new();
    for line in read("nagios/command.cfg").lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("command_name") {
            name = rest.trim().to_string();
        }
        if let Some(rest) = line.strip_prefix("command_line") {
            let args: &[&str] = match name.as_str() {
                "check_tidb_log_backup" => &[
                    "http://127.0.0.1:2379",
                    "10m",
                    "30m",
                    "--task pitr --no-pd-api",
                ],
                "check_tidb_log_backup_config" => {
                    &["/etc/check_tidb_log_backup/config.toml", "--task pitr"]
                }
                other => panic!("unexpected Nagios command {other}"),
            };
            let mut rest = rest.trim().to_string();
            for (i, value) in args.iter().enumerate() {
                rest = rest.replace(&format!("$ARG{}$", i + 1), value);
            }
            assert!(!rest.contains("$ARG"), "{name}: unresolved macro in {rest}");
            let argv = split(&rest);
            assert_eq!(argv[0], "$USER1$/check_tidb_log_backup");
            out.push(("nagios/command.cfg".to_string(), argv[1..].to_vec()));
        }
    }
    // NRPE, cron (the active line and the commented syslog variant).
    for (file, marker) in [
        (
            "nrpe/check_tidb_log_backup.cfg",
            "command[check_tidb_log_backup]=",
        ),
        ("cron/check_tidb_log_backup", "nagios  "),
    ] {
        for line in read(file).lines() {
            let line = line.trim_start_matches("# ");
            if let Some(i) = line.find(marker) {
                let rest = &line[i + marker.len()..];
                let rest = rest.split(['>', '|']).next().unwrap();
                let argv = split(rest);
                assert_eq!(argv[0], bin, "{file}");
                out.push((file.to_string(), argv[1..].to_vec()));
            }
        }
    }
    // Telegraf: commands = ["..."]
    let telegraf: toml::Value =
        toml::from_str(&read("telegraf/check_tidb_log_backup.conf")).unwrap();
    for command in telegraf["inputs"]["exec"][0]["commands"]
        .as_array()
        .unwrap()
    {
        let argv = split(command.as_str().unwrap());
        assert_eq!(argv[0], bin);
        out.push(("telegraf".to_string(), argv[1..].to_vec()));
    }
    // Vector: command = [...]
    let vector: toml::Value = toml::from_str(&read("vector/check_tidb_log_backup.toml")).unwrap();
    let argv: Vec<String> = vector["sources"]["tidb_log_backup"]["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(argv[0], bin);
    out.push(("vector".to_string(), argv[1..].to_vec()));
    out
}

#[test]
fn every_example_command_line_is_accepted_by_the_cli() {
    let lines = example_command_lines();
    let files: BTreeSet<&str> = lines.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(files.len(), 5, "examples found: {files:?}");
    assert!(lines.len() >= 7, "{lines:?}");
    for (file, argv) in &lines {
        // The --config file is the packaged one (read at run time); everything else must
        // parse and validate now.
        let mut args: Vec<&str> = Vec::new();
        let mut words = argv.iter();
        while let Some(word) = words.next() {
            if word == "--config" {
                words.next();
            } else if !word.starts_with("--config=") {
                args.push(word);
            }
        }
        testkit::plan::plan(&args).unwrap_or_else(|e| panic!("{file}: {argv:?}: {e}"));
    }
    // Collectors that decode JSON get ndjson; the engines get the default nagios format.
    for (file, argv) in &lines {
        let ndjson = argv
            .windows(2)
            .any(|w| w[0] == "--format" && w[1] == "ndjson");
        assert_eq!(
            ndjson,
            file == "vector" || file.starts_with("cron"),
            "{file}: {argv:?}"
        );
    }
}

#[test]
fn example_config_is_valid_with_every_commented_key_enabled() {
    let text = read("config.toml");
    settings::parse_config(&text).expect("plugins/config.toml as shipped");
    // `# key = value` and `# [tasks.x]` lines switched on; prose comments stay comments.
    let enabled: String = text
        .lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(rest)
                if (rest.starts_with('[') && rest.ends_with(']') && !rest.contains(' '))
                    || rest.split_once(" = ").is_some_and(|(k, _)| {
                        k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    }) =>
            {
                rest.to_string()
            }
            _ => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let config = settings::parse_config(&enabled)
        .unwrap_or_else(|e| panic!("plugins/config.toml with every key enabled: {e}\n{enabled}"));
    assert!(config.tasks.contains_key("pitr_archive"));
    assert_eq!(config.timeout.as_deref(), Some("10s"));
    // Every config key the README documents appears in the example.
    for key in [
        "pd",
        "pd_api",
        "no_pd_api",
        "safepoint_warning",
        "safepoint_critical",
        "persist_lag",
        "throughput",
        "cacert",
        "cert",
        "key",
        "tls_server_name",
        "user",
        "password_file",
        "password",
        "state_dir",
        "sample",
        "task",
        "warning",
        "critical",
        "paused_warning",
        "paused_critical",
        "no_task_state",
        "unreachable_state",
        "timeout",
        "format",
        "output",
        "max_output",
    ] {
        assert!(
            enabled.lines().any(|l| l.starts_with(&format!("{key} = "))),
            "plugins/config.toml lacks {key}"
        );
    }
}
