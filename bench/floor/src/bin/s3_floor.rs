//! The physical floor of `--storage` against an S3 server: ONE TCP connection (HTTP/1.1
//! keep-alive), then the given requests one after another, each signed with SigV4 as any
//! S3 client must, each response read to its end. No TLS, no async runtime, no XML
//! parsing. So the server does the same work for it as for the check (signature check,
//! the same GETs and LISTs), and what is left is the network and the server.
//!
//! Each response is read with TCP_QUICKACK set (see [`quickack`]): the floor is what a
//! client can get from this server, not a delayed-ACK stall. `--no-quickack` leaves the
//! kernel's delayed ACKs alone, as ordinary clients (the check's reqwest included) do.
//!
//! usage: s3_floor [--no-quickack] ADDR REQUESTS_FILE
//!   ADDR           host:port of the S3 server (plain HTTP)
//!   REQUESTS_FILE  one request per line: `METHOD TARGET` (path and query as the check
//!                  sent them, e.g. what bench_storage recorded)
//! Environment: S3_FLOOR_KEY_ID, S3_FLOOR_SECRET (default "test"), S3_FLOOR_REGION
//! (default us-east-1); S3_FLOOR_VERBOSE=1 prints each request's µs to stderr.
//!
//! stdout: `<requests> requests, <bytes> body bytes, <µs> us` — the µs from just before
//! connect to the last byte of the last response (the process's own start-up excluded).

use ring::{digest, hmac};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let naive = args.iter().any(|a| a == "--no-quickack");
    args.retain(|a| a != "--no-quickack");
    if args.len() != 2 {
        eprintln!("usage: s3_floor [--no-quickack] ADDR REQUESTS_FILE");
        std::process::exit(2);
    }
    let env = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
    let key_id = env("S3_FLOOR_KEY_ID", "test");
    let secret = env("S3_FLOOR_SECRET", "test");
    let region = env("S3_FLOOR_REGION", "us-east-1");
    let text = std::fs::read_to_string(&args[1]).expect("read the requests file");
    let requests: Vec<(&str, &str)> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_once(' ').expect("METHOD TARGET"))
        .collect();
    let addr = args[0].as_str();

    let started = Instant::now();
    let stream = TcpStream::connect(addr).unwrap_or_else(|e| fail(&format!("{addr}: {e}")));
    stream.set_nodelay(true).ok();
    let mut writer = stream.try_clone().expect("clone the stream");
    let mut reader = BufReader::new(stream);
    let mut body_bytes = 0usize;
    let verbose = std::env::var_os("S3_FLOOR_VERBOSE").is_some();
    for (method, target) in &requests {
        let sent = Instant::now();
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let query = canonical_query(query);
        let request = signed(method, addr, path, &query, &key_id, &secret, &region);
        writer
            .write_all(request.as_bytes())
            .unwrap_or_else(|e| fail(&format!("write: {e}")));
        if !naive {
            quickack(&writer);
        }
        let (status, body) = read_response(&mut reader);
        if !(200..300).contains(&status) && status != 404 {
            fail(&format!(
                "{method} {target}: {status} {}",
                String::from_utf8_lossy(&body)
            ));
        }
        body_bytes += body.len();
        if verbose {
            eprintln!(
                "{:>7} us  {status} {method} {target}",
                sent.elapsed().as_micros()
            );
        }
    }
    let took = started.elapsed();
    println!(
        "{} requests, {body_bytes} body bytes, {} us",
        requests.len(),
        took.as_micros()
    );
}

