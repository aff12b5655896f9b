//! Writes the seed corpora under `fuzz/seeds/<target>/` from `fixtures/*.toml` (with
//! "now" fixed at 2024-01-01T01:00:00Z) and the worked examples of docs/etcd-layout.md.
//! Every seed is run through the target's own assertions; failures are reported.

use check_tidb_log_backup::keys;
use check_tidb_log_backup::pause::{self, Pause, Payload};
use check_tidb_log_backup::snapshot::Kv;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};
use testkit::fixture::Fixture;
use testkit::oracles::{
    self,
    snapshot_to_render::{Case, TikvCase, TikvStore, DEFAULT_NOW_MS},
};

/// V-e / V-f of docs/etcd-layout.md#worked-example-variants, and the Go form of a pause without `--message`.
const PAUSE_EXAMPLES: &[&str] = &[
    r#"{"severity":"MANUAL","operation_hostname":"br-host","operation_pid":12345,"operation_time":"2024-01-01T09:05:00+08:00","payload_type":"text/plain;charset=UTF-8","payload":"bWFpbnRlbmFuY2U="}"#,
    r#"{"severity":"MANUAL","operation_hostname":"h","operation_pid":1,"operation_time":"2024-01-01T09:05:00Z","payload_type":"","payload":null}"#,
    r#"{"payload":"COjPopTMMRIPS1Y6TG9nQmFja3VwOklvGihbc3RvcmUgPSA0XSBJL08gZXJyb3I6IHBlcm1pc3Npb24gZGVuaWVkIAQ=","payload_type":"application/x-protobuf; messageType=brpb.StreamBackupError","severity":"ERROR","operation_hostname":"tikv-4","operation_pid":4242,"operation_time":"2024-01-01T08:59:45.123+08:00"}"#,
    r#"{"severity":"ERROR","operation_hostname":"tidb-1","operation_pid":7,"operation_time":"2024-01-01T09:05:00+08:00","payload_type":"text/plain;charset=UTF-8","payload":"VGhlIGNoZWNrcG9pbnQgaXMgdG9vIGZhciBiZWhpbmQ="}"#,
];

/// The K1 value of docs/etcd-layout.md#worked-example-baseline and the K9 value of its variants.
const PROTOBUF_EXAMPLES: &[&str] = &[
    "0a161a141a066261636b75702208706974722d6c6f6750011080808080fda8c2990618ffff8fbbbad6adf00d2204706974722a032a2e2a30033a00",
    "0a161a141a066261636b75702208706974722d6c6f6750011080808080fda8c2990618ffff8fbbbad6adf00d2204706974722a032a2e2a3003",
    "08e8cfa294cc31120f4b563a4c6f674261636b75703a496f1a285b73746f7265203d20345d20492f4f206572726f723a207065726d697373696f6e2064656e6965642004",
];

/// Defaults, the README's examples and the range module's own cases.
const RANGES: &[&str] = &[
    "10m",
    "30m",
    "2h",
    "12h",
    "600",
    "10:",
    "~:10",
    "10:20",
    "@10:20",
    "@1h:2h",
    "~:",
    "@~:",
    "-5:5",
    "1e2",
    "1.5",
    ".5",
    "500ms:1s",
    "1h 30m",
    " @ ~ : 1 0 ",
    "20:10",
    "10:~",
    "1e999",
    "5µs",
    "-10m:10m",
    "0:",
    "@0",
    "1e-7",
];

/// docs/rules.md#exposition-format (elided buckets dropped) plus a fatal error and an old name.
const METRICS: &str = r#"# HELP tikv_log_backup_errors The errors during stream backup.
# TYPE tikv_log_backup_errors counter
tikv_log_backup_errors{type="KV:LogBackup:ObserveCancel"} 4
tikv_log_backup_errors{type="KV:LogBackup:RaftReq"} 17
# HELP tikv_log_backup_flush_duration_sec The time cost of flushing a task.
# TYPE tikv_log_backup_flush_duration_sec histogram
tikv_log_backup_flush_duration_sec_bucket{stage="save_files",le="1"} 102
tikv_log_backup_flush_duration_sec_bucket{stage="save_files",le="+Inf"} 131
tikv_log_backup_flush_duration_sec_sum{stage="save_files"} 97.53
tikv_log_backup_flush_duration_sec_count{stage="save_files"} 131
# HELP tikv_log_backup_handle_kv_batch The total kv pair change handle by the stream backup
# TYPE tikv_log_backup_handle_kv_batch histogram
tikv_log_backup_handle_kv_batch_bucket{le="1"} 48211
tikv_log_backup_handle_kv_batch_bucket{le="+Inf"} 70015
tikv_log_backup_handle_kv_batch_sum 191344
tikv_log_backup_handle_kv_batch_count 70015
tikv_log_backup_fatal_errors{type="KV:LogBackup:Io"} 1
# HELP tikv_log_backup_store_checkpoint_ts The checkpoint ts (next backup ts) of task
# TYPE tikv_log_backup_store_checkpoint_ts gauge
tikv_log_backup_store_checkpoint_ts{task="pitr"} 462159872000000000
tidb_log_backup_last_checkpoint{task="pitr"} 4.62159872e+17
# HELP tikv_log_backup_task_status The status of tasks
# TYPE tikv_log_backup_task_status gauge
tikv_log_backup_task_status{task="pitr"} 0
tikv_log_backup_task_status{task="pi\"tr\\x"} 2 1700000000000
"#;

