//! Opening a storage: object_store's client for S3, GCS, Azure Blob or a local
//! directory, with the run's timeout, no retries, and the credentials asked for.

use super::credentials::StorageCredentials;
use super::http::{Clients, Seen};
use crate::location::Location;
use crate::proto::{self, SecretKind, TaskSecrets};
use object_store::{ClientOptions, ObjectStore, RetryConfig};
use std::sync::Arc;
use std::time::Duration;

/// An object store for `location`, its requests bounded by `timeout`, sent through the
/// run's `clients` and counted in `seen`.
pub(super) fn open(
    location: &Location,
    credentials: &StorageCredentials,
    timeout: Duration,
    clients: &Clients,
    seen: &Seen,
) -> Result<Arc<dyn ObjectStore>, String> {
    use object_store::aws::AmazonS3Builder;
    use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
    use object_store::gcp::GoogleCloudStorageBuilder;
    // A little beyond the deadline: the run's own timeout below ends a hanging request
    // first, with a clearer reason than the client's.
    let client_timeout = timeout + Duration::from_millis(500);
    let client = ClientOptions::new()
        .with_timeout(client_timeout)
        .with_connect_timeout(client_timeout)
        .with_allow_http(true);
    // No retries: the run's deadline is the only budget, and a failure is a finding.
    let retry = RetryConfig {
        max_retries: 0,
        retry_timeout: timeout,
        ..RetryConfig::default()
    };
    let fail =
        |e: object_store::Error| format!("cannot open {}: {}", location.display(), describe(&e));
    // The providers' own endpoints are https; a named endpoint says which it is.
    let https = location.endpoint().is_empty() || location.endpoint().starts_with("https://");
    let connector = || clients.connector(https, seen);
    let from_env = credentials.from_environment();
    let anonymous = matches!(credentials, StorageCredentials::Anonymous);
    let store: Arc<dyn ObjectStore> = match location {
        Location::S3 {
            bucket,
            endpoint,
            region,
            force_path_style,
            named_profile,
            ..
        } => {
            let b = if from_env {
                AmazonS3Builder::from_env()
            } else {
                let b = AmazonS3Builder::new();
                match metadata_endpoint(&["AWS_METADATA_ENDPOINT"]) {
                    Some(e) => b.with_metadata_endpoint(e),
                    None => b,
                }
            };
            let mut b = b
                .with_http_connector(connector()?)
                .with_skip_signature(anonymous)
                .with_bucket_name(bucket)
                .with_client_options(client)
                .with_retry(retry)
                .with_virtual_hosted_style_request(!force_path_style && endpoint.is_empty());
            if !region.is_empty() {
                b = b.with_region(region);
            }
            if !endpoint.is_empty() {
                b = b.with_endpoint(endpoint);
            }
            match credentials {
                StorageCredentials::Files {
                    access_key_id: Some(id),
                    secret_access_key: Some(key),
                    ..
                } => b = b.with_access_key_id(&id.0).with_secret_access_key(&key.0),
                StorageCredentials::Task(TaskSecrets {
                    storage: Some(proto::SecretBackend {
                        backend: Some(SecretKind::S3(s)),
                    }),
                }) if !s.access_key.is_empty() => {
                    b = b
                        .with_access_key_id(&s.access_key)
                        .with_secret_access_key(&s.secret_access_key);
                    if !s.session_token.is_empty() {
                        b = b.with_token(&s.session_token);
                    }
                }
                _ if *named_profile => {
                    return Err(format!(
                        "{}: the task names an AWS profile, which cannot be read here: give the host's credentials in its environment or in [tasks.<name>.storage]",
                        location.display()
                    ))
                }
                _ => {}
            }
            Arc::new(b.build().map_err(fail)?)
        }
        Location::Gcs {
            bucket, endpoint, ..
        } => {
            let b = if from_env {
                GoogleCloudStorageBuilder::from_env()
            } else {
                GoogleCloudStorageBuilder::new()
            };
            let mut b = b
                .with_http_connector(connector()?)
                .with_skip_signature(anonymous)
                .with_bucket_name(bucket)
                .with_client_options(client)
                .with_retry(retry);
            match credentials {
                StorageCredentials::Files {
                    google_service_account: Some(path),
                    ..
                } => b = b.with_service_account_path(path),
                StorageCredentials::Task(TaskSecrets {
                    storage:
                        Some(proto::SecretBackend {
                            backend: Some(SecretKind::Gcs(g)),
                        }),
                }) if !g.credentials_blob.is_empty() => {
                    b = b.with_service_account_key(&g.credentials_blob)
                }
                _ if !endpoint.is_empty() => {
                    // A custom endpoint without credentials (an emulator or a proxy
                    // that signs): object_store takes it from a key without OAuth.
                    let key = serde_json::json!({
                        "gcs_base_url": endpoint.trim_end_matches('/'),
                        "disable_oauth": true,
                        "client_email": "",
                        "private_key": "",
                        "private_key_id": "",
                    });
                    b = b.with_service_account_key(key.to_string());
                }
                _ => {}
            }
            Arc::new(b.build().map_err(fail)?)
        }
        Location::Azure {
            container,
            endpoint,
            account,
            ..
        } => {
            let b = if from_env {
                MicrosoftAzureBuilder::from_env()
            } else {
                let b = MicrosoftAzureBuilder::new();
                match metadata_endpoint(&["IDENTITY_ENDPOINT", "AZURE_MSI_ENDPOINT"]) {
                    Some(e) => b.with_msi_endpoint(e),
                    None => b,
                }
            };
            let mut b = b
                .with_http_connector(connector()?)
                .with_skip_signature(anonymous)
                .with_container_name(container)
                .with_client_options(client)
                .with_retry(retry);
            if !account.is_empty() {
                b = b.with_account(account);
            }
            if !endpoint.is_empty() {
                b = b.with_endpoint(endpoint.clone());
            }
            match credentials {
                StorageCredentials::Files {
                    azure_key: Some(k), ..
                } => b = b.with_access_key(&k.0),
                StorageCredentials::Files {
                    azure_sas: Some(s), ..
                } => b = b.with_config(AzureConfigKey::SasKey, &s.0),
                StorageCredentials::Task(TaskSecrets {
                    storage:
                        Some(proto::SecretBackend {
                            backend: Some(SecretKind::Azure(a)),
                        }),
                }) => {
                    if !a.shared_key.is_empty() {
                        b = b.with_access_key(&a.shared_key);
                    } else if !a.access_sig.is_empty() {
                        b = b.with_config(AzureConfigKey::SasKey, &a.access_sig);
                    }
                }
                _ => {}
            }
            Arc::new(b.build().map_err(fail)?)
        }
        Location::Local { path } => {
            Arc::new(object_store::local::LocalFileSystem::new_with_prefix(path).map_err(fail)?)
        }
    };
    let prefix = location.prefix().trim_matches('/');
    Ok(match location {
        Location::Local { .. } => store,
        _ if prefix.is_empty() => store,
        _ => Arc::new(object_store::prefix::PrefixStore::new(store, prefix)),
    })
}

/// The instance metadata service's address from the first of `names` set, as
/// object_store's `from_env` reads it: credentials from files or the task info that give
/// no keys for the cloud leave object_store asking that service, which is then where the
/// host says it is, as with the host's own credentials. (GCP's client reads
/// `GCE_METADATA_HOST` itself.)
fn metadata_endpoint(names: &[&str]) -> Option<String> {
    names.iter().find_map(|name| std::env::var(name).ok())
}

/// An object_store error in one line, as reasons show it.
pub(super) fn describe(e: &object_store::Error) -> String {
    // object_store's messages name the request and its cause on one line, never a key;
    // a URL in them loses any user:password, and the whole is cut to a readable length.
    let text = crate::text::redact_urls(&e.to_string())
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    crate::text::shown(&text, 300)
}
