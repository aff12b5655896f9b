//! Where a backup lives: the task's storage backend as its task info names it (never its
//! credentials), or a URL in BR's own syntax (`s3://bucket/prefix?endpoint=…&region=…&
//! force-path-style=true`, `gcs://`, `azure://`, `local:///path`).

use crate::proto::{Backend, StorageBackend};
use crate::text::{shown, without_userinfo};

/// An endpoint as object_store will use it: an absolute `http://` or `https://` URL with
/// a host and a valid port. Checked before any client is built, because a malformed one
/// (`::::`, `http://[`, `http://host:99999`) makes the HTTP stack panic.
pub fn check_endpoint(endpoint: &str) -> Result<url::Url, String> {
    let bad = |why: &str| {
        format!(
            "invalid endpoint '{}': {why}",
            shown(&without_userinfo(endpoint), 120)
        )
    };
    let url = url::Url::parse(endpoint).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("want http:// or https://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("no query or fragment allowed"));
    }
    Ok(url)
}

/// One object-store location. No field holds a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    S3 {
        bucket: String,
        prefix: String,
        endpoint: String,
        region: String,
        force_path_style: bool,
        /// The task names a profile of the host's AWS config (its name is kept out: the
        /// secrets test treats everything of the task's credentials as private).
        named_profile: bool,
    },
    Gcs {
        bucket: String,
        prefix: String,
        endpoint: String,
    },
    Azure {
        container: String,
        prefix: String,
        endpoint: String,
        account: String,
    },
    Local {
        path: String,
    },
}

impl Location {
    /// The task info's backend; `None` for backends nobody can read from here (noop,
    /// HDFS, CloudDynamic) or no backend at all.
    pub fn from_backend(storage: Option<&StorageBackend>) -> Option<Location> {
        match storage?.backend.as_ref()? {
            Backend::S3(s) => Some(Location::S3 {
                bucket: s.bucket.clone(),
                prefix: s.prefix.clone(),
                endpoint: without_userinfo(&s.endpoint),
                region: s.region.clone(),
                force_path_style: s.force_path_style,
                named_profile: !s.profile.is_empty(),
            }),
            Backend::Gcs(g) => Some(Location::Gcs {
                bucket: g.bucket.clone(),
                prefix: g.prefix.clone(),
                endpoint: without_userinfo(&g.endpoint),
            }),
            Backend::AzureBlobStorage(a) => Some(Location::Azure {
                container: a.bucket.clone(),
                prefix: a.prefix.clone(),
                endpoint: without_userinfo(&a.endpoint),
                account: a.account_name.clone(),
            }),
            Backend::Local(l) => Some(Location::Local {
                path: l.path.clone(),
            }),
            Backend::Noop(_) | Backend::CloudDynamic(_) | Backend::Hdfs(_) => None,
        }
    }

    /// A storage as BR's `ParseBackend` takes it (pingcap/tidb:pkg/objstore/parse.go,
    /// formerly br/pkg/storage/parse.go; docs/storage.md#storage-urls): a URL
    /// (`s3://bucket/prefix?endpoint=…`, `gcs://`/`gs://`, `azure://`/`azblob://`,
    /// `local://`/`file://`), or a bare path, which is a local directory (a relative one
    /// against the working directory). Query options: `endpoint`, `region`,
    /// `force-path-style`, `profile` (s3), `account-name` (azure). Anything else is an
    /// error, so that a typo does not silently read another bucket.
    pub fn parse(url: &str) -> Result<Location, String> {
        Location::parse_in(url, || {
            std::env::current_dir()
                .map(|d| d.display().to_string())
                .map_err(|e| e.to_string())
        })
    }

