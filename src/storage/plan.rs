//! What `--storage` reads, per cluster, as the settings resolved it.

use super::credentials::StorageCredentials;
use super::trust::AllowedEndpoint;
use crate::location::Location;
use std::collections::BTreeMap;

/// What `--storage` reads, per cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct StoragePlan {
    /// `--storage` / `storage = true`: every selected task unless it says otherwise.
    pub all: bool,
    pub per_task: BTreeMap<String, TaskStoragePlan>,
    /// `storage_credentials = "task"`: use the credentials the task info holds.
    pub task_credentials: bool,
    pub full_backups: Vec<Location>,
    pub full_backup_roots: Vec<Location>,
    /// `--allow-storage-endpoint`: endpoints besides the providers' that a task's info may
    /// name and that get the host's credentials.
    pub allowed_endpoints: Vec<AllowedEndpoint>,
    /// `--storage-max-object`: the most bytes one read holds.
    pub max_object: u64,
    /// `--verify`: the requests each task's verification may spend per run
    /// (`--verify-budget`); `None` without `--verify`.
    pub verify_budget: Option<u32>,
    /// `--verify-lengths`: every meta read whole, none proven by name.
    pub verify_lengths: bool,
}

/// One task's storage settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskStoragePlan {
    pub enabled: Option<bool>,
    pub url: Option<Location>,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub force_path_style: Option<bool>,
    /// Credentials from files, when any are named.
    pub credentials: Option<StorageCredentials>,
}

impl Default for StoragePlan {
    fn default() -> StoragePlan {
        StoragePlan {
            all: false,
            per_task: BTreeMap::new(),
            task_credentials: false,
            full_backups: Vec::new(),
            full_backup_roots: Vec::new(),
            allowed_endpoints: Vec::new(),
            max_object: super::MAX_OBJECT,
            verify_budget: None,
            verify_lengths: false,
        }
    }
}

impl StoragePlan {
    /// Whether `task`'s storage is read.
    pub fn wants(&self, task: &str) -> bool {
        self.per_task
            .get(task)
            .and_then(|t| t.enabled)
            .unwrap_or(self.all)
    }
}
