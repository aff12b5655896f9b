//! The task's own state: keys that cannot be decoded, a failed task, a stale last-error.

use super::verdict::{Judged, Metric};
use crate::model::{Status, Task};
use crate::pause::{Pause, Payload};
use crate::service_state::State;

/// Each key that cannot be decoded → UNKNOWN naming the key; everything else about the
/// task is still judged (but no checkpoint is derived without the key, see the model).
pub fn undecodable_keys(task: &Task) -> Judged {
    let mut out = Judged::default();
    for p in &task.problems {
        let text = if p.undecodable {
            format!("cannot decode {}: {}", p.key, p.reason)
        } else {
            format!("{}: {}", p.key, p.reason)
        };
        out.push(State::Unknown, text);
    }
    out
}

/// BR's status ERROR (paused, and a last-error key or a PauseV2 of severity ERROR) →
/// CRITICAL: the task stopped and needs an operator.
pub fn failed(task: &Task) -> Judged {
    let mut out = Judged::default();
    if task.status() == Status::Error {
        out.push(
            State::Critical,
            format!("task failed: {}", error_detail(task)),
        );
    }
    out
}

/// Last-error keys on a task that runs → WARNING: TiKV clears them only on resume, so a
/// running task with one had a failure that someone resumed past, or is failing now.
pub fn stale_last_error(task: &Task) -> Judged {
    let mut out = Judged::default();
    if !task.paused() && task.error_keys > 0 {
        out.push(
            State::Warning,
            format!("stale last-error while running: {}", error_detail(task)),
        );
    }
    out
}

/// `paused` (0/1) and `store_errors` (last-error keys), reported with every task.
pub fn state_metrics(task: &Task) -> Vec<Metric> {
    vec![
        Metric {
            max: Some(1.0),
            ..Metric::count("paused", f64::from(u8::from(task.paused())))
        },
        Metric::count("store_errors", task.error_keys as f64),
    ]
}

/// The first error as a person reads it: the last-error keys first (store-key order),
/// else a PauseV2 error payload.
fn error_detail(task: &Task) -> String {
    if let Some((store_id, first)) = task.last_errors().next() {
        let more = task.errors.len() - 1;
        let suffix = if more > 0 {
            format!(" (+{more} more stores)")
        } else {
            String::new()
        };
        return format!(
            "{} on store {store_id}: {}{suffix}",
            first.error_code, first.error_message
        );
    }
    if let Some(e) = task.pause_error() {
        return format!(
            "{} on store {}: {}",
            e.error_code, e.store_id, e.error_message
        );
    }
    if task.error_keys > 0 {
        return "a store reported an error that cannot be decoded".to_string();
    }
    // Neither TiKV's nor the advancer's: whoever wrote it, its message is the detail.
    if let Some(Some(Pause::V2(p))) = &task.pause {
        if let Payload::Text(message) = &p.payload {
            return format!("paused with severity ERROR: {message}");
        }
    }
    "paused with severity ERROR".to_string()
}
