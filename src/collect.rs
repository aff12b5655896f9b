//! All of a cluster's I/O, bounded by one deadline: PD's etcd (one consistent snapshot),
//! PD's HTTP API (concurrently), with `--throughput` every Up TiKV's `/metrics`, and with
//! `--storage` each task's backup storage.
//! Failures are data here; judging turns them into findings.

use crate::etcd::{self, FetchError};
use crate::guard;
use crate::keys;
use crate::model::Cluster;
use crate::pd::{self, PdFacts};
use crate::settings::{ClusterPlan, StoragePlan, Throughput};
use crate::snapshot::Snapshot;
use crate::storage::{self, Credentials, StorageFacts, StorageRequest};
use crate::throughput::{self, TikvFacts};
use crate::tidb::{self, OwnerFacts};
use crate::tikv;
use crate::tls::Tls;
use crate::tso;
use std::time::{Instant, SystemTime};

/// What one cluster's I/O returned.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    /// PD's etcd: the snapshot, or why it could not be read.
    pub etcd: Result<Snapshot, FetchError>,
    /// PD's HTTP API; `None` when not asked (`--no-pd-api`) or etcd failed.
    pub pd: Option<PdFacts>,
    /// TiKV `/metrics`; `None` without `--throughput` or when etcd failed.
    pub tikv: Option<TikvFacts>,
    /// Which TiDB runs the advancer; `None` without `--throughput` or when etcd failed.
    pub tidb: Option<OwnerFacts>,
    /// The backup storage (`--storage`); `None` when off or etcd failed.
    pub storage: Option<StorageFacts>,
    /// The previous run's task checkpoints (`None` with `--no-state` or `--now`).
    pub progress: Option<Progress>,
    /// Set-up warnings found while resolving the settings.
    pub notices: Vec<String>,
}

/// Where the run keeps its state, and what the previous run left there.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub path: std::path::PathBuf,
    /// The key the file is written under (PD's cluster id, else the endpoints).
    pub cluster: String,
    pub before: std::collections::BTreeMap<String, throughput::TaskProgress>,
}

impl Default for Observed {
    /// etcd answered (what it said is in the decoded cluster); nothing else was asked.
    fn default() -> Observed {
        Observed {
            etcd: Ok(Snapshot::default()),
            pd: None,
            tikv: None,
            tidb: None,
            storage: None,
            progress: None,
            notices: Vec::new(),
        }
    }
}

/// Reads everything `plan` asks for before `deadline`.
pub fn collect(plan: &ClusterPlan, deadline: Instant) -> Observed {
    let tls = plan.tls.clone();
    let pd_thread = plan
        .pd_api
        .clone()
        .map(|endpoints| std::thread::spawn(move || pd::fetch(&endpoints, tls.as_ref(), deadline)));
    let access = etcd::Access {
        tls: plan.tls.as_ref(),
        credentials: plan.credentials.as_ref(),
        tidb_servers: plan.throughput.is_some(),
    };
    let snapshot = match etcd::read_snapshot(&plan.endpoints, access, deadline) {
        Ok(snapshot) => snapshot,
        Err(e) => {
            return Observed {
                etcd: Err(e),
                pd: None,
                tikv: None,
                tidb: None,
                storage: None,
                progress: None,
                notices: plan.notices.clone(),
            }
        }
    };
    guard::set_stage("reading PD's HTTP API");
    // The fetch is bounded by the same deadline, so joining cannot hang past it.
    let pd = pd_thread.map(|t| {
        t.join().unwrap_or_else(|_| PdFacts {
            endpoint: String::new(),
            gc: Err("PD HTTP request failed internally".into()),
            stores: Err("PD HTTP request failed internally".into()),
        })
    });
    // The state file is per cluster: PD's cluster id, else the endpoints.
    let cluster = snapshot
        .cluster_id()
        .map(|id| id.to_string())
        .unwrap_or_else(|| plan.endpoints.join(","));
    let progress = plan.state_dir.as_ref().map(|dir| {
        let path = throughput::state_path(dir, &cluster);
        let before = throughput::load(&path, &cluster)
            .map(|s| s.tasks)
            .unwrap_or_default();
        Progress {
            path,
            cluster: cluster.clone(),
            before,
        }
    });
    // The TiDBs are asked while the TiKVs are sampled (which may wait between samples).
    let (tikv, tidb) = match plan.throughput.as_ref() {
        None => (None, None),
        Some(settings) => {
            let servers = tidb::servers(&snapshot);
            std::thread::scope(|scope| {
                let owner = scope.spawn(|| tidb::find_owner(&servers, plan.tls.as_ref(), deadline));
                let tikv =
                    observe_tikv(settings, plan.tls.as_ref(), pd.as_ref(), &cluster, deadline);
                let owner = owner.join().unwrap_or_else(|_| OwnerFacts {
                    listing: Err("asking the TiDBs failed internally".into()),
                    ..OwnerFacts::default()
                });
                (Some(tikv), Some(owner))
            })
        }
    };
    Observed {
        etcd: Ok(snapshot),
        pd,
        tikv,
        tidb,
        storage: None,
        progress,
        notices: plan.notices.clone(),
    }
}

