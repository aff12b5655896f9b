//! Why a task is paused and the auto-pause horizon (src/judge/pause.rs): pure, `now` an
//! input.

use check_tidb_log_backup::judge::pause::{auto_paused, horizon, origin};
use check_tidb_log_backup::judge::Origin;
use check_tidb_log_backup::judge::Policy;
use check_tidb_log_backup::model::Task;
use check_tidb_log_backup::pause::decode_pause;
use check_tidb_log_backup::pd::{GcSafepoints, ServiceSafepoint};
use check_tidb_log_backup::service_state::State;
use check_tidb_log_backup::tso;

const H: u64 = 3_600_000;
/// 2024-01-03 00:00:00 UTC.
const NOW: u64 = 1_704_240_000_000;

fn task(central_global_ms: Option<u64>, marker: Option<&str>, error_keys: usize) -> Task {
    Task {
        pause: marker.map(|m| decode_pause(m.as_bytes()).ok()),
        central_global: central_global_ms.map(tso::from_physical_ms),
        error_keys,
        ..Task::new("pitr".into())
    }
}

/// What the advancer writes when its lag limit pauses a task
/// (pingcap/tidb:br/pkg/streamhelper/advancer.go, `importantTick`).
const ADVANCER_TEXT: &str = "The checkpoint is at 2023-12-31T23:00:00Z, now it is 2024-01-02T23:00:00Z, the lag is too huge (48h0m0s) hence pause the task to avoid impaction to the cluster";

fn b64(text: &str) -> String {
    testkit::oracles::pause_v2::base64_encode(text.as_bytes())
}

fn v2(severity: &str, payload_type: &str, payload: &str, at: &str) -> String {
    format!(
        r#"{{"severity":"{severity}","operation_hostname":"h","operation_pid":1,"operation_time":"{at}","payload_type":"{payload_type}","payload":"{payload}"}}"#
    )
}

#[test]
fn the_origin_of_a_pause() {
    let text = "text/plain;charset=UTF-8";
    let proto = "application/x-protobuf;messageType=brpb.StreamBackupError";
    let at = "2024-01-02T00:00:00Z";
    let gc = |ids: &[&str]| GcSafepoints {
        service_gc_safe_points: ids
            .iter()
            .map(|id| ServiceSafepoint {
                service_id: id.to_string(),
                expired_at: 0,
                safe_point: 0,
            })
            .collect(),
        gc_safe_point: 0,
    };
    let manual = v2("MANUAL", "", "", at);
    let early = v2("REGULAR_OPERATION", "", "", at);
    let advancer = v2("ERROR", text, &b64(ADVANCER_TEXT), at);
    // `br log pause --message …` with `as-error` in BR's config (RunStreamPause).
    let as_error = v2("ERROR", text, &b64("storage migration"), at);
    // Only the beginning of the advancer's text: not its format.
    let lookalike = v2("ERROR", text, &b64("The checkpoint"), at);
    let tikv = v2("ERROR", proto, "CAEQAg==", at);
    let none_payload = v2("ERROR", "", "", at);
    let own = gc(&["pitr_pause_safepoint"]);
    let others = gc(&["pitr2_pause_safepoint", "log-backup-coordinator"]);
    for (marker, errors, pd, want) in [
        (None, 0, None, None),
        (Some(manual.as_str()), 0, None, Some(Origin::Operator)),
        (Some(early.as_str()), 0, None, Some(Origin::Operator)),
        (
            Some(advancer.as_str()),
            0,
            None,
            Some(Origin::AdvancerLagLimit),
        ),
        // The advancer's own text wins even beside a pause safepoint.
        (
            Some(advancer.as_str()),
            0,
            Some(&own),
            Some(Origin::AdvancerLagLimit),
        ),
        // Last-error keys mean TiKV, whatever the marker says.
        (Some(advancer.as_str()), 1, None, Some(Origin::TikvError)),
        // ERROR with an operator's text: an operator's pause when its pause safepoint
        // is there, else nobody can tell.
        (
            Some(as_error.as_str()),
            0,
            Some(&own),
            Some(Origin::Operator),
        ),
        (
            Some(as_error.as_str()),
            0,
            Some(&others),
            Some(Origin::Unknown),
        ),
        (Some(as_error.as_str()), 0, None, Some(Origin::Unknown)),
        (
            Some(lookalike.as_str()),
            0,
            Some(&own),
            Some(Origin::Operator),
        ),
        (Some(lookalike.as_str()), 0, None, Some(Origin::Unknown)),
        (
            Some(as_error.as_str()),
            1,
            Some(&own),
            Some(Origin::TikvError),
        ),
        (Some(tikv.as_str()), 0, None, Some(Origin::TikvError)),
        (Some(tikv.as_str()), 0, Some(&own), Some(Origin::TikvError)),
        (Some(none_payload.as_str()), 0, None, Some(Origin::Unknown)),
        // `as-error` without `--message`.
        (
            Some(none_payload.as_str()),
            0,
            Some(&own),
            Some(Origin::Operator),
        ),
        (Some(""), 1, None, Some(Origin::TikvError)),
        (Some(""), 0, Some(&own), Some(Origin::Operator)),
        (Some(""), 0, Some(&others), Some(Origin::Unknown)),
        (Some(""), 0, None, Some(Origin::Unknown)),
        (Some("{not json"), 0, None, Some(Origin::Unknown)),
    ] {
        let t = task(None, marker, errors);
        assert_eq!(origin(&t, pd), want, "{marker:?} errors {errors}");
    }
}

