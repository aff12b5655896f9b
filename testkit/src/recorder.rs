//! A recording HTTP reverse proxy on a free loopback port, in front of a storage server
//! ([`crate::S3Server`], [`crate::Azurite`], [`crate::GcsServer`]): it records every
//! request's method and target (path and query), and can be switched into fault modes
//! to show how the check behaves when storage denies listing or hangs.
//!
//! It is naive HTTP/1.1 on std threads, one thread per connection: it reads the whole
//! request (de-chunking the body), forwards it with `Connection: close`, and copies the
//! upstream's answer back byte for byte until the upstream closes, with
//! `Connection: close` towards the client too, so no connection is ever reused. The
//! `Host` header is forwarded unchanged: signatures that cover it (S3 SigV4) stay valid.

use crate::wire::{self, Request};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the proxy does with the next requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Forward everything.
    Pass,
    /// Answer every LIST ([`is_list`]) with 403 and an S3-style `AccessDenied` XML body
    /// (what S3 answers without `s3:ListBucket`); forward the rest.
    DenyList,
    /// Accept and read every request, then never answer (until the recorder is
    /// dropped): a storage endpoint that hangs.
    Hang,
    /// Answer everything with `307 Temporary Redirect` to [`Recorder::set_redirect`]'s
    /// location: a storage that sends the client elsewhere.
    Redirect,
    /// Answer every object GET with an endless chunked body of zeros (up to 2 GiB, with
    /// an ETag and a Last-Modified, as S3 answers) under a `Content-Length: 64` that the
    /// chunked framing overrides (HTTP/1.1 clients follow `Transfer-Encoding`, so the
    /// body is read to its end, while object_store takes the announced 64 bytes as the
    /// object's size and requires that header): a hostile endpoint whose announced size
    /// says nothing of what it sends; forward LISTs.
    HugeBody,
    /// Answer every LIST with a full page of 1,000 new keys and a continuation token,
    /// forever: a listing that never ends; forward the rest.
    EndlessList,
    /// Hang ([`Mode::Hang`]) every LIST whose request target contains
    /// [`Recorder::hang_listings_of`]'s text; forward the rest: a listing that never
    /// answers while the other requests do.
    HangListingsOf,
}

/// The body of a denied LIST, as S3 words it (Azure and GCS clients only look at the
/// status).
pub const ACCESS_DENIED_XML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>recorder</RequestId></Error>";

/// The query parameters by which a GET is a listing in S3's and GCS's XML APIs
/// (`list-type=2`, `prefix`, `delimiter`, `start-after`, `continuation-token`,
/// `max-keys`, `marker`), in Azure's (`comp=list`, `marker`, `startFrom`) and in GCS's
/// JSON API (`startOffset`, `pageToken`).
const LIST_PARAMS: &[&str] = &[
    "list-type",
    "prefix",
    "delimiter",
    "start-after",
    "continuation-token",
    "max-keys",
    "marker",
    "startFrom",
    "startOffset",
    "pageToken",
];

/// Whether `method target` is a LIST: a GET of the bucket or container root with a
/// listing query (one of the parameters above, or `comp=list`). Object GETs never carry
/// them (object_store adds at most `versionId` or `generation`).
pub fn is_list(method: &str, target: &str) -> bool {
    if method != "GET" {
        return false;
    }
    let Some((_, query)) = target.split_once('?') else {
        return false;
    };
    wire::parse_query(query)
        .iter()
        .any(|(k, v)| LIST_PARAMS.contains(&k.as_str()) || (k == "comp" && v == "list"))
}

struct Shared {
    upstream: String,
    mode: Mutex<Mode>,
    requests: Mutex<Vec<(String, String)>>,
    /// Each request's headers, in arrival order (for who signed what).
    headers: Mutex<Vec<Vec<(String, String)>>>,
    redirect_to: Mutex<String>,
    /// [`Mode::HangListingsOf`]'s text.
    hang_text: Mutex<String>,
    /// Keys handed out by [`Mode::EndlessList`] so far.
    listed: std::sync::atomic::AtomicU64,
    stop: AtomicBool,
}

