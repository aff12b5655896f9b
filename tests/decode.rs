//! Model decoding: snapshot bytes → `Cluster` (docs/etcd-layout.md: #key-catalogue, #pause-marker, #pitfalls, #worked-example; docs/br-status.md#table-rows).
//!
//! Every test builds its key space in memory, runs it through `Snapshot::from_pairs` (the
//! same read plan as the real etcd code) and checks `model::decode` with exact values.

use check_tidb_log_backup::model::{
    decode, CheckpointSource, Cluster, Orphan, Problem, Selection, Status, StoreTs, Task,
};
use check_tidb_log_backup::pause::{Pause, Payload};
use check_tidb_log_backup::snapshot::{Kv, Snapshot};
use testkit::encode::*;

// ---------------------------------------------------------------------------------------
// Helpers: keys, values, a tiny protobuf encoder.
// ---------------------------------------------------------------------------------------

/// 2024-01-01 00:00:00 UTC in Unix ms.
const T0_MS: u64 = 1_704_067_200_000;
/// The worked example\'s start_ts (2024-01-01 00:00:00).
const START_TS: u64 = 446_710_992_076_800_000;
/// The worked example\'s central_global (01:00:00).
const CENTRAL_GLOBAL: u64 = 446_711_935_795_200_000;
/// The worked example\'s storage checkpoints: store 1 (00:59:00), store 4 (00:58:30), store 1001 (00:59:30).
const SC_STORE_1: u64 = 446_711_920_066_560_000;
const SC_STORE_4: u64 = 446_711_912_202_240_000;
const SC_STORE_1001: u64 = 446_711_927_930_880_000;
/// The worked example\'s end_ts (BR's default).
const END_TS: u64 = 999_999_999_999_999_999;

/// The baseline K1 value (docs/etcd-layout.md#worked-example-baseline) of task `pitr` (with the trailing `3a 00` security_config).
const PITR_INFO_HEX: &str = "0a161a141a066261636b75702208706974722d6c6f6750011080808080fda8c2990618ffff8fbbbad6adf00d2204706974722a032a2e2a30033a00";
/// V-f (docs/etcd-layout.md#worked-example-variants) K9 value: store 4, `KV:LogBackup:Io`.
const K9_STORE_4_HEX: &str = "08e8cfa294cc31120f4b563a4c6f674261636b75703a496f1a285b73746f7265203d20345d20492f4f206572726f723a207065726d697373696f6e2064656e6965642004";
/// V-f (docs/etcd-layout.md#worked-example-variants) PauseV2 (TiKV fatal error) value.
const PAUSE_V2_ERROR: &str = r#"{"severity":"ERROR","operation_hostname":"tikv-4","operation_pid":4242,"operation_time":"2024-01-01T08:59:45.123+08:00","payload_type":"application/x-protobuf;messageType=brpb.StreamBackupError","payload":"COjPopTMMRIPS1Y6TG9nQmFja3VwOklvGihbc3RvcmUgPSA0XSBJL08gZXJyb3I6IHBlcm1pc3Npb24gZGVuaWVkIAQ="}"#;
/// V-e (docs/etcd-layout.md#worked-example-variants) PauseV2 (BR manual, text message) value.
const PAUSE_V2_MANUAL: &str = r#"{"severity":"MANUAL","operation_hostname":"br-host","operation_pid":12345,"operation_time":"2024-01-01T09:05:00+08:00","payload_type":"text/plain;charset=UTF-8","payload":"bWFpbnRlbmFuY2U="}"#;

/// TSO `secs` seconds after 2024-01-01 00:00:00.
fn tso_at(secs: u64) -> u64 {
    tso(T0_MS + secs * 1000)
}

/// A `StreamBackupTaskInfo` like BR writes it: S3 `backup`/`pitr-log` with
/// force_path_style, end_ts = BR's default, filter `*.*`, ZSTD, optional empty security_config.
fn task_info(name: &str, start_ts: u64, security_config: bool) -> Vec<u8> {
    let mut s3 = Vec::new();
    field_bytes(3, b"backup", &mut s3);
    field_bytes(4, b"pitr-log", &mut s3);
    field_varint(10, 1, &mut s3);
    let mut storage = Vec::new();
    field_bytes(3, &s3, &mut storage);
    let mut out = Vec::new();
    field_bytes(1, &storage, &mut out);
    field_varint(2, start_ts, &mut out);
    field_varint(3, END_TS, &mut out);
    field_bytes(4, name.as_bytes(), &mut out);
    field_bytes(5, b"*.*", &mut out);
    field_varint(6, 3, &mut out);
    if security_config {
        field_bytes(7, b"", &mut out);
    }
    out
}

fn info_key(task: &str) -> String {
    format!("/tidb/br-stream/info/{task}")
}
fn pause_key(task: &str) -> String {
    format!("/tidb/br-stream/pause/{task}")
}
fn global_key(task: &str) -> String {
    format!("/tidb/br-stream/checkpoint/{task}/central_global")
}
fn store_key(task: &str, store: u64) -> String {
    format!("/tidb/br-stream/checkpoint/{task}/store/{store}")
}
fn region_key(task: &str, region: u64, version: u64) -> String {
    format!("/tidb/br-stream/checkpoint/{task}/region/{region}/{version}")
}
fn legacy_key(task: &str, store: u64) -> Vec<u8> {
    let mut key = format!("/tidb/br-stream/checkpoint/{task}/").into_bytes();
    key.extend_from_slice(&store.to_be_bytes());
    key
}
fn sc_key(task: &str, store: &str) -> String {
    format!("/tidb/br-stream/storage-checkpoint/{task}/{store}")
}
fn error_key(task: &str, store: &str) -> String {
    format!("/tidb/br-stream/last-error/{task}/{store}")
}

