use super::*;
use crate::judge::Thresholds;

/// One cluster's plan and the run's, from `args` with `$TIDB_PD` = `env_pd`.
fn plan_with(args: &[&str], env_pd: Option<&str>) -> Result<(ClusterPlan, RunPlan), String> {
    let mut argv = vec!["check_tidb_log_backup"];
    argv.extend_from_slice(args);
    let env = Env {
        pd: env_pd.map(str::to_string),
        ..Env::default()
    };
    match resolve(argv, &env) {
        Ok(mut plan) => Ok((plan.clusters.remove(0), plan.run)),
        Err(Refusal::Invalid { message, .. }) => Err(message),
        Err(other) => Err(format!("{other:?}")),
    }
}

fn options(args: &[&str]) -> Result<(ClusterPlan, RunPlan), String> {
    plan_with(args, None)
}

#[test]
fn defaults_follow_the_official_alert_rules() {
    let (o, run) = options(&[]).unwrap();
    assert_eq!(o.endpoints, vec![defaults::PD]);
    assert_eq!(o.policy.defaults, Thresholds::default());
    assert_eq!(o.policy.defaults.warning.to_string(), "600");
    assert_eq!(o.policy.defaults.paused_critical.to_string(), "43200");
    assert_eq!(run.timeout, Duration::from_secs(10));
    assert_eq!(run.format, Format::Nagios);
    assert_eq!(o.selection, Selection::All);
}

#[test]
fn endpoints_accept_repeats_comma_lists_and_bare_host_port() {
    let (o, _) = options(&["--pd", "a:1,http://b:2", "--pd", "c:3", "--pd", "a:1"]).unwrap();
    assert_eq!(o.endpoints, vec!["http://a:1", "http://b:2", "http://c:3"]);
    assert!(options(&["--pd", "ftp://x:1"]).is_err());
    assert!(options(&["--pd", ","]).is_err());
    assert_eq!(
        options(&["--pd", "[::1]:2379"]).unwrap().0.endpoints,
        vec!["http://[::1]:2379"]
    );
    for bad in [
        "bogus url",
        "host",
        "host:",
        "host:0",
        "host:99999",
        "http://host",
        "http://a b:1",
        "[::1]",
        "[zz]:1",
        "http://h:1/path",
    ] {
        let e = options(&["--pd", bad]).unwrap_err();
        assert!(e.contains(&format!("'{}'", bad.trim())), "{bad}: {e}");
    }
    let e = options(&["--pd-api", "bogus url"]).unwrap_err();
    assert!(e.contains("'bogus url'"), "{e}");
}

#[test]
fn env_is_a_fallback_after_flags_and_config() {
    assert_eq!(
        plan_with(&[], Some("e:1")).unwrap().0.endpoints,
        vec!["http://e:1"]
    );
    assert_eq!(
        plan_with(&["--pd", "f:1"], Some("e:1"))
            .unwrap()
            .0
            .endpoints,
        vec!["http://f:1"]
    );
}

#[test]
fn thresholds_take_durations_and_ranges() {
    let (o, run) = options(&[
        "-w",
        "15m",
        "-c",
        "@1h:2h",
        "--paused-warning",
        "~:3h",
        "-t",
        "2.5",
    ])
    .unwrap();
    assert_eq!(o.policy.defaults.warning.to_string(), "900");
    assert_eq!(o.policy.defaults.critical.to_string(), "@3600:7200");
    assert_eq!(o.policy.defaults.paused_warning.to_string(), "~:10800");
    assert_eq!(run.timeout, Duration::from_millis(2500));
}

#[test]
fn invalid_values_are_clear_errors() {
    assert!(options(&["-w", "20:10"])
        .unwrap_err()
        .contains("invalid warning range"));
    assert!(options(&["--no-task-state", "maybe"])
        .unwrap_err()
        .contains("no-task-state"));
    assert!(options(&["-t", "0"]).unwrap_err().contains("timeout"));
    assert!(options(&["--now", "yesterday"])
        .unwrap_err()
        .contains("--now"));
}

#[test]
fn pd_api_and_throughput_settings() {
    let (o, _) = options(&["--pd", "a:1"]).unwrap();
    assert_eq!(
        o.pd_api,
        Some(vec!["http://a:1".to_string()]),
        "defaults to the --pd endpoints"
    );
    assert_eq!(o.throughput, None);
    assert_eq!(
        (
            o.policy.safepoint_warning,
            o.policy.safepoint_critical,
            o.policy.persist_lag
        ),
        (21_600, 7_200, 300)
    );
    let (o, _) = options(&["--pd", "a:1", "--pd-api", "b:2,c:3"]).unwrap();
    assert_eq!(
        o.pd_api,
        Some(vec!["http://b:2".to_string(), "http://c:3".to_string()])
    );
    assert_eq!(
        options(&["--no-pd-api", "--pd-api", "b:2"])
            .unwrap()
            .0
            .pd_api,
        None
    );
    let (o, _) = options(&[
        "--throughput",
        "--state-dir",
        "/tmp/x",
        "--sample",
        "1s",
        "--safepoint-warning",
        "8h",
        "--safepoint-critical",
        "90m",
        "--persist-lag",
        "120",
    ])
    .unwrap();
    assert_eq!(
        o.throughput,
        Some(Throughput {
            sample: Some(Duration::from_secs(1))
        })
    );
    assert_eq!(
        (
            o.policy.safepoint_warning,
            o.policy.safepoint_critical,
            o.policy.persist_lag
        ),
        (28_800, 5_400, 120)
    );
    assert!(options(&["--persist-lag", "soon"])
        .unwrap_err()
        .contains("persist-lag"));
}