    /// [`Location::parse`], a relative bare path taken against `cwd()`.
    pub fn parse_in(
        url: &str,
        cwd: impl FnOnce() -> Result<String, String>,
    ) -> Result<Location, String> {
        let bad = |why: &str| format!("invalid storage URL '{url}': {why}");
        let parts = GoUrl::parse(url).map_err(|e| bad(&e))?;
        let Some(scheme) = parts.scheme else {
            // No scheme: BR takes the whole text as a path, made absolute
            // (`filepath.Abs`: joined to the working directory, then cleaned).
            let path = if url.starts_with('/') {
                clean_path(url)
            } else {
                let cwd = cwd()
                    .map_err(|e| bad(&format!("cannot make the relative path absolute ({e})")))?;
                clean_path(&format!("{cwd}/{url}"))
            };
            return Ok(Location::Local { path });
        };
        let mut options: Vec<(String, String)> = Vec::new();
        for pair in parts.query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            options.push((k.replace('_', "-").to_ascii_lowercase(), percent_decode(v)));
        }
        let take = |options: &mut Vec<(String, String)>, key: &str| -> String {
            match options.iter().position(|(k, _)| k == key) {
                Some(i) => options.remove(i).1,
                None => String::new(),
            }
        };
        let host = parts.host;
        let prefix = parts.path.trim_matches('/').to_string();
        let location = match scheme.as_str() {
            "s3" => Location::S3 {
                bucket: host,
                prefix,
                endpoint: without_userinfo(&take(&mut options, "endpoint")),
                region: take(&mut options, "region"),
                force_path_style: matches!(
                    take(&mut options, "force-path-style").as_str(),
                    "true" | "1"
                ),
                named_profile: !take(&mut options, "profile").is_empty(),
            },
            "gcs" | "gs" => Location::Gcs {
                bucket: host,
                prefix,
                endpoint: without_userinfo(&take(&mut options, "endpoint")),
            },
            "azure" | "azblob" => Location::Azure {
                container: host,
                prefix,
                endpoint: without_userinfo(&take(&mut options, "endpoint")),
                account: take(&mut options, "account-name"),
            },
            // BR keeps the URL's path only: `local://dir/x` is `/x`, its host dropped.
            "local" | "file" if parts.path.is_empty() => return Err(bad("no path")),
            "local" | "file" => Location::Local { path: parts.path },
            other => {
                return Err(format!(
                    "invalid storage URL '{url}': scheme {other} cannot be read (want s3, gcs, azure, local or a path)"
                ))
            }
        };
        if let Some((key, _)) = options.first() {
            return Err(format!("invalid storage URL '{url}': unknown option {key}"));
        }
        if location.container().is_empty() && !matches!(location, Location::Local { .. }) {
            return Err(format!("invalid storage URL '{url}': no bucket"));
        }
        if !location.endpoint().is_empty() {
            check_endpoint(location.endpoint())
                .map_err(|e| format!("invalid storage URL '{}': {e}", location.display()))?;
        }
        Ok(location)
    }

    /// The same location reached another way: another endpoint (any cloud), region and
    /// path style (S3).
    pub fn reached_by(
        mut self,
        endpoint: Option<&str>,
        region: Option<&str>,
        path_style: Option<bool>,
    ) -> Location {
        match &mut self {
            Location::S3 {
                endpoint: e,
                region: r,
                force_path_style: f,
                ..
            } => {
                if let Some(v) = endpoint {
                    *e = without_userinfo(v);
                }
                if let Some(v) = region {
                    *r = v.to_string();
                }
                if let Some(v) = path_style {
                    *f = v;
                }
            }
            Location::Gcs { endpoint: e, .. } | Location::Azure { endpoint: e, .. } => {
                if let Some(v) = endpoint {
                    *e = without_userinfo(v);
                }
            }
            Location::Local { .. } => {}
        }
        self
    }

    /// The endpoint the location names (empty: the provider's own; always empty for local).
    pub fn endpoint(&self) -> &str {
        match self {
            Location::S3 { endpoint, .. }
            | Location::Gcs { endpoint, .. }
            | Location::Azure { endpoint, .. } => endpoint,
            Location::Local { .. } => "",
        }
    }

    /// The bucket or container (empty for local).
    pub fn container(&self) -> &str {
        match self {
            Location::S3 { bucket, .. } | Location::Gcs { bucket, .. } => bucket,
            Location::Azure { container, .. } => container,
            Location::Local { .. } => "",
        }
    }

    /// Which part of the bucket (or of the file system) holds the backup.
    pub fn prefix(&self) -> &str {
        match self {
            Location::S3 { prefix, .. }
            | Location::Gcs { prefix, .. }
            | Location::Azure { prefix, .. } => prefix,
            Location::Local { path } => path,
        }
    }

    /// The same location one level down (a child backup of a `--full-backup-root`).
    pub fn child(&self, name: &str) -> Location {
        let join = |p: &str| {
            if p.is_empty() {
                name.to_string()
            } else {
                format!("{}/{name}", p.trim_end_matches('/'))
            }
        };
        let mut child = self.clone();
        match &mut child {
            Location::S3 { prefix, .. }
            | Location::Gcs { prefix, .. }
            | Location::Azure { prefix, .. } => *prefix = join(prefix),
            Location::Local { path } => *path = join(path),
        }
        child
    }

    /// `s3://bucket/prefix` and so on, for reasons: no endpoint, no option, no secret.
    pub fn display(&self) -> String {
        let (scheme, host) = match self {
            Location::S3 { bucket, .. } => ("s3", bucket.as_str()),
            Location::Gcs { bucket, .. } => ("gcs", bucket.as_str()),
            Location::Azure { container, .. } => ("azure", container.as_str()),
            Location::Local { path } => return format!("local://{path}"),
        };
        let prefix = self.prefix().trim_matches('/');
        if prefix.is_empty() {
            format!("{scheme}://{host}")
        } else {
            format!("{scheme}://{host}/{prefix}")
        }
    }
}