/// K1 (+ ranges) for a task starting at `start_ts`.
fn task(name: &str, start_ts: u64) -> Vec<Kv> {
    vec![
        kv(info_key(name), task_info(name, start_ts, true)),
        kv(format!("/tidb/br-stream/ranges/{name}/m"), "n"),
        kv(format!("/tidb/br-stream/ranges/{name}/t"), "u"),
    ]
}

/// A healthy v7.1+ task `other` (start 00:00:00, storage checkpoint at 00:50:00), used as
/// the bystander that must survive bad data in another task.
fn bystander() -> Vec<Kv> {
    let mut pairs = task("other", START_TS);
    pairs.push(kv(sc_key("other", "1"), be(tso_at(3000))));
    pairs
}

fn decode_all(pairs: Vec<Kv>) -> Cluster {
    decode(&Snapshot::from_pairs(pairs), &Selection::All)
}

fn get<'a>(cluster: &'a Cluster, name: &str) -> &'a Task {
    cluster
        .tasks
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("task {name} not decoded: {cluster:?}"))
}

fn names(cluster: &Cluster) -> Vec<&str> {
    cluster.tasks.iter().map(|t| t.name.as_str()).collect()
}

fn sts(pairs: &[(u64, u64)]) -> Vec<StoreTs> {
    pairs
        .iter()
        .map(|&(store_id, ts)| StoreTs { store_id, ts })
        .collect()
}

fn assert_bystander_ok(cluster: &Cluster) {
    let other = get(cluster, "other");
    assert_eq!(other.problems, vec![], "bystander must be clean");
    assert_eq!(
        other.checkpoint(),
        Some((tso_at(3000), CheckpointSource::StorageCheckpoint))
    );
    assert_eq!(other.status(), Status::Normal);
}

/// Asserts the task has exactly one problem, on `key`, whose reason contains `reason`.
fn assert_one_problem(task: &Task, key: &str, reason: &str) {
    assert_eq!(task.problems.len(), 1, "{:?}", task.problems);
    let Problem {
        key: got_key,
        reason: got_reason,
        ..
    } = &task.problems[0];
    assert_eq!(got_key, key);
    assert!(
        got_reason.contains(reason),
        "reason {got_reason:?} should contain {reason:?}"
    );
}

/// The baseline (docs/etcd-layout.md#worked-example-baseline) (v7.1+, running) for task `pitr`.
fn baseline() -> Vec<Kv> {
    vec![
        kv(info_key("pitr"), hex(PITR_INFO_HEX)),
        kv("/tidb/br-stream/ranges/pitr/m", "n"),
        kv("/tidb/br-stream/ranges/pitr/t", "u"),
        kv(global_key("pitr"), hex("06330a238a000000")),
        kv(sc_key("pitr", "1"), hex("06330a1fe0800000")),
        kv(sc_key("pitr", "1001"), hex("06330a21b5400000")),
        kv(sc_key("pitr", "4"), hex("06330a1e0bc00000")),
    ]
}

// ---------------------------------------------------------------------------------------
// Helper sanity: the encoder reproduces the reference bytes.
// ---------------------------------------------------------------------------------------

#[test]
fn helper_encoder_reproduces_the_reference_task_info_and_tsos() {
    assert_eq!(task_info("pitr", START_TS, true), hex(PITR_INFO_HEX));
    assert_eq!(tso_at(0), START_TS);
    assert_eq!(tso_at(3600), CENTRAL_GLOBAL);
    assert_eq!(tso_at(3540), SC_STORE_1);
    assert_eq!(tso_at(3510), SC_STORE_4);
    assert_eq!(tso_at(3570), SC_STORE_1001);
    assert_eq!(
        backup_error(
            1_704_070_785_000,
            "KV:LogBackup:Io",
            "[store = 4] I/O error: permission denied",
            4
        ),
        hex(K9_STORE_4_HEX)
    );
}

// ---------------------------------------------------------------------------------------
// Eras.
// ---------------------------------------------------------------------------------------

#[test]
fn v71_baseline_storage_checkpoint_only() {
    let cluster = decode_all(baseline());
    assert_eq!(names(&cluster), vec!["pitr"]);
    let t = get(&cluster, "pitr");
    assert_eq!(t.problems, vec![]);
    let info = t.info.as_ref().expect("K1 decoded");
    assert_eq!(info.start_ts, START_TS);
    assert_eq!(info.end_ts, END_TS);
    assert_eq!(info.storage, "s3://backup/pitr-log");
    assert_eq!(info.table_filter, vec!["*.*".to_string()]);
    assert_eq!(t.status(), Status::Normal);
    assert_eq!(t.central_global, Some(CENTRAL_GLOBAL));
    // etcd key order: 1, 1001, 4.
    assert_eq!(
        t.storage_checkpoints,
        sts(&[(1, SC_STORE_1), (1001, SC_STORE_1001), (4, SC_STORE_4)])
    );
    assert_eq!(t.store_checkpoints, vec![]);
    assert_eq!(t.legacy_checkpoints, vec![]);
    assert_eq!(t.region_keys, 0);
    assert_eq!(t.error_keys, 0);
    // The worked example (docs/etcd-layout.md#worked-example-baseline): checkpoint[global] = store 1001's K8 (the max), not K4.
    assert_eq!(
        t.checkpoint(),
        Some((SC_STORE_1001, CheckpointSource::StorageCheckpoint))
    );
    assert_eq!(cluster.orphans, vec![]);
    assert_eq!(cluster.missing, Vec::<String>::new());
}

