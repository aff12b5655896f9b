//! `--restore-point TIME`: the operator's first question, "can I restore to T?",
//! answered from the run's reads: is PITR to T possible, from which full backup, through
//! which log range, and whether the log chain is only claimed (its metas) or verified
//! (`--verify`). BR's rules (`br restore point`): T inside the log window
//! [restorable_from, restorable_to], and a full backup whose ts is inside the window and
//! not after T.

use super::verdict::TaskVerdict;
use crate::service_state::State;
use crate::tso;

/// The point asked for, as the operator wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreAt {
    /// A TSO (an RFC 3339 time is turned into one).
    Ts(u64),
    /// That long before the run's `now`.
    Ago(std::time::Duration),
}

impl RestoreAt {
    /// `2024-01-01T00:30:00Z`, a TSO (`446711…`), or a duration ago (`15m`).
    pub fn parse(text: &str) -> Result<RestoreAt, String> {
        let t = text.trim();
        if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
            return t
                .parse::<u64>()
                .ok()
                .filter(|ts| tso::physical_ms(*ts) > 0)
                .map(RestoreAt::Ts)
                .ok_or_else(|| format!("invalid --restore-point '{text}': not a TSO"));
        }
        if let Ok(at) = humantime::parse_rfc3339_weak(t) {
            return Ok(RestoreAt::Ts(tso::from_physical_ms(tso::unix_ms(at))));
        }
        humantime::parse_duration(t).map(RestoreAt::Ago).map_err(|_| {
            format!(
                "invalid --restore-point '{text}' (want an RFC 3339 time, a TSO, or a duration ago such as 15m)"
            )
        })
    }

    /// The TSO it means at `now_ms`.
    pub fn ts(self, now_ms: u64) -> u64 {
        match self {
            RestoreAt::Ts(ts) => ts,
            RestoreAt::Ago(d) => tso::from_physical_ms(now_ms.saturating_sub(d.as_millis() as u64)),
        }
    }
}

/// The answer for one task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestorePoint {
    pub task: String,
    /// The point asked for (TSO).
    pub at_ts: u64,
    /// OK possible, CRITICAL impossible, UNKNOWN cannot be told.
    pub state: State,
    pub possible: Option<bool>,
    /// One line: the base and the log range, or why not.
    pub reason: String,
    /// The full backup to restore first: (url, ts).
    pub base: Option<(String, u64)>,
    pub log_from_ts: Option<u64>,
    pub log_to_ts: Option<u64>,
    /// The log chain up to T was verified file by file (`--verify`), not only claimed.
    pub verified: bool,
}

fn date(ts: u64) -> String {
    tso::br_date(tso::physical_ms(ts))
}