/// A URL split as Go's `net/url.Parse` splits it, for what `ParseBackend` reads: the
/// scheme (lower case; `None` for a bare path), the host (userinfo dropped), the path
/// (unescaped) and the raw query. BR first writes every `+` as `%2B` (`ParseRawURL`),
/// so a `+` stays a `+`.
struct GoUrl {
    scheme: Option<String>,
    host: String,
    path: String,
    query: String,
}

impl GoUrl {
    fn parse(raw: &str) -> Result<GoUrl, String> {
        if raw.is_empty() {
            return Err("empty store is not allowed".to_string());
        }
        if raw.bytes().any(|b| b < 0x20 || b == 0x7f) {
            return Err("invalid control character in URL".to_string());
        }
        let (raw, _fragment) = raw.split_once('#').unwrap_or((raw, ""));
        // getScheme: letters, then letters, digits, `+`, `-` or `.`, up to a `:`.
        let mut scheme = None;
        let mut rest = raw;
        for (i, c) in raw.char_indices() {
            match c {
                'a'..='z' | 'A'..='Z' => {}
                '0'..='9' | '+' | '-' | '.' if i > 0 => {}
                ':' if i == 0 => return Err("missing protocol scheme".to_string()),
                ':' => {
                    scheme = Some(raw[..i].to_ascii_lowercase());
                    rest = &raw[i + 1..];
                    break;
                }
                _ => break,
            }
        }
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        if scheme.is_none() && rest.split('/').next().is_some_and(|s| s.contains(':')) {
            return Err("first path segment in URL cannot contain colon".to_string());
        }
        let (host, path) = match rest.strip_prefix("//") {
            Some(after) if scheme.is_some() => {
                let end = after.find('/').unwrap_or(after.len());
                let authority = &after[..end];
                let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
                (host.to_string(), &after[end..])
            }
            // `scheme:opaque` has no path; `scheme:/path` has one.
            _ if scheme.is_some() && !rest.starts_with('/') => (String::new(), ""),
            _ => (String::new(), rest),
        };
        Ok(GoUrl {
            scheme,
            host,
            path: path_unescape(path)?,
            query: query.to_string(),
        })
    }
}

