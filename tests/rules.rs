//! The rules: decoded tasks → states and reason texts (src/judge/).
//!
//! Every case runs the whole pure pipeline (`Snapshot::from_pairs` → `model::decode` →
//! `judge::evaluate`) with `now` passed in; the wall clock is never read.

use check_tidb_log_backup::facts::Observed;
use check_tidb_log_backup::judge::{self, Finding, Policy, TaskVerdict, Thresholds, Verdict};
use check_tidb_log_backup::model::{decode, CheckpointSource, Selection, Status};
use check_tidb_log_backup::pd::{GcSafepoints, PdFacts, ServiceSafepoint};
use check_tidb_log_backup::range::Range;
use check_tidb_log_backup::service_state::State;
use check_tidb_log_backup::snapshot::{Kv, Snapshot};
use testkit::encode::*;

// ---------------------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------------------

/// 2024-01-01 00:00:00 UTC in Unix ms (the worked example's start_ts, docs/etcd-layout.md#worked-example).
const T0_MS: u64 = 1_704_067_200_000;
/// The checkpoint every lag case measures from: 01:00:00.
const CKPT_MS: u64 = T0_MS + 3_600_000;

/// V-f (docs/etcd-layout.md#worked-example-variants) K9 value: store 4, `KV:LogBackup:Io`.
const K9_STORE_4_HEX: &str = "08e8cfa294cc31120f4b563a4c6f674261636b75703a496f1a285b73746f7265203d20345d20492f4f206572726f723a207065726d697373696f6e2064656e6965642004";
/// V-f (docs/etcd-layout.md#worked-example-variants) PauseV2 (TiKV fatal error, protobuf payload for store 4).
const PAUSE_V2_ERROR: &str = r#"{"severity":"ERROR","operation_hostname":"tikv-4","operation_pid":4242,"operation_time":"2024-01-01T08:59:45.123+08:00","payload_type":"application/x-protobuf;messageType=brpb.StreamBackupError","payload":"COjPopTMMRIPS1Y6TG9nQmFja3VwOklvGihbc3RvcmUgPSA0XSBJL08gZXJyb3I6IHBlcm1pc3Npb24gZGVuaWVkIAQ="}"#;
/// V-e (docs/etcd-layout.md#worked-example-variants) PauseV2 (BR manual pause with a text message).
const PAUSE_V2_MANUAL: &str = r#"{"severity":"MANUAL","operation_hostname":"br-host","operation_pid":12345,"operation_time":"2024-01-01T09:05:00+08:00","payload_type":"text/plain;charset=UTF-8","payload":"bWFpbnRlbmFuY2U="}"#;
/// PauseV2 severity ERROR without any payload (e.g. an advancer or `AsError` pause).
const PAUSE_V2_ERROR_BARE: &str = r#"{"severity":"ERROR","operation_hostname":"adv","operation_pid":7,"operation_time":"2024-01-01T09:05:00Z","payload_type":"","payload":null}"#;

/// The text every store-4 error renders as.
const STORE_4_ERROR: &str = "KV:LogBackup:Io on store 4: [store = 4] I/O error: permission denied";

/// `StreamBackupTaskInfo` for `name`: S3 backup/pitr-log, BR's default end_ts, `*.*`, ZSTD.
fn task_info(name: &str, start_ts: u64) -> Vec<u8> {
    let mut s3 = Vec::new();
    field_bytes(3, b"backup", &mut s3);
    field_bytes(4, b"pitr-log", &mut s3);
    let mut storage = Vec::new();
    field_bytes(3, &s3, &mut storage);
    let mut out = Vec::new();
    field_bytes(1, &storage, &mut out);
    field_varint(2, start_ts, &mut out);
    field_varint(3, 999_999_999_999_999_999, &mut out);
    field_bytes(4, name.as_bytes(), &mut out);
    field_bytes(5, b"*.*", &mut out);
    field_varint(6, 3, &mut out);
    field_bytes(7, b"", &mut out);
    out
}

fn info(name: &str) -> Kv {
    kv(
        format!("/tidb/br-stream/info/{name}"),
        task_info(name, tso(T0_MS)),
    )
}
fn pause(name: &str, value: &str) -> Kv {
    kv(format!("/tidb/br-stream/pause/{name}"), value)
}
fn storage_checkpoint(name: &str, store: u64, unix_ms: u64) -> Kv {
    kv(
        format!("/tidb/br-stream/storage-checkpoint/{name}/{store}"),
        be(tso(unix_ms)),
    )
}
fn last_error(name: &str, store: u64, value: Vec<u8>) -> Kv {
    kv(format!("/tidb/br-stream/last-error/{name}/{store}"), value)
}
fn k9(name: &str) -> Kv {
    last_error(name, 4, hex(K9_STORE_4_HEX))
}

/// A v7.1+ task whose storage checkpoint is at [`CKPT_MS`] (stores 1 and 2, max = CKPT_MS).
fn running(name: &str) -> Vec<Kv> {
    vec![
        info(name),
        storage_checkpoint(name, 1, CKPT_MS - 30_000),
        storage_checkpoint(name, 2, CKPT_MS),
    ]
}

/// `now` for a lag of `secs` seconds after [`CKPT_MS`].
fn after(secs: u64) -> u64 {
    CKPT_MS + secs * 1000
}

/// Judges `pairs` plus one advancer owner key (a healthy v6.2+ cluster has one; the
/// owner rule is not what these tests are about).
fn judge_with(pairs: Vec<Kv>, selection: &Selection, policy: &Policy, now_ms: u64) -> Verdict {
    judge_pd(pairs, selection, policy, None, now_ms)
}

