//! All of a cluster's I/O, bounded by one deadline, in one pass: PD's etcd (one
//! consistent snapshot, decoded at once), PD's HTTP API (concurrently), the state file
//! (read once), with `--throughput` every Up TiKV's `/metrics` and the TiDBs' owner
//! metric, and with `--storage` each task's backup storage. Failures are data here;
//! judging turns them into findings.

use crate::deadline;
use crate::etcd;
use crate::facts::Observed;
use crate::model::{self, Cluster};
use crate::pd::{self, PdFacts};
use crate::settings::{ClusterPlan, Throughput};
use crate::snapshot::{FetchError, Snapshot};
use crate::statefile::VerifyState;
use crate::statefile::{self, StateFile};
use crate::storage::{self, StorageFacts};
use crate::throughput::{self, TikvFacts};
use crate::tidb::{self, OwnerFacts};
use crate::tikv;
use crate::tls::Tls;
use crate::tso;
use std::collections::BTreeMap;
use std::time::{Instant, SystemTime};

/// Reads everything `plan` asks for before `deadline`.
pub fn collect(plan: &ClusterPlan, deadline: Instant) -> Observed {
    let tls = plan.tls.clone();
    let pd_thread = plan
        .pd_api
        .clone()
        .map(|endpoints| std::thread::spawn(move || pd::fetch(&endpoints, tls.as_ref(), deadline)));
    let (snapshot, cluster) = match read_tasks(plan, plan.throughput.is_some(), deadline) {
        Ok(read) => read,
        Err(e) => return Observed::failed(e, plan.notices.clone()),
    };
    deadline::set_stage("reading PD's HTTP API");
    // The fetch is bounded by the same deadline, so joining cannot hang past it.
    let pd = pd_thread.map(|t| {
        t.join().unwrap_or_else(|_| PdFacts {
            endpoint: String::new(),
            gc: Err("PD HTTP request failed internally".into()),
            stores: Err("PD HTTP request failed internally".into()),
            keyspace_gc: Err("PD HTTP request failed internally".into()),
        })
    });
    // The state file is per cluster: PD's cluster id, else the endpoints.
    let state = plan.state_dir.as_ref().map(|location| {
        let key = snapshot
            .cluster_id()
            .map(|id| id.to_string())
            .unwrap_or_else(|| plan.endpoints.join(","));
        statefile::load(location, &key)
    });
    let previous = state
        .as_ref()
        .and_then(|s| s.as_ref().ok())
        .and_then(|s| s.previous.as_ref());
    // The storage is read while the TiKVs are sampled (which may wait between samples)
    // and the TiDBs asked.
    let (tikv, tidb, storage) = std::thread::scope(|scope| {
        let verified = state
            .as_ref()
            .and_then(|s| s.as_ref().ok())
            .and_then(|s| s.previous.as_ref())
            .map(|p| &p.verify);
        let (cluster, snapshot) = (&cluster, &snapshot);
        let storage =
            scope.spawn(move || read_storage(plan, cluster, snapshot, verified, deadline));
        let (tikv, tidb) = match plan.throughput.as_ref() {
            None => (None, None),
            Some(settings) => {
                let servers = tidb::servers(snapshot);
                let owner =
                    scope.spawn(move || tidb::find_owner(&servers, plan.tls.as_ref(), deadline));
                let tikv =
                    sample_tikv(settings, plan.tls.as_ref(), pd.as_ref(), previous, deadline);
                let owner = owner.join().unwrap_or_else(|_| OwnerFacts {
                    listing: Err("asking the TiDBs failed internally".into()),
                    ..OwnerFacts::default()
                });
                (Some(tikv), Some(owner))
            }
        };
        // A panic ends the run in the panic hook before a join could see it.
        let storage = storage.join().unwrap_or(None);
        (tikv, tidb, storage)
    });
    Observed {
        etcd: Ok(snapshot),
        cluster,
        pd,
        tikv,
        tidb,
        storage,
        state,
        notices: plan.notices.clone(),
    }
}

/// `--list-tasks`: the snapshot and its tasks, nothing else.
pub fn collect_tasks(plan: &ClusterPlan, deadline: Instant) -> Observed {
    match read_tasks(plan, false, deadline) {
        Ok((snapshot, cluster)) => Observed {
            etcd: Ok(snapshot),
            cluster,
            notices: plan.notices.clone(),
            ..Observed::default()
        },
        Err(e) => Observed::failed(e, plan.notices.clone()),
    }
}

/// The etcd snapshot, decoded (decoding never fails: bad keys become problems).
fn read_tasks(
    plan: &ClusterPlan,
    tidb_servers: bool,
    deadline: Instant,
) -> Result<(Snapshot, Cluster), FetchError> {
    let access = etcd::Access {
        tls: plan.tls.as_ref(),
        login: plan.login.as_ref(),
        tidb_servers,
    };
    let snapshot = etcd::read_snapshot(&plan.endpoints, access, deadline)?;
    let cluster = model::decode(&snapshot, &plan.selection);
    Ok((snapshot, cluster))
}

/// `--storage`: each decoded task's backup storage and the full backups.
fn read_storage(
    plan: &ClusterPlan,
    cluster: &Cluster,
    snapshot: &Snapshot,
    verified: Option<&BTreeMap<String, VerifyState>>,
    deadline: Instant,
) -> Option<StorageFacts> {
    let settings = plan.storage.as_ref()?;
    deadline::set_stage("reading the backup storage");
    let requests = storage::requests(&cluster.tasks, snapshot, settings, verified);
    Some(storage::read_all(
        &requests,
        &settings.full_backups,
        &settings.full_backup_roots,
        settings.max_object,
        deadline,
    ))
}

/// Samples every Up TiKV's `/metrics` and compares with the previous run's sample.
fn sample_tikv(
    settings: &Throughput,
    tls: Option<&Tls>,
    pd: Option<&PdFacts>,
    previous: Option<&StateFile>,
    deadline: Instant,
) -> TikvFacts {
    let stores: Vec<pd::Store> = match pd.map(|p| &p.stores) {
        Some(Ok(stores)) => stores
            .iter()
            .filter(|s| s.state_name.eq_ignore_ascii_case("Up"))
            .cloned()
            .collect(),
        _ => {
            return TikvFacts {
                up_stores: 0,
                stores: Vec::new(),
                total_rate: None,
                notes: vec!["TiKV metrics skipped: PD did not list the stores".to_string()],
                sampled_at_ms: 0,
            }
        }
    };
    deadline::set_stage("reading TiKV /metrics");
    let mut current = tikv::fetch_all(&stores, tls, deadline);
    let mut taken_at = tso::unix_ms(SystemTime::now());
    let mut first = None;
    if previous.is_none() {
        if let Some(wait) = settings.sample {
            // Asked for: a second sample now rather than no rate until the next run.
            if Instant::now() + wait < deadline {
                let mut file = StateFile::new("", taken_at);
                file.stores = throughput::stored(
                    current
                        .iter()
                        .filter_map(|(id, s)| s.as_ref().ok().map(|s| (*id, s))),
                );
                first = Some(file);
                std::thread::sleep(wait);
                current = tikv::fetch_all(&stores, tls, deadline);
                taken_at = tso::unix_ms(SystemTime::now());
            }
        }
    }
    throughput::compare(previous.or(first.as_ref()), &current, taken_at)
}
