//! Time budgets shared by every layer that waits on the network: the run's default
//! deadline, the share of it each endpoint may use, and the stage the run is in (read by
//! the watchdog's timeout message). Imports only std, so any layer may use it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The whole run's deadline (`-t`) when none is given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

static STAGE: Mutex<String> = Mutex::new(String::new());

/// The deadline the I/O aims for: a fifth of `-t` (at most 1 s) before it, so that the
/// results gathered so far are judged and printed, even on a loaded machine, before the
/// watchdog fires at `-t` exactly.
pub fn work_budget(timeout: Duration) -> Duration {
    timeout - (timeout / 5).min(Duration::from_secs(1))
}

/// When endpoints are tried one at a time: the time the next one may take, an equal share
/// of what is left, so a frozen endpoint cannot use up the time of the ones after it.
/// `None` when no time is left.
pub fn share(deadline: Instant, endpoints_left: usize) -> Option<Duration> {
    let remaining = deadline.saturating_duration_since(Instant::now());
    (!remaining.is_zero()).then(|| remaining / endpoints_left.max(1) as u32)
}

/// Records what the run is doing, for the timeout message.
pub fn set_stage(stage: impl Into<String>) {
    if let Ok(mut s) = STAGE.lock() {
        *s = stage.into();
    }
}

/// What the run was last doing.
pub fn stage() -> String {
    STAGE.lock().map(|s| s.clone()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_work_budget_leaves_room_to_print() {
        assert_eq!(work_budget(Duration::from_secs(10)), Duration::from_secs(9));
        assert_eq!(
            work_budget(Duration::from_secs(2)),
            Duration::from_millis(1600)
        );
    }

    #[test]
    fn each_endpoint_gets_an_equal_share_of_what_is_left() {
        let deadline = Instant::now() + Duration::from_secs(30);
        let share = share(deadline, 3).unwrap();
        assert!(share <= Duration::from_secs(10) && share > Duration::from_secs(9));
        assert_eq!(super::share(Instant::now(), 1), None);
    }
}
