//! Checkpoint lag: now − the restorable checkpoint, against the paused thresholds when
//! the task is paused (official `LogBackupPausingMoreThan2h/12h`), else the running ones
//! (`LogBackupRunningRPOMoreThan10m/30m`).

use super::policy::Thresholds;
use super::verdict::{Judged, Metric};
use crate::range::Range;
use crate::service_state::State;
use crate::tso;

/// `lag` is `None` when no checkpoint can be derived (a checkpoint key did not decode):
/// then there is no lag finding, only the metric's thresholds.
/// `slowest` is the store with the oldest per-store checkpoint and its lag: a lagging
/// task's reason names it (one silent store holds the whole task back, tikv/tikv#16056).
pub fn judge(
    lag: Option<u64>,
    paused: bool,
    thresholds: &Thresholds,
    slowest: Option<(u64, u64)>,
) -> Judged {
    let (warning, critical) = if paused {
        (thresholds.paused_warning, thresholds.paused_critical)
    } else {
        (thresholds.warning, thresholds.critical)
    };
    let mut out = Judged::default();
    if let Some(lag) = lag {
        let what = if paused { "paused, " } else { "" };
        let value = lag as f64;
        let shown = tso::human_duration(lag);
        let (state, text) = if critical.alerts(value) {
            (
                State::Critical,
                format!(
                    "{what}checkpoint lag {shown} {}",
                    describe_violation(&critical)
                ),
            )
        } else if warning.alerts(value) {
            (
                State::Warning,
                format!(
                    "{what}checkpoint lag {shown} {}",
                    describe_violation(&warning)
                ),
            )
        } else {
            (State::Ok, format!("{what}checkpoint lag {shown}"))
        };
        let text = match slowest {
            Some((store, behind)) if state != State::Ok && !paused => format!(
                "{text} (oldest store checkpoint: store {store}, {} behind)",
                tso::human_duration(behind)
            ),
            _ => text,
        };
        out.push(state, text);
    }
    out.metrics.push(Metric::seconds(
        "checkpoint_lag",
        lag,
        Some(warning),
        Some(critical),
    ));
    out
}

/// `> 30m0s`, `< 10s`, `outside 10s:1m0s`, `inside @1h0m0s:2h0m0s` — a range as a person reads it.
pub fn describe_violation(range: &Range) -> String {
    let secs = |v: f64| -> String {
        if v.is_finite() && v >= 0.0 && v.fract() == 0.0 {
            tso::human_duration(v as u64)
        } else {
            format!("{}s", crate::text::format_number(v))
        }
    };
    if range.inside {
        return format!("inside {range}");
    }
    match (range.start, range.end) {
        (s, e) if s == 0.0 && e.is_finite() => format!("> {}", secs(e)),
        (s, e) if s == f64::NEG_INFINITY && e.is_finite() => format!("> {}", secs(e)),
        (s, e) if e == f64::INFINITY && s.is_finite() => format!("< {}", secs(s)),
        _ => format!("outside {range}"),
    }
}