#[test]
fn help_text_names_every_default_from_its_home() {
    let help = command().render_long_help().to_string();
    assert!(!help.contains("{default}"), "{help}");
    for shown in [
        "[default: 10m]",
        "[default: 12h]",
        "[default: 6h]",
        "[default: 5m]",
        "[default: 10s]",
        "[default: 8192]",
        "[default: nagios]",
        "then $TIDB_PD, then http://127.0.0.1:2379",
    ] {
        assert!(help.contains(shown), "{shown} missing from the help");
    }
}

#[test]
fn wildcard_selects_all_tasks() {
    assert_eq!(
        options(&["--task", "*"]).unwrap().0.selection,
        Selection::All
    );
    assert_eq!(
        options(&["--task", "a", "--task", "b"])
            .unwrap()
            .0
            .selection,
        Selection::Named(vec!["a".into(), "b".into()])
    );
}

#[test]
fn storage_settings_per_task_and_credential_files() {
    let dir = std::env::temp_dir().join(format!("ctlb-settings-storage-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("id"), "AKIDEXAMPLE\n").unwrap();
    let config = dir.join("c.toml");
    std::fs::write(
        &config,
        format!(
            "storage = true\nstorage_credentials = \"task\"\nwindow_warning = \"7d:\"\nfull_backup = \"s3://full/b1\"\n[tasks.archive]\nstorage = false\n[tasks.pitr.storage]\nurl = \"s3://other/p?region=eu-west-1\"\naccess_key_id_file = \"{}\"\n",
            dir.join("id").display()
        ),
    )
    .unwrap();
    let (plan, _) = options(&["--config", config.to_str().unwrap()]).unwrap();
    let storage = plan.storage.expect("--storage from the config");
    assert!(storage.wants("pitr") && storage.wants("any") && !storage.wants("archive"));
    assert!(storage.task_credentials);
    assert_eq!(storage.full_backups[0].display(), "s3://full/b1");
    let pitr = &storage.per_task["pitr"];
    assert_eq!(pitr.url.as_ref().unwrap().display(), "s3://other/p");
    // The key is read, and never shows in a Debug print.
    let debug = format!("{pitr:?}");
    assert!(!debug.contains("AKIDEXAMPLE"), "{debug}");
    assert_eq!(
        plan.policy.storage.window_warning.unwrap().to_string(),
        "604800:"
    );
    // Off unless asked; a typo in the task's storage table is named.
    assert_eq!(options(&[]).unwrap().0.storage, None);
    std::fs::write(&config, "[tasks.pitr.storage]\nurll = \"s3://x\"\n").unwrap();
    let e = options(&["--config", config.to_str().unwrap()]).unwrap_err();
    assert!(e.contains("line 1") || e.contains("storage"), "{e}");
    std::fs::write(&config, "storage_credentials = \"mine\"\n").unwrap();
    let e = options(&["--config", config.to_str().unwrap()]).unwrap_err();
    assert!(e.contains("invalid storage_credentials 'mine'"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn storage_endpoints_and_the_read_cap_are_checked_before_any_work() {
    let plan = options(&[
        "--storage",
        "--allow-storage-endpoint",
        "http://minio.lan:9000",
        "--allow-storage-endpoint",
        "ceph.lan",
        "--storage-max-object",
        "512KiB",
    ])
    .unwrap()
    .0
    .storage
    .unwrap();
    assert_eq!(plan.allowed_endpoints.len(), 2);
    assert!(plan.allowed_endpoints[1].https, "no scheme means https");
    assert_eq!(plan.max_object, 512 * 1024);
    assert_eq!(
        options(&["--storage"])
            .unwrap()
            .0
            .storage
            .unwrap()
            .max_object,
        16 << 20
    );
    for (args, want) in [
        (
            &["--storage", "--full-backup", "s3://b/p?endpoint=::::"][..],
            "invalid endpoint '::::'",
        ),
        (
            &["--storage", "--allow-storage-endpoint", "http://["][..],
            "invalid --allow-storage-endpoint",
        ),
        (
            &["--storage", "--storage-max-object", "lots"][..],
            "invalid --storage-max-object 'lots'",
        ),
    ] {
        let e = options(args).unwrap_err();
        assert!(e.contains(want), "{args:?}: {e}");
    }
}
