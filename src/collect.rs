//! All of a cluster's I/O, bounded by one deadline: PD's etcd (one consistent snapshot),
//! PD's HTTP API (concurrently), with `--throughput` every Up TiKV's `/metrics`, and with
//! `--storage` each task's backup storage.
//! Failures are data here; judging turns them into findings.

use crate::etcd::{self, FetchError};
use crate::guard;
use crate::keys;
use crate::pd::{self, PdFacts};
use crate::proto;
use crate::settings::{ClusterPlan, StoragePlan, Throughput};
use crate::snapshot::Snapshot;
use crate::storage::{self, Credentials, Location, StorageFacts, StorageRequest};
use crate::throughput::{self, TikvFacts};
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
    };
    let snapshot = match etcd::read_snapshot(&plan.endpoints, access, deadline) {
        Ok(snapshot) => snapshot,
        Err(e) => {
            return Observed {
                etcd: Err(e),
                pd: None,
                tikv: None,
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
    let tikv = plan
        .throughput
        .as_ref()
        .map(|settings| observe_tikv(settings, plan.tls.as_ref(), pd.as_ref(), &cluster, deadline));
    let storage = plan.storage.as_ref().map(|settings| {
        guard::set_stage("reading the backup storage");
        let requests = storage_requests(&snapshot, plan, settings);
        storage::read_all(
            &requests,
            &settings.full_backups,
            &settings.full_backup_roots,
            deadline,
        )
    });
    Observed {
        etcd: Ok(snapshot),
        pd,
        tikv,
        storage,
        progress,
        notices: plan.notices.clone(),
    }
}

/// Each selected task whose storage is read, where, and with whose credentials. A task
/// whose info does not decode has no storage to read (its problem is judged already).
fn storage_requests(
    snapshot: &Snapshot,
    plan: &ClusterPlan,
    settings: &StoragePlan,
) -> Vec<StorageRequest> {
    let mut out = Vec::new();
    for kv in &snapshot.info {
        let name = String::from_utf8_lossy(&kv.key[keys::INFO.len()..]).into_owned();
        if !plan.selection.wants(&name) || !settings.wants(&name) {
            continue;
        }
        let Ok(info) = proto::decode_task_info(&kv.value) else {
            continue;
        };
        let own = settings.per_task.get(&name);
        let location = own
            .and_then(|o| o.url.clone())
            .or_else(|| Location::from_backend(info.storage.as_ref()));
        let Some(mut location) = location else {
            continue;
        };
        if let (
            Some(o),
            Location::S3 {
                endpoint,
                region,
                force_path_style,
                ..
            },
        ) = (own, &mut location)
        {
            if let Some(e) = &o.endpoint {
                *endpoint = e.clone();
            }
            if let Some(r) = &o.region {
                *region = r.clone();
            }
            if let Some(f) = o.force_path_style {
                *force_path_style = f;
            }
        }
        if let (Some(Some(e)), Location::Gcs { endpoint, .. } | Location::Azure { endpoint, .. }) =
            (own.map(|o| &o.endpoint), &mut location)
        {
            *endpoint = e.clone();
        }
        let credentials = match own.and_then(|o| o.credentials.clone()) {
            Some(files) => files,
            None if settings.task_credentials => Credentials::from_task_info(&kv.value),
            None => Credentials::Host,
        };
        // The newest etcd storage checkpoint of the task: where the freshness listing starts
        // (so it need not wait for the checkpoint files).
        let prefix = keys::task_prefix(keys::STORAGE_CHECKPOINT, name.as_bytes());
        let checkpoint = snapshot
            .storage_checkpoint
            .iter()
            .filter(|kv| kv.key.starts_with(&prefix))
            .filter_map(|kv| tso::decode_u64be(&kv.value))
            .max();
        out.push(StorageRequest {
            task: name,
            location,
            credentials,
            checkpoint,
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
                stores: Vec::new(),
                total_rate: None,
                notes: vec!["TiKV metrics skipped: PD did not list the stores".to_string()],
            }
        }
    };
    guard::set_stage("reading TiKV /metrics");
    let path = throughput::state_path(&settings.state_dir, cluster);
    let mut previous = throughput::load(&path, cluster);
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
    // The task checkpoints in the same file are the runner's to update: keep them.
    state.tasks = throughput::load(&path, cluster)
        .map(|s| s.tasks)
        .unwrap_or_default();
    if let Err(e) = throughput::save(&path, &state) {
        facts.notes.push(format!("throughput state not saved: {e}"));
    }
    facts
}