#[test]
fn v62_to_v70_store_keys_beside_central_global() {
    // V-a (docs/etcd-layout.md#worked-example-variants): K5 keys for stores 1, 1001, 4, all = start_ts (stale in V3 mode).
    let mut pairs = baseline();
    for store in [1, 1001, 4] {
        pairs.push(kv(store_key("pitr", store), hex("06330947d0000000")));
    }
    let cluster = decode_all(pairs);
    let t = get(&cluster, "pitr");
    assert_eq!(t.problems, vec![]);
    assert_eq!(t.central_global, Some(CENTRAL_GLOBAL));
    assert_eq!(
        t.store_checkpoints,
        sts(&[(1, START_TS), (1001, START_TS), (4, START_TS)])
    );
    assert_eq!(
        t.checkpoint(),
        Some((SC_STORE_1001, CheckpointSource::StorageCheckpoint))
    );
    assert_eq!(
        t.store_rows(),
        &sts(&[(1, SC_STORE_1), (1001, SC_STORE_1001), (4, SC_STORE_4)])[..]
    );
}

#[test]
fn v62_store_keys_without_storage_checkpoint_fall_back_to_start_ts_not_k5() {
    // Pitfall 2: K5 is never the checkpoint, even when it is (oddly) ahead of start_ts.
    let mut pairs = task("pitr", START_TS);
    pairs.push(kv(store_key("pitr", 1), be(tso_at(100))));
    pairs.push(kv(store_key("pitr", 4), be(tso_at(200))));
    let cluster = decode_all(pairs);
    let t = get(&cluster, "pitr");
    assert_eq!(t.problems, vec![]);
    assert_eq!(
        t.store_checkpoints,
        sts(&[(1, tso_at(100)), (4, tso_at(200))])
    );
    assert_eq!(t.checkpoint(), Some((START_TS, CheckpointSource::StartTs)));
    // The store rows shown are K5 when nothing else exists.
    assert_eq!(
        t.store_rows(),
        &sts(&[(1, tso_at(100)), (4, tso_at(200))])[..]
    );
}

#[test]
fn k5_store_keys_ahead_of_k8_are_not_used_for_the_checkpoint() {
    let mut pairs = task("pitr", START_TS);
    pairs.push(kv(sc_key("pitr", "1"), be(tso_at(600))));
    pairs.push(kv(store_key("pitr", 1), be(tso_at(9000))));
    let t = decode_all(pairs).tasks.remove(0);
    assert_eq!(
        t.checkpoint(),
        Some((tso_at(600), CheckpointSource::StorageCheckpoint))
    );
}

#[test]
fn v61_legacy_eight_byte_keys_take_the_minimum() {
    // V-c (docs/etcd-layout.md#worked-example-variants): K1 without fields 6 and 7; legacy keys for stores 1, 4, 1001 and 47 (0x2f = '/').
    let info = hex("0a161a141a066261636b75702208706974722d6c6f6750011080808080fda8c2990618ffff8fbbbad6adf00d2204706974722a032a2e2a");
    let mut pairs = vec![kv(info_key("pitr"), info)];
    pairs.push(kv(legacy_key("pitr", 1), be(SC_STORE_1)));
    pairs.push(kv(legacy_key("pitr", 4), be(SC_STORE_4)));
    pairs.push(kv(legacy_key("pitr", 1001), be(SC_STORE_1001)));
    pairs.push(kv(legacy_key("pitr", 0x2f), be(tso_at(3580))));
    // A store id whose first byte is '/', so the suffix starts with a slash too.
    pairs.push(kv(
        legacy_key("pitr", 0x2f00_0000_0000_0007),
        be(tso_at(3590)),
    ));
    let cluster = decode_all(pairs.clone());
    let t = get(&cluster, "pitr");
    assert_eq!(t.problems, vec![]);
    assert_eq!(t.info.as_ref().unwrap().start_ts, START_TS);
    assert_eq!(
        t.legacy_checkpoints,
        sts(&[
            (1, SC_STORE_1),
            (4, SC_STORE_4),
            (0x2f, tso_at(3580)),
            (1001, SC_STORE_1001),
            (0x2f00_0000_0000_0007, tso_at(3590)),
        ])
    );
    assert_eq!(t.storage_checkpoints, vec![]);
    assert_eq!(t.central_global, None);
    assert_eq!(t.checkpoint(), Some((SC_STORE_4, CheckpointSource::Legacy)));
    assert_eq!(cluster.orphans, vec![]);

    // The minimum, whichever key holds it (here the slash-bearing id).
    pairs.push(kv(legacy_key("pitr", 0x2f), be(tso_at(60))));
    let pairs: Vec<Kv> = {
        // Replace the earlier value of store 47.
        let mut seen = std::collections::BTreeMap::new();
        for p in pairs {
            seen.insert(p.key.clone(), p);
        }
        seen.into_values().collect()
    };
    let t = decode_all(pairs).tasks.remove(0);
    assert_eq!(t.checkpoint(), Some((tso_at(60), CheckpointSource::Legacy)));
}