/// [`judge_with`] with PD's HTTP answers.
fn judge_pd(
    mut pairs: Vec<Kv>,
    selection: &Selection,
    policy: &Policy,
    pd: Option<PdFacts>,
    now_ms: u64,
) -> Verdict {
    pairs.push(kv(
        "/tidb/br-stream/owner/694d7e1b2a3c0f01",
        "8a1f6c2e-0d4b-4f7e-9b1a-3c5d7e9f1a2b",
    ));
    let observed = Observed {
        cluster: decode(&Snapshot::from_pairs(pairs), selection),
        pd,
        ..Observed::default()
    };
    judge::evaluate(&observed, policy, now_ms)
}

/// PD's answers: GC safepoint at 00:50:00 (10 min before [`CKPT_MS`]), these service
/// safepoints (id, Unix ms it expires at, safe point) and no store.
fn pd_facts(safepoints: &[(&str, u64, u64)]) -> PdFacts {
    PdFacts {
        endpoint: "http://pd".into(),
        gc: Ok(GcSafepoints {
            service_gc_safe_points: safepoints
                .iter()
                .map(|&(id, expires_ms, safe_point)| ServiceSafepoint {
                    service_id: id.into(),
                    expired_at: (expires_ms / 1000) as i64,
                    safe_point,
                })
                .collect(),
            gc_safe_point: tso(CKPT_MS - 600_000),
        }),
        stores: Ok(vec![]),
        keyspace_gc: Ok(vec![]),
    }
}

/// The warning and critical ranges the lag was judged against (its metric's thresholds).
fn lag_ranges(tv: &TaskVerdict) -> (Range, Range) {
    let lag = tv
        .metric("checkpoint_lag")
        .expect("a checkpoint_lag metric");
    (
        lag.warn.expect("a warning range"),
        lag.crit.expect("a critical range"),
    )
}

fn judge(pairs: Vec<Kv>, now_ms: u64) -> Verdict {
    judge_with(pairs, &Selection::All, &Policy::default(), now_ms)
}

fn task<'a>(verdict: &'a Verdict, name: &str) -> &'a TaskVerdict {
    verdict
        .tasks
        .iter()
        .find(|t| t.task.name == name)
        .unwrap_or_else(|| panic!("no verdict for {name}"))
}

fn reasons(tv: &TaskVerdict) -> Vec<(State, String)> {
    tv.reasons
        .iter()
        .map(|Finding { state, text }| (*state, text.clone()))
        .collect()
}

fn r(state: State, text: &str) -> (State, String) {
    (state, text.to_string())
}

/// The only task of a verdict.
fn only(verdict: &Verdict) -> &TaskVerdict {
    assert_eq!(verdict.tasks.len(), 1, "{:?}", verdict.tasks);
    &verdict.tasks[0]
}

fn thresholds(w: &str, c: &str, pw: &str, pc: &str) -> Thresholds {
    let p = |t: &str| Range::parse(t).unwrap();
    Thresholds {
        warning: p(w),
        critical: p(c),
        paused_warning: p(pw),
        paused_critical: p(pc),
    }
}

// ---------------------------------------------------------------------------------------
// Lag thresholds.
// ---------------------------------------------------------------------------------------

#[test]
fn running_lag_around_the_default_thresholds() {
    // (lag in ms, whole-second lag, state, reason)
    let cases: &[(u64, u64, State, &str)] = &[
        (0, 0, State::Ok, "checkpoint lag 0s"),
        (599_000, 599, State::Ok, "checkpoint lag 9m59s"),
        (600_000, 600, State::Ok, "checkpoint lag 10m0s"),
        // Lag is whole seconds, truncated: 600.999 s is still 600 s.
        (600_999, 600, State::Ok, "checkpoint lag 10m0s"),
        (
            601_000,
            601,
            State::Warning,
            "checkpoint lag 10m1s > 10m0s (oldest store checkpoint: store 1, 10m31s behind)",
        ),
        (
            1_800_000,
            1800,
            State::Warning,
            "checkpoint lag 30m0s > 10m0s (oldest store checkpoint: store 1, 30m30s behind)",
        ),
        (
            1_801_000,
            1801,
            State::Critical,
            "checkpoint lag 30m1s > 30m0s (oldest store checkpoint: store 1, 30m31s behind)",
        ),
        // A running task is never judged by the (looser) paused thresholds.
        (
            7_201_000,
            7201,
            State::Critical,
            "checkpoint lag 2h0m1s > 30m0s (oldest store checkpoint: store 1, 2h0m31s behind)",
        ),
    ];
    for &(lag_ms, lag, state, text) in cases {
        let verdict = judge(running("pitr"), CKPT_MS + lag_ms);
        let tv = only(&verdict);
        assert_eq!(tv.status, Status::Normal);
        assert_eq!(tv.lag_seconds, Some(lag), "{lag_ms} ms");
        assert_eq!(tv.state, state, "{lag_ms} ms");
        assert_eq!(reasons(tv), vec![r(state, text)], "{lag_ms} ms");
        assert_eq!(verdict.state, state, "{lag_ms} ms");
        assert_eq!(lag_ranges(tv).0, Range::upper(600.0));
        assert_eq!(lag_ranges(tv).1, Range::upper(1800.0));
        assert_eq!(
            tv.checkpoint,
            Some((tso(CKPT_MS), CheckpointSource::StorageCheckpoint))
        );
        assert_eq!(verdict.now_ms, CKPT_MS + lag_ms);
    }
}

