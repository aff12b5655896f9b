//! Azure Blob Storage on a free loopback port: Azurite's blob service (`azurite-blob`,
//! from npm `azurite`), started by the test and killed on drop. A missing
//! `azurite-blob` fails the test with the install hint; it never skips.
//!
//! Azurite checks Shared Key signatures, with the public development account
//! [`ACCOUNT`] and its published key [`KEY`]. URLs are path-style:
//! `http://127.0.0.1:PORT/devstoreaccount1/<container>/<blob>`. It starts in about a
//! second (0.9 s measured on a 2-core machine). `--disableTelemetry` matters: without it
//! Azurite tries to reach Application Insights and logs the failure.
//!
//! # The client settings the product must support
//!
//! [`client`] is object_store's Azure client as it must be built against a custom
//! endpoint (not `with_use_emulator(true)`, which takes the endpoint from the
//! process-wide `$AZURITE_BLOB_STORAGE_URL`):
//!
//! ```text
//! MicrosoftAzureBuilder::new()                       // not from_env()
//!     .with_account("devstoreaccount1")
//!     .with_access_key(KEY)                           // base64 shared key
//!     .with_container_name(container)
//!     .with_endpoint("http://127.0.0.1:PORT/devstoreaccount1") // account URL, path style
//!     .with_client_options(ClientOptions::new().with_allow_http(true).with_timeout(..))
//!     .with_retry(..)
//! ```
//!
//! Listing with an offset: object_store sends Azure's `startFrom` parameter outside
//! emulator mode, which Azurite ignores (it returns the keys before the offset too).
//! The product must therefore keep only `location > offset` itself after
//! `list_with_offset` (harmless against real Azure, which honours `startFrom`);
//! the self-test `selftest::azurite_round_trip` pins this Azurite behaviour.

use crate::spawn::ServerProcess;
use crate::store::{self, client_options};
use crate::wire;
use base64::Engine;
use object_store::azure::{MicrosoftAzure, MicrosoftAzureBuilder};
use std::time::Duration;

/// Azurite's development storage account.
pub const ACCOUNT: &str = "devstoreaccount1";
/// The development account's published Shared Key (public, the same for every Azurite).
pub const KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
/// The REST API version the set-up requests send.
const API_VERSION: &str = "2021-08-06";

/// Azurite's blob service on `127.0.0.1:<free port>`, data in a temporary directory.
pub struct Azurite {
    process: ServerProcess,
}

impl Azurite {
    /// Starts `azurite-blob` and waits until it answers.
    pub fn start() -> Azurite {
        let process =
            ServerProcess::start("azurite-blob", "npm install -g azurite", |port, dir| {
                let location = dir.join("data");
                vec![
                    "--blobHost".into(),
                    "127.0.0.1".into(),
                    "--blobPort".into(),
                    port.to_string(),
                    "--location".into(),
                    location.to_str().unwrap().into(),
                    "--silent".into(),
                    "--skipApiVersionCheck".into(),
                    "--loose".into(),
                    "--disableTelemetry".into(),
                ]
            });
        Azurite { process }
    }

    /// The account URL, `http://127.0.0.1:PORT/devstoreaccount1`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/{ACCOUNT}", self.process.port)
    }

    pub fn account(&self) -> &'static str {
        ACCOUNT
    }

    pub fn key(&self) -> &'static str {
        KEY
    }

    pub fn port(&self) -> u16 {
        self.process.port
    }

    /// How long Azurite took from spawn to its first answer.
    pub fn started_in(&self) -> Duration {
        self.process.started_in()
    }

    /// Creates a container (Shared Key signed `PUT ?restype=container`), panicking
    /// unless 201. Azure container names are 3 to 63 lower-case letters, digits and `-`.
    pub fn create_container(&self, container: &str) {
        let path = format!("/{ACCOUNT}/{container}");
        let date = httpdate::fmt_http_date(std::time::SystemTime::now());
        let auth = shared_key_authorization(
            "PUT",
            &path,
            &[("restype", "container")],
            &[("x-ms-date", &date), ("x-ms-version", API_VERSION)],
        );
        let addr = format!("127.0.0.1:{}", self.process.port);
        let response = wire::request(
            &addr,
            "PUT",
            &format!("{path}?restype=container"),
            &[
                ("x-ms-date", date.clone()),
                ("x-ms-version", API_VERSION.to_string()),
                ("Authorization", auth),
            ],
            b"",
        )
        .unwrap_or_else(|e| panic!("create container {container}: {e}"));
        assert_eq!(
            response.status,
            201,
            "create container {container}: {}",
            String::from_utf8_lossy(&response.body)
        );
    }

    /// The object_store client for `container` on this server (see the module doc).
    pub fn client(&self, container: &str) -> MicrosoftAzure {
        client(&self.endpoint(), container)
    }

    /// Uploads one blob (through object_store).
    pub fn put(&self, container: &str, key: &str, bytes: &[u8]) {
        self.put_all(container, "", &[(key.to_string(), bytes.to_vec())]);
    }

    /// Uploads `objects` under `prefix` (`""` for the container root).
    pub fn put_all(&self, container: &str, prefix: &str, objects: &[(String, Vec<u8>)]) {
        store::put_objects(&self.client(container), prefix, objects);
    }
}

/// The Shared Key `Authorization` header of a request without body or standard
/// headers: the string to sign is the verb, eleven empty standard headers, the sorted
/// `x-ms-*` headers and the canonical resource `/<account><path>` plus the sorted query.
fn shared_key_authorization(
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    ms_headers: &[(&str, &str)],
) -> String {
    let mut to_sign = format!("{method}\n{}", "\n".repeat(11));
    let mut headers = ms_headers.to_vec();
    headers.sort();
    for (k, v) in headers {
        to_sign.push_str(&format!("{k}:{v}\n"));
    }
    to_sign.push_str(&format!("/{ACCOUNT}{path}"));
    let mut query = query.to_vec();
    query.sort();
    for (k, v) in query {
        to_sign.push_str(&format!("\n{k}:{v}"));
    }
    let engine = base64::engine::general_purpose::STANDARD;
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &engine.decode(KEY).unwrap());
    let signature = ring::hmac::sign(&key, to_sign.as_bytes());
    format!("SharedKey {ACCOUNT}:{}", engine.encode(signature.as_ref()))
}

/// The builder of [`client`], for tests that change options (`with_client_options`
/// replaces the whole `ClientOptions`: keep `with_allow_http(true)` in it).
pub fn builder(endpoint: &str, container: &str) -> MicrosoftAzureBuilder {
    MicrosoftAzureBuilder::new()
        .with_account(ACCOUNT)
        .with_access_key(KEY)
        .with_container_name(container)
        .with_endpoint(endpoint.to_string())
        .with_client_options(client_options(Duration::from_secs(10)))
        .with_retry(store::retry(2))
}

/// object_store's Azure client for `container` at `endpoint` (an account URL: Azurite's,
/// or a [`crate::Recorder`] in front of it), configured as the module doc says.
pub fn client(endpoint: &str, container: &str) -> MicrosoftAzure {
    builder(endpoint, container)
        .build()
        .unwrap_or_else(|e| panic!("Azure client for {endpoint}/{container}: {e}"))
}
