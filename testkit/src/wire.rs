//! Just enough HTTP/1.1 on std `TcpStream`s for the storage stand-ins ([`crate::gcs`],
//! [`crate::recorder`]) and for the few set-up calls object_store cannot make (creating
//! an S3 bucket or an Azure container): one request per connection, bodies framed by
//! `Content-Length` or `chunked`, and `Connection: close` on every answer.

use std::io::{self, BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A request as read from a client: the request line, the headers in order, the body
/// (de-chunked).
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// The request target as sent: path and query, still percent-encoded.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// The path, still percent-encoded (the target before `?`).
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// The raw query (after `?`), empty when there is none.
    pub fn raw_query(&self) -> &str {
        self.target.split_once('?').map(|(_, q)| q).unwrap_or("")
    }

    /// The query parameters, percent-decoded (`+` is a space), in order.
    pub fn query(&self) -> Vec<(String, String)> {
        parse_query(self.raw_query())
    }

    /// The first value of query parameter `name`.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

/// Header name-value pairs in order.
pub type Headers = Vec<(String, String)>;

pub(crate) fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

pub(crate) fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (
                percent_decode(&k.replace('+', " ")),
                percent_decode(&v.replace('+', " ")),
            )
        })
        .collect()
}

/// Decodes `%XX` escapes (invalid escapes are kept as they are).
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Escapes text for an XML element body.
pub fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// Reads the request line and headers (without the blank line). `Ok(None)` when the
/// client closed the connection before sending anything.
pub(crate) fn read_head(reader: &mut impl BufRead) -> io::Result<Option<(String, Headers)>> {
    let mut first = String::new();
    if reader.read_line(&mut first)? == 0 {
        return Ok(None);
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "eof in headers",
            ));
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    Ok(Some((
        first.trim_end_matches(['\r', '\n']).to_string(),
        headers,
    )))
}

/// Reads a body framed by `Content-Length` or `Transfer-Encoding: chunked`; with
/// neither, `until_eof` decides between "no body" (requests) and "read to EOF"
/// (responses).
pub(crate) fn read_body(
    reader: &mut impl BufRead,
    headers: &[(String, String)],
    until_eof: bool,
) -> io::Result<Vec<u8>> {
    let chunked = header(headers, "transfer-encoding")
        .map(|v| v.to_ascii_lowercase().contains("chunked"))
        .unwrap_or(false);
    if chunked {
        let mut body = Vec::new();
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let size = size.trim().split(';').next().unwrap_or("");
            let size = usize::from_str_radix(size, 16)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
            if size == 0 {
                // Trailers, up to the blank line.
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
                        break;
                    }
                }
                return Ok(body);
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            let mut crlf = [0u8; 2];
            reader.read_exact(&mut crlf)?;
        }
    }
    if let Some(len) = header(headers, "content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad content-length"))?;
        let mut body = vec![0; len];
        reader.read_exact(&mut body)?;
        return Ok(body);
    }
    let mut body = Vec::new();
    if until_eof {
        reader.read_to_end(&mut body)?;
    }
    Ok(body)
}

/// Reads one request from a client connection. `Ok(None)` on a connection closed
/// before a request line.
pub fn read_request(reader: &mut impl BufRead) -> io::Result<Option<Request>> {
    let Some((line, headers)) = read_head(reader)? else {
        return Ok(None);
    };
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("/").to_string();
    // object_store's clients never send `Expect: 100-continue`; were one to, this
    // stand-in answers only after the body, which clients accept after a short wait.
    let body = read_body(reader, &headers, false)?;
    Ok(Some(Request {
        method,
        target,
        headers,
        body,
    }))
}

/// The reason phrase of the statuses the stand-ins send.
pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        206 => "Partial Content",
        304 => "Not Modified",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        412 => "Precondition Failed",
        416 => "Range Not Satisfiable",
        501 => "Not Implemented",
        _ => "Status",
    }
}

