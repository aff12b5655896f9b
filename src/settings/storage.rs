//! `--storage` settings: which tasks' storage is read, how it is reached and with whose
//! credentials, and the full backups that can be PITR bases.

use super::layer::{Layer, StorageOverride, TaskStorage};
use super::values::{parse_seconds, parse_size, range, state};
use crate::judge::policy::{
    StoragePolicy, FULL_INCOMPLETE_WARNING, STORAGE_LOCK_STALE, STORAGE_UNREACHABLE_STATE,
};
use crate::location::Location;
use crate::secret::Secret;
use crate::storage::{
    AllowedEndpoint, StorageCredentials, StoragePlan, TaskStoragePlan, MAX_OBJECT, VERIFY_BUDGET,
};
use std::collections::BTreeMap;
use std::path::PathBuf;

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
        Some(StorageCredentials::Files {
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
/// `all_tasks`: read every selected task's storage whatever the layer says (for
/// `--restore-point`).
pub(super) fn build(
    layer: &Layer,
    all_tasks: bool,
) -> Result<(Option<StoragePlan>, StoragePolicy), String> {
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
        lock_stale: match &layer.storage_lock_stale {
            Some(text) => parse_seconds(text, "storage-lock-stale")?,
            None => STORAGE_LOCK_STALE,
        },
        full_incomplete_warning: match &layer.full_incomplete_warning {
            Some(text) => parse_seconds(text, "full-incomplete-warning")?,
            None => FULL_INCOMPLETE_WARNING,
        },
        full_min_count: layer.full_min_count,
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
    // `--verify-lengths` asks for verification by itself.
    let verify = layer.verify == Some(true) || layer.verify_lengths == Some(true);
    let plan = StoragePlan {
        all: layer.storage == Some(true) || all_tasks,
        per_task,
        task_credentials,
        full_backups: locations(&layer.full_backup, "full-backup")?,
        full_backup_roots: locations(&layer.full_backup_root, "full-backup-root")?,
        allowed_endpoints: layer
            .allow_storage_endpoints
            .iter()
            .flatten()
            .map(|e| AllowedEndpoint::parse(e))
            .collect::<Result<_, _>>()?,
        max_object: match &layer.storage_max_object {
            Some(text) => parse_size(text, "storage-max-object")?,
            None => MAX_OBJECT,
        },
        verify_budget: match (verify, layer.verify_budget) {
            (true, Some(0)) => {
                return Err("invalid --verify-budget 0 (want 1 or more requests)".to_string())
            }
            (true, budget) => Some(budget.unwrap_or(VERIFY_BUDGET)),
            _ => None,
        },
        verify_lengths: layer.verify_lengths == Some(true),
    };
    let any = plan.all || plan.per_task.values().any(|t| t.enabled == Some(true));
    Ok((any.then_some(plan), policy))
}
