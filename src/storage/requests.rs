//! Each task whose storage is read: where (the task info's location, or the operator's
//! override), with whose credentials, and where the freshness listing starts.

use super::credentials::StorageCredentials;
use super::plan::StoragePlan;
use super::trust::{contact, Contact};
use crate::keys;
use crate::location::Location;
use crate::model::Task;
use crate::snapshot::Snapshot;
use crate::statefile::VerifyState;
use std::collections::BTreeMap;

/// One task's storage to read.
#[derive(Debug, Clone, PartialEq)]
pub struct StorageRequest {
    pub task: String,
    pub location: Location,
    pub credentials: StorageCredentials,
    /// The etcd checkpoint: the freshness listing starts [`super::FLUSH_WINDOW_MS`]
    /// before it.
    pub checkpoint: Option<u64>,
    /// Whether it may be contacted at all (`trust.rs`).
    pub contact: Contact,
    /// `--verify`: where the last run left off, and the requests this run may spend.
    pub verify: Option<VerifyRequest>,
}

/// `--verify`'s share of one task's reading.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyRequest {
    pub from: VerifyState,
    pub budget: u32,
    /// `--verify-lengths`.
    pub whole_only: bool,
}

/// The requests for the decoded `tasks` that `plan` selects. A task whose info does not
/// decode has no storage to read (its problem is judged already). `verified`: each task's
/// `--verify` progress from the state file (`None`: no state kept).
pub fn requests(
    tasks: &[Task],
    snapshot: &Snapshot,
    plan: &StoragePlan,
    verified: Option<&BTreeMap<String, VerifyState>>,
) -> Vec<StorageRequest> {
    let mut out = Vec::new();
    for task in tasks.iter().filter(|t| plan.wants(&t.name)) {
        let own = plan.per_task.get(&task.name);
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
        // The operator's own config names where to read: the task info does not.
        let operator_chosen = own.is_some_and(|o| o.url.is_some() || o.endpoint.is_some());
        let credentials = match own.and_then(|o| o.credentials.clone()) {
            Some(files) => files,
            // The task's keys go only to the endpoint its own info names.
            None if plan.task_credentials && !operator_chosen => {
                // The secrets are decoded from the raw value, and only on this opt-in.
                let key = [keys::INFO, task.name.as_bytes()].concat();
                snapshot
                    .info
                    .iter()
                    .find(|kv| kv.key == key)
                    .map_or(StorageCredentials::Host, |kv| {
                        StorageCredentials::from_task_info(&kv.value)
                    })
            }
            None => StorageCredentials::Host,
        };
        out.push(StorageRequest {
            task: task.name.clone(),
            credentials,
            // The freshness listing starts from the newest etcd storage checkpoint, so it
            // need not wait for the checkpoint files.
            checkpoint: task.storage_checkpoints.iter().map(|s| s.ts).max(),
            contact: contact(&location, operator_chosen, &plan.allowed_endpoints),
            verify: plan.verify_budget.map(|budget| VerifyRequest {
                from: verified
                    .and_then(|v| v.get(&task.name))
                    .cloned()
                    .unwrap_or_default(),
                budget,
                whole_only: plan.verify_lengths,
            }),
            location,
        });
    }
    out
}
