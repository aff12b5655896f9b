//! `--storage` settings: which tasks' storage is read, how it is reached and with whose
//! credentials, and the full backups that can be PITR bases.

use super::layer::Layer;
use super::values::{range, state};
use crate::judge::policy::{StoragePolicy, STORAGE_UNREACHABLE_STATE};
use crate::storage::{Credentials, Location};
use crate::tls::Secret;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// `[tasks.<name>] storage = false`, or `[tasks.<name>.storage]` with overrides.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum TaskStorage {
    Enabled(bool),
    Table(Box<StorageOverride>),
}

/// How the monitoring host reaches one task's storage, when not as the task info says.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StorageOverride {
    pub enabled: Option<bool>,
    /// Another URL for the same storage (BR's syntax).
    pub url: Option<String>,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub force_path_style: Option<bool>,
    pub access_key_id_file: Option<PathBuf>,
    pub secret_access_key_file: Option<PathBuf>,
    pub google_service_account_file: Option<PathBuf>,
    pub azure_account: Option<String>,
    pub azure_key_file: Option<PathBuf>,
    pub azure_sas_file: Option<PathBuf>,
}

/// What `--storage` reads, per cluster.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoragePlan {
    /// `--storage` / `storage = true`: every selected task unless it says otherwise.
    pub all: bool,
    pub per_task: BTreeMap<String, TaskStoragePlan>,
    /// `storage_credentials = "task"`: use the credentials the task info holds.
    pub task_credentials: bool,
    pub full_backups: Vec<Location>,
    pub full_backup_roots: Vec<Location>,
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
    pub credentials: Option<Credentials>,
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

fn secret(path: &Option<PathBuf>, what: &str) -> Result<Option<Secret>, String> {
    path.as_ref()
        .map(|p| {
            std::fs::read_to_string(p)
                .map(|t| Secret(t.trim().to_string()))
                .map_err(|e| format!("cannot read {what} {}: {e}", p.display()))
        })
        .transpose()
}

fn task_plan(name: &str, o: &StorageOverride) -> Result<TaskStoragePlan, String> {
    let at = |what: &str| format!("tasks.{name}.storage.{what}");
    let files = [
        &o.access_key_id_file,
        &o.secret_access_key_file,
        &o.google_service_account_file,
        &o.azure_key_file,
        &o.azure_sas_file,
    ];
    let credentials = if files.iter().any(|f| f.is_some()) {
        Some(Credentials::Files {
            access_key_id: secret(&o.access_key_id_file, &at("access_key_id_file"))?,
            secret_access_key: secret(&o.secret_access_key_file, &at("secret_access_key_file"))?,
            google_service_account: o
                .google_service_account_file
                .as_ref()
                .map(|p| p.display().to_string()),
            azure_key: secret(&o.azure_key_file, &at("azure_key_file"))?,
            azure_sas: secret(&o.azure_sas_file, &at("azure_sas_file"))?,
        })
    } else {
        None
    };
    let url = o
        .url
        .as_deref()
        .map(Location::parse)
        .transpose()
        .map_err(|e| format!("{}: {e}", at("url")))?;
    let url = match (url, &o.azure_account) {
        (
            Some(Location::Azure {
                container,
                prefix,
                endpoint,
                ..
            }),
            Some(account),
        ) => Some(Location::Azure {
            container,
            prefix,
            endpoint,
            account: account.clone(),
        }),
        (url, _) => url,
    };
    Ok(TaskStoragePlan {
        enabled: o.enabled,
        url,
        endpoint: o.endpoint.clone(),
        region: o.region.clone(),
        force_path_style: o.force_path_style,
        credentials,
    })
}

fn locations(urls: &Option<Vec<String>>, what: &str) -> Result<Vec<Location>, String> {
    urls.iter()
        .flatten()
        .map(|u| Location::parse(u).map_err(|e| format!("--{what}: {e}")))
        .collect()
}

fn optional_range(
    value: &Option<String>,
    what: &str,
) -> Result<Option<crate::range::Range>, String> {
    value.as_deref().map(|t| range(t, what)).transpose()
}

/// The storage part of one merged layer: the plan (`None` when nothing is read) and the
/// thresholds.
pub(super) fn build(layer: &Layer) -> Result<(Option<StoragePlan>, StoragePolicy), String> {
    let policy = StoragePolicy {
        unreachable_state: match &layer.storage_unreachable_state {
            Some(text) => state(text, "storage-unreachable-state")?,
            None => STORAGE_UNREACHABLE_STATE,
        },
        window_warning: optional_range(&layer.window_warning, "window-warning")?,
        window_critical: optional_range(&layer.window_critical, "window-critical")?,
        flush_age_warning: optional_range(&layer.flush_age_warning, "flush-age-warning")?,
        flush_age_critical: optional_range(&layer.flush_age_critical, "flush-age-critical")?,
        full_age_warning: optional_range(&layer.full_age_warning, "full-age-warning")?,
        full_age_critical: optional_range(&layer.full_age_critical, "full-age-critical")?,
    };
    let task_credentials = match layer.storage_credentials.as_deref() {
        None | Some("host") => false,
        Some("task") => true,
        Some(other) => {
            return Err(format!(
                "invalid storage_credentials '{other}' (want host or task)"
            ))
        }
    };
    let mut per_task = BTreeMap::new();
    for (name, o) in &layer.tasks {
        match &o.storage {
            None => {}
            Some(TaskStorage::Enabled(on)) => {
                per_task.insert(
                    name.clone(),
                    TaskStoragePlan {
                        enabled: Some(*on),
                        ..TaskStoragePlan::default()
                    },
                );
            }
            Some(TaskStorage::Table(o)) => {
                per_task.insert(name.clone(), task_plan(name, o)?);
            }
        }
    }
    let plan = StoragePlan {
        all: layer.storage == Some(true),
        per_task,
        task_credentials,
        full_backups: locations(&layer.full_backup, "full-backup")?,
        full_backup_roots: locations(&layer.full_backup_root, "full-backup-root")?,
    };
    let any = plan.all || plan.per_task.values().any(|t| t.enabled == Some(true));
    Ok((any.then_some(plan), policy))
}
