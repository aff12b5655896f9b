//! A Google Cloud Storage stand-in on a free loopback port: an in-test HTTP server
//! (std threads) serving in-memory buckets through exactly the calls object_store's GCS
//! client makes to read, and recording every request.
//!
//! object_store talks to GCS through its **XML API** (the S3-compatible one), not the
//! JSON API: with `base = with_base_url(..)`,
//!
//! - download: `GET {base}/{bucket}/{object}`, the object name percent-encoded
//!   (`/` as `%2F`), optionally `Range: bytes=a-b`; the answer must carry `ETag` and
//!   `Last-Modified` (object_store refuses one without them), and `x-goog-generation`;
//! - metadata: `HEAD` of the same URL (`ObjectStore::head`);
//! - list: `GET {base}/{bucket}?list-type=2` with `prefix`, `delimiter`, `start-after`
//!   (the offset of `list_with_offset`), `continuation-token` (the page token) and
//!   `max-keys`, answered with an S3-style `ListBucketResult` (`Contents` with `Key`,
//!   `Size`, `LastModified`, `ETag`; `CommonPrefixes`; `NextContinuationToken`);
//! - a missing object: 404 with a GCS XML `NoSuchKey` body (object_store maps any 404
//!   to `Error::NotFound`).
//!
//! It also takes `PUT` and `DELETE` of an object (recorded as writes), for tests that
//! make sure the check writes nothing. Anything else, including the JSON API
//! (`/storage/v1/…`), is answered 501 and recorded, so a new kind of call shows up.
//! Conditional headers (`If-Match`, …) are ignored.
//!
//! # The client settings the product must support
//!
//! [`client`] is object_store's GCS client as it must be built against a custom endpoint
//! with no real credentials:
//!
//! ```text
//! GoogleCloudStorageBuilder::new()           // not from_env(): nothing read from $GOOGLE_*
//!     .with_bucket_name(bucket)
//!     .with_base_url("http://127.0.0.1:PORT") // scheme + host + port, no bucket, no /
//!     .with_skip_signature(true)              // anonymous: no Authorization header
//!     .with_client_options(ClientOptions::new().with_allow_http(true).with_timeout(..))
//!     .with_retry(..)
//! ```
//!
//! `with_skip_signature(true)` keeps object_store from ever fetching a token. Without
//! an explicit credential, `build()` still looks for Application Default Credentials
//! (`$GOOGLE_APPLICATION_CREDENTIALS`, then `~/.config/gcloud/…`) and fails on a
//! malformed file; [`client`] also passes a static empty bearer token
//! (`with_credentials`) so the tests never read them. With real credentials the product
//! would pass `with_service_account_key`/`_path` and leave `skip_signature` off.

use crate::store::{self, client_options, join_key};
use crate::wire::{self, Request};
use object_store::gcp::{GcpCredential, GoogleCloudStorage, GoogleCloudStorageBuilder};
use object_store::StaticCredentialProvider;
use std::collections::BTreeMap;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

mod list;

#[derive(Clone)]
struct Object {
    bytes: Arc<Vec<u8>>,
    modified: SystemTime,
    generation: u64,
}

type Buckets = BTreeMap<String, BTreeMap<String, Object>>;

struct Shared {
    buckets: Mutex<Buckets>,
    requests: Mutex<Vec<(String, String)>>,
    page_size: AtomicUsize,
    generation: AtomicU64,
    stop: AtomicBool,
}