#[test]
fn paused_lag_uses_the_paused_thresholds() {
    let cases: &[(u64, State, &str)] = &[
        // Well past the running thresholds, still OK while paused.
        (601, State::Ok, "paused, checkpoint lag 10m1s"),
        (1801, State::Ok, "paused, checkpoint lag 30m1s"),
        (7199, State::Ok, "paused, checkpoint lag 1h59m59s"),
        (7200, State::Ok, "paused, checkpoint lag 2h0m0s"),
        (
            7201,
            State::Warning,
            "paused, checkpoint lag 2h0m1s > 2h0m0s",
        ),
        (
            43_200,
            State::Warning,
            "paused, checkpoint lag 12h0m0s > 2h0m0s",
        ),
        (
            43_201,
            State::Critical,
            "paused, checkpoint lag 12h0m1s > 12h0m0s",
        ),
    ];
    for marker in ["", PAUSE_V2_MANUAL] {
        for &(lag, state, text) in cases {
            let mut pairs = running("pitr");
            pairs.push(pause("pitr", marker));
            let verdict = judge(pairs, after(lag));
            let tv = only(&verdict);
            assert_eq!(tv.status, Status::Pause, "{marker:?}");
            assert_eq!(tv.lag_seconds, Some(lag));
            assert_eq!(reasons(tv), vec![r(state, text)], "{marker:?} {lag}");
            assert_eq!(tv.state, state);
            assert_eq!(verdict.state, state);
            assert_eq!(lag_ranges(tv).0, Range::upper(7200.0));
            assert_eq!(lag_ranges(tv).1, Range::upper(43_200.0));
        }
    }
}

#[test]
fn lag_is_measured_from_the_storage_checkpoint_not_central_global() {
    // K4 at 01:00:00 but the max K8 at 00:59:30; now 01:10:00 → lag 630 s (WARNING).
    // Measured from K4 it would be 600 s (OK).
    let pairs = vec![
        info("pitr"),
        kv(
            "/tidb/br-stream/checkpoint/pitr/central_global",
            be(tso(CKPT_MS)),
        ),
        storage_checkpoint("pitr", 1, CKPT_MS - 60_000),
        storage_checkpoint("pitr", 1001, CKPT_MS - 30_000),
        // A K5 key (v6.2–v7.0) ahead of everything: never the checkpoint.
        kv(
            "/tidb/br-stream/checkpoint/pitr/store/1",
            be(tso(CKPT_MS + 600_000)),
        ),
    ];
    let verdict = judge(pairs, after(600));
    let tv = only(&verdict);
    assert_eq!(tv.lag_seconds, Some(630));
    assert_eq!(
        reasons(tv),
        vec![r(
            State::Warning,
            "checkpoint lag 10m30s > 10m0s (oldest store checkpoint: store 1, 11m0s behind)"
        )]
    );
}

#[test]
fn fresh_task_lag_runs_from_start_ts() {
    // Only K1: the checkpoint is start_ts (00:00:00); now 00:31:00.
    let verdict = judge(vec![info("pitr")], T0_MS + 31 * 60_000);
    let tv = only(&verdict);
    assert_eq!(tv.checkpoint, Some((tso(T0_MS), CheckpointSource::StartTs)));
    assert_eq!(tv.lag_seconds, Some(1860));
    // Lagging at start_ts is also said (pingcap/tidb#53047); the state stays the lag's.
    assert_eq!(
        reasons(tv),
        vec![
            r(State::Critical, "checkpoint lag 31m0s > 30m0s"),
            r(State::Ok, "never advanced since start_ts: the advancer may skip the task (restart the TiDB owning it) or the initial scan is long"),
        ]
    );
}

#[test]
fn per_task_thresholds_override_the_defaults() {
    let mut policy = Policy::default();
    policy
        .per_task
        .insert("pitr".into(), thresholds("60", "120", "300", "600"));
    // (paused, lag, pitr's expected reason, other's expected reason)
    type Case = (bool, u64, (State, &'static str), (State, &'static str));
    let cases: &[Case] = &[
        (
            false,
            60,
            (State::Ok, "checkpoint lag 1m0s"),
            (State::Ok, "checkpoint lag 1m0s"),
        ),
        (
            false,
            61,
            (
                State::Warning,
                "checkpoint lag 1m1s > 1m0s (oldest store checkpoint: store 1, 1m31s behind)",
            ),
            (State::Ok, "checkpoint lag 1m1s"),
        ),
        (
            false,
            121,
            (
                State::Critical,
                "checkpoint lag 2m1s > 2m0s (oldest store checkpoint: store 1, 2m31s behind)",
            ),
            (State::Ok, "checkpoint lag 2m1s"),
        ),
        (
            true,
            301,
            (State::Warning, "paused, checkpoint lag 5m1s > 5m0s"),
            (State::Ok, "paused, checkpoint lag 5m1s"),
        ),
        (
            true,
            601,
            (State::Critical, "paused, checkpoint lag 10m1s > 10m0s"),
            (State::Ok, "paused, checkpoint lag 10m1s"),
        ),
    ];
    for &(paused, lag, pitr_want, other_want) in cases {
        let mut pairs = running("pitr");
        pairs.extend(running("other"));
        if paused {
            pairs.push(pause("pitr", ""));
            pairs.push(pause("other", ""));
        }
        let verdict = judge_with(pairs, &Selection::All, &policy, after(lag));
        let pitr = task(&verdict, "pitr");
        let other = task(&verdict, "other");
        assert_eq!(reasons(pitr), vec![r(pitr_want.0, pitr_want.1)], "{lag}");
        assert_eq!(reasons(other), vec![r(other_want.0, other_want.1)], "{lag}");
        assert_eq!(verdict.state, pitr_want.0);
        let want_warning = if paused { 300.0 } else { 60.0 };
        assert_eq!(lag_ranges(pitr).0, Range::upper(want_warning));
        let want_warning = if paused { 7200.0 } else { 600.0 };
        assert_eq!(lag_ranges(other).0, Range::upper(want_warning));
    }

    // Changing the defaults changes every task without an override.
    let policy = Policy {
        defaults: thresholds("30", "45", "2h", "12h"),
        ..Policy::default()
    };
    let verdict = judge_with(running("other"), &Selection::All, &policy, after(46));
    assert_eq!(
        reasons(only(&verdict)),
        vec![r(
            State::Critical,
            "checkpoint lag 46s > 45s (oldest store checkpoint: store 1, 1m16s behind)"
        )]
    );
}

