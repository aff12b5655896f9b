//! The service state (OK, WARNING, CRITICAL, UNKNOWN) of a task, a cluster and the run,
//! and how states aggregate. Not the state file: that is the `statefile` module.

use serde::Serialize;
use std::fmt;

/// A Nagios service state.
///
/// `Ord` is the severity used to aggregate tasks: OK < WARNING < UNKNOWN < CRITICAL,
/// so a known CRITICAL task is never hidden behind another task's UNKNOWN
/// (docs/output-contract.md#state-order). The exit code is a separate mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum State {
    Ok,
    Warning,
    Unknown,
    Critical,
}

impl State {
    fn severity(self) -> u8 {
        match self {
            State::Ok => 0,
            State::Warning => 1,
            State::Unknown => 2,
            State::Critical => 3,
        }
    }

    /// The plugin exit code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    pub fn exit_code(self) -> i32 {
        match self {
            State::Ok => 0,
            State::Warning => 1,
            State::Critical => 2,
            State::Unknown => 3,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Warning => "WARNING",
            State::Unknown => "UNKNOWN",
            State::Critical => "CRITICAL",
        }
    }

    /// Parses `ok|warning|critical|unknown` (any case; also 0-3).
    pub fn parse(text: &str) -> Option<State> {
        match text.trim().to_ascii_lowercase().as_str() {
            "ok" | "0" => Some(State::Ok),
            "warning" | "warn" | "1" => Some(State::Warning),
            "critical" | "crit" | "2" => Some(State::Critical),
            "unknown" | "3" => Some(State::Unknown),
            _ => None,
        }
    }
}

impl PartialOrd for State {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for State {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.severity().cmp(&other.severity())
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregation_order_puts_critical_above_unknown() {
        let mut states = vec![State::Critical, State::Ok, State::Unknown, State::Warning];
        states.sort();
        assert_eq!(
            states,
            vec![State::Ok, State::Warning, State::Unknown, State::Critical]
        );
        assert_eq!(
            [State::Unknown, State::Critical].iter().max(),
            Some(&State::Critical)
        );
    }

    #[test]
    fn exit_codes_follow_the_plugin_api() {
        let codes: Vec<i32> = [State::Ok, State::Warning, State::Critical, State::Unknown]
            .iter()
            .map(|s| s.exit_code())
            .collect();
        assert_eq!(codes, vec![0, 1, 2, 3]);
    }

    #[test]
    fn parses_state_names() {
        assert_eq!(State::parse("CRITICAL"), Some(State::Critical));
        assert_eq!(State::parse("warning"), Some(State::Warning));
        assert_eq!(State::parse("3"), Some(State::Unknown));
        assert_eq!(State::parse("bad"), None);
    }
}
