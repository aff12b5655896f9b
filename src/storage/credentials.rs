//! Whose credentials open a backup storage (not etcd's login: that is `etcd::Login`).
//! No variant ever shows a secret in a `Debug` print.

use crate::proto::TaskSecrets;
use crate::secret::Secret;
use prost::Message;

/// Whose credentials open a storage.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum StorageCredentials {
    /// The monitoring host's own, the usual way of each cloud (environment, instance
    /// role or managed identity, `GOOGLE_APPLICATION_CREDENTIALS`, …).
    #[default]
    Host,
    /// Read from files the config names.
    Files {
        access_key_id: Option<Secret>,
        secret_access_key: Option<Secret>,
        google_service_account: Option<String>,
        azure_key: Option<Secret>,
        azure_sas: Option<Secret>,
    },
    /// The ones stored in the task info (`storage_credentials = "task"`).
    Task(TaskSecrets),
}

impl StorageCredentials {
    /// The task info's secrets, decoded from its raw value (only with the opt-in).
    pub fn from_task_info(value: &[u8]) -> StorageCredentials {
        StorageCredentials::Task(TaskSecrets::decode(value).unwrap_or_default())
    }
}