#[test]
fn storage_checkpoint_wins_over_legacy_keys() {
    let mut pairs = task("pitr", START_TS);
    pairs.push(kv(legacy_key("pitr", 4), be(tso_at(10))));
    pairs.push(kv(sc_key("pitr", "4"), be(tso_at(20))));
    let t = decode_all(pairs).tasks.remove(0);
    assert_eq!(
        t.checkpoint(),
        Some((tso_at(20), CheckpointSource::StorageCheckpoint))
    );
}

#[test]
fn fresh_task_uses_start_ts() {
    // V-b (docs/etcd-layout.md#worked-example-variants): only K1 and K2.
    let cluster = decode_all(task("pitr", tso_at(42)));
    let t = get(&cluster, "pitr");
    assert_eq!(t.problems, vec![]);
    assert_eq!(t.central_global, None);
    assert_eq!(t.storage_checkpoints, vec![]);
    assert_eq!(t.store_rows(), &[][..]);
    assert_eq!(
        t.checkpoint(),
        Some((tso_at(42), CheckpointSource::StartTs))
    );
    assert_eq!(t.status(), Status::Normal);
}

#[test]
fn region_keys_are_counted_and_never_parsed() {
    let mut pairs = baseline();
    for (region, version) in [(12, 3), (12, 4), (99, 1)] {
        pairs.push(kv(region_key("pitr", region, version), be(tso_at(1))));
    }
    // A region key that BR could not parse still only counts (it is never downloaded).
    pairs.push(kv("/tidb/br-stream/checkpoint/pitr/region/x", "bad"));
    pairs.extend(bystander());
    let cluster = decode_all(pairs);
    let t = get(&cluster, "pitr");
    assert_eq!(t.region_keys, 4);
    assert_eq!(t.problems, vec![]);
    assert_eq!(t.store_checkpoints, vec![]);
    assert_eq!(t.legacy_checkpoints, vec![]);
    assert_eq!(
        t.checkpoint(),
        Some((SC_STORE_1001, CheckpointSource::StorageCheckpoint))
    );
    assert_eq!(get(&cluster, "other").region_keys, 0);
    assert_bystander_ok(&cluster);
}

#[test]
fn task_info_with_and_without_security_config() {
    let with = hex(PITR_INFO_HEX);
    let without = with[..with.len() - 2].to_vec();
    assert_eq!(&with[with.len() - 2..], &[0x3a, 0x00]);
    let mut decoded = Vec::new();
    for value in [with, without] {
        let cluster = decode_all(vec![kv(info_key("pitr"), value)]);
        let t = get(&cluster, "pitr");
        assert_eq!(t.problems, vec![]);
        let info = t.info.clone().expect("decoded");
        assert_eq!(info.start_ts, START_TS);
        assert_eq!(info.storage, "s3://backup/pitr-log");
        decoded.push(info);
    }
    assert_eq!(decoded[0], decoded[1]);
}

#[test]
fn task_info_naming_another_task_is_a_problem_but_still_decoded() {
    let pairs = vec![kv(info_key("pitr"), task_info("other", START_TS, true))];
    let t = decode_all(pairs).tasks.remove(0);
    assert_one_problem(
        &t,
        "/tidb/br-stream/info/pitr",
        "task info names the task 'other'",
    );
    assert_eq!(t.checkpoint(), Some((START_TS, CheckpointSource::StartTs)));
}

// ---------------------------------------------------------------------------------------
// Checkpoint rule.
// ---------------------------------------------------------------------------------------

#[test]
fn storage_checkpoint_is_the_max_and_never_below_start_ts() {
    // (start second, storage checkpoint seconds) → expected checkpoint second.
    let cases: &[(u64, &[u64], u64)] = &[
        (0, &[3540, 3510, 3570], 3570),
        (0, &[3570, 3510], 3570),
        (100, &[50], 100), // all below start_ts → start_ts
        (100, &[50, 150], 150),
        (100, &[100], 100),
    ];
    for &(start, checkpoints, want) in cases {
        let mut pairs = task("pitr", tso_at(start));
        for (i, &c) in checkpoints.iter().enumerate() {
            pairs.push(kv(sc_key("pitr", &(i + 1).to_string()), be(tso_at(c))));
        }
        let t = decode_all(pairs).tasks.remove(0);
        assert_eq!(
            t.checkpoint(),
            Some((tso_at(want), CheckpointSource::StorageCheckpoint)),
            "start {start} checkpoints {checkpoints:?}"
        );
    }
}

#[test]
fn central_global_is_reported_but_not_the_checkpoint() {
    // Pitfall 1: K4 ahead of every K8.
    let t = decode_all(baseline()).tasks.remove(0);
    assert_eq!(t.central_global, Some(CENTRAL_GLOBAL));
    assert_eq!(t.checkpoint().unwrap().0, SC_STORE_1001);

    // K4 alone (no K8): still start_ts.
    let mut pairs = task("pitr", START_TS);
    pairs.push(kv(global_key("pitr"), be(CENTRAL_GLOBAL)));
    let t = decode_all(pairs).tasks.remove(0);
    assert_eq!(t.central_global, Some(CENTRAL_GLOBAL));
    assert_eq!(t.checkpoint(), Some((START_TS, CheckpointSource::StartTs)));
}