/// `--storage`: each decoded task's backup storage and the full backups, before
/// `deadline` (after etcd, whose task info says where the storage is).
pub fn storage(
    plan: &ClusterPlan,
    cluster: &Cluster,
    snapshot: &Snapshot,
    deadline: Instant,
) -> Option<StorageFacts> {
    let settings = plan.storage.as_ref()?;
    guard::set_stage("reading the backup storage");
    let requests = storage_requests(cluster, snapshot, settings);
    Some(storage::read_all(
        &requests,
        &settings.full_backups,
        &settings.full_backup_roots,
        deadline,
    ))
}

/// Each task whose storage is read, where, and with whose credentials. A task whose info
/// does not decode has no storage to read (its problem is judged already).
fn storage_requests(
    cluster: &Cluster,
    snapshot: &Snapshot,
    settings: &StoragePlan,
) -> Vec<StorageRequest> {
    let mut out = Vec::new();
    for task in cluster.tasks.iter().filter(|t| settings.wants(&t.name)) {
        let own = settings.per_task.get(&task.name);
        let location = own
            .and_then(|o| o.url.clone())
            .or_else(|| task.info.as_ref().and_then(|i| i.location.clone()));
        let Some(location) = location else {
            continue;
        };
        let location = match own {
            Some(o) => location.reached_by(
                o.endpoint.as_deref(),
                o.region.as_deref(),
                o.force_path_style,
            ),
            None => location,
        };
        let credentials = match own.and_then(|o| o.credentials.clone()) {
            Some(files) => files,
            None if settings.task_credentials => {
                // The secrets are decoded from the raw value, and only on this opt-in.
                let key = [keys::INFO, task.name.as_bytes()].concat();
                snapshot
                    .info
                    .iter()
                    .find(|kv| kv.key == key)
                    .map_or(Credentials::Host, |kv| {
                        Credentials::from_task_info(&kv.value)
                    })
            }
            None => Credentials::Host,
        };
        out.push(StorageRequest {
            task: task.name.clone(),
            location,
            credentials,
            // The freshness listing starts from the newest etcd storage checkpoint, so it
            // need not wait for the checkpoint files.
            checkpoint: task.storage_checkpoints.iter().map(|s| s.ts).max(),
        });
    }
    out
}

/// Samples every Up TiKV's `/metrics` and compares with the previous run's sample.
fn observe_tikv(
    settings: &Throughput,
    tls: Option<&Tls>,
    pd: Option<&PdFacts>,
    cluster: &str,
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
            }
        }
    };
    guard::set_stage("reading TiKV /metrics");
    let path = throughput::state_path(&settings.state_dir, cluster);
    let mut previous = throughput::load(&path, cluster);
    // The task checkpoints in the same file are the runner's to update: keep them.
    let kept_tasks = previous
        .as_ref()
        .map(|p| p.tasks.clone())
        .unwrap_or_default();
    let mut current = tikv::fetch_all(&stores, tls, deadline);
    let mut taken_at = tso::unix_ms(SystemTime::now());
    if previous.is_none() {
        if let Some(wait) = settings.sample {
            // Asked for: a second sample now rather than no rate until the next run.
            if Instant::now() + wait < deadline {
                previous = Some(throughput::StateFile::new(
                    cluster,
                    taken_at,
                    &throughput::successful(&current),
                ));
                std::thread::sleep(wait);
                current = tikv::fetch_all(&stores, tls, deadline);
                taken_at = tso::unix_ms(SystemTime::now());
            }
        }
    }
    let mut facts = throughput::compare(previous.as_ref(), &current, taken_at);
    let mut state =
        throughput::StateFile::new(cluster, taken_at, &throughput::successful(&current));
    state.tasks = kept_tasks;
    if let Err(e) = throughput::save(&path, &state) {
        facts.notes.push(format!("throughput state not saved: {e}"));
    }
    facts
}
