//! object_store from synchronous tests: a current-thread tokio runtime per call, and the
//! few operations the storage servers and tests need (upload a layout, read one object,
//! list a prefix with or without an offset).
//!
//! Each backend's client, configured exactly as the product must configure it against
//! a test endpoint, is built by its server module: [`crate::s3::client`],
//! [`crate::azurite::client`], [`crate::gcs::client`]; a local directory is
//! `object_store::local::LocalFileSystem::new_with_prefix(dir)`.

use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{
    BackoffConfig, ClientOptions, ObjectMeta, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig,
};
use std::future::Future;
use std::time::Duration;

/// Objects as `(key, bytes)`: keys relative to a prefix, `/`-separated, no leading `/`.
pub type Objects = Vec<(String, Vec<u8>)>;

/// Installs ring as rustls's process-wide crypto provider, once. object_store's HTTP
/// client (reqwest built with `rustls-no-provider`, to avoid aws-lc-rs) panics when it
/// is built without one, even for plain HTTP. The client builders call this.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err: another provider was installed first, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The HTTP options every test client uses: plain HTTP allowed (the test servers have
/// no TLS), and a whole-request `timeout` (a hung server fails the call instead of the
/// test). Pass them with `with_client_options`, which *replaces* earlier options: an
/// earlier `with_allow_http(true)` on the builder is lost unless it is set here.
pub fn client_options(timeout: Duration) -> ClientOptions {
    install_crypto_provider();
    ClientOptions::new()
        .with_allow_http(true)
        .with_timeout(timeout)
        .with_connect_timeout(Duration::from_secs(2))
}

/// `max_retries` quick retries (10 ms to 100 ms apart) within 5 s: object_store's
/// default retries for up to 3 minutes, far beyond a test's patience.
pub fn retry(max_retries: usize) -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(100),
            base: 2.0,
        },
        max_retries,
        retry_timeout: Duration::from_secs(5),
    }
}

/// Runs `future` on a fresh current-thread runtime (with I/O and timers).
pub fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(future)
}

/// `prefix` + `/` + `key`, where an empty prefix (or `/`) is the bucket root.
pub fn join_key(prefix: &str, key: &str) -> String {
    let prefix = prefix.trim_matches('/');
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}/{key}")
    }
}

/// Uploads every object under `prefix` (a few at a time), panicking on the first error.
pub fn put_objects(store: &dyn ObjectStore, prefix: &str, objects: &[(String, Vec<u8>)]) {
    block_on(async {
        let uploads = objects.iter().map(|(key, bytes)| async move {
            let path = Path::from(join_key(prefix, key));
            store
                .put(&path, PutPayload::from(bytes.clone()))
                .await
                .map(|_| ())
                .map_err(|e| format!("put {path}: {e}"))
        });
        let mut stream = futures_util::stream::iter(uploads).buffer_unordered(8);
        while let Some(result) = stream.next().await {
            result.unwrap_or_else(|e| panic!("{e}"));
        }
    });
}

/// GETs one object: `Ok(bytes)`, or the object_store error (e.g. `NotFound`).
pub fn get(store: &dyn ObjectStore, key: &str) -> object_store::Result<Vec<u8>> {
    block_on(async {
        let result = store.get(&Path::from(key)).await?;
        Ok(result.bytes().await?.to_vec())
    })
}

/// Lists every object under `prefix` (recursively), after `offset` when given (an
/// object_store `list_with_offset`: keys strictly greater than `offset`).
pub fn list(
    store: &dyn ObjectStore,
    prefix: &str,
    offset: Option<&str>,
) -> object_store::Result<Vec<ObjectMeta>> {
    block_on(async {
        let prefix = Path::from(prefix);
        let stream = match offset {
            Some(offset) => store.list_with_offset(Some(&prefix), &Path::from(offset)),
            None => store.list(Some(&prefix)),
        };
        stream.try_collect().await
    })
}

/// The keys of [`list`], in the order the store returned them.
pub fn list_keys(store: &dyn ObjectStore, prefix: &str, offset: Option<&str>) -> Vec<String> {
    list(store, prefix, offset)
        .unwrap_or_else(|e| panic!("list {prefix} (offset {offset:?}): {e}"))
        .into_iter()
        .map(|m| m.location.to_string())
        .collect()
}