/// Answers for `task` at `at_ts`; `verified_to_ts` is how far `--verify` proved the chain.
pub fn answer(task: &TaskVerdict, at_ts: u64, verified_to_ts: Option<u64>) -> RestorePoint {
    let mut out = RestorePoint {
        task: task.task.name.clone(),
        at_ts,
        state: State::Unknown,
        possible: None,
        reason: String::new(),
        base: None,
        log_from_ts: None,
        log_to_ts: None,
        verified: false,
    };
    let cannot = |mut out: RestorePoint, why: String| {
        out.reason = why;
        out
    };
    let impossible = |mut out: RestorePoint, why: String| {
        out.state = State::Critical;
        out.possible = Some(false);
        out.reason = why;
        out
    };
    let Some(view) = &task.storage else {
        return cannot(out, "its log backup storage was not read".to_string());
    };
    if view.state != "ok" {
        let why = task
            .reasons
            .iter()
            .find(|r| r.text.contains("backup storage"))
            .map_or_else(
                || format!("its storage is {}", view.state),
                |r| r.text.clone(),
            );
        return cannot(out, why);
    }
    let (Some(from), Some(to)) = (view.restorable_from_ts, view.restorable_to_ts) else {
        return impossible(out, "its storage holds no log backup".to_string());
    };
    out.log_from_ts = Some(from);
    out.log_to_ts = Some(to);
    if at_ts < from {
        return impossible(
            out,
            format!(
                "{} is before the log window, which starts at {}",
                date(at_ts),
                date(from)
            ),
        );
    }
    if at_ts > to {
        return impossible(
            out,
            format!(
                "{} is after the restorable checkpoint {}",
                date(at_ts),
                date(to)
            ),
        );
    }
    if !view.bases_asked {
        return cannot(
            out,
            "no --full-backup or --full-backup-root given: the full backup to start from cannot be told"
                .to_string(),
        );
    }
    let Some((url, base_ts, approximate)) = view
        .bases
        .iter()
        .filter(|(_, ts, _)| *ts <= at_ts)
        .max_by_key(|(_, ts, _)| *ts)
        .cloned()
    else {
        return impossible(
            out,
            format!(
                "no full backup between the log start {} and {}",
                date(from),
                date(at_ts)
            ),
        );
    };
    out.verified = verified_to_ts.is_some_and(|v| v >= at_ts);
    out.state = State::Ok;
    out.possible = Some(true);
    out.reason = format!(
        "restore the full backup {url} ({}{}), then the log from {} to {} ({})",
        if approximate { "about " } else { "" },
        date(base_ts),
        date(base_ts),
        date(at_ts),
        if out.verified {
            "every file verified"
        } else {
            "claimed by its metas, not verified: use --verify"
        }
    );
    out.base = Some((url, base_ts));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::verdict::StorageView;
    use crate::model::{Status, Task};

    const MIN: u64 = 60_000;
    const T0: u64 = 1_704_067_200_000; // 2024-01-01 00:00:00 UTC

    fn ts(ms: u64) -> u64 {
        tso::from_physical_ms(ms)
    }

    fn task(view: Option<StorageView>) -> TaskVerdict {
        TaskVerdict {
            storage: view,
            ..TaskVerdict::bare(Task::new("pitr".into()), Status::Normal, Vec::new())
        }
    }

    fn window(bases: Vec<(String, u64, bool)>, asked: bool) -> StorageView {
        StorageView {
            state: "ok",
            restorable_from_ts: Some(ts(T0 + 10 * MIN)),
            restorable_to_ts: Some(ts(T0 + 60 * MIN)),
            bases,
            bases_asked: asked,
            ..StorageView::default()
        }
    }

    #[test]
    fn the_point_is_a_time_a_tso_or_a_duration_ago() {
        let at = RestoreAt::parse("2024-01-01T00:30:00Z").unwrap();
        assert_eq!(at.ts(0), ts(T0 + 30 * MIN));
        assert_eq!(
            RestoreAt::parse("446711927930880000").unwrap().ts(0),
            446711927930880000
        );
        assert_eq!(
            RestoreAt::parse("15m").unwrap().ts(T0 + 30 * MIN),
            ts(T0 + 15 * MIN)
        );
        assert!(RestoreAt::parse("soon")
            .unwrap_err()
            .contains("invalid --restore-point 'soon'"));
    }

    #[test]
    fn before_inside_and_after_the_window_with_and_without_a_base() {
        let base = vec![("s3://full/b1".to_string(), ts(T0 + 20 * MIN), false)];
        let t = task(Some(window(base.clone(), true)));
        let inside = answer(&t, ts(T0 + 30 * MIN), None);
        assert_eq!((inside.state, inside.possible), (State::Ok, Some(true)));
        assert_eq!(
            inside.base,
            Some(("s3://full/b1".into(), ts(T0 + 20 * MIN)))
        );
        assert_eq!(
            inside.reason,
            "restore the full backup s3://full/b1 (2024-01-01 00:20:00 +0000), then the log from 2024-01-01 00:20:00 +0000 to 2024-01-01 00:30:00 +0000 (claimed by its metas, not verified: use --verify)"
        );
        assert!(answer(&t, ts(T0 + 30 * MIN), Some(ts(T0 + 45 * MIN))).verified);
        let before = answer(&t, ts(T0 + 5 * MIN), None);
        assert_eq!(
            (before.state, before.possible),
            (State::Critical, Some(false))
        );
        assert!(
            before.reason.contains("before the log window"),
            "{}",
            before.reason
        );
        let after = answer(&t, ts(T0 + 90 * MIN), None);
        assert!(
            after.reason.contains("after the restorable checkpoint"),
            "{}",
            after.reason
        );
        let early = answer(&t, ts(T0 + 15 * MIN), None);
        assert_eq!(early.possible, Some(false));
        assert!(
            early.reason.starts_with("no full backup between"),
            "{}",
            early.reason
        );
        let unasked = answer(
            &task(Some(window(Vec::new(), false))),
            ts(T0 + 30 * MIN),
            None,
        );
        assert_eq!((unasked.state, unasked.possible), (State::Unknown, None));
        let unread = answer(&task(None), ts(T0 + 30 * MIN), None);
        assert_eq!(unread.state, State::Unknown);
    }
}
