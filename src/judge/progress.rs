//! Progress across runs: is a lagging task catching up or stuck? From the checkpoint the
//! previous run saw (the state file) and the wall time between the runs.
//!
//! `checkpoint_rate` = Δphysical(checkpoint) / Δwall: seconds of data per second, 1.0
//! keeps pace, above 1 catches up, 0 stands still. The rate alone changes no state;
//! `--stuck-warning`/`--stuck-critical` judge how long a running task has not advanced.

use super::policy::Policy;
use super::verdict::{Judged, Metric};
use crate::model::Task;
use crate::range::Range;
use crate::service_state::State;
use crate::statefile::TaskProgress;
use crate::throughput::TikvFacts;
use crate::tidb::OwnerFacts;
use crate::tso;

/// What the progress rule found besides its findings.
#[derive(Debug, Default)]
pub struct ProgressJudged {
    pub judged: Judged,
    /// The record for the next run; `None` without a checkpoint.
    pub record: Option<TaskProgress>,
    pub rate: Option<f64>,
}

/// `lagging`: the lag rule alerted (WARNING or worse); `warn` its warning range.
pub fn judge(
    task: &Task,
    previous: Option<&TaskProgress>,
    lag: Option<u64>,
    warn: &Range,
    policy: &Policy,
    now_ms: u64,
) -> ProgressJudged {
    let mut out = ProgressJudged::default();
    let Some((checkpoint, _)) = task.checkpoint() else {
        return out;
    };
    let advanced_at_ms = match previous {
        Some(p) if p.checkpoint_ts == checkpoint && p.seen_at_ms <= now_ms => p.advanced_at_ms,
        _ => now_ms,
    };
    out.record = Some(TaskProgress {
        checkpoint_ts: checkpoint,
        seen_at_ms: now_ms,
        advanced_at_ms,
    });
    out.rate = previous
        .filter(|p| p.seen_at_ms < now_ms && p.checkpoint_ts <= checkpoint)
        .map(|p| {
            let data =
                tso::physical_ms(checkpoint).saturating_sub(tso::physical_ms(p.checkpoint_ts));
            data as f64 / (now_ms - p.seen_at_ms) as f64
        });
    let paused = task.paused();
    let lagging = lag.is_some_and(|l| warn.alerts(l as f64));
    let still = now_ms.saturating_sub(advanced_at_ms) / 1000;
    if lagging && !paused {
        if let (Some(rate), Some(lag)) = (out.rate, lag) {
            let text = if rate <= 0.0 {
                format!(
                    "stuck: checkpoint unchanged for {}",
                    tso::human_duration(still)
                )
            } else if rate > 1.0 {
                let target = if warn.end.is_finite() {
                    warn.end.max(0.0) as u64
                } else {
                    0
                };
                let eta = (lag.saturating_sub(target) as f64 / (rate - 1.0)) as u64;
                format!(
                    "catching up at {}×, under {} in about {}",
                    crate::text::rate_text(rate),
                    tso::human_duration(target),
                    tso::human_duration(eta)
                )
            } else {
                format!("falling behind at {}×", crate::text::rate_text(rate))
            };
            out.judged.push(State::Ok, text);
        }
    }
    if !paused && previous.is_some() {
        let over = |limit: Option<u64>| limit.is_some_and(|l| still > l);
        let state = if over(policy.stuck_critical) {
            Some(State::Critical)
        } else if over(policy.stuck_warning) {
            Some(State::Warning)
        } else {
            None
        };
        if let Some(state) = state {
            out.judged.push(
                state,
                format!(
                    "checkpoint has not advanced for {}",
                    tso::human_duration(still)
                ),
            );
        }
    }
    out.judged.metrics.push(Metric {
        label: "checkpoint_rate".into(),
        value: out.rate.map(crate::text::two_decimals),
        uom: "",
        warn: None,
        crit: None,
        min: Some(0.0),
        max: None,
    });
    out
}

