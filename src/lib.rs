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
pub mod keys;
pub mod model;
pub mod pause;
pub mod pd;
pub mod proto;
pub mod range;
pub mod render;
pub mod snapshot;
pub mod state;
pub mod throughput;
pub mod tikv;
pub mod tls;
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
pub fn judge_with_pd(
    snapshot: &Snapshot,
    pd: Option<&pd::PdFacts>,
    options: &Options,
    now: SystemTime,
) -> evaluate::Verdict {
    let cluster = model::decode(snapshot, &options.selection);
    evaluate::evaluate_with_pd(cluster, pd, &options.policy, tso::unix_ms(now))
}

/// The deadline the I/O aims for: a fifth of `-t` (at most 1 s) before it, so that the
/// results gathered so far are judged and printed, even on a loaded machine, before the
/// watchdog fires at `-t` exactly.
pub fn work_budget(timeout: Duration) -> Duration {
    timeout - (timeout / 5).min(Duration::from_secs(1))
}

/// Samples every Up TiKV's `/metrics` and compares with the previous run's sample.
fn observe_tikv(
    settings: &cli::Throughput,
    tls: Option<&tls::Tls>,
    pd: Option<&pd::PdFacts>,
    cluster: &str,
    deadline: Instant,
) -> throughput::TikvFacts {
    let stores: Vec<pd::Store> = match pd.map(|p| &p.stores) {
        Some(Ok(stores)) => stores
            .iter()
            .filter(|s| s.state_name.eq_ignore_ascii_case("Up"))
            .cloned()
            .collect(),
        _ => {
            return throughput::TikvFacts {
                stores: Vec::new(),
                total_rate: None,
                notes: vec!["TiKV metrics skipped: PD did not list the stores".to_string()],
            }
        }
    };
    deadline::set_stage("reading TiKV /metrics");
    let path = throughput::state_path(&settings.state_dir, cluster);
    let mut previous = throughput::load(&path, cluster);
    let mut current = tikv::fetch_all(&stores, tls, deadline);
    let mut taken_at = tso::unix_ms(SystemTime::now());
    if previous.is_none() {
        if let Some(wait) = settings.sample {
            // Asked for: a second sample now rather than no rate until the next run.
            if Instant::now() + wait < deadline {
                let ok: Vec<(u64, tikv::Sample)> = current
                    .iter()
                    .filter_map(|(id, s)| s.as_ref().ok().map(|s| (*id, s.clone())))
                    .collect();
                previous = Some(throughput::StateFile::new(cluster, taken_at, &ok));
                std::thread::sleep(wait);
                current = tikv::fetch_all(&stores, tls, deadline);
                taken_at = tso::unix_ms(SystemTime::now());
            }
        }
    }
    let mut facts = throughput::compare(previous.as_ref(), &current, taken_at);
    let ok: Vec<(u64, tikv::Sample)> = current
        .iter()
        .filter_map(|(id, s)| s.as_ref().ok().map(|s| (*id, s.clone())))
        .collect();
    if let Err(e) = throughput::save(&path, &throughput::StateFile::new(cluster, taken_at, &ok)) {
        facts.notes.push(format!("throughput state not saved: {e}"));
    }
    facts
}

/// One whole check: read etcd and (concurrently) PD's HTTP API, decode, judge.
pub fn run(options: &Options, started: Instant) -> Outcome {
    if !options.fleet.is_empty() {
        return run_fleet(options, started);
    }
    run_until(options, started + work_budget(options.timeout))
}

/// Fleet mode: every selected cluster, at most `parallel` at once. Each cluster gets an
/// equal share of the run's budget per round of workers, so a dead or frozen cluster is
/// reported as such and cannot starve the clusters queued behind it.
pub fn run_fleet(options: &Options, started: Instant) -> Outcome {
    let deadline = started + work_budget(options.timeout);
    let clusters = &options.fleet;
    let workers = options.parallel.clamp(1, clusters.len().max(1));
    let rounds = clusters.len().div_ceil(workers).max(1) as u32;
    let share = work_budget(options.timeout) / rounds;
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: std::sync::Mutex<Vec<Option<render::ClusterResult>>> =
        std::sync::Mutex::new(vec![None; clusters.len()]);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(cluster) = clusters.get(i) else {
                    break;
                };
                let own_deadline = deadline.min(Instant::now() + share);
                let outcome = run_until(cluster, own_deadline);
                let cluster_id = match &outcome {
                    Outcome::Checked(v) => v.cluster.cluster_id,
                    _ => None,
                };
                let result = render::ClusterResult {
                    name: cluster.cluster.clone().unwrap_or_default(),
                    cluster_id,
                    outcome,
                };
                if let Ok(mut r) = results.lock() {
                    r[i] = Some(result);
                }
            });
        }
    });
    let results = results.into_inner().unwrap_or_default();
    Outcome::Fleet(results.into_iter().flatten().collect())
}

/// One cluster, all I/O bounded by `deadline`.
pub fn run_until(options: &Options, deadline: Instant) -> Outcome {
    let now = options.now.unwrap_or_else(SystemTime::now);
    let tls = options.tls.clone();
    let pd_thread = options
        .pd_api
        .clone()
        .map(|endpoints| std::thread::spawn(move || pd::fetch(&endpoints, tls.as_ref(), deadline)));
    let access = etcd::Access {
        tls: options.tls.as_ref(),
        credentials: options.credentials.as_ref(),
    };
    match etcd::read_snapshot(&options.endpoints, access, deadline) {
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
            let tikv = options.throughput.as_ref().map(|settings| {
                let cluster = snapshot
                    .cluster_id
                    .as_deref()
                    .and_then(tso::decode_u64be)
                    .map(|id| id.to_string())
                    .unwrap_or_else(|| options.endpoints.join(","));
                observe_tikv(
                    settings,
                    options.tls.as_ref(),
                    pd.as_ref(),
                    &cluster,
                    deadline,
                )
            });
            deadline::set_stage("evaluating");
            let cluster = model::decode(&snapshot, &options.selection);
            let observed = evaluate::Observed { pd, tikv };
            let mut verdict =
                evaluate::evaluate_observed(cluster, &observed, &options.policy, tso::unix_ms(now));
            for notice in &options.notices {
                verdict.push_finding(State::Warning, notice.clone());
            }
            Outcome::Checked(Box::new(verdict))
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