/// Go's `url.PathUnescape`: every `%` starts two hex digits.
fn path_unescape(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |b: Option<&u8>| b.and_then(|b| (*b as char).to_digit(16));
            match (hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => {
                    return Err(format!(
                        "invalid URL escape {}",
                        shown(
                            &String::from_utf8_lossy(&bytes[i..bytes.len().min(i + 3)]),
                            3
                        )
                    ))
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Go's `filepath.Clean` of an absolute path: no `.`, no `..` (none above the root), no
/// doubled or trailing `/`.
fn clean_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_br_urls_and_rejects_unknown_options() {
        assert_eq!(
            Location::parse("s3://b/p/q/?endpoint=http%3A%2F%2F127.0.0.1%3A9000&force-path-style=true&region=us-east-1").unwrap(),
            Location::S3 {
                bucket: "b".into(),
                prefix: "p/q".into(),
                endpoint: "http://127.0.0.1:9000".into(),
                region: "us-east-1".into(),
                force_path_style: true,
                named_profile: false,
            }
        );
        assert_eq!(
            Location::parse("local:///var/backup/log").unwrap(),
            Location::Local {
                path: "/var/backup/log".into()
            }
        );
        assert_eq!(
            Location::parse("azure://c/p?account-name=acc")
                .unwrap()
                .display(),
            "azure://c/p"
        );
        assert!(Location::parse("s3://b/p?endpiont=x")
            .unwrap_err()
            .contains("unknown option endpiont"));
        assert!(Location::parse("hdfs://x/y").is_err());
        assert!(Location::parse("s3:///p")
            .unwrap_err()
            .contains("no bucket"));
        for bad in [
            "::::",
            "http://[",
            "http://host:99999",
            "ftp://h",
            "http://h/?x",
        ] {
            let url = format!("s3://b/p?endpoint={bad}");
            let e = Location::parse(&url).unwrap_err();
            assert!(e.contains("invalid endpoint"), "{bad}: {e}");
        }
        let with_secret = Location::parse("s3://b/p?endpoint=http://KEY:SECRET@h:9000").unwrap();
        assert_eq!(with_secret.endpoint(), "http://h:9000");
        assert_eq!(
            Location::parse("s3://b").unwrap().child("full-1").prefix(),
            "full-1"
        );
    }

    /// Every form `ParseBackend` gives a local directory, and the ones it refuses.
    #[test]
    fn paths_and_file_urls_as_brs_parse_backend() {
        let local = |url: &str| match Location::parse_in(url, || Ok("/srv/br".to_string())) {
            Ok(Location::Local { path }) => Ok(path),
            Ok(other) => Err(format!("not local: {other:?}")),
            Err(e) => Err(e),
        };
        for (url, path) in [
            // A bare path: `filepath.Abs` (the working directory, then `Clean`).
            ("/backups/snap-1", "/backups/snap-1"),
            ("/backups//snap-1/./", "/backups/snap-1"),
            ("/backups/x/../snap-1", "/backups/snap-1"),
            ("backups/snap-1", "/srv/br/backups/snap-1"),
            ("./snap-1", "/srv/br/snap-1"),
            ("../snap-1", "/srv/snap-1"),
            ("snap+1", "/srv/br/snap+1"),
            // Taken whole, query and all: BR makes no URL of it.
            ("/backups/snap?1", "/backups/snap?1"),
            // `local://` and `file://`: the URL's path, unescaped; a host is dropped.
            ("file:///x", "/x"),
            ("file:/x", "/x"),
            ("FILE:///x", "/x"),
            ("local:///x%20y/", "/x y/"),
            ("local://backups/snap-1", "/snap-1"),
            ("file:///x#frag", "/x"),
        ] {
            assert_eq!(local(url), Ok(path.to_string()), "{url}");
        }
        for (url, why) in [
            ("", "empty store is not allowed"),
            (":x", "missing protocol scheme"),
            ("a b:c/d", "first path segment in URL cannot contain colon"),
            ("/x%zz", "invalid URL escape %zz"),
            ("/x\ty", "invalid control character"),
            ("file:x", "no path"),
            ("local://", "no path"),
            ("noop://", "scheme noop cannot be read"),
            ("hdfs://h/p", "scheme hdfs cannot be read"),
            ("ks3://b/p", "scheme ks3 cannot be read"),
            ("bucket:9000/p", "scheme bucket cannot be read"),
        ] {
            let e = local(url).unwrap_err();
            assert!(e.contains(why), "{url}: {e}");
        }
        assert_eq!(
            Location::parse("s3://b/a%2Fb+c/").unwrap().prefix(),
            "a/b+c"
        );
        assert_eq!(Location::parse("s3://key@b/p").unwrap().container(), "b");
        let relative = Location::parse("snap-1").unwrap();
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(relative.prefix(), cwd.join("snap-1").display().to_string());
    }
}