#[test]
fn inside_and_lower_bound_ranges() {
    // (warning, critical, lag, reason)
    let cases: &[(&str, &str, u64, (State, &str))] = &[
        // Inside range: alert when the lag is within [300, 600].
        ("@300:600", "1800", 299, (State::Ok, "checkpoint lag 4m59s")),
        (
            "@300:600",
            "1800",
            300,
            (State::Warning, "checkpoint lag 5m0s inside @300:600 (oldest store checkpoint: store 1, 5m30s behind)"),
        ),
        (
            "@300:600",
            "1800",
            600,
            (State::Warning, "checkpoint lag 10m0s inside @300:600 (oldest store checkpoint: store 1, 10m30s behind)"),
        ),
        ("@300:600", "1800", 601, (State::Ok, "checkpoint lag 10m1s")),
        (
            "@5m:10m",
            "30m",
            450,
            (State::Warning, "checkpoint lag 7m30s inside @300:600 (oldest store checkpoint: store 1, 8m0s behind)"),
        ),
        // Lower bound: a lag below 10 s is CRITICAL (e.g. to catch a frozen clock).
        (
            "600",
            "10:",
            9,
            (State::Critical, "checkpoint lag 9s < 10s (oldest store checkpoint: store 1, 39s behind)"),
        ),
        ("600", "10:", 10, (State::Ok, "checkpoint lag 10s")),
        (
            "600",
            "10:",
            601,
            (State::Warning, "checkpoint lag 10m1s > 10m0s (oldest store checkpoint: store 1, 10m31s behind)"),
        ),
        (
            "60:",
            "1800",
            59,
            (State::Warning, "checkpoint lag 59s < 1m0s (oldest store checkpoint: store 1, 1m29s behind)"),
        ),
        // Both bounds, outside.
        (
            "60:600",
            "1800",
            30,
            (State::Warning, "checkpoint lag 30s outside 60:600 (oldest store checkpoint: store 1, 1m0s behind)"),
        ),
        // Durations parse to seconds.
        (
            "5m",
            "1h",
            301,
            (State::Warning, "checkpoint lag 5m1s > 5m0s (oldest store checkpoint: store 1, 5m31s behind)"),
        ),
        (
            "5m",
            "1h",
            3601,
            (State::Critical, "checkpoint lag 1h0m1s > 1h0m0s (oldest store checkpoint: store 1, 1h0m31s behind)"),
        ),
    ];
    for &(w, c, lag, want) in cases {
        let mut policy = Policy::default();
        policy
            .per_task
            .insert("pitr".into(), thresholds(w, c, "2h", "12h"));
        let verdict = judge_with(running("pitr"), &Selection::All, &policy, after(lag));
        let tv = only(&verdict);
        assert_eq!(reasons(tv), vec![r(want.0, want.1)], "{w} {c} lag {lag}");
        assert_eq!(lag_ranges(tv).0, Range::parse(w).unwrap());
        assert_eq!(lag_ranges(tv).1, Range::parse(c).unwrap());
    }
}

#[test]
fn checkpoint_in_the_future_is_zero_lag_and_ok() {
    // Clock skew: now is 10 minutes before the checkpoint.
    let verdict = judge(running("pitr"), CKPT_MS - 600_000);
    let tv = only(&verdict);
    assert_eq!(tv.lag_seconds, Some(0));
    assert_eq!(reasons(tv), vec![r(State::Ok, "checkpoint lag 0s")]);
    assert_eq!(verdict.state, State::Ok);

    // Also with a lower-bound range, zero lag is what gets judged.
    let mut policy = Policy::default();
    policy
        .per_task
        .insert("pitr".into(), thresholds("1:", "1800", "2h", "12h"));
    let verdict = judge_with(running("pitr"), &Selection::All, &policy, CKPT_MS - 600_000);
    assert_eq!(
        reasons(only(&verdict)),
        vec![r(
            State::Warning,
            "checkpoint lag 0s < 1s (oldest store checkpoint: store 1, 0s behind)"
        )]
    );
}

// ---------------------------------------------------------------------------------------
// ERROR, last errors, decode problems.
// ---------------------------------------------------------------------------------------