/// A running task whose checkpoint is still its `start_ts` while the lag alerts
/// (pingcap/tidb#53047: after pause, stop and start, the advancer kept the old task's
/// pause state and skipped every tick). Every run, state file or not; the state stays
/// the lag rule's. With `--throughput` TiKV's initial-scan backlog tells which: regions
/// still queued or scanning mean a long initial scan, none on every Up store means the
/// advancer is not advancing the task.
pub fn never_advanced(
    task: &Task,
    lag: Option<u64>,
    warn: &Range,
    tikv: Option<&TikvFacts>,
    owner: Option<&OwnerFacts>,
) -> Judged {
    let mut out = Judged::default();
    let at_start = match (task.checkpoint(), task.info.as_ref()) {
        (Some((checkpoint, _)), Some(info)) => checkpoint == info.start_ts,
        _ => false,
    };
    if !at_start || task.paused() || !lag.is_some_and(|l| warn.alerts(l as f64)) {
        return out;
    }
    let pending = tikv.map_or(0.0, TikvFacts::pending_initial_scan);
    let text = if pending > 0.0 {
        format!("never advanced since start_ts: initial scan pending for {pending} regions, catching up")
    } else if tikv.is_some_and(TikvFacts::every_store_sampled) {
        let who = owner
            .and_then(|o| o.owners.first())
            .map(|a| format!(" {a}"))
            .unwrap_or_default();
        format!(
            "never advanced since start_ts with no initial scan pending: the advancer looks stuck (pingcap/tidb#53047), restart the owner TiDB{who}"
        )
    } else {
        "never advanced since start_ts: the advancer may skip the task (restart the TiDB owning it) or the initial scan is long".to_string()
    };
    out.push(State::Ok, text);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{StoreTs, TaskInfo};

    const MIN: u64 = 60_000;
    /// 2024-01-01 01:05:00 UTC.
    const NOW: u64 = 1_704_071_100_000;

    fn task(checkpoint_ms: u64, start_ms: u64) -> Task {
        Task {
            info: Some(TaskInfo {
                name: "pitr".into(),
                start_ts: tso::from_physical_ms(start_ms),
                end_ts: u64::MAX,
                storage: String::new(),
                table_filter: vec![],
                location: None,
            }),
            central_global: None,
            storage_checkpoints: vec![StoreTs {
                store_id: 1,
                ts: tso::from_physical_ms(checkpoint_ms),
            }],
            ..Task::new("pitr".into())
        }
    }

    fn seen(checkpoint_ms: u64, at_ms: u64, advanced_ms: u64) -> TaskProgress {
        TaskProgress {
            checkpoint_ts: tso::from_physical_ms(checkpoint_ms),
            seen_at_ms: at_ms,
            advanced_at_ms: advanced_ms,
        }
    }

    fn texts(p: &ProgressJudged) -> Vec<(State, String)> {
        p.judged
            .findings
            .iter()
            .map(|f| (f.state, f.text.clone()))
            .collect()
    }

    #[test]
    fn catching_up_stuck_or_never_started() {
        let warn = Range::upper(600.0);
        let policy = Policy::default();
        let start = NOW - 240 * MIN;
        // 40 min of lag, 3 min of data in the last minute: catching up at 3×.
        let t = task(NOW - 40 * MIN, start);
        let prev = seen(NOW - 43 * MIN, NOW - MIN, NOW - MIN);
        let p = judge(&t, Some(&prev), Some(2400), &warn, &policy, NOW);
        assert_eq!(p.rate, Some(3.0));
        assert_eq!(
            texts(&p),
            vec![(
                State::Ok,
                "catching up at 3×, under 10m0s in about 15m0s".to_string()
            )]
        );
        assert_eq!(p.record.unwrap().advanced_at_ms, NOW);
        assert_eq!(p.judged.metrics[0].value, Some(3.0));
        // Unchanged since 25 min: stuck; with --stuck-warning 20m, WARNING.
        let prev = seen(NOW - 40 * MIN, NOW - MIN, NOW - 25 * MIN);
        let p = judge(&t, Some(&prev), Some(2400), &warn, &policy, NOW);
        assert_eq!(p.rate, Some(0.0));
        assert_eq!(
            texts(&p),
            vec![(
                State::Ok,
                "stuck: checkpoint unchanged for 25m0s".to_string()
            )]
        );
        assert_eq!(p.record.unwrap().advanced_at_ms, NOW - 25 * MIN);
        let strict = Policy {
            stuck_warning: Some(20 * 60),
            stuck_critical: Some(30 * 60),
            ..Policy::default()
        };
        let p = judge(&t, Some(&prev), Some(2400), &warn, &strict, NOW);
        assert_eq!(
            texts(&p)[1],
            (
                State::Warning,
                "checkpoint has not advanced for 25m0s".to_string()
            )
        );
        // Not lagging, or the first run: no note, and no rate without a previous run.
        let t = task(NOW - 2 * MIN, start);
        assert!(judge(
            &t,
            Some(&seen(NOW - 3 * MIN, NOW - MIN, NOW - MIN)),
            Some(120),
            &warn,
            &policy,
            NOW
        )
        .judged
        .findings
        .is_empty());
        let p = judge(&t, None, Some(120), &warn, &policy, NOW);
        assert_eq!((p.rate, p.judged.findings.len()), (None, 0));
        assert_eq!(p.record.unwrap().advanced_at_ms, NOW);
    }

    fn tikv(pending: &[Result<f64, &str>], up_stores: usize) -> TikvFacts {
        TikvFacts {
            up_stores,
            stores: pending
                .iter()
                .enumerate()
                .map(|(i, p)| crate::throughput::StoreMetrics {
                    store_id: i as u64 + 1,
                    sample: p
                        .map(|n| crate::tikv::Sample {
                            pending_initial_scan: n,
                            ..crate::tikv::Sample::default()
                        })
                        .map_err(str::to_string),
                    rate: None,
                    fatal_increase: 0.0,
                    errors_increase: Default::default(),
                    flushes: None,
                    flush_mean_seconds: None,
                })
                .collect(),
            total_rate: None,
            notes: Vec::new(),
            sampled_at_ms: 0,
        }
    }

    #[test]
    fn never_advanced_since_start_tells_a_long_scan_from_a_stuck_advancer() {
        let warn = Range::upper(600.0);
        let start = NOW - 240 * MIN;
        let at_start = task(start, start);
        let lag = Some(14_400);
        let said = |j: Judged| -> Vec<(State, String)> {
            j.findings
                .iter()
                .map(|f| (f.state, f.text.clone()))
                .collect()
        };
        // Without --throughput: both causes are named.
        assert_eq!(
            said(never_advanced(&at_start, lag, &warn, None, None)),
            vec![(State::Ok, "never advanced since start_ts: the advancer may skip the task (restart the TiDB owning it) or the initial scan is long".to_string())]
        );
        // Regions still queued or scanning: a long initial scan.
        let scanning = tikv(&[Ok(120.0), Ok(6.0)], 2);
        assert_eq!(
            said(never_advanced(&at_start, lag, &warn, Some(&scanning), None)),
            vec![(
                State::Ok,
                "never advanced since start_ts: initial scan pending for 126 regions, catching up"
                    .to_string()
            )]
        );
        // Nothing pending on every Up store: the advancer, named when known.
        let idle = tikv(&[Ok(0.0), Ok(0.0)], 2);
        let owner = OwnerFacts {
            listing: Ok(2),
            sampled: 2,
            owners: vec!["10.0.1.5:4000".into()],
        };
        assert_eq!(
            said(never_advanced(&at_start, lag, &warn, Some(&idle), Some(&owner))),
            vec![(State::Ok, "never advanced since start_ts with no initial scan pending: the advancer looks stuck (pingcap/tidb#53047), restart the owner TiDB 10.0.1.5:4000".to_string())]
        );
        assert!(
            said(never_advanced(&at_start, lag, &warn, Some(&idle), None))[0]
                .1
                .ends_with("restart the owner TiDB")
        );
        // A store not sampled may still be scanning: no verdict on the advancer.
        let partial = tikv(&[Ok(0.0), Err("connection refused")], 2);
        assert!(
            said(never_advanced(&at_start, lag, &warn, Some(&partial), None))[0]
                .1
                .ends_with("or the initial scan is long")
        );
        // Not said: lag within the warning threshold, moved off start_ts, or paused.
        assert!(never_advanced(&at_start, Some(300), &warn, None, None)
            .findings
            .is_empty());
        let moved = task(start + MIN, start);
        assert!(never_advanced(&moved, lag, &warn, None, None)
            .findings
            .is_empty());
        let mut paused = task(start, start);
        paused.pause = Some(None);
        assert!(never_advanced(&paused, lag, &warn, None, None)
            .findings
            .is_empty());
    }
}