#[test]
fn etcd_key_order_is_bytewise() {
    let mut pairs = task("pitr", START_TS);
    // Inserted out of order on purpose.
    for store in ["4", "1001", "23", "1"] {
        pairs.push(kv(
            sc_key("pitr", store),
            be(tso_at(store.parse().unwrap())),
        ));
    }
    for store in [4u64, 1001] {
        pairs.push(kv(store_key("pitr", store), be(START_TS)));
    }
    pairs.push(kv(error_key("pitr", "4"), backup_error(1, "E4", "m4", 4)));
    pairs.push(kv(
        error_key("pitr", "1001"),
        backup_error(2, "E1001", "m1001", 1001),
    ));
    let t = decode_all(pairs).tasks.remove(0);
    let order: Vec<u64> = t.storage_checkpoints.iter().map(|s| s.store_id).collect();
    assert_eq!(order, vec![1, 1001, 23, 4]);
    let order: Vec<u64> = t.store_checkpoints.iter().map(|s| s.store_id).collect();
    assert_eq!(order, vec![1001, 4]);
    let order: Vec<u64> = t.errors.iter().map(|e| e.store_id).collect();
    assert_eq!(order, vec![1001, 4]);
}

#[test]
fn tasks_are_listed_in_key_order() {
    let mut pairs = task("pitr_b", START_TS);
    pairs.extend(task("pitr", START_TS));
    pairs.extend(task("Zed", START_TS));
    pairs.extend(task("a", START_TS));
    let cluster = decode_all(pairs);
    assert_eq!(names(&cluster), vec!["Zed", "a", "pitr", "pitr_b"]);
}

// ---------------------------------------------------------------------------------------
// Status word (docs/br-status.md#status-word) and pause decoding.
// ---------------------------------------------------------------------------------------

#[test]
fn status_word_table() {
    let k9 = || kv(error_key("pitr", "4"), hex(K9_STORE_4_HEX));
    let manual_no_message = r#"{"severity":"MANUAL","operation_hostname":"h","operation_pid":1,"operation_time":"2024-01-01T09:05:00Z","payload_type":"","payload":null}"#;
    let error_no_payload = r#"{"severity":"ERROR","operation_hostname":"adv","operation_pid":7,"operation_time":"2024-01-01T09:05:00Z","payload_type":"","payload":null}"#;
    let cases: Vec<(&str, Vec<Kv>, Status)> = vec![
        ("running", vec![], Status::Normal),
        (
            "V1 empty pause",
            vec![kv(pause_key("pitr"), "")],
            Status::Pause,
        ),
        (
            "V2 manual pause",
            vec![kv(pause_key("pitr"), PAUSE_V2_MANUAL)],
            Status::Pause,
        ),
        (
            "V2 manual pause without message",
            vec![kv(pause_key("pitr"), manual_no_message)],
            Status::Pause,
        ),
        (
            "V1 + K9",
            vec![kv(pause_key("pitr"), ""), k9()],
            Status::Error,
        ),
        (
            "V2 severity ERROR without K9",
            vec![kv(pause_key("pitr"), PAUSE_V2_ERROR)],
            Status::Error,
        ),
        (
            "V2 severity ERROR without payload or K9",
            vec![kv(pause_key("pitr"), error_no_payload)],
            Status::Error,
        ),
        (
            "V2 manual + K9",
            vec![kv(pause_key("pitr"), PAUSE_V2_MANUAL), k9()],
            Status::Error,
        ),
        ("K9 without pause (pitfall 5)", vec![k9()], Status::Normal),
    ];
    for (what, extra, want) in cases {
        let mut pairs = baseline();
        let has_pause = extra
            .iter()
            .any(|p| p.key.starts_with(b"/tidb/br-stream/pause/"));
        pairs.extend(extra);
        pairs.extend(bystander());
        let cluster = decode_all(pairs);
        let t = get(&cluster, "pitr");
        assert_eq!(t.problems, vec![], "{what}");
        assert_eq!(t.status(), want, "{what}");
        assert_eq!(t.paused(), has_pause, "{what}");
        assert_bystander_ok(&cluster);
    }
}

#[test]
fn pause_values_are_decoded() {
    let mut pairs = baseline();
    pairs.push(kv(pause_key("pitr"), PAUSE_V2_MANUAL));
    let t = decode_all(pairs).tasks.remove(0);
    let Some(Some(Pause::V2(p))) = &t.pause else {
        panic!("want PauseV2, got {:?}", t.pause)
    };
    assert_eq!(p.severity, "MANUAL");
    assert_eq!(p.operation_hostname, "br-host");
    assert_eq!(p.payload, Payload::Text("maintenance".into()));
    assert_eq!(t.pause_error(), None);

    let mut pairs = baseline();
    pairs.push(kv(pause_key("pitr"), ""));
    let t = decode_all(pairs).tasks.remove(0);
    assert_eq!(t.pause, Some(Some(Pause::V1)));

    let mut pairs = baseline();
    pairs.push(kv(pause_key("pitr"), PAUSE_V2_ERROR));
    let t = decode_all(pairs).tasks.remove(0);
    let e = t.pause_error().expect("protobuf payload");
    assert_eq!(e.error_code, "KV:LogBackup:Io");
    assert_eq!(e.store_id, 4);
    assert_eq!(e.happen_at, 1_704_070_785_000);
}