#[test]
fn error_status_is_critical_even_with_a_tiny_lag() {
    let failed = format!("task failed: {STORE_4_ERROR}");
    type Case = (&'static str, Vec<Kv>, Vec<(State, String)>);
    let cases: Vec<Case> = vec![
        (
            "V1 pause + K9",
            vec![pause("pitr", ""), k9("pitr")],
            vec![
                r(State::Critical, &failed),
                r(State::Ok, "paused, checkpoint lag 5s"),
            ],
        ),
        (
            "V2 severity ERROR, no K9 yet: the payload names the error",
            vec![pause("pitr", PAUSE_V2_ERROR)],
            vec![
                r(State::Critical, &failed),
                r(State::Ok, "paused, checkpoint lag 5s"),
            ],
        ),
        (
            "V2 severity ERROR without payload",
            vec![pause("pitr", PAUSE_V2_ERROR_BARE)],
            vec![
                r(State::Critical, "task failed: paused with severity ERROR"),
                r(State::Ok, "paused, checkpoint lag 5s"),
            ],
        ),
        (
            "V2 manual + K9",
            vec![pause("pitr", PAUSE_V2_MANUAL), k9("pitr")],
            vec![
                r(State::Critical, &failed),
                r(State::Ok, "paused, checkpoint lag 5s"),
            ],
        ),
        (
            "V1 pause + two K9 (key order: 1001 before 4)",
            vec![
                pause("pitr", ""),
                k9("pitr"),
                last_error(
                    "pitr",
                    1001,
                    backup_error(1, "KV:LogBackup:Other", "boom", 1001),
                ),
            ],
            vec![
                r(
                    State::Critical,
                    "task failed: KV:LogBackup:Other on store 1001: boom (+1 more stores)",
                ),
                r(State::Ok, "paused, checkpoint lag 5s"),
            ],
        ),
        (
            "V1 pause + undecodable K9",
            vec![pause("pitr", ""), last_error("pitr", 4, vec![0xff; 4])],
            vec![
                r(
                    State::Critical,
                    "task failed: a store reported an error that cannot be decoded",
                ),
                r(
                    State::Unknown,
                    "cannot decode /tidb/br-stream/last-error/pitr/4: bad StreamBackupError protobuf: ",
                ),
                r(State::Ok, "paused, checkpoint lag 5s"),
            ],
        ),
    ];
    for (what, extra, want) in cases {
        let mut pairs = running("pitr");
        pairs.extend(extra);
        let verdict = judge(pairs, after(5));
        let tv = only(&verdict);
        assert_eq!(tv.status, Status::Error, "{what}");
        assert_eq!(tv.state, State::Critical, "{what}");
        assert_eq!(verdict.state, State::Critical, "{what}");
        let got = reasons(tv);
        assert_eq!(got.len(), want.len(), "{what}: {got:?}");
        for (g, w) in got.iter().zip(&want) {
            // The protobuf error text comes from prost; only its prefix is ours.
            assert_eq!(g.0, w.0, "{what}: {got:?}");
            assert!(g.1.starts_with(&w.1), "{what}: {:?} vs {:?}", g.1, w.1);
            if w.0 != State::Unknown {
                assert_eq!(g.1, w.1, "{what}");
            }
        }
    }
}

#[test]
fn stale_last_error_while_running_is_a_warning() {
    let mut pairs = running("pitr");
    pairs.push(k9("pitr"));
    let verdict = judge(pairs, after(5));
    let tv = only(&verdict);
    assert_eq!(tv.status, Status::Normal);
    assert_eq!(
        reasons(tv),
        vec![
            r(
                State::Warning,
                &format!("stale last-error while running: {STORE_4_ERROR}")
            ),
            r(State::Ok, "checkpoint lag 5s"),
        ]
    );
    assert_eq!(verdict.state, State::Warning);

    // A lag beyond critical still wins, and the stale error is kept below it.
    let mut pairs = running("pitr");
    pairs.push(k9("pitr"));
    let verdict = judge(pairs, after(1801));
    assert_eq!(
        reasons(only(&verdict)),
        vec![
            r(
                State::Critical,
                "checkpoint lag 30m1s > 30m0s (oldest store checkpoint: store 1, 30m31s behind)"
            ),
            r(
                State::Warning,
                &format!("stale last-error while running: {STORE_4_ERROR}")
            ),
        ]
    );
}

#[test]
fn reasons_are_sorted_worst_first() {
    // Rule order would be UNKNOWN, CRITICAL (failed); an extra bad key makes two
    // UNKNOWNs, which keep their key order. The bad checkpoint keys leave the lag unknown:
    // no lag reason at all.
    let mut pairs = running("pitr");
    pairs.push(pause("pitr", ""));
    pairs.push(k9("pitr"));
    pairs.push(kv(
        "/tidb/br-stream/storage-checkpoint/pitr/3",
        vec![0u8; 7],
    ));
    pairs.push(kv("/tidb/br-stream/storage-checkpoint/pitr/x", be(1)));
    let verdict = judge(pairs, after(7201));
    assert_eq!(
        reasons(only(&verdict)),
        vec![
            r(State::Critical, &format!("task failed: {STORE_4_ERROR}")),
            r(
                State::Unknown,
                "cannot decode /tidb/br-stream/storage-checkpoint/pitr/3: checkpoint value is 7 bytes, want 8"
            ),
            r(
                State::Unknown,
                "cannot decode /tidb/br-stream/storage-checkpoint/pitr/x: store id 'x' is not a decimal number"
            ),
        ]
    );

    // Rule order UNKNOWN, WARNING (stale) → sorted UNKNOWN, WARNING; no lag from a task
    // with an undecodable checkpoint key.
    let mut pairs = running("pitr");
    pairs.push(k9("pitr"));
    pairs.push(kv("/tidb/br-stream/checkpoint/pitr/abcde", be(1)));
    let verdict = judge(pairs, after(5));
    let tv = only(&verdict);
    assert_eq!(
        reasons(tv),
        vec![
            r(
                State::Unknown,
                "cannot decode /tidb/br-stream/checkpoint/pitr/abcde: unrecognised checkpoint key suffix of 5 bytes (want central_global, store/<id>, region/<id>/<ver> or an 8-byte store id)"
            ),
            r(
                State::Warning,
                &format!("stale last-error while running: {STORE_4_ERROR}")
            ),
        ]
    );
    assert_eq!(tv.state, State::Unknown);
    assert_eq!(tv.lag_seconds, None);
}

#[test]
fn decode_problem_is_unknown_for_that_task_only() {
    let mut pairs = running("pitr");
    pairs.push(kv(
        "/tidb/br-stream/storage-checkpoint/pitr/4",
        vec![1u8; 9],
    ));
    pairs.extend(running("other"));
    let verdict = judge(pairs, after(5));
    let pitr = task(&verdict, "pitr");
    assert_eq!(pitr.state, State::Unknown);
    assert_eq!(
        reasons(pitr),
        vec![
            r(
                State::Unknown,
                "cannot decode /tidb/br-stream/storage-checkpoint/pitr/4: checkpoint value is 9 bytes, want 8"
            ),
        ]
    );
    assert_eq!(pitr.lag_seconds, None, "no lag without the bad key");
    let other = task(&verdict, "other");
    assert_eq!(other.state, State::Ok);
    assert_eq!(reasons(other), vec![r(State::Ok, "checkpoint lag 5s")]);
    assert_eq!(verdict.state, State::Unknown);
    assert_eq!(verdict.findings, vec![]);
}

#[test]
fn undecodable_task_info_is_unknown_without_a_lag() {
    let mut pairs = running("other");
    pairs.push(kv("/tidb/br-stream/info/pitr", vec![0xff, 0xff, 0xff]));
    pairs.push(storage_checkpoint("pitr", 1, CKPT_MS));
    let verdict = judge(pairs, after(5));
    let pitr = task(&verdict, "pitr");
    assert_eq!(pitr.state, State::Unknown);
    assert_eq!(pitr.checkpoint, None);
    assert_eq!(pitr.lag_seconds, None);
    let got = reasons(pitr);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, State::Unknown);
    assert!(
        got[0].1.starts_with(
            "cannot decode /tidb/br-stream/info/pitr: bad StreamBackupTaskInfo protobuf"
        ),
        "{got:?}"
    );
    assert_eq!(task(&verdict, "other").state, State::Ok);
    assert_eq!(verdict.state, State::Unknown);
}

