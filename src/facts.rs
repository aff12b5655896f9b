//! What one cluster's collection observed: every fact the rules judge, read before any
//! rule runs. Failures are facts too: an etcd that could not be read, a PD that did not
//! answer, a storage that refused.

use crate::model::Cluster;
use crate::pd::PdFacts;
use crate::snapshot::{FetchError, Snapshot};
use crate::statefile::Loaded;
use crate::storage::StorageFacts;
use crate::throughput::TikvFacts;
use crate::tidb::OwnerFacts;

/// What one cluster's I/O returned.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    /// PD's etcd: the snapshot, or why it could not be read.
    pub etcd: Result<Snapshot, FetchError>,
    /// The snapshot decoded into tasks (empty when etcd could not be read).
    pub cluster: Cluster,
    /// PD's HTTP API; `None` when not asked (`--no-pd-api`) or etcd failed.
    pub pd: Option<PdFacts>,
    /// TiKV `/metrics`; `None` without `--throughput` or when etcd failed.
    pub tikv: Option<TikvFacts>,
    /// Which TiDB runs the advancer; `None` without `--throughput` or when etcd failed.
    pub tidb: Option<OwnerFacts>,
    /// The backup storage (`--storage`); `None` when off or etcd failed.
    pub storage: Option<StorageFacts>,
    /// The state file as this run found it (`None` with `--no-state` or `--now`), or why
    /// no state is kept this run (the state directory refused, or none usable).
    pub state: Option<Result<Loaded, String>>,
    /// Set-up warnings found while resolving the settings.
    pub notices: Vec<String>,
}

impl Default for Observed {
    /// etcd answered (what it said is in `cluster`); nothing else was asked.
    fn default() -> Observed {
        Observed {
            etcd: Ok(Snapshot::default()),
            cluster: Cluster::default(),
            pd: None,
            tikv: None,
            tidb: None,
            storage: None,
            state: None,
            notices: Vec::new(),
        }
    }
}

impl Observed {
    /// etcd could not be read: nothing else was asked.
    pub fn failed(error: FetchError, notices: Vec<String>) -> Observed {
        Observed {
            etcd: Err(error),
            notices,
            ..Observed::default()
        }
    }
}