/// Writes a whole response with `Content-Length` and `Connection: close`. With
/// `head_only` (answering a HEAD) the length is that of `body`, but no body is sent.
pub fn write_response(
    stream: &mut impl Write,
    status: u16,
    headers: &[(&str, String)],
    body: &[u8],
    head_only: bool,
) -> io::Result<()> {
    let head = head(
        &format!("HTTP/1.1 {status} {}", reason(status)),
        headers,
        body.len(),
    );
    stream.write_all(head.as_bytes())?;
    if !head_only {
        stream.write_all(body)?;
    }
    stream.flush()
}

/// A response as read by [`request`].
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// One HTTP/1.1 request to `addr` (`host:port`), `Connection: close`, with a 10 s
/// timeout. `target` is the path and query, already encoded.
pub fn request(
    addr: &str,
    method: &str,
    target: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> io::Result<Response> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut all = vec![("Host", addr.to_string())];
    all.extend(headers.iter().map(|(k, v)| (*k, v.clone())));
    let head = head(&format!("{method} {target} HTTP/1.1"), &all, body.len());
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut reader = BufReader::new(stream);
    let (line, headers) = read_head(&mut reader)?
        .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "no response"))?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("bad status {line}")))?;
    let body = if method == "HEAD" {
        Vec::new()
    } else {
        read_body(&mut reader, &headers, true)?
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// Reads one request from a served connection (30 s read timeout) and records its
/// method and target in `log`; `None` when nothing readable came.
pub fn read_logged(
    stream: &TcpStream,
    log: &std::sync::Mutex<Vec<(String, String)>>,
) -> Option<Request> {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let request = read_request(&mut reader).ok()??;
    log.lock()
        .unwrap()
        .push((request.method.clone(), request.target.clone()));
    Some(request)
}

/// The head of a request or a response: its first line, `headers`, the length of the
/// body and `Connection: close`.
fn head(first_line: &str, headers: &[(&str, String)], body_len: usize) -> String {
    let mut head = format!("{first_line}\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {body_len}\r\nConnection: close\r\n\r\n"
    ));
    head
}

/// Accepts connections until `stop` is set, serving each on its own thread.
pub fn accept_loop<S: Send + Sync + 'static>(
    listener: std::net::TcpListener,
    state: std::sync::Arc<S>,
    stop: impl Fn(&S) -> bool + Send + 'static,
    serve: fn(std::net::TcpStream, &S),
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            if stop(&state) {
                break;
            }
            if let Ok(stream) = stream {
                let state = state.clone();
                std::thread::spawn(move || serve(stream, &state));
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_queries_and_escapes() {
        assert_eq!(percent_decode("v1%2Fbackupmeta%2F"), "v1/backupmeta/");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(
            parse_query("list-type=2&prefix=a%2Fb%2F&delimiter=%2F&x"),
            vec![
                ("list-type".into(), "2".into()),
                ("prefix".into(), "a/b/".into()),
                ("delimiter".into(), "/".into()),
                ("x".into(), "".into()),
            ]
        );
        assert_eq!(xml_escape("a<&>'\""), "a&lt;&amp;&gt;&apos;&quot;");
    }

    #[test]
    fn reads_chunked_and_sized_bodies() {
        let raw = b"PUT /b/k HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
        let req = read_request(&mut &raw[..]).unwrap().unwrap();
        assert_eq!((req.method.as_str(), req.path()), ("PUT", "/b/k"));
        assert_eq!(req.body, b"abcde");
        let raw = b"GET /b?prefix=x HTTP/1.1\r\ncontent-length: 2\r\n\r\nhi";
        let req = read_request(&mut &raw[..]).unwrap().unwrap();
        assert_eq!(req.body, b"hi");
        assert_eq!(req.query_param("prefix").as_deref(), Some("x"));
        assert!(read_request(&mut &b""[..]).unwrap().is_none());
    }
}
