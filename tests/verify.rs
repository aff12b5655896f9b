//! `--verify` end to end on a real storage (a local directory and moto's S3 behind the
//! recording proxy) and a real etcd: every data file the chain's metas reference is
//! checked, incrementally, within `--verify-budget`; missing and short files are CRITICAL
//! and stay until they are back; V1 and V2 metas; the cursor carried by the state file;
//! the compacted SSTs the migrations name, their `.cmeta` objects hostile or not.
//! These runs keep the state file, so they judge at the wall clock (a `--now` replay keeps
//! none): the assertions are on the verification's own fields and reasons.

use crate::common::check;
use prost::Message;
use testkit::encode::{field_bytes, field_varint, tso_rfc3339 as at};
use testkit::layout::{Compaction, Flush, LogStorage};
use testkit::recorder::Recorder;
use testkit::sink::{Sink, TempDir};
use testkit::Etcd;

/// Ten flushes, stores 1 and 4, every 6 minutes from 00:06 to 00:54.
fn flushes() -> Vec<Flush> {
    (1..=10)
        .map(|i| {
            let store = if i % 2 == 0 { 4 } else { 1 };
            Flush::new(store, at(&format!("2024-01-01T00:{:02}:00Z", i * 5 + 4)))
        })
        .collect()
}

fn storage(flushes: &[Flush]) -> testkit::store::Objects {
    storage_with(flushes, |l| l)
}

/// [`storage`] with more added by `more` (a compaction, say).
fn storage_with(
    flushes: &[Flush],
    more: impl FnOnce(LogStorage) -> LogStorage,
) -> testkit::store::Objects {
    more(
        LogStorage::new(at("2024-01-01T00:00:00Z"))
            .checkpoint(1, at("2024-01-01T00:59:30Z"))
            .checkpoint(4, at("2024-01-01T00:59:00Z"))
            .flushes(flushes.iter().cloned()),
    )
    .objects()
}

struct Setup {
    etcd: Etcd,
    dir: TempDir,
    config: String,
}

fn setup(tag: &str, url: &str) -> Setup {
    setup_table(tag, &format!("url = \"{url}\"\n"))
}

/// [`setup`] with the whole `[tasks.pitr.storage]` body given.
fn setup_table(tag: &str, table: &str) -> Setup {
    let etcd = Etcd::start();
    etcd.load(&["v71-running.toml"]);
    let dir = TempDir::new(tag);
    Setup {
        config: dir.storage_config(table),
        etcd,
        dir,
    }
}

impl Setup {
    /// One run keeping its state in the setup's directory; the task's ndjson event.
    fn run(&self, extra: &[&str]) -> serde_json::Value {
        let state = self.dir.path.join("state");
        let mut args = vec![
            "--pd",
            &self.etcd.endpoint,
            "--no-pd-api",
            "--config",
            &self.config,
            "--state-dir",
            state.to_str().unwrap(),
            "--verify",
            "--format",
            "ndjson",
        ];
        args.extend_from_slice(extra);
        let out = check(&args);
        assert_eq!(out.stderr, "");
        serde_json::from_str(out.stdout.lines().next().unwrap()).unwrap()
    }
}

