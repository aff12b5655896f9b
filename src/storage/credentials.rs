//! Whose credentials open a backup storage (not etcd's login: that is `etcd::Login`).
//! No variant ever shows a secret in a `Debug` print.

use crate::proto::{SecretBackend, SecretKind, TaskSecrets};
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
    /// The ones stored in the task info (`storage_credentials = "task"`), sent only to
    /// that task's own endpoint.
    Task(TaskSecrets),
    /// None at all: requests go unsigned. A task that holds no keys with
    /// `storage_credentials = "task"` is read this way, never with the host's.
    Anonymous,
}

impl StorageCredentials {
    /// The task info's secrets, decoded from its raw value (only with the opt-in).
    pub fn from_task_info(value: &[u8]) -> StorageCredentials {
        let secrets = TaskSecrets::decode(value).unwrap_or_default();
        let has_keys = match &secrets.storage {
            Some(SecretBackend {
                backend: Some(SecretKind::S3(s)),
            }) => !s.access_key.is_empty(),
            Some(SecretBackend {
                backend: Some(SecretKind::Gcs(g)),
            }) => !g.credentials_blob.is_empty(),
            Some(SecretBackend {
                backend: Some(SecretKind::Azure(a)),
            }) => !a.shared_key.is_empty() || !a.access_sig.is_empty(),
            _ => false,
        };
        if has_keys {
            StorageCredentials::Task(secrets)
        } else {
            StorageCredentials::Anonymous
        }
    }

    /// Only the host's own credentials come from its environment; every other kind is
    /// used alone (a session token from the environment never joins a task's keys).
    pub fn from_environment(&self) -> bool {
        matches!(self, StorageCredentials::Host)
    }
}