#[test]
fn last_errors_are_decoded_with_their_store() {
    let mut pairs = baseline();
    pairs.push(kv(error_key("pitr", "4"), hex(K9_STORE_4_HEX)));
    let t = decode_all(pairs).tasks.remove(0);
    assert_eq!(t.error_keys, 1);
    assert_eq!(t.errors.len(), 1);
    let e = &t.errors[0];
    assert_eq!(e.happen_at, 1_704_070_785_000);
    assert_eq!(e.error_code, "KV:LogBackup:Io");
    assert_eq!(e.error_message, "[store = 4] I/O error: permission denied");
    assert_eq!(e.store_id, 4);
}

// ---------------------------------------------------------------------------------------
// Bad data: reported per key, the other task still decoded.
// ---------------------------------------------------------------------------------------

#[test]
fn bad_checkpoint_values_are_problems_naming_the_key() {
    // (key, value, problem reason). `pitr` keeps a good K8 for store 1 at 00:59:00.
    let legacy = legacy_key("pitr", 4);
    let legacy_shown = "/tidb/br-stream/checkpoint/pitr/\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x04";
    let cases: Vec<(Vec<u8>, Vec<u8>, &str, &str)> = vec![
        (
            sc_key("pitr", "4").into_bytes(),
            vec![6, 0x33, 0x0a, 0x1e, 0x0b, 0xc0, 0],
            "/tidb/br-stream/storage-checkpoint/pitr/4",
            "checkpoint value is 7 bytes, want 8",
        ),
        (
            sc_key("pitr", "4").into_bytes(),
            vec![0xff; 9],
            "/tidb/br-stream/storage-checkpoint/pitr/4",
            "checkpoint value is 9 bytes, want 8",
        ),
        (
            global_key("pitr").into_bytes(),
            vec![1; 7],
            "/tidb/br-stream/checkpoint/pitr/central_global",
            "checkpoint value is 7 bytes, want 8",
        ),
        (
            store_key("pitr", 4).into_bytes(),
            vec![1; 9],
            "/tidb/br-stream/checkpoint/pitr/store/4",
            "checkpoint value is 9 bytes, want 8",
        ),
        (
            legacy,
            vec![1; 7],
            legacy_shown,
            "checkpoint value is 7 bytes, want 8",
        ),
        (
            sc_key("pitr", "x4").into_bytes(),
            be(tso_at(9000)),
            "/tidb/br-stream/storage-checkpoint/pitr/x4",
            "store id 'x4' is not a decimal number",
        ),
        (
            sc_key("pitr", "").into_bytes(),
            be(tso_at(9000)),
            "/tidb/br-stream/storage-checkpoint/pitr/",
            "store id '' is not a decimal number",
        ),
        (
            "/tidb/br-stream/checkpoint/pitr/abcde".into(),
            be(tso_at(9000)),
            "/tidb/br-stream/checkpoint/pitr/abcde",
            "unrecognised checkpoint key suffix of 5 bytes",
        ),
        (
            "/tidb/br-stream/checkpoint/pitr/store/x".into(),
            be(tso_at(9000)),
            "/tidb/br-stream/checkpoint/pitr/store/x",
            "store id 'x' is not a decimal number",
        ),
    ];
    for (key, value, shown, reason) in cases {
        let mut pairs = task("pitr", START_TS);
        pairs.push(kv(sc_key("pitr", "1"), be(SC_STORE_1)));
        pairs.push(kv(&key, value));
        pairs.extend(bystander());
        let cluster = decode_all(pairs);
        assert_eq!(names(&cluster), vec!["other", "pitr"], "{shown}");
        let t = get(&cluster, "pitr");
        assert_one_problem(t, shown, reason);
        // The bad key contributes nothing; the good one is still decoded...
        assert_eq!(t.central_global, None, "{shown}");
        assert_eq!(t.store_checkpoints, vec![], "{shown}");
        assert_eq!(t.legacy_checkpoints, vec![], "{shown}");
        assert_eq!(t.storage_checkpoints, sts(&[(1, SC_STORE_1)]), "{shown}");
        // ...but no checkpoint is derived without the bad one: it could be older (max
        // rule) or newer (min rule) than what the rest says.
        assert!(t.checkpoint_undecodable, "{shown}");
        assert_eq!(t.checkpoint(), None, "{shown}");
        assert_eq!(t.storage_checkpoint(), None, "{shown}");
        assert_eq!(t.resume_checkpoint(), None, "{shown}");
        assert!(t.info.is_some());
        assert_bystander_ok(&cluster);
        assert_eq!(cluster.orphans, vec![], "{shown}");
    }
}

#[test]
fn bad_last_error_keys_and_values_are_problems() {
    // Non-decimal store id: the error itself still decodes and still counts.
    let mut pairs = baseline();
    pairs.push(kv(error_key("pitr", "store4"), hex(K9_STORE_4_HEX)));
    pairs.extend(bystander());
    let cluster = decode_all(pairs);
    let t = get(&cluster, "pitr");
    assert_one_problem(
        t,
        "/tidb/br-stream/last-error/pitr/store4",
        "store id 'store4' is not a decimal number",
    );
    assert_eq!(t.error_keys, 1);
    assert_eq!(t.errors.len(), 1);
    assert_bystander_ok(&cluster);

    // Garbage K9: counted as an error key, reported, not decoded.
    for value in [vec![0x12, 0x40, 0x41], vec![0xff, 0xff, 0xff, 0xff]] {
        let mut pairs = baseline();
        pairs.push(kv(pause_key("pitr"), ""));
        pairs.push(kv(error_key("pitr", "4"), value));
        pairs.extend(bystander());
        let cluster = decode_all(pairs);
        let t = get(&cluster, "pitr");
        assert_one_problem(
            t,
            "/tidb/br-stream/last-error/pitr/4",
            "bad StreamBackupError protobuf",
        );
        assert_eq!(t.error_keys, 1);
        assert_eq!(t.errors, vec![]);
        // Still ERROR: the key exists.
        assert_eq!(t.status(), Status::Error);
        assert_bystander_ok(&cluster);
    }
}