const METRICS_PREVIOUS: &str = "tikv_stream_handle_kv_batch_sum 180000\ntikv_log_backup_fatal_errors{type=\"KV:LogBackup:Io\"} 0\n";

struct Seeds {
    root: PathBuf,
    written: BTreeSet<(String, Vec<u8>)>,
}

impl Seeds {
    fn add(&mut self, target: &str, name: &str, data: &[u8]) {
        if !self.written.insert((target.to_string(), data.to_vec())) {
            return;
        }
        // A seed that fails is written all the same: the failure is a finding in src/
        // (or a check to fix), reported here and by the fuzzer and the replay.
        if std::panic::catch_unwind(|| oracles::check(target, data)).is_err() {
            eprintln!("warning: seed {target}/{name} fails its checks (see the panic above)");
        }
        let dir = self.root.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        let mut path = dir.join(name);
        let mut n = 2;
        while path.exists() {
            path = dir.join(format!("{name}-{n}"));
            n += 1;
        }
        std::fs::write(path, data).unwrap();
    }
}

fn hex(text: &str) -> Vec<u8> {
    testkit::fixture::parse_hex(text).unwrap()
}

fn main() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let repo = fuzz.parent().unwrap();
    let root = fuzz.join("seeds");
    if root.exists() {
        std::fs::remove_dir_all(&root).unwrap();
    }
    let mut seeds = Seeds {
        root,
        written: BTreeSet::new(),
    };
    let now = UNIX_EPOCH + Duration::from_millis(DEFAULT_NOW_MS);
    let read = |p: PathBuf| std::fs::read_to_string(p).ok();
    let default_gc = read(repo.join("fixtures/pd/gc_safepoint.json"));
    let default_stores = read(repo.join("fixtures/pd/stores.json"));

    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(repo.join("fixtures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    fixtures.sort();
    for path in fixtures {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let fixture = Fixture::load(&path).unwrap();
        let pairs = fixture.pairs(now).unwrap();
        for kv in &pairs {
            let Kv { key, value } = kv;
            if let Some((_, Some(rest))) = keys::split_task(key, keys::CHECKPOINT) {
                seeds.add("checkpoint_key", &stem, rest);
            }
            if key.starts_with(keys::INFO) || key.starts_with(keys::LAST_ERROR) {
                seeds.add("protobuf", &stem, value);
            }
            if key.starts_with(keys::PAUSE) {
                seeds.add("pause_v2", &stem, value);
                if let Ok(Pause::V2(p)) = pause::decode_pause(value) {
                    if let Payload::Error(_) = p.payload {
                        let json: serde_json::Value = serde_json::from_slice(value).unwrap();
                        let payload = json["payload"].as_str().unwrap();
                        seeds.add("protobuf", &stem, &pause::base64_decode(payload).unwrap());
                    }
                }
            }
        }
        // The fixture alone (plain judge), and with PD's answers at -vv.
        let mut case = Case {
            option: 0,
            verbosity: 0,
            max_bytes: 0,
            now_ms: DEFAULT_NOW_MS,
            pd_gc: None,
            pd_stores: None,
            tikv: None,
            pairs: pairs.clone(),
        };
        seeds.add("snapshot_to_render", &stem, &case.encode_raw());
        case.verbosity = 2;
        case.pd_gc = fixture.pd.gc_safepoint.clone().or(default_gc.clone());
        case.pd_stores = fixture.pd.stores.clone().or(default_stores.clone());
        seeds.add(
            "snapshot_to_render",
            &format!("{stem}-pd"),
            &case.encode_raw(),
        );
        if stem == "v71-running" {
            case.verbosity = 1;
            case.max_bytes = 512;
            case.tikv = Some(TikvCase {
                elapsed_ms: 60_000,
                stores: vec![
                    TikvStore {
                        id: 1,
                        current: Ok(METRICS.into()),
                        previous: Some(METRICS_PREVIOUS.into()),
                    },
                    TikvStore {
                        id: 4,
                        current: Err("connection refused".into()),
                        previous: None,
                    },
                ],
            });
            seeds.add(
                "snapshot_to_render",
                &format!("{stem}-tikv"),
                &case.encode_raw(),
            );
        }
    }
    for (i, example) in PAUSE_EXAMPLES.iter().enumerate() {
        seeds.add("pause_v2", &format!("reference-{i}"), example.as_bytes());
    }
    seeds.add("pause_v2", "v1", b"");
    for (i, example) in PROTOBUF_EXAMPLES.iter().enumerate() {
        seeds.add("protobuf", &format!("reference-{i}"), &hex(example));
    }
    for (name, rest) in [
        ("global", &b"central_global"[..]),
        ("store", b"store/1001"),
        ("region", b"region/12/3"),
        ("legacy", &[0, 0, 0, 0, 0, 0, 0, 4]),
        ("legacy-slash", &[0, 0, 0, 0, 0, 0, 0, b'/']),
    ] {
        seeds.add("checkpoint_key", name, rest);
    }
    for (i, text) in RANGES.iter().enumerate() {
        seeds.add("range", &format!("range-{i:02}"), text.as_bytes());
    }
    seeds.add("prometheus", "reference", METRICS.as_bytes());
    seeds.add(
        "prometheus",
        "with-previous",
        format!("{METRICS_PREVIOUS}\0{METRICS}").as_bytes(),
    );
    let mut counts = std::collections::BTreeMap::new();
    for (target, _) in &seeds.written {
        *counts.entry(target.clone()).or_insert(0) += 1;
    }
    for (target, n) in counts {
        println!("{target}: {n} seeds");
    }
}
