//! Opening a storage: object_store's client for S3, GCS, Azure Blob or a local
//! directory, with the run's timeout, no retries, and the credentials asked for.

use super::credentials::StorageCredentials;
use crate::location::Location;
use crate::proto::{self, SecretKind, TaskSecrets};
use object_store::client::{HttpClient, HttpConnector};
use object_store::{ClientOptions, ObjectStore, RetryConfig};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// An object store for `location`, its requests bounded by `timeout`.
pub(super) fn open(
    location: &Location,
    credentials: &StorageCredentials,
    timeout: Duration,
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
    let connector = Connector {
        timeout: client_timeout,
    };
    // No retries: the run's deadline is the only budget, and a failure is a finding.
    let retry = RetryConfig {
        max_retries: 0,
        retry_timeout: timeout,
        ..RetryConfig::default()
    };
    let fail =
        |e: object_store::Error| format!("cannot open {}: {}", location.display(), describe(&e));
    let store: Arc<dyn ObjectStore> = match location {
        Location::S3 {
            bucket,
            endpoint,
            region,
            force_path_style,
            named_profile,
            ..
        } => {
            let mut b = AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .with_client_options(client)
                .with_http_connector(connector)
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
            let mut b = GoogleCloudStorageBuilder::from_env()
                .with_bucket_name(bucket)
                .with_client_options(client)
                .with_http_connector(connector)
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
            let mut b = MicrosoftAzureBuilder::from_env()
                .with_container_name(container)
                .with_client_options(client)
                .with_http_connector(connector)
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

/// object_store's HTTP client, built here instead of by `ClientOptions`, for one reason:
/// object_store 0.12 enables reqwest's `rustls-tls-native-roots`, and reqwest then reads
/// the host's CA certificates whenever a client is built (one per store), also for a
/// plain `http://` endpoint that never needs them: on Debian the bundle and every file
/// under /etc/ssl/certs, 147 files and ~3 ms of CPU per store (BENCHMARKS.md). Here
/// [`NativeRoots`] reads them at the first TLS handshake, once per run. The rest is what
/// `ClientOptions::client` makes of [`open`]'s options: the timeouts, HTTP/1.1 only, no
/// compression, the proxy from the environment, TLS 1.2 and 1.3 with ring; the user
/// agent names the check. (Not kept: object_store's shuffling of resolved addresses,
/// which spreads many connections over a service's IPs; a check opens a handful.)
#[derive(Debug)]
struct Connector {
    timeout: Duration,
}

impl HttpConnector for Connector {
    fn connect(&self, _: &ClientOptions) -> object_store::Result<HttpClient> {
        let generic = |e: Box<dyn std::error::Error + Send + Sync>| object_store::Error::Generic {
            store: "HTTP client",
            source: e,
        };
        let mut tls = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| generic(e.into()))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NativeRoots))
            .with_no_client_auth();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let client = reqwest::Client::builder()
            .user_agent(concat!("check_tidb_log_backup/", env!("CARGO_PKG_VERSION")))
            .timeout(self.timeout)
            .connect_timeout(self.timeout)
            .http1_only()
            .no_gzip()
            .no_brotli()
            .no_zstd()
            .no_deflate()
            .use_preconfigured_tls(tls)
            .build()
            .map_err(|e| generic(e.into()))?;
        Ok(HttpClient::new(client))
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Server certificates checked against the host's CA roots (`rustls-native-certs`:
/// `SSL_CERT_FILE`, `SSL_CERT_DIR`, else the system's bundle), as reqwest would, except
/// that the roots are read on the first certificate to check, and only once.
#[derive(Debug)]
struct NativeRoots;

impl NativeRoots {
    fn verifier() -> Result<Arc<WebPkiServerVerifier>, rustls::Error> {
        static VERIFIER: OnceLock<Result<Arc<WebPkiServerVerifier>, String>> = OnceLock::new();
        VERIFIER
            .get_or_init(|| {
                let found = rustls_native_certs::load_native_certs();
                let mut roots = rustls::RootCertStore::empty();
                roots.add_parsable_certificates(found.certs);
                let why = found.errors.first().map(|e| format!(": {e}"));
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
                    .build()
                    .map_err(|e| {
                        let why = why.unwrap_or_default();
                        format!("no CA certificate to verify the storage with ({e}){why}")
                    })
            })
            .clone()
            .map_err(rustls::Error::General)
    }
}

impl ServerCertVerifier for NativeRoots {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Self::verifier()?.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &provider().signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &provider().signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// An object_store error in one line, as reasons show it.
pub(super) fn describe(e: &object_store::Error) -> String {
    // object_store's messages name the request and its cause on one line, never a key.
    crate::text::clean_text(&e.to_string())
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