#[test]
fn undecodable_pause_is_unknown_and_judged_as_paused() {
    let mut pairs = running("pitr");
    pairs.push(pause("pitr", "{not json"));
    let verdict = judge(pairs, after(1801));
    let tv = only(&verdict);
    assert_eq!(tv.status, Status::Pause);
    assert_eq!(tv.state, State::Unknown);
    let got = reasons(tv);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].0, State::Unknown);
    assert!(
        got[0]
            .1
            .starts_with("cannot decode /tidb/br-stream/pause/pitr: invalid PauseV2 JSON"),
        "{got:?}"
    );
    assert_eq!(got[1], r(State::Ok, "paused, checkpoint lag 30m1s"));
}

// ---------------------------------------------------------------------------------------
// Aggregation and run-level findings.
// ---------------------------------------------------------------------------------------

/// Keys for a task named `name` that evaluates to `state` at `after(5)`.
fn task_in_state(name: &str, state: State) -> Vec<Kv> {
    let mut pairs = vec![info(name)];
    // Lag 5 s for OK/UNKNOWN, 700 s for WARNING, 2000 s for CRITICAL.
    let lag = match state {
        State::Ok | State::Unknown => 5,
        State::Warning => 700,
        State::Critical => 2000,
    };
    pairs.push(storage_checkpoint(name, 1, after(5) - lag * 1000));
    if state == State::Unknown {
        pairs.push(kv(
            format!("/tidb/br-stream/storage-checkpoint/{name}/2"),
            vec![0u8; 7],
        ));
    }
    pairs
}

#[test]
fn overall_state_is_the_worst_with_critical_above_unknown() {
    use State::*;
    let cases = [
        (Ok, Ok, Ok),
        (Ok, Warning, Warning),
        (Warning, Unknown, Unknown),
        (Unknown, Warning, Unknown),
        (Critical, Unknown, Critical),
        (Unknown, Critical, Critical),
        (Ok, Critical, Critical),
    ];
    for (a, b, want) in cases {
        let mut pairs = task_in_state("a", a);
        pairs.extend(task_in_state("b", b));
        let verdict = judge(pairs, after(5));
        let states: Vec<(&str, State)> = verdict
            .tasks
            .iter()
            .map(|t| (t.task.name.as_str(), t.state))
            .collect();
        assert_eq!(states, vec![("a", a), ("b", b)]);
        assert_eq!(verdict.state, want, "{a:?} + {b:?}");
    }
}