#[test]
fn an_auto_pause_says_what_to_do_and_whether_it_looks_false() {
    let policy = Policy::default();
    let advancer = |at: &str| v2("ERROR", "text/plain", "eA==", at);
    // central_global 49 h before the pause: a true auto-pause.
    let real = task(
        Some(NOW - 50 * H),
        Some(&advancer("2024-01-02T23:00:00Z")),
        0,
    );
    let judged = auto_paused(&real, &policy);
    assert_eq!(judged.findings.len(), 1);
    assert_eq!(judged.findings[0].state, State::Critical);
    assert_eq!(
        judged.findings[0].text,
        "paused by the advancer at lag > 2d0h0m: raise tidb_advancer_check_point_lag_limit, then br log resume"
    );
    // central_global 1 h before the pause: below the limit, the #53561 pattern.
    let false_pause = task(
        Some(NOW - 2 * H),
        Some(&advancer("2024-01-02T23:00:00Z")),
        0,
    );
    let judged = auto_paused(
        &false_pause,
        &Policy {
            lag_limit: 24 * 3600,
            ..policy
        },
    );
    assert_eq!(
        judged.findings[0].text,
        "paused by the advancer at lag > 1d0h0m: raise tidb_advancer_check_point_lag_limit, then br log resume; suspected false auto-pause: the checkpoint was only 1h0m0s behind when paused"
    );
}

#[test]
fn the_auto_pause_horizon_of_a_running_task() {
    let policy = Policy::default();
    for (lag_h, want_left, want) in [
        (1, 47 * 3600, None),
        (36, 12 * 3600, None),
        (37, 11 * 3600, Some(State::Warning)),
        (46, 2 * 3600, Some(State::Warning)),
        (47, 3600, Some(State::Critical)),
        (50, 0, Some(State::Critical)),
    ] {
        let t = task(Some(NOW - lag_h * H), None, 0);
        let (judged, left) = horizon(&t, &policy, NOW);
        assert_eq!(left, Some(want_left), "lag {lag_h}h");
        assert_eq!(
            judged.findings.first().map(|f| f.state),
            want,
            "lag {lag_h}h"
        );
        let metric = &judged.metrics[0];
        assert_eq!(
            (metric.label.as_ref(), metric.value),
            ("auto_pause_in", Some(want_left as f64))
        );
        assert_eq!(metric.warn.unwrap().to_string(), "43200:");
        assert_eq!(metric.crit.unwrap().to_string(), "7200:");
    }
    let (judged, _) = horizon(&task(Some(NOW - 40 * H), None, 0), &policy, NOW);
    assert_eq!(
        judged.findings[0].text,
        "the advancer pauses the task in 8h0m0s (lag limit 2d0h0m): resolve the lag or raise tidb_advancer_check_point_lag_limit"
    );
    // Paused, or no central_global (the advancer skips the check): no horizon.
    for t in [task(Some(NOW), Some(""), 0), task(None, None, 0)] {
        let (judged, left) = horizon(&t, &policy, NOW);
        assert_eq!(left, None);
        assert!(judged.findings.is_empty());
        assert_eq!(judged.metrics[0].value, None);
    }
}
