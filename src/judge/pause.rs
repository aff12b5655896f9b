//! Why a task is paused, and how far a running task is from being paused by the
//! advancer (docs/rules.md#auto-pause).
//!
//! The checkpoint advancer (TiDB, pingcap/tidb:br/pkg/streamhelper/advancer.go) pauses a
//! task whose lag — now minus central_global — exceeds the limit
//! (`tidb_advancer_check_point_lag_limit`, default 48h; a TiDB system variable, so not in
//! etcd: `--lag-limit` says what it is set to). It writes a PauseV2 marker of severity
//! ERROR with its own text payload ("The checkpoint is at …, now it is …, the lag is too
//! huge (…) hence pause the task …", `pause::is_advancer_lag_message`) and no last-error
//! key. A TiKV fatal error writes severity ERROR with a protobuf payload and last-error
//! keys; an operator (`br log pause`) writes MANUAL (REGULAR_OPERATION in an early
//! revision), ERROR when BR's config sets `as-error` (with the `--message` text, if any),
//! or an empty V1 marker, and always a `<task>_pause_safepoint` service safepoint first
//! (pingcap/tidb:br/pkg/task/stream.go, `RunStreamPause`; docs/etcd-layout.md#pause-writers).

use super::policy::Policy;
use super::verdict::{Judged, Metric};
use crate::model::Task;
use crate::pause::{self as marker, Pause, Payload};
use crate::pd::GcSafepoints;
use crate::range::Range;
use crate::service_state::State;
use crate::tso;

use super::verdict::Origin;

/// The pause's origin; `None` when the task is not paused. `gc` (PD's safepoints) tells
/// an operator's pause by its `<task>_pause_safepoint`: an empty V1 marker, or severity
/// ERROR with a text (or no) payload that is not the advancer's own text (BR's `as-error`).
pub fn origin(task: &Task, gc: Option<&GcSafepoints>) -> Option<Origin> {
    let marker = task.pause.as_ref()?;
    if task.error_keys > 0 {
        return Some(Origin::TikvError);
    }
    let operator_or_unknown = if has_pause_safepoint(task, gc) {
        Origin::Operator
    } else {
        Origin::Unknown
    };
    Some(match marker {
        Some(Pause::V2(p)) => match (&p.payload, p.severity.as_str()) {
            (Payload::Error(_), _) => Origin::TikvError,
            // The media type is TiKV's even when the payload itself does not decode.
            (_, "ERROR") if p.payload_type.to_ascii_lowercase().contains("x-protobuf") => {
                Origin::TikvError
            }
            (Payload::Text(text), "ERROR") if marker::is_advancer_lag_message(text) => {
                Origin::AdvancerLagLimit
            }
            // `br log pause` with `as-error`: the operator's message, or none.
            (Payload::Text(_) | Payload::None, "ERROR") => operator_or_unknown,
            (_, "MANUAL" | "REGULAR_OPERATION") => Origin::Operator,
            _ => Origin::Unknown,
        },
        Some(Pause::V1) => operator_or_unknown,
        None => Origin::Unknown,
    })
}

/// `br log pause` sets `<task>_pause_safepoint` before it writes the marker; nothing
/// else writes that service id (docs/rules.md#service-safepoints).
fn has_pause_safepoint(task: &Task, gc: Option<&GcSafepoints>) -> bool {
    let own = format!("{}_pause_safepoint", task.name);
    gc.is_some_and(|gc| {
        gc.service_gc_safe_points
            .iter()
            .any(|sp| sp.service_id == own)
    })
}

/// An operator's pause written with severity ERROR (`as-error` in BR's config): not a
/// failure, so no "task failed" CRITICAL; the pause is judged like any operator's (the
/// paused lag thresholds, the resume deadline), and this informational reason shows the
/// operator's message.
pub fn operator_error(task: &Task) -> Judged {
    let mut out = Judged::default();
    let Some(Some(Pause::V2(p))) = &task.pause else {
        return out;
    };
    if !p.is_error() {
        return out;
    }
    let mut text = "paused by an operator with severity ERROR (br log pause, as-error)".to_string();
    if !p.operation_hostname.is_empty() {
        text.push_str(&format!(" on {}", p.operation_hostname));
    }
    if let Payload::Text(message) = &p.payload {
        text.push_str(&format!(": {message}"));
    }
    out.push(State::Ok, text);
    out
}

/// Paused by the advancer → CRITICAL with what to do; says when the pause looks false
/// (the checkpoint was less than the limit behind at the pause: pingcap/tidb#53561,
/// #58031, fixed by reading central_global).
pub fn auto_paused(task: &Task, policy: &Policy) -> Judged {
    let mut out = Judged::default();
    let limit = tso::human_duration(policy.lag_limit);
    let mut text = format!(
        "paused by the advancer at lag > {limit}: raise tidb_advancer_check_point_lag_limit, then br log resume"
    );
    let paused_at = match &task.pause {
        Some(Some(Pause::V2(p))) => p.operation_time.parse::<jiff::Timestamp>().ok(),
        _ => None,
    };
    let reference = task.central_global.or(task.checkpoint().map(|(ts, _)| ts));
    if let (Some(at), Some(ts)) = (paused_at, reference) {
        let behind_ms = at.as_millisecond() - tso::physical_ms(ts) as i64;
        let behind = u64::try_from(behind_ms / 1000).unwrap_or(0);
        if behind < policy.lag_limit {
            text.push_str(&format!(
                "; suspected false auto-pause: the checkpoint was only {} behind when paused",
                tso::human_duration(behind)
            ));
        }
    }
    out.push(State::Critical, text);
    out
}

/// A running task: seconds until the advancer's lag limit pauses it (lag from
/// central_global, as the advancer measures it; none without central_global, which the
/// advancer skips too).
pub fn horizon(task: &Task, policy: &Policy, now_ms: u64) -> (Judged, Option<u64>) {
    let mut out = Judged::default();
    let warn = Range {
        start: policy.auto_pause_warning as f64,
        end: f64::INFINITY,
        inside: false,
    };
    let crit = Range {
        start: policy.auto_pause_critical as f64,
        end: f64::INFINITY,
        inside: false,
    };
    // Without a decodable checkpoint no lag is computed at all (the task is UNKNOWN).
    let left = match (
        task.paused() || task.checkpoint_undecodable,
        task.central_global,
    ) {
        (false, Some(global)) => {
            let lag = tso::lag_seconds(now_ms, tso::physical_ms(global));
            Some(policy.lag_limit.saturating_sub(lag))
        }
        _ => None,
    };
    if let Some(left) = left {
        let state = if crit.alerts(left as f64) {
            State::Critical
        } else if warn.alerts(left as f64) {
            State::Warning
        } else {
            State::Ok
        };
        if state != State::Ok {
            out.push(
                state,
                format!(
                    "the advancer pauses the task in {} (lag limit {}): resolve the lag or raise tidb_advancer_check_point_lag_limit",
                    tso::human_duration(left),
                    tso::human_duration(policy.lag_limit)
                ),
            );
        }
    }
    out.metrics.push(Metric::seconds(
        "auto_pause_in",
        left,
        Some(warn),
        Some(crit),
    ));
    (out, left)
}