#[test]
fn no_task_uses_no_task_state() {
    for state in [State::Ok, State::Warning, State::Critical, State::Unknown] {
        let policy = Policy {
            no_task_state: state,
            ..Policy::default()
        };
        // Orphan keys do not make a task.
        let pairs = vec![storage_checkpoint("gone", 1, CKPT_MS)];
        let verdict = judge_with(pairs, &Selection::All, &policy, after(5));
        assert_eq!(verdict.tasks, vec![]);
        assert_eq!(
            verdict.findings,
            vec![Finding {
                state,
                text: "no log backup task".into()
            }]
        );
        assert_eq!(verdict.state, state);
        assert_eq!(verdict.cluster.orphans.len(), 1);
    }
    // The default is CRITICAL.
    let verdict = judge(vec![], after(5));
    assert_eq!(verdict.state, State::Critical);
    assert_eq!(
        verdict.findings,
        vec![Finding {
            state: State::Critical,
            text: "no log backup task".into()
        }]
    );
}

#[test]
fn missing_named_task_is_critical() {
    let selection = Selection::Named(vec!["pitr".into(), "nope".into()]);
    let policy = Policy {
        no_task_state: State::Ok,
        ..Policy::default()
    };
    let verdict = judge_with(running("pitr"), &selection, &policy, after(5));
    assert_eq!(
        verdict.findings,
        vec![Finding {
            state: State::Critical,
            text: "task nope not found".into()
        }]
    );
    assert_eq!(only(&verdict).state, State::Ok);
    assert_eq!(verdict.state, State::Critical);

    // Only a missing task: "not found", not "no log backup task" (even with no_task_state OK).
    let selection = Selection::Named(vec!["nope".into()]);
    let verdict = judge_with(running("pitr"), &selection, &policy, after(5));
    assert_eq!(verdict.tasks, vec![]);
    assert_eq!(
        verdict.findings,
        vec![Finding {
            state: State::Critical,
            text: "task nope not found".into()
        }]
    );
    assert_eq!(verdict.state, State::Critical);
}

#[test]
fn error_pause_with_an_unparsable_payload_is_critical() {
    let value = r#"{"severity":"ERROR","operation_hostname":"tikv-4","operation_pid":1,"operation_time":"2024-01-01T09:05:00+08:00","payload_type":"application/x-protobuf;messageType=brpb.Other","payload":"AAAA"}"#;
    let mut pairs = running("pitr");
    pairs.push(pause("pitr", value));
    let verdict = judge(pairs, after(5));
    let tv = only(&verdict);
    assert_eq!(tv.status, Status::Error);
    assert_eq!(tv.state, State::Critical);
    assert_eq!(tv.reasons[0].state, State::Critical);
    assert!(
        tv.reasons[0].text.starts_with("task failed: "),
        "{:?}",
        tv.reasons
    );
}