/// The GCS stand-in; stops on drop.
pub struct GcsServer {
    port: u16,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl GcsServer {
    /// Starts the server with no buckets, 1000 keys per LIST page (GCS's default).
    pub fn start() -> GcsServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            buckets: Mutex::new(BTreeMap::new()),
            requests: Mutex::new(Vec::new()),
            page_size: AtomicUsize::new(1000),
            generation: AtomicU64::new(1_700_000_000_000_000),
            stop: AtomicBool::new(false),
        });
        let thread = crate::wire::accept_loop(
            listener,
            shared.clone(),
            |s| s.stop.load(Ordering::SeqCst),
            serve,
        );
        GcsServer {
            port,
            shared,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`, the `with_base_url` value.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The most keys (objects plus common prefixes) a LIST page returns; a request's
    /// smaller `max-keys` wins. Small values force object_store through page tokens.
    pub fn set_page_size(&self, keys: usize) {
        self.shared.page_size.store(keys.max(1), Ordering::SeqCst);
    }

    pub fn create_bucket(&self, bucket: &str) {
        self.shared
            .buckets
            .lock()
            .unwrap()
            .entry(bucket.to_string())
            .or_default();
    }

    /// Stores an object directly (no HTTP), modified now.
    pub fn put(&self, bucket: &str, key: &str, bytes: &[u8]) {
        self.put_at(bucket, key, bytes, SystemTime::now());
    }

    /// Stores an object with a given modification time (its `Last-Modified`).
    pub fn put_at(&self, bucket: &str, key: &str, bytes: &[u8], modified: SystemTime) {
        insert(&self.shared, bucket, key, bytes.to_vec(), modified)
            .unwrap_or_else(|| panic!("gcs stand-in: no bucket {bucket}"));
    }

    /// Stores `objects` under `prefix` directly (cheap enough for 10⁵ objects).
    pub fn put_all(&self, bucket: &str, prefix: &str, objects: &[(String, Vec<u8>)]) {
        let now = SystemTime::now();
        for (key, bytes) in objects {
            self.put_at(bucket, &join_key(prefix, key), bytes, now);
        }
    }

    /// The keys stored in `bucket`, sorted.
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        self.shared
            .buckets
            .lock()
            .unwrap()
            .get(bucket)
            .map(|objects| objects.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Every request so far as `(method, target)` (path and query as sent).
    pub fn requests(&self) -> Vec<(String, String)> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// The requests that are neither GET nor HEAD.
    pub fn writes(&self) -> Vec<(String, String)> {
        self.requests()
            .into_iter()
            .filter(|(method, _)| method != "GET" && method != "HEAD")
            .collect()
    }

    pub fn clear_requests(&self) {
        self.shared.requests.lock().unwrap().clear();
    }

    /// The object_store client for `bucket` on this server (see the module doc).
    pub fn client(&self, bucket: &str) -> GoogleCloudStorage {
        client(&self.endpoint(), bucket)
    }
}

impl Drop for GcsServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The builder of [`client`], for tests that change options (`with_client_options`
/// replaces the whole `ClientOptions`: keep `with_allow_http(true)` in it).
pub fn builder(endpoint: &str, bucket: &str) -> GoogleCloudStorageBuilder {
    GoogleCloudStorageBuilder::new()
        .with_bucket_name(bucket)
        .with_base_url(endpoint)
        .with_skip_signature(true)
        .with_credentials(Arc::new(StaticCredentialProvider::new(GcpCredential {
            bearer: String::new(),
        })))
        .with_client_options(client_options(Duration::from_secs(10)))
        .with_retry(store::retry(2))
}

/// object_store's GCS client for `bucket` at `endpoint` (this stand-in, or a
/// [`crate::Recorder`] in front of it), configured as the module doc says.
pub fn client(endpoint: &str, bucket: &str) -> GoogleCloudStorage {
    builder(endpoint, bucket)
        .build()
        .unwrap_or_else(|e| panic!("GCS client for {endpoint}/{bucket}: {e}"))
}

fn insert(
    shared: &Shared,
    bucket: &str,
    key: &str,
    bytes: Vec<u8>,
    modified: SystemTime,
) -> Option<u64> {
    let generation = shared.generation.fetch_add(1, Ordering::SeqCst);
    let mut buckets = shared.buckets.lock().unwrap();
    buckets.get_mut(bucket)?.insert(
        key.to_string(),
        Object {
            bytes: Arc::new(bytes),
            modified,
            generation,
        },
    );
    Some(generation)
}

/// An XML error body in GCS's words.
fn error(code: &str, message: &str) -> Vec<u8> {
    format!(
        "<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{}</Message></Error>",
        wire::xml_escape(message)
    )
    .into_bytes()
}

const XML: (&str, &str) = ("Content-Type", "application/xml; charset=UTF-8");

fn serve(stream: TcpStream, shared: &Shared) {
    let Some(request) = wire::read_logged(&stream, &shared.requests) else {
        return;
    };
    let (status, headers, body) = answer(&request, shared);
    let headers: Vec<(&str, String)> = headers.iter().map(|(k, v)| (*k, v.clone())).collect();
    let mut stream = stream;
    let _ = wire::write_response(
        &mut stream,
        status,
        &headers,
        &body,
        request.method == "HEAD",
    );
    let _ = stream.flush();
}

type Answer = (u16, Vec<(&'static str, String)>, Vec<u8>);

fn answer(request: &Request, shared: &Shared) -> Answer {
    let xml = || vec![(XML.0, XML.1.to_string())];
    let path = request.path().trim_start_matches('/');
    let (bucket, object) = match path.split_once('/') {
        Some((bucket, object)) => (wire::percent_decode(bucket), wire::percent_decode(object)),
        None => (wire::percent_decode(path), String::new()),
    };
    if bucket.is_empty() || bucket == "storage" || bucket == "upload" {
        return (
            501,
            xml(),
            error("NotImplemented", "not served by the stand-in"),
        );
    }
    if !shared.buckets.lock().unwrap().contains_key(&bucket) {
        return (
            404,
            xml(),
            error("NoSuchBucket", "The specified bucket does not exist."),
        );
    }
    match (request.method.as_str(), object.is_empty()) {
        ("GET", true) => (200, xml(), list::list(request, shared, &bucket)),
        ("GET" | "HEAD", false) => download(request, shared, &bucket, &object),
        ("PUT", false) => {
            let generation = insert(
                shared,
                &bucket,
                &object,
                request.body.clone(),
                SystemTime::now(),
            )
            .unwrap_or_default();
            let headers = vec![
                ("ETag", etag(generation)),
                ("x-goog-generation", generation.to_string()),
            ];
            (200, headers, Vec::new())
        }
        ("DELETE", false) => {
            let removed = shared
                .buckets
                .lock()
                .unwrap()
                .get_mut(&bucket)
                .and_then(|objects| objects.remove(&object));
            match removed {
                Some(_) => (204, Vec::new(), Vec::new()),
                None => (404, xml(), no_such_key(&bucket, &object)),
            }
        }
        _ => (
            501,
            xml(),
            error("NotImplemented", "not served by the stand-in"),
        ),
    }
}

fn etag(generation: u64) -> String {
    format!("\"{generation:x}\"")
}

fn no_such_key(bucket: &str, object: &str) -> Vec<u8> {
    error(
        "NoSuchKey",
        &format!("The specified key does not exist. No such object: {bucket}/{object}"),
    )
}

fn download(request: &Request, shared: &Shared, bucket: &str, object: &str) -> Answer {
    let found = shared
        .buckets
        .lock()
        .unwrap()
        .get(bucket)
        .and_then(|objects| objects.get(object).cloned());
    let Some(found) = found else {
        return (
            404,
            vec![(XML.0, XML.1.to_string())],
            no_such_key(bucket, object),
        );
    };
    let size = found.bytes.len() as u64;
    let mut headers = vec![
        ("Content-Type", "application/octet-stream".to_string()),
        ("ETag", etag(found.generation)),
        ("Last-Modified", httpdate::fmt_http_date(found.modified)),
        ("x-goog-generation", found.generation.to_string()),
        ("x-goog-stored-content-length", size.to_string()),
        ("Accept-Ranges", "bytes".to_string()),
    ];
    match request.header("range").map(|r| parse_range(r, size)) {
        None => (200, headers, found.bytes.to_vec()),
        Some(Some((start, end))) => {
            headers.push(("Content-Range", format!("bytes {start}-{end}/{size}")));
            let body = found.bytes[start as usize..=end as usize].to_vec();
            (206, headers, body)
        }
        Some(None) => {
            headers.retain(|(k, _)| *k != "Content-Type");
            headers.push(("Content-Range", format!("bytes */{size}")));
            headers.push((XML.0, XML.1.to_string()));
            let body = error("InvalidRange", "The requested range cannot be satisfied.");
            (416, headers, body)
        }
    }
}

/// `bytes=a-b`, `bytes=a-` or `bytes=-n` against an object of `size` bytes: the
/// inclusive byte range, or `None` when it cannot be satisfied.
fn parse_range(header: &str, size: u64) -> Option<(u64, u64)> {
    let spec = header.trim().strip_prefix("bytes=")?;
    let (a, b) = spec.split_once('-')?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().ok()?;
            (size.checked_sub(n.min(size))?, size.checked_sub(1)?)
        }
        (a, "") => (a.parse().ok()?, size.checked_sub(1)?),
        (a, b) => (
            a.parse().ok()?,
            b.parse::<u64>().ok()?.min(size.checked_sub(1)?),
        ),
    };
    (start <= end && end < size).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-3", 10), Some((0, 3)));
        assert_eq!(parse_range("bytes=4-", 10), Some((4, 9)));
        assert_eq!(parse_range("bytes=-3", 10), Some((7, 9)));
        assert_eq!(parse_range("bytes=5-100", 10), Some((5, 9)));
        assert_eq!(parse_range("bytes=10-", 10), None);
        assert_eq!(parse_range("bytes=0-0", 0), None);
        assert_eq!(parse_range("items=0-1", 10), None);
    }
}