fn reasons(task: &serde_json::Value) -> Vec<String> {
    task["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect()
}

fn verify_reasons(task: &serde_json::Value) -> Vec<String> {
    reasons(task)
        .into_iter()
        .filter(|r| r.starts_with("a restore past ") || r.starts_with("log chain"))
        .collect()
}

#[test]
fn a_whole_chain_verifies_and_the_cursor_carries_over() {
    let flushes = flushes();
    let log = TempDir::new("verify-log");
    Sink::Dir(&log.path).write("", &storage(&flushes));
    let s = setup("verify-whole", &format!("local://{}", log.path.display()));
    let first = s.run(&[]);
    let newest = flushes.iter().map(|f| f.max_ts).max().unwrap();
    assert_eq!(first["verified_to_ts"], newest, "{first}");
    assert_eq!(first["verified_restorable_to_ts"], newest);
    assert_eq!(first["verify_backlog_metas"], 0);
    assert_eq!(
        first["log_bytes_per_hour"], 640,
        "ten 64-byte files in the hour"
    );
    assert!(verify_reasons(&first).is_empty(), "{first}");
    // Nothing new: one listing after the cursor, nothing else.
    let second = s.run(&[]);
    let extra = |t: &serde_json::Value| t["storage_requests"].as_u64().unwrap();
    // Two new flushes: their two metas and one listing of their hour besides.
    let more = [
        Flush::new(1, at("2024-01-01T00:58:00Z")),
        Flush::new(4, at("2024-01-01T00:59:00Z")),
    ];
    for f in &more {
        Sink::Dir(&log.path).write("", &f.objects());
    }
    let third = s.run(&[]);
    assert_eq!(extra(&third), extra(&second) + 3, "{third}");
    assert_eq!(third["verified_to_ts"], more[1].max_ts);
    // The first run read every meta and listed their hour on top of what later runs send.
    assert_eq!(extra(&first), extra(&second) + 10 + 1, "{first}");
}

#[test]
fn missing_and_short_files_are_critical_until_they_are_back() {
    let flushes = flushes();
    for (which, at_index) in [("start", 0usize), ("middle", 5), ("end", 9)] {
        let log = TempDir::new("verify-missing");
        Sink::Dir(&log.path).write("", &storage(&flushes));
        let gone = &flushes[at_index];
        let data = gone.data_key().unwrap();
        let path = log.path.join(&data);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let s = setup("verify-missing", &format!("local://{}", log.path.display()));
        let t = s.run(&[]);
        let found = verify_reasons(&t);
        assert_eq!(found.len(), 1, "{which}: {t}");
        assert!(
            found[0].ends_with(&format!(
                ": {data} (referenced by {}) is missing",
                gone.meta_key()
            )),
            "{which}: {found:?}"
        );
        assert!(
            found[0].starts_with("a restore past 2024-01-01 00:"),
            "{found:?}"
        );
        assert_eq!(t["state"], "CRITICAL");
        assert_eq!(t["verified_restorable_to_ts"], gone.min_ts - 1, "{which}");
        // Still missing on the next run (re-checked), then back.
        assert_eq!(verify_reasons(&s.run(&[])).len(), 1, "{which}");
        std::fs::write(&path, &bytes).unwrap();
        let back = s.run(&[]);
        assert!(verify_reasons(&back).is_empty(), "{which}: {back}");
        assert_eq!(back["verified_restorable_to_ts"], back["verified_to_ts"]);
    }
    // A short file: half of it.
    let log = TempDir::new("verify-short");
    Sink::Dir(&log.path).write("", &storage(&flushes));
    let short = flushes[3].data_key().unwrap();
    std::fs::write(log.path.join(&short), [0x28u8; 32]).unwrap();
    let s = setup("verify-short", &format!("local://{}", log.path.display()));
    let found = verify_reasons(&s.run(&[]));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].ends_with("has 32 of 64 bytes"), "{found:?}");
}

#[test]
fn a_budget_cut_goes_on_next_run() {
    let flushes = flushes();
    let log = TempDir::new("verify-budget");
    Sink::Dir(&log.path).write("", &storage(&flushes));
    let s = setup("verify-budget", &format!("local://{}", log.path.display()));
    let mut backlogs = Vec::new();
    for _ in 0..5 {
        let t = s.run(&["--verify-budget", "5"]);
        backlogs.push(t["verify_backlog_metas"].as_u64().unwrap());
        if backlogs.last() == Some(&0) {
            assert_eq!(t["verified_to_ts"], flushes[9].max_ts);
            break;
        }
        assert!(
            reasons(&t)
                .iter()
                .any(|r| r.starts_with("log chain verified to ")
                    && r.ends_with("still to verify (--verify-budget)")),
            "{t}"
        );
    }
    // Within 5 requests: the listing, three metas and their hour's listing, each run (a
    // local directory reads every meta whole).
    assert_eq!(backlogs, vec![7, 4, 1, 0], "{backlogs:?}");
}