#[test]
fn an_undecodable_key_never_yields_a_lag_and_the_worst_decoded_finding_stands() {
    // (what is added to a running task 5 h behind, the task's state, its reasons).
    // Without the undecodable-checkpoint rule the 5 h lag would read CRITICAL
    // "checkpoint lag 5h0m0s > 30m0s", invented from the keys that remain.
    let bad_sc = || kv("/tidb/br-stream/storage-checkpoint/pitr/3", vec![0u8; 7]);
    let bad_sc_reason = r(
        State::Unknown,
        "cannot decode /tidb/br-stream/storage-checkpoint/pitr/3: checkpoint value is 7 bytes, want 8",
    );
    let bad_pause = || pause("pitr", r#"{"severity":"#);
    let bad_pause_reason = r(
        State::Unknown,
        "cannot decode /tidb/br-stream/pause/pitr: invalid PauseV2 JSON: EOF while parsing a value at line 1 column 12",
    );
    let failed = r(State::Critical, &format!("task failed: {STORE_4_ERROR}"));
    type Case<'a> = (&'a str, Vec<Kv>, State, Vec<(State, String)>);
    let cases: Vec<Case> = vec![
        (
            "bad storage checkpoint beside good ones",
            vec![bad_sc()],
            State::Unknown,
            vec![bad_sc_reason.clone()],
        ),
        (
            "bad central_global",
            vec![kv("/tidb/br-stream/checkpoint/pitr/central_global", vec![1u8; 3])],
            State::Unknown,
            vec![r(
                State::Unknown,
                "cannot decode /tidb/br-stream/checkpoint/pitr/central_global: checkpoint value is 3 bytes, want 8",
            )],
        ),
        (
            "bad pause value: paused, ERROR or PAUSE unknown, no lag",
            vec![bad_pause()],
            State::Unknown,
            vec![bad_pause_reason.clone(), r(State::Warning, "paused, checkpoint lag 5h0m0s > 2h0m0s")],
        ),
        (
            "bad pause value with a decodable last-error: still ERROR",
            vec![bad_pause(), k9("pitr")],
            State::Critical,
            vec![failed.clone(), bad_pause_reason.clone(), r(State::Warning, "paused, checkpoint lag 5h0m0s > 2h0m0s")],
        ),
        (
            "paused with a last-error and a bad checkpoint key: CRITICAL above UNKNOWN",
            vec![pause("pitr", ""), k9("pitr"), bad_sc()],
            State::Critical,
            vec![failed.clone(), bad_sc_reason.clone()],
        ),
        (
            "unknown severity",
            vec![pause("pitr", r#"{"severity":"FATAL","payload_type":"","payload":null}"#)],
            State::Unknown,
            vec![
                r(State::Unknown, "cannot decode /tidb/br-stream/pause/pitr: PauseV2 severity 'FATAL' is neither MANUAL nor ERROR"),
                r(State::Warning, "paused, checkpoint lag 5h0m0s > 2h0m0s"),
            ],
        ),
    ];
    for (what, extra, state, want) in cases {
        let mut pairs = running("pitr");
        pairs.extend(extra);
        let verdict = judge(pairs, after(5 * 3600));
        let tv = only(&verdict);
        assert_eq!(reasons(tv), want, "{what}");
        assert_eq!(tv.state, state, "{what}");
        assert_eq!(verdict.state, state, "{what}");
        if want
            .iter()
            .any(|(_, t)| t.contains("storage-checkpoint") || t.contains("central_global"))
        {
            assert_eq!((tv.lag_seconds, tv.checkpoint), (None, None), "{what}");
        }
    }
}

#[test]
fn one_warning_task_and_one_undecodable_task_is_unknown_overall() {
    let mut pairs = running("lagging");
    pairs.push(kv("/tidb/br-stream/info/pitr", vec![0xff, 0xff]));
    let verdict = judge(pairs, after(15 * 60));
    assert_eq!(task(&verdict, "lagging").state, State::Warning);
    assert_eq!(task(&verdict, "pitr").state, State::Unknown);
    assert_eq!(verdict.state, State::Unknown);
    assert_eq!(verdict.state.exit_code(), 3);
}

// ---------------------------------------------------------------------------------------
// Pauses written as errors by an operator (docs/rules.md#auto-pause).
// ---------------------------------------------------------------------------------------

/// A PauseV2 of severity ERROR at 01:02:00 with `text` as its payload (base64).
fn error_pause(host: &str, text: &str) -> String {
    format!(
        r#"{{"severity":"ERROR","operation_hostname":"{host}","operation_pid":4000,"operation_time":"2024-01-01T01:02:00Z","payload_type":"text/plain;charset=UTF-8","payload":"{}"}}"#,
        testkit::oracles::pause_v2::base64_encode(text.as_bytes())
    )
}

#[test]
fn an_operators_pause_written_as_an_error_is_judged_as_a_pause() {
    // `br log pause --message "storage migration"` with `as-error` in BR's config at
    // 01:02:00: severity ERROR, the message as text, and first `pitr_pause_safepoint` at
    // the resume point (central_global 01:00:00 here), 24 h.
    let day = 24 * 3_600_000;
    let pause_at = CKPT_MS + 120_000;
    let mut pairs = running("pitr");
    pairs.push(kv(
        "/tidb/br-stream/checkpoint/pitr/central_global",
        be(tso(CKPT_MS)),
    ));
    pairs.push(pause("pitr", &error_pause("br-host", "storage migration")));
    let own = pd_facts(&[("pitr_pause_safepoint", pause_at + day, tso(CKPT_MS))]);
    let policy = Policy::default();
    let verdict = judge_pd(
        pairs.clone(),
        &Selection::All,
        &policy,
        Some(own),
        after(330),
    );
    let tv = only(&verdict);
    // BR still shows ERROR: the severity says so.
    assert_eq!(tv.status, Status::Error);
    assert_eq!(tv.pause.as_ref().unwrap().origin, "operator");
    assert_eq!(
        reasons(tv),
        vec![
            r(State::Ok, "paused by an operator with severity ERROR (br log pause, as-error) on br-host: storage migration"),
            r(State::Ok, "paused, checkpoint lag 5m30s"),
            r(State::Ok, "resume deadline 2024-01-02 01:02:00 +0000 in 23h56m30s (pitr_pause_safepoint)"),
        ]
    );
    assert_eq!(verdict.state, State::Ok);

    // Without its pause safepoint nobody can tell who wrote it: a failure, message shown.
    let none = pd_facts(&[("log-backup-coordinator", pause_at + day, tso(CKPT_MS) - 1)]);
    let verdict = judge_pd(
        pairs.clone(),
        &Selection::All,
        &policy,
        Some(none),
        after(330),
    );
    let tv = only(&verdict);
    assert_eq!(tv.pause.as_ref().unwrap().origin, "unknown");
    assert_eq!(
        tv.reasons[0],
        Finding {
            state: State::Critical,
            text: "task failed: paused with severity ERROR: storage migration".into()
        }
    );
    // Nor without PD.
    let verdict = judge_pd(pairs, &Selection::All, &policy, None, after(330));
    assert_eq!(only(&verdict).reasons[0].state, State::Critical);
    assert_eq!(only(&verdict).pause.as_ref().unwrap().origin, "unknown");

    // The advancer's own text stays the advancer's, pause safepoint or not.
    let advancer = "The checkpoint is at 2023-12-30T01:00:00Z, now it is 2024-01-01T01:02:00Z, the lag is too huge (48h2m0s) hence pause the task to avoid impaction to the cluster";
    let mut pairs = running("pitr");
    pairs.push(pause("pitr", &error_pause("tidb-2", advancer)));
    let own = pd_facts(&[("pitr_pause_safepoint", pause_at + day, tso(CKPT_MS))]);
    let verdict = judge_pd(pairs, &Selection::All, &policy, Some(own), after(330));
    let tv = only(&verdict);
    assert_eq!(tv.pause.as_ref().unwrap().origin, "advancer-lag-limit");
    assert!(
        tv.reasons[0]
            .text
            .starts_with("paused by the advancer at lag > 2d0h0m"),
        "{:?}",
        tv.reasons
    );
}
