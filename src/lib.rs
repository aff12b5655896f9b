//! check_tidb_log_backup: is TiDB's log backup (PITR) healthy?
//!
//! Data flows one way: fetch ([`etcd`]) → [`snapshot`] (bytes) → [`model`] (decoded task
//! state) → [`evaluate`] (rules → state and reasons) → [`render`] (nagios, ndjson, table).
//! Only `etcd` and `deadline` do I/O; everything else is a pure function.

pub mod cli;
pub mod config;
pub mod deadline;
pub mod etcd;
pub mod evaluate;
pub mod fixture;
pub mod keys;
pub mod model;
pub mod pd;
pub mod pause;
pub mod proto;
pub mod range;
pub mod render;
pub mod snapshot;
pub mod state;
pub mod tso;

use cli::Options;
use render::Outcome;
use snapshot::Snapshot;
use state::State;
use std::time::{Duration, Instant, SystemTime};

/// Decodes and judges a snapshot: the pure core of a run (etcd facts only).
pub fn judge(snapshot: &Snapshot, options: &Options, now: SystemTime) -> evaluate::Verdict {
    judge_with_pd(snapshot, None, options, now)
}

/// Decodes and judges a snapshot together with what PD's HTTP API said.
pub fn judge_with_pd(snapshot: &Snapshot, pd: Option<&pd::PdFacts>, options: &Options, now: SystemTime) -> evaluate::Verdict {
    let cluster = model::decode(snapshot, &options.selection);
    evaluate::evaluate_with_pd(cluster, pd, &options.policy, tso::unix_ms(now))
}

/// The deadline the work itself aims for: a little before `-t`, so that the clean
/// "timed out" result normally wins over the watchdog, which fires at `-t` exactly.
pub fn work_budget(timeout: Duration) -> Duration {
    timeout - (timeout / 10).min(Duration::from_millis(250))
}

/// One whole check: read etcd and (concurrently) PD's HTTP API, decode, judge.
pub fn run(options: &Options, started: Instant) -> Outcome {
    let now = options.now.unwrap_or_else(SystemTime::now);
    let deadline = started + work_budget(options.timeout);
    let pd_thread = options.pd_api.clone().map(|endpoints| std::thread::spawn(move || pd::fetch(&endpoints, deadline)));
    match etcd::read_snapshot(&options.endpoints, deadline) {
        Ok(snapshot) => {
            deadline::set_stage("reading PD's HTTP API");
            // The fetch is bounded by the same deadline, so joining cannot hang past it.
            let pd = pd_thread.map(|t| {
                t.join().unwrap_or_else(|_| pd::PdFacts {
                    endpoint: String::new(),
                    gc: Err("PD HTTP request failed internally".into()),
                    stores: Err("PD HTTP request failed internally".into()),
                })
            });
            deadline::set_stage("evaluating");
            Outcome::Checked(judge_with_pd(&snapshot, pd.as_ref(), options, now))
        }
        Err(e) => Outcome::Failed {
            state: if e.timed_out {
                State::Unknown
            } else {
                options.unreachable_state
            },
            message: if e.timed_out {
                format!(
                    "timed out after {}: {}",
                    humantime::format_duration(options.timeout),
                    e.message
                )
            } else {
                e.message
            },
            now_ms: tso::unix_ms(now),
        },
    }
}