/// A V1 meta (`files`, kvproto Metadata 1: DataFileInfo path 2, min_ts 4, max_ts 5,
/// length 14) beside V2 ones: its missing file is found the same way.
#[test]
fn v1_metas_are_verified_too() {
    let flushes = flushes();
    let log = TempDir::new("verify-v1");
    Sink::Dir(&log.path).write("", &storage(&flushes));
    let (min_ts, max_ts) = (at("2024-01-01T00:20:00Z"), at("2024-01-01T00:21:00Z"));
    let mut file = Vec::new();
    field_bytes(2, b"v1/t00000071/20240101-v1-file.log", &mut file);
    field_varint(4, min_ts, &mut file);
    field_varint(5, max_ts, &mut file);
    field_varint(14, 100, &mut file);
    let mut meta = Vec::new();
    field_bytes(1, &file, &mut meta);
    field_varint(2, 1, &mut meta);
    field_varint(4, max_ts, &mut meta);
    field_varint(5, min_ts, &mut meta);
    let meta_key = "v1/backupmeta/446711400000000000-v1-meta.meta";
    Sink::Dir(&log.path).write("", &[(meta_key.to_string(), meta)]);
    let s = setup("verify-v1", &format!("local://{}", log.path.display()));
    let found = verify_reasons(&s.run(&[]));
    assert_eq!(
        found,
        vec![format!(
            "a restore past 2024-01-01 00:20:00 +0000 would fail: v1/t00000071/20240101-v1-file.log (referenced by {meta_key}) is missing"
        )]
    );
}

/// On S3 (moto behind the recorder): the requests are reads, counted, and the second run
/// sends only the listing after the cursor. The ten tagged metas are proven by name from
/// one listing of their hour, then read whole up to ten requests: eight GETs.
#[test]
fn on_s3_the_second_run_sends_only_the_new_requests() {
    let s3 = testkit::S3Server::start();
    s3.create_bucket("pitr-logs");
    let flushes = flushes();
    Sink::S3(&s3, "pitr-logs").write("prod/log", &storage(&flushes));
    let recorder = Recorder::start(&s3.endpoint());
    let keys = TempDir::new("verify-s3-keys");
    let s = setup_table(
        "verify-s3",
        &testkit::s3::storage_table(&keys.path, "pitr-logs", "prod/log", &recorder.endpoint()),
    );
    let env_free = s.run(&[]);
    assert_eq!(env_free["verified_to_ts"], flushes[9].max_ts, "{env_free}");
    let first = recorder.requests().len();
    assert_eq!(
        env_free["storage_requests"].as_u64().unwrap() as usize,
        first
    );
    recorder.clear();
    let again = s.run(&[]);
    let second = recorder.requests();
    assert_eq!(
        again["storage_requests"].as_u64().unwrap() as usize,
        second.len()
    );
    assert_eq!(first - second.len(), 1 + 8, "{second:?}");
    assert_eq!(env_free["verify_by_name_metas"], 2, "{env_free}");
    assert_eq!(again["verify_by_name_metas"], 0, "{again}");
    assert!(recorder.writes().is_empty());
}

/// A meta that does not decode: UNKNOWN-level, naming it; the chain is unverified from
/// there (the cursor stops before it), never a crash.
#[test]
fn an_undecodable_meta_stops_the_chain_with_a_reason() {
    let flushes = flushes();
    let log = TempDir::new("verify-garbage");
    Sink::Dir(&log.path).write("", &storage(&flushes));
    // Sorts between the 5th and the 6th flush's metas.
    let bad = format!("{}x.meta", &flushes[4].meta_key()[..30]);
    Sink::Dir(&log.path).write("", &[(bad.clone(), b"\xff\xff\xff".to_vec())]);
    let s = setup("verify-garbage", &format!("local://{}", log.path.display()));
    let t = s.run(&[]);
    let found: Vec<String> = verify_reasons(&t)
        .into_iter()
        .filter(|r| r.starts_with("log chain unverified from "))
        .collect();
    assert_eq!(found.len(), 1, "{t}");
    assert!(
        found[0].contains(&format!("{bad} does not decode")),
        "{found:?}"
    );
    assert_eq!(
        t["state"], "CRITICAL",
        "the lag decides; the chain's reason is UNKNOWN-level"
    );
    assert!(t["verify_backlog_metas"].as_u64().unwrap() > 0, "{t}");
    assert_eq!(t["verified_to_ts"], flushes[4].max_ts, "{t}");
}