/// Asks the kernel to ACK at once what arrives next. s3s-fs (hyper, Nagle left on) can
/// write a response's headers and its small body in two segments; the body then waits
/// for the ACK of the headers, which Linux delays up to 40 ms once a connection looks
/// interactive. Not sticky, so it is set before every response.
fn quickack(stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    let one: libc::c_int = 1;
    // SAFETY: a valid socket fd and a c_int option value of the right size.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_QUICKACK,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

fn fail(why: &str) -> ! {
    eprintln!("s3_floor: {why}");
    std::process::exit(1);
}

/// One HTTP/1.1 request with SigV4 headers (host, x-amz-content-sha256, x-amz-date).
fn signed(
    method: &str,
    host: &str,
    path: &str,
    query: &str,
    key_id: &str,
    secret: &str,
    region: &str,
) -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    let (date, amz_date) = amz_dates(secs);
    let canonical = format!(
        "{method}\n{path}\n{query}\nhost:{host}\nx-amz-content-sha256:{EMPTY_SHA256}\nx-amz-date:{amz_date}\n\nhost;x-amz-content-sha256;x-amz-date\n{EMPTY_SHA256}"
    );
    let scope = format!("{date}/{region}/s3/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref())
    );
    let mac = |key: &[u8], data: &str| {
        hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes())
            .as_ref()
            .to_vec()
    };
    let k = mac(format!("AWS4{secret}").as_bytes(), &date);
    let k = mac(&k, region);
    let k = mac(&k, "s3");
    let k = mac(&k, "aws4_request");
    let signature = hex(&mac(&k, &to_sign));
    let target = if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    };
    format!(
        "{method} {target} HTTP/1.1\r\nHost: {host}\r\nx-amz-content-sha256: {EMPTY_SHA256}\r\nx-amz-date: {amz_date}\r\nAuthorization: AWS4-HMAC-SHA256 Credential={key_id}/{scope}, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={signature}\r\n\r\n"
    )
}

/// The query as SigV4 wants it: parameters sorted, every byte but A-Z a-z 0-9 - _ . ~
/// percent-encoded (upper-case hex). Also what is sent.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (encode(&decode(k)), encode(&decode(v)))
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let h = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                out.push(u8::from_str_radix(h, 16).unwrap_or(b'?'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &c in bytes {
        if c.is_ascii_alphanumeric() || b"-_.~".contains(&c) {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// (`YYYYMMDD`, `YYYYMMDDTHHMMSSZ`) of Unix seconds, UTC.
fn amz_dates(secs: u64) -> (String, String) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let date = format!("{year:04}{month:02}{day:02}");
    let time = format!("{:02}{:02}{:02}", rem / 3600, (rem % 3600) / 60, rem % 60);
    (date.clone(), format!("{date}T{time}Z"))
}

/// Reads one response: status, and the body by Content-Length or chunked encoding.
fn read_response(reader: &mut BufReader<TcpStream>) -> (u16, Vec<u8>) {
    let mut line = String::new();
    let read_line = |reader: &mut BufReader<TcpStream>, line: &mut String| {
        line.clear();
        match reader.read_line(line) {
            Ok(0) => fail("the server closed the connection"),
            Ok(_) => {}
            Err(e) => fail(&format!("read: {e}")),
        }
    };
    read_line(reader, &mut line);
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fail(&format!("bad status line {line:?}")));
    let mut length: Option<usize> = None;
    let mut chunked = false;
    loop {
        read_line(reader, &mut line);
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding")
                && value.eq_ignore_ascii_case("chunked")
            {
                chunked = true;
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            read_line(reader, &mut line);
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .unwrap_or_else(|_| fail(&format!("bad chunk size {line:?}")));
            if size == 0 {
                // Trailers, then the blank line.
                loop {
                    read_line(reader, &mut line);
                    if line.trim_end().is_empty() {
                        break;
                    }
                }
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader
                .read_exact(&mut body[start..])
                .unwrap_or_else(|e| fail(&format!("read chunk: {e}")));
            read_line(reader, &mut line);
        }
    } else if let Some(n) = length {
        body.resize(n, 0);
        reader
            .read_exact(&mut body)
            .unwrap_or_else(|e| fail(&format!("read body: {e}")));
    }
    (status, body)
}