/// The proxy; stops (and drops hung connections) on drop.
pub struct Recorder {
    ip: String,
    port: u16,
    /// The upstream URL's path (e.g. `/devstoreaccount1`), repeated in [`Self::endpoint`].
    base_path: String,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Recorder {
    /// Proxies to `upstream`, an `http://host:port[/path]` URL (a server's
    /// `endpoint()`); starts in [`Mode::Pass`].
    pub fn start(upstream: &str) -> Recorder {
        Recorder::start_at("127.0.0.1", upstream)
    }

    /// [`Recorder::start`] listening on another loopback address (`127.0.0.2`): an
    /// endpoint a hostile task info could name.
    pub fn start_at(ip: &str, upstream: &str) -> Recorder {
        let rest = upstream
            .strip_prefix("http://")
            .unwrap_or_else(|| panic!("recorder upstream must be http://…: {upstream}"));
        let (host, base_path) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        let listener = TcpListener::bind((ip, 0)).expect("bind a loopback port");
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            upstream: host.to_string(),
            mode: Mutex::new(Mode::Pass),
            requests: Mutex::new(Vec::new()),
            headers: Mutex::new(Vec::new()),
            redirect_to: Mutex::new(String::new()),
            hang_text: Mutex::new(String::new()),
            listed: std::sync::atomic::AtomicU64::new(0),
            stop: AtomicBool::new(false),
        });
        let thread = crate::wire::accept_loop(
            listener,
            shared.clone(),
            |s| s.stop.load(Ordering::SeqCst),
            serve,
        );
        Recorder {
            ip: ip.to_string(),
            port,
            base_path: base_path.to_string(),
            shared,
            thread: Some(thread),
        }
    }

    /// The proxy's URL, with the upstream's path: `http://127.0.0.1:PORT[/path]`.
    pub fn endpoint(&self) -> String {
        format!("http://{}:{}{}", self.ip, self.port, self.base_path)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().unwrap() = mode;
    }

    /// [`Mode::HangListingsOf`] the LISTs whose target contains `text` (as sent:
    /// percent-encoded, e.g. `prefix=log%2Fv1%2F2024`).
    pub fn hang_listings_of(&self, text: &str) {
        *self.shared.hang_text.lock().unwrap() = text.to_string();
        self.set_mode(Mode::HangListingsOf);
    }

    /// [`Mode::Redirect`] to `location`.
    pub fn set_redirect(&self, location: &str) {
        *self.shared.redirect_to.lock().unwrap() = location.to_string();
        self.set_mode(Mode::Redirect);
    }

    /// How many requests carried credentials: an `Authorization` header (a signature)
    /// or a session token (`x-amz-security-token`).
    pub fn signed(&self) -> usize {
        self.shared
            .headers
            .lock()
            .unwrap()
            .iter()
            .filter(|h| {
                h.iter().any(|(k, _)| {
                    k.eq_ignore_ascii_case("authorization")
                        || k.eq_ignore_ascii_case("x-amz-security-token")
                })
            })
            .count()
    }

    /// Each request's headers as sent, in arrival order (cleared with
    /// [`Recorder::clear`]): whose key signed, which token went along.
    pub fn headers(&self) -> Vec<Vec<(String, String)>> {
        self.shared.headers.lock().unwrap().clone()
    }

    pub fn mode(&self) -> Mode {
        *self.shared.mode.lock().unwrap()
    }

    /// Every request so far as `(method, target)`, target = path and query as sent
    /// (percent-encoded), in arrival order. Denied and hung requests are included.
    pub fn requests(&self) -> Vec<(String, String)> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// The requests that are neither GET nor HEAD (PUT, POST, DELETE, …): a read-only
    /// client makes none.
    pub fn writes(&self) -> Vec<(String, String)> {
        self.requests()
            .into_iter()
            .filter(|(method, _)| method != "GET" && method != "HEAD")
            .collect()
    }

    /// The LIST requests ([`is_list`]).
    pub fn lists(&self) -> Vec<(String, String)> {
        self.requests()
            .into_iter()
            .filter(|(method, target)| is_list(method, target))
            .collect()
    }

    /// Forgets the requests recorded so far.
    pub fn clear(&self) {
        self.shared.requests.lock().unwrap().clear();
        self.shared.headers.lock().unwrap().clear();
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept so the thread sees the flag and ends.
        let _ = TcpStream::connect((self.ip.as_str(), self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(client: TcpStream, shared: &Shared) {
    let Some(request) = wire::read_logged(&client, &shared.requests) else {
        return;
    };
    shared.headers.lock().unwrap().push(request.headers.clone());
    let mode = *shared.mode.lock().unwrap();
    let mut client = client;
    match mode {
        Mode::Redirect => {
            let to = shared.redirect_to.lock().unwrap().clone();
            let _ = wire::write_response(&mut client, 307, &[("Location", to)], b"", false);
        }
        Mode::HugeBody if !is_list(&request.method, &request.target) => {
            let _ = endless_body(&mut client, shared);
        }
        Mode::EndlessList if is_list(&request.method, &request.target) => {
            let _ = endless_page(&mut client, &request.target, shared);
        }
        Mode::HangListingsOf
            if is_list(&request.method, &request.target)
                && request
                    .target
                    .contains(shared.hang_text.lock().unwrap().as_str()) =>
        {
            while !shared.stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Mode::Hang => {
            // Hold the connection open, unanswered, until the recorder is dropped.
            while !shared.stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Mode::DenyList if is_list(&request.method, &request.target) => {
            let _ = wire::write_response(
                &mut client,
                403,
                &[("Content-Type", "application/xml".to_string())],
                ACCESS_DENIED_XML.as_bytes(),
                false,
            );
        }
        Mode::Pass | Mode::DenyList | Mode::HugeBody | Mode::EndlessList | Mode::HangListingsOf => {
            if let Err(e) = forward(&request, &mut client, &shared.upstream) {
                let body = format!("recorder: upstream {}: {e}", shared.upstream);
                let _ = wire::write_response(&mut client, 502, &[], body.as_bytes(), false);
            }
        }
    }
}

/// [`Mode::HugeBody`]: chunks of zeros until 2 GiB, the client leaves or the recorder
/// stops, under a `Content-Length` that the chunked framing overrides.
fn endless_body(client: &mut TcpStream, shared: &Shared) -> std::io::Result<()> {
    client.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nETag: \"huge\"\r\nLast-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\nContent-Length: 64\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
    )?;
    let chunk = vec![0u8; 64 * 1024];
    let mut sent = 0u64;
    while sent < 2 << 30 && !shared.stop.load(Ordering::SeqCst) {
        client.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())?;
        client.write_all(&chunk)?;
        client.write_all(b"\r\n")?;
        sent += chunk.len() as u64;
    }
    client.write_all(b"0\r\n\r\n")
}

/// [`Mode::EndlessList`]: an S3 ListObjectsV2 page of 1,000 keys under the asked prefix,
/// each sorting after every earlier one, always truncated.
fn endless_page(client: &mut TcpStream, target: &str, shared: &Shared) -> std::io::Result<()> {
    let query = target.split_once('?').map_or("", |(_, q)| q);
    let prefix = wire::parse_query(query)
        .into_iter()
        .find(|(k, _)| k == "prefix")
        .map(|(_, v)| v)
        .unwrap_or_default();
    let first = shared.listed.fetch_add(1000, Ordering::SeqCst);
    let mut body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>endless</Name><Prefix>{prefix}</Prefix><KeyCount>1000</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated><NextContinuationToken>page-{first}</NextContinuationToken>"
    );
    for n in first..first + 1000 {
        body.push_str(&format!(
            "<Contents><Key>{prefix}zz-endless-{n:012}</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified><ETag>&quot;e&quot;</ETag><Size>1</Size><StorageClass>STANDARD</StorageClass></Contents>"
        ));
    }
    body.push_str("</ListBucketResult>");
    wire::write_response(
        client,
        200,
        &[("Content-Type", "application/xml".to_string())],
        body.as_bytes(),
        false,
    )
}

/// Headers that describe this hop only: replaced, never forwarded.
const HOP_HEADERS: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "content-length",
    "te",
    "upgrade",
];

fn forward(request: &Request, client: &mut TcpStream, upstream: &str) -> std::io::Result<()> {
    let mut up = TcpStream::connect(upstream)?;
    up.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!("{} {} HTTP/1.1\r\n", request.method, request.target);
    for (k, v) in &request.headers {
        if !HOP_HEADERS.contains(&k.to_ascii_lowercase().as_str()) {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        request.body.len()
    ));
    up.write_all(head.as_bytes())?;
    up.write_all(&request.body)?;
    up.flush()?;

    // The answer: the status line and headers (hop headers replaced), then every byte
    // the upstream sends until it closes (its body keeps its own framing).
    let mut reader = BufReader::new(up);
    let mut status = String::new();
    reader.read_line(&mut status)?;
    let mut out = status.trim_end().to_string() + "\r\n";
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let trimmed = line.trim_end_matches(['\r', '\n']);
        if trimmed.is_empty() {
            break;
        }
        let name = trimmed.split(':').next().unwrap_or("").trim();
        if !["connection", "keep-alive"].contains(&name.to_ascii_lowercase().as_str()) {
            out.push_str(trimmed);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    client.write_all(out.as_bytes())?;
    let mut buf = [0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        client.write_all(&buf[..n])?;
    }
    client.flush()
}

#[cfg(test)]
mod tests {
    use super::is_list;

    #[test]
    fn lists_are_gets_with_a_listing_query() {
        assert!(is_list("GET", "/bucket?list-type=2&prefix=v1%2F"));
        assert!(is_list("GET", "/bucket?prefix="));
        assert!(is_list(
            "GET",
            "/devstoreaccount1/c?restype=container&comp=list"
        ));
        assert!(is_list("GET", "/storage/v1/b/b/o?startOffset=x"));
        assert!(!is_list("GET", "/bucket/v1/backupmeta"));
        assert!(!is_list("GET", "/bucket/key?versionId=3"));
        assert!(!is_list("HEAD", "/bucket?list-type=2"));
        assert!(!is_list("PUT", "/bucket?restype=container"));
    }
}