/// On Azure Blob (Azurite): the same verification, a missing file found the same way.
#[test]
fn on_azure_a_missing_file_is_found_too() {
    let azurite = testkit::Azurite::start();
    azurite.create_container("pitr");
    let flushes = flushes();
    let gone = flushes[2].data_key().unwrap();
    let objects: testkit::store::Objects = storage(&flushes)
        .into_iter()
        .filter(|(key, _)| *key != gone)
        .collect();
    Sink::Azure(&azurite, "pitr").write("log", &objects);
    let keys = TempDir::new("verify-azure-key");
    std::fs::write(keys.path.join("azure.key"), azurite.key()).unwrap();
    let s = setup_table(
        "verify-azure",
        &format!(
            "url = \"azure://pitr/log?account-name={}&endpoint={}\"\nazure_key_file = \"{}\"\n",
            azurite.account(),
            azurite.endpoint(),
            keys.path.join("azure.key").display()
        ),
    );
    let t = s.run(&[]);
    assert_eq!(t["storage_state"], "ok", "{t}");
    let found = verify_reasons(&t);
    assert_eq!(found.len(), 1, "{t}");
    assert!(
        found[0].ends_with(&format!(
            ": {gone} (referenced by {}) is missing",
            flushes[2].meta_key()
        )),
        "{found:?}"
    );
    assert_eq!(t["verified_to_ts"], flushes[9].max_ts);
    assert_eq!(t["verify_backlog_metas"], 0);
}

/// The reasons about compactions: their missing SSTs and why one is unverified.
fn compaction_reasons(task: &serde_json::Value) -> Vec<String> {
    reasons(task)
        .into_iter()
        .filter(|r| r.contains("compaction"))
        .collect()
}

/// A compaction of the logs from 00:05 to 00:30: five SSTs, two to a `.cmeta`.
fn compaction() -> Compaction {
    Compaction::new(
        "daily",
        at("2024-01-01T00:05:00Z"),
        at("2024-01-01T00:30:00Z"),
        5,
        2,
    )
}

/// A compacted SST that is missing (or short) is CRITICAL, naming it and the `.cmeta`
/// that lists it, and re-checked until it is back; the proven restore point stops before
/// the compaction's data. The compaction is recorded in a migration layer.
#[test]
fn a_missing_compacted_sst_is_critical_naming_its_cmeta() {
    let flushes = flushes();
    let c = compaction();
    let log = TempDir::new("verify-compacted");
    let objects = storage_with(&flushes, |l| l.compacted_in_layer(1, &c));
    Sink::Dir(&log.path).write("", &objects);
    let gone = c.sst_keys()[2].clone();
    let path = log.path.join(&gone);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let s = setup(
        "verify-compacted",
        &format!("local://{}", log.path.display()),
    );
    let t = s.run(&[]);
    assert_eq!(
        verify_reasons(&t),
        vec![format!(
            "a restore past 2024-01-01 00:05:00 +0000 would fail: {gone} (referenced by {}) is missing",
            c.cmeta_key(1)
        )],
        "{t}"
    );
    assert_eq!(t["state"], "CRITICAL");
    assert_eq!(t["verified_restorable_to_ts"], c.input_min_ts - 1);
    // Still missing next run (re-checked), then back; then short.
    assert_eq!(verify_reasons(&s.run(&[])).len(), 1);
    std::fs::write(&path, &bytes).unwrap();
    let back = s.run(&[]);
    assert!(verify_reasons(&back).is_empty(), "{back}");
    assert!(compaction_reasons(&back).is_empty(), "{back}");
    assert_eq!(back["verified_restorable_to_ts"], back["verified_to_ts"]);

    let log = TempDir::new("verify-compacted-short");
    Sink::Dir(&log.path).write("", &objects);
    let short = c.sst_keys()[4].clone();
    std::fs::write(log.path.join(&short), [0x53u8; 60]).unwrap();
    let s = setup(
        "verify-compacted-short",
        &format!("local://{}", log.path.display()),
    );
    let found = verify_reasons(&s.run(&[]));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].ends_with(&format!(
            "{short} (referenced by {}) has 60 of 100 bytes",
            c.cmeta_key(2)
        )),
        "{found:?}"
    );
}