#[test]
fn bad_task_info_is_a_problem_and_the_task_is_kept() {
    let truncated = hex(PITR_INFO_HEX)[..10].to_vec();
    for value in [vec![0xff, 0xff, 0xff], truncated, vec![0x0a, 0x05, 0x1a]] {
        let mut pairs = baseline();
        pairs.retain(|p| p.key != info_key("pitr").as_bytes());
        pairs.push(kv(info_key("pitr"), value.clone()));
        pairs.push(kv(pause_key("pitr"), ""));
        pairs.extend(bystander());
        let cluster = decode_all(pairs);
        assert_eq!(names(&cluster), vec!["other", "pitr"], "{value:02x?}");
        let t = get(&cluster, "pitr");
        assert_one_problem(
            t,
            "/tidb/br-stream/info/pitr",
            "bad StreamBackupTaskInfo protobuf",
        );
        assert_eq!(t.info, None);
        assert_eq!(t.checkpoint(), None);
        // Its other keys are still its own, not orphans.
        assert_eq!(t.storage_checkpoints.len(), 3);
        assert_eq!(t.central_global, Some(CENTRAL_GLOBAL));
        assert!(t.paused());
        assert_eq!(cluster.orphans, vec![]);
        assert_bystander_ok(&cluster);
    }
}

#[test]
fn bad_pause_values_are_problems_and_the_severity_still_counts() {
    let cases = [
        ("{not json", "invalid PauseV2 JSON"),
        (
            r#"{"severity":"MANUAL","payload_type":"text/plain;charset=UTF-8","payload":"***"}"#,
            "PauseV2 payload is not valid base64",
        ),
        (
            r#"{"severity":"MANUAL","payload_type":"image/png","payload":"AAAA"}"#,
            "PauseV2 payload_type 'image/png' is not supported",
        ),
        (
            r#"{"severity":"ERROR","payload_type":"application/x-protobuf;messagetype=brpb.Other","payload":"AAAA"}"#,
            "unsupported messagetype 'brpb.Other'",
        ),
        (
            r#"{"severity":"ERROR","payload_type":"application/x-protobuf;messagetype=brpb.StreamBackupError","payload":"EkBB"}"#,
            "bad StreamBackupError protobuf",
        ),
    ];
    for (value, reason) in cases {
        let mut pairs = baseline();
        pairs.push(kv(pause_key("pitr"), value));
        pairs.extend(bystander());
        let cluster = decode_all(pairs);
        let t = get(&cluster, "pitr");
        assert_one_problem(t, "/tidb/br-stream/pause/pitr", reason);
        assert!(t.paused());
        if value.starts_with("{not") || value.contains("\"***\"") {
            // Not a PauseV2 object at all, or (Go decodes base64 with the document) a
            // payload that is not base64: paused, nothing else known.
            assert_eq!(t.pause, Some(None), "{value}");
            assert_eq!(t.status(), Status::Pause, "{value}");
        } else {
            // Only the payload is bad: the severity still decides, as in BR (docs/br-status.md#status-word).
            let want = if value.contains("\"ERROR\"") {
                Status::Error
            } else {
                Status::Pause
            };
            assert_eq!(t.status(), want, "{value}");
        }
        assert_eq!(
            t.checkpoint(),
            Some((SC_STORE_1001, CheckpointSource::StorageCheckpoint))
        );
        assert_bystander_ok(&cluster);
    }
}

// ---------------------------------------------------------------------------------------
// Orphans.
// ---------------------------------------------------------------------------------------

#[test]
fn orphan_storage_checkpoint_of_a_prefix_sharing_name_is_excluded() {
    // V-h (docs/etcd-layout.md#worked-example-variants): BR's slash-less prefix would pick pitr2's value up as pitr's max.
    let mut pairs = baseline();
    pairs.push(kv(sc_key("pitr2", "1"), be(tso_at(7200))));
    let cluster = decode_all(pairs);
    assert_eq!(names(&cluster), vec!["pitr"]);
    assert_eq!(
        cluster.orphans,
        vec![Orphan {
            task: "pitr2".into(),
            kinds: vec!["storage-checkpoint"],
            keys: 1
        }]
    );
    let t = get(&cluster, "pitr");
    assert_eq!(t.problems, vec![]);
    assert_eq!(t.storage_checkpoints.len(), 3);
    assert_eq!(
        t.checkpoint(),
        Some((SC_STORE_1001, CheckpointSource::StorageCheckpoint))
    );
}