/// On S3, a compaction (merged into BASE) whose SSTs are all there: no finding, one
/// LIST of its metas, a GET of each `.cmeta` and one LIST of its outputs; the next run
/// sends nothing for it.
#[test]
fn a_whole_compaction_is_verified_once() {
    let s3 = testkit::S3Server::start();
    s3.create_bucket("pitr-logs");
    let flushes = flushes();
    let c = compaction();
    let objects = storage_with(&flushes, |l| l.compacted_in_base(&c));
    Sink::S3(&s3, "pitr-logs").write("prod/log", &objects);
    let recorder = Recorder::start(&s3.endpoint());
    let keys = TempDir::new("verify-compacted-s3-keys");
    let s = setup_table(
        "verify-compacted-s3",
        &testkit::s3::storage_table(&keys.path, "pitr-logs", "prod/log", &recorder.endpoint()),
    );
    let first = s.run(&[]);
    assert!(verify_reasons(&first).is_empty(), "{first}");
    assert!(compaction_reasons(&first).is_empty(), "{first}");
    assert_eq!(first["verified_restorable_to_ts"], flushes[9].max_ts);
    let about = |requests: &[(String, String)]| -> Vec<String> {
        requests
            .iter()
            .map(|(_, target)| target.clone())
            .filter(|t| t.contains("compactions"))
            .collect()
    };
    let compacted = about(&recorder.requests());
    assert_eq!(compacted.len(), 1 + 3 + 1, "{compacted:#?}");
    assert!(recorder.writes().is_empty());
    recorder.clear();
    let again = s.run(&[]);
    assert!(compaction_reasons(&again).is_empty(), "{again}");
    assert_eq!(about(&recorder.requests()), Vec::<String>::new());
}

/// A `.cmeta` that does not decode: an UNKNOWN-level reason naming it, never a crash;
/// the proven restore point stops before the compaction.
#[test]
fn an_undecodable_cmeta_is_a_reason() {
    let flushes = flushes();
    let c = compaction();
    let log = TempDir::new("verify-cmeta-garbage");
    let objects = storage_with(&flushes, |l| l.compacted_in_layer(1, &c));
    Sink::Dir(&log.path).write("", &objects);
    std::fs::write(log.path.join(c.cmeta_key(1)), b"\x0a\xff\xff\xff").unwrap();
    let s = setup(
        "verify-cmeta-garbage",
        &format!("local://{}", log.path.display()),
    );
    let t = s.run(&[]);
    let found = compaction_reasons(&t);
    assert_eq!(found.len(), 1, "{t}");
    assert!(
        found[0].starts_with(&format!(
            "compaction daily#4242@tikv-ctl-host unverified: {} does not decode (",
            c.cmeta_key(1)
        )),
        "{found:?}"
    );
    assert_eq!(
        t["state"], "CRITICAL",
        "the lag decides; the compaction's reason is UNKNOWN-level"
    );
    assert_eq!(t["verified_restorable_to_ts"], c.input_min_ts - 1);
    // The same every run until it is fixed.
    assert_eq!(compaction_reasons(&s.run(&[])), found);
}

/// The attacker writes the migration and the `.cmeta`: paths outside the storage prefix
/// (`../`, absolute) are findings, never listed or read, and a claimed length or count
/// is not believed: no request leaves the prefix, no crash, nothing allocated by a claim.
#[test]
fn hostile_compactions_read_nothing_outside_the_prefix() {
    let s3 = testkit::S3Server::start();
    s3.create_bucket("pitr-logs");
    s3.put("pitr-logs", "prod/secret/x.sst", b"secret");
    let flushes = flushes();
    let (min, max) = (at("2024-01-01T00:05:00Z"), at("2024-01-01T00:30:00Z"));
    let outside = Compaction::new("outside", min, max, 1, 1);
    let absolute = Compaction::new("absolute", min, max, 1, 1);
    let claims = Compaction::new("claims", min, max, 1, 1);
    let many = Compaction::new("many", min, max, 1, 1);
    let escape = Compaction::new("escape", min, max, 1, 1);
    let mut storage = LogStorage::new(at("2024-01-01T00:00:00Z"))
        .checkpoint(1, at("2024-01-01T00:59:30Z"))
        .checkpoint(4, at("2024-01-01T00:59:00Z"))
        .flushes(flushes.iter().cloned());
    for (seq, c) in [&outside, &absolute, &claims, &many]
        .into_iter()
        .enumerate()
    {
        storage = storage.compacted_in_layer(seq as u64 + 1, c);
    }
    let sub = |names: &[&str]| {
        let mut sub = Vec::new();
        for name in names {
            let mut file = Vec::new();
            field_bytes(1, name.as_bytes(), &mut file);
            field_varint(11, 100, &mut file);
            field_bytes(2, &file, &mut sub);
        }
        let mut cmeta = Vec::new();
        field_bytes(1, &sub, &mut cmeta);
        cmeta
    };
    // A subcompaction claiming 2^62 bytes, with three there.
    let mut claim = vec![0x0a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40];
    claim.extend([1, 2, 3]);
    let names: Vec<String> = (0..20_001).map(|i| format!("v1/c/{i}.sst")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut escape_layer = escape.compaction();
    escape_layer.artifacts = "../secret".into();
    let escape_migration = testkit::brpb::Migration {
        compactions: vec![escape_layer],
        ..Default::default()
    };
    Sink::S3(&s3, "pitr-logs").write("prod/log", &storage.objects());
    // Then each compaction's `.cmeta` replaced by the attacker's.
    let hostile = vec![
        (outside.cmeta_key(0), sub(&["../secret/x.sst"])),
        (absolute.cmeta_key(0), sub(&["/etc/passwd"])),
        (claims.cmeta_key(0), claim),
        (many.cmeta_key(0), sub(&names)),
        (
            testkit::layout::layer_key(5, &escape_migration),
            escape_migration.encode_to_vec(),
        ),
    ];
    Sink::S3(&s3, "pitr-logs").write("prod/log", &hostile);
    let recorder = Recorder::start(&s3.endpoint());
    let keys = TempDir::new("verify-hostile-keys");
    let s = setup_table(
        "verify-hostile",
        &testkit::s3::storage_table(&keys.path, "pitr-logs", "prod/log", &recorder.endpoint()),
    );
    let t = s.run(&[]);
    let found = compaction_reasons(&t);
    let has = |name: &str, text: &str| {
        found
            .iter()
            .any(|r| r.starts_with(&format!("compaction {name}")) && r.contains(text))
    };
    assert!(
        has(
            "outside#",
            "names an SST outside the storage prefix: '../secret/x.sst'"
        ),
        "{found:#?}"
    );
    assert!(
        has(
            "absolute#",
            "names an SST outside the storage prefix: '/etc/passwd'"
        ),
        "{found:#?}"
    );
    assert!(
        has(
            "claims#",
            "does not decode (field 1 claims 4611686018427387904 bytes, 3 are left)"
        ),
        "{found:#?}"
    );
    assert!(has("many#", "names more than 20000 SSTs"), "{found:#?}");
    assert!(
        has(
            "escape#",
            "names its .cmeta objects outside the storage prefix: '../secret'"
        ),
        "{found:#?}"
    );
    assert_eq!(found.len(), 5, "{found:#?}");
    // Every request stays under the prefix: object paths and listing prefixes.
    for (method, target) in recorder.requests() {
        let decoded = target.replace("%2F", "/");
        let inside =
            decoded.starts_with("/pitr-logs/prod/log/") || decoded.contains("prefix=prod/log/");
        assert!(
            inside && !decoded.contains("secret") && !decoded.contains("passwd"),
            "{method} {target}"
        );
    }
    assert!(recorder.writes().is_empty());
}

/// Within `--verify-budget`, the chain's metas first: the compaction waits with an
/// OK-level line, then goes on over runs, one `.cmeta` batch at a time.
#[test]
fn a_compaction_over_budget_goes_on_next_runs() {
    let flushes = flushes();
    let c = Compaction::new(
        "hourly",
        at("2024-01-01T00:05:00Z"),
        at("2024-01-01T00:30:00Z"),
        6,
        1,
    );
    let log = TempDir::new("verify-compacted-budget");
    let objects = storage_with(&flushes, |l| l.compacted_in_layer(1, &c));
    Sink::Dir(&log.path).write("", &objects);
    let s = setup(
        "verify-compacted-budget",
        &format!("local://{}", log.path.display()),
    );
    let mut lines = Vec::new();
    for _ in 0..12 {
        let t = s.run(&["--verify-budget", "6"]);
        let waiting: Vec<String> = compaction_reasons(&t);
        if waiting.is_empty() && t["verify_backlog_metas"] == 0 {
            assert_eq!(t["verified_restorable_to_ts"], flushes[9].max_ts, "{t}");
            break;
        }
        assert_eq!(t["verified_restorable_to_ts"], c.input_min_ts - 1, "{t}");
        lines.extend(waiting);
    }
    assert!(!lines.is_empty());
    assert!(
        lines
            .iter()
            .all(|l| l == "0 of 1 compaction verified; 1 still to verify (--verify-budget)"),
        "{lines:#?}"
    );
    assert!(lines.len() < 12, "{lines:#?}");
    // Six `.cmeta` objects: more than one run once the chain is done.
    assert!(lines.len() >= 3, "{lines:#?}");
}

/// Thirty flushes of three stores a minute apart, in one hour.
fn minute_flushes(from_minute: u32) -> Vec<Flush> {
    (from_minute..from_minute + 30)
        .map(|m| {
            Flush::new(
                u64::from(m % 3) + 1,
                at(&format!("2024-01-01T00:{m:02}:30Z")),
            )
        })
        .collect()
}

/// The cost model on S3 (moto): the metas of a run are proven by name from one listing
/// of their hour, and whole checks fill the run up to ten requests, however many metas
/// came; a missing file is still found (its name points nowhere, so its meta is read);
/// `--verify-lengths` reads every meta, and finds a short file the names cannot show.
#[test]
fn on_s3_names_prove_the_metas_and_whole_checks_fill_ten_requests() {
    let s3 = testkit::S3Server::start();
    s3.create_bucket("pitr-logs");
    let early = minute_flushes(0);
    let gone = early[20].data_key().unwrap();
    let objects: testkit::store::Objects = storage(&early)
        .into_iter()
        .filter(|(key, _)| *key != gone)
        .collect();
    Sink::S3(&s3, "pitr-logs").write("prod/log", &objects);
    let keys = TempDir::new("verify-cost-keys");
    let s = setup_table(
        "verify-cost",
        &testkit::s3::storage_table(&keys.path, "pitr-logs", "prod/log", &s3.endpoint()),
    );
    let requests = |t: &serde_json::Value| t["storage_requests"].as_u64().unwrap();
    let first = s.run(&[]);
    let idle = s.run(&[]);
    // The meta listing and the hour's, the missing file's meta, and seven more metas
    // read whole; the second run re-lists the missing file's hour besides the metas.
    assert_eq!(requests(&first), requests(&idle) - 1 + 1 + 1 + 7, "{first}");
    assert_eq!(first["verify_by_name_metas"], 30 - 1 - 7, "{first}");
    let found = verify_reasons(&first);
    assert_eq!(found.len(), 1, "{first}");
    assert!(
        found[0].ends_with(&format!(
            ": {gone} (referenced by {}) is missing",
            early[20].meta_key()
        )),
        "{found:?}"
    );
    // Thirty more: the same ten requests (the hour is listed for the missing file's
    // re-check already, as in the idle run; eight metas read whole on top).
    let late = minute_flushes(30);
    Sink::S3(&s3, "pitr-logs").write(
        "prod/log",
        &late.iter().flat_map(Flush::objects).collect::<Vec<_>>(),
    );
    let next = s.run(&[]);
    assert_eq!(requests(&next), requests(&idle) + 8, "{next}");
    assert_eq!(next["verify_by_name_metas"], 30 - 8, "{next}");
    assert_eq!(next["verified_to_ts"], late[29].max_ts);
    // Every meta read: a short file at the end shows.
    let short = late[28].data_key().unwrap();
    Sink::S3(&s3, "pitr-logs").write("prod/log", &[(short.clone(), vec![0x28; 10])]);
    let whole = setup_table(
        "verify-cost-whole",
        &testkit::s3::storage_table(&keys.path, "pitr-logs", "prod/log", &s3.endpoint()),
    );
    let t = whole.run(&["--verify-lengths"]);
    assert_eq!(t["verify_by_name_metas"], 0, "{t}");
    let found = verify_reasons(&t);
    assert_eq!(found.len(), 2, "{t}");
    assert!(
        found.iter().any(|r| r.ends_with(&format!(
            ": {short} (referenced by {}) has 10 of 64 bytes",
            late[28].meta_key()
        ))),
        "{found:?}"
    );
}

/// A listing of verification that never answers: the run's verification is dropped when
/// its share of `-t` is over, never the storage facts read before it, and the progress of
/// earlier runs is kept for the next.
#[test]
fn a_verification_that_outlasts_the_run_keeps_the_storage_facts() {
    let s3 = testkit::S3Server::start();
    s3.create_bucket("pitr-logs");
    let flushes = flushes();
    Sink::S3(&s3, "pitr-logs").write("prod/log", &storage(&flushes));
    let recorder = Recorder::start(&s3.endpoint());
    let keys = TempDir::new("verify-hang-keys");
    let s = setup_table(
        "verify-hang",
        &testkit::s3::storage_table(&keys.path, "pitr-logs", "prod/log", &recorder.endpoint()),
    );
    let first = s.run(&[]);
    assert_eq!(first["verified_to_ts"], flushes[9].max_ts, "{first}");
    // New flushes in the next hour, whose listing hangs.
    let later = Flush::new(1, at("2024-01-01T01:10:00Z"));
    Sink::S3(&s3, "pitr-logs").write("prod/log", &later.objects());
    recorder.hang_listings_of("prefix=prod%2Flog%2Fv1%2F20240101%2F01");
    let t = s.run(&["-t", "3"]);
    assert_eq!(t["storage_state"], "ok", "{t}");
    assert_eq!(t["restorable_to_ts"], first["restorable_to_ts"], "{t}");
    assert_eq!(t["verified_to_ts"], first["verified_to_ts"], "{t}");
    assert!(
        reasons(&t)
            .iter()
            .any(|r| r.contains("this run's verification ran out of time (-t)")),
        "{t}"
    );
    // The listing answers again: the new flush is verified from where the first run left.
    recorder.set_mode(testkit::recorder::Mode::Pass);
    let back = s.run(&[]);
    assert_eq!(back["verified_to_ts"], later.max_ts, "{back}");
}