#[test]
fn orphans_of_every_kind_are_grouped_per_name() {
    let mut pairs = baseline();
    pairs.push(kv(pause_key("old"), ""));
    pairs.push(kv(global_key("old"), be(tso_at(1))));
    pairs.push(kv(store_key("old", 1), be(tso_at(1))));
    pairs.push(kv(sc_key("old", "1"), be(tso_at(1))));
    pairs.push(kv(error_key("old", "4"), hex(K9_STORE_4_HEX)));
    pairs.push(kv(error_key("zz", "1"), "garbage is not even parsed"));
    pairs.push(kv(pause_key("pitr_old"), "{broken"));
    pairs.push(kv(legacy_key("pitr_old", 4), vec![1, 2, 3]));
    // Owner keys are not tasks and not orphans.
    pairs.push(kv("/tidb/br-stream/owner/694d7e1b2a3c0f01", "uuid"));
    let cluster = decode_all(pairs);
    assert_eq!(names(&cluster), vec!["pitr"]);
    assert_eq!(
        cluster.orphans,
        vec![
            Orphan {
                task: "old".into(),
                kinds: vec!["pause", "checkpoint", "storage-checkpoint", "last-error"],
                keys: 5,
            },
            Orphan {
                task: "pitr_old".into(),
                kinds: vec!["pause", "checkpoint"],
                keys: 2,
            },
            Orphan {
                task: "zz".into(),
                kinds: vec!["last-error"],
                keys: 1,
            },
        ]
    );
    assert_eq!(cluster.owner_keys, 1);
    let t = get(&cluster, "pitr");
    assert_eq!(t.problems, vec![]);
    assert_eq!(t.status(), Status::Normal);
    assert_eq!(t.error_keys, 0);
}

// ---------------------------------------------------------------------------------------
// Selection.
// ---------------------------------------------------------------------------------------

#[test]
fn named_selection_decodes_only_the_named_tasks_and_lists_missing_ones() {
    let mut pairs = baseline();
    pairs.extend(bystander());
    pairs.push(kv(error_key("other", "4"), hex(K9_STORE_4_HEX)));
    let snapshot = Snapshot::from_pairs(pairs);
    let cluster = decode(
        &snapshot,
        &Selection::Named(vec!["pitr".into(), "nope".into()]),
    );
    assert_eq!(names(&cluster), vec!["pitr"]);
    assert_eq!(cluster.missing, vec!["nope".to_string()]);
    // Keys of the unselected task are neither decoded nor orphans.
    assert_eq!(cluster.orphans, vec![]);
    assert_eq!(
        get(&cluster, "pitr").checkpoint(),
        Some((SC_STORE_1001, CheckpointSource::StorageCheckpoint))
    );

    let cluster = decode(&snapshot, &Selection::Named(vec!["nope".into()]));
    assert_eq!(names(&cluster), Vec::<&str>::new());
    assert_eq!(cluster.missing, vec!["nope".to_string()]);
}

#[test]
fn wildcard_and_empty_select_all() {
    assert_eq!(Selection::from_names(&["*".to_string()]), Selection::All);
    assert_eq!(Selection::from_names(&[]), Selection::All);
    assert_eq!(
        Selection::from_names(&["pitr".to_string(), "*".to_string()]),
        Selection::All
    );
    assert_eq!(
        Selection::from_names(&["pitr".to_string()]),
        Selection::Named(vec!["pitr".to_string()])
    );

    let mut pairs = baseline();
    pairs.extend(bystander());
    let snapshot = Snapshot::from_pairs(pairs);
    let cluster = decode(&snapshot, &Selection::from_names(&["*".to_string()]));
    assert_eq!(names(&cluster), vec!["other", "pitr"]);
    assert_eq!(cluster.missing, Vec::<String>::new());
}

#[test]
fn missing_names_are_listed_once() {
    let snapshot = Snapshot::from_pairs(baseline());
    let cluster = decode(
        &snapshot,
        &Selection::Named(vec![
            "nope".into(),
            "pitr".into(),
            "gone".into(),
            "nope".into(),
        ]),
    );
    assert_eq!(cluster.tasks.len(), 1);
    assert_eq!(
        cluster.missing,
        vec!["nope".to_string(), "gone".to_string()]
    );
}

#[test]
fn error_pause_with_an_unparsable_payload_is_still_error() {
    let cases = [
        r#"{"severity":"ERROR","operation_hostname":"tikv-4","operation_pid":1,"operation_time":"2024-01-01T09:05:00+08:00","payload_type":"application/x-protobuf;messageType=brpb.Other","payload":"AAAA"}"#,
        r#"{"severity":"ERROR","operation_hostname":"adv","operation_pid":1,"operation_time":"2024-01-01T09:05:00Z","payload_type":"","payload":"AAAA"}"#,
    ];
    for value in cases {
        let mut pairs = baseline();
        pairs.push(kv(pause_key("pitr"), value));
        let t = decode_all(pairs).tasks.remove(0);
        assert_eq!(t.problems.len(), 1, "{value}");
        assert_eq!(t.problems[0].key, "/tidb/br-stream/pause/pitr");
        assert_eq!(t.status(), Status::Error, "{value}");
    }
    // Go decodes the payload's base64 with the whole document: a bad one hides the
    // severity too, so the marker is paused with nothing else known.
    let value = r#"{"severity":"ERROR","operation_hostname":"adv","operation_pid":1,"operation_time":"2024-01-01T09:05:00Z","payload_type":"text/plain","payload":"***"}"#;
    let mut pairs = baseline();
    pairs.push(kv(pause_key("pitr"), value));
    let t = decode_all(pairs).tasks.remove(0);
    assert_eq!(t.problems.len(), 1, "{value}");
    assert_eq!(t.pause, Some(None), "{value}");
}
