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

    /// A URL in BR's syntax. Query options: `endpoint`, `region`, `force-path-style`,
    /// `profile` (s3), `account-name` (azure). Anything else is an error, so that a typo
    /// does not silently read another bucket.
    pub fn parse(url: &str) -> Result<Location, String> {
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            format!("invalid storage URL '{url}' (want s3://, gcs://, azure:// or local://)")
        })?;
        let (body, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut options: Vec<(String, String)> = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            options.push((k.replace('_', "-").to_ascii_lowercase(), percent_decode(v)));
        }
        let take = |options: &mut Vec<(String, String)>, key: &str| -> String {
            match options.iter().position(|(k, _)| k == key) {
                Some(i) => options.remove(i).1,
                None => String::new(),
            }
        };
        let (host, path) = body.split_once('/').unwrap_or((body, ""));
        let prefix = path.trim_matches('/').to_string();
        let location = match scheme.to_ascii_lowercase().as_str() {
            "s3" => Location::S3 {
                bucket: host.to_string(),
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
                bucket: host.to_string(),
                prefix,
                endpoint: without_userinfo(&take(&mut options, "endpoint")),
            },
            "azure" | "azblob" => Location::Azure {
                container: host.to_string(),
                prefix,
                endpoint: without_userinfo(&take(&mut options, "endpoint")),
                account: take(&mut options, "account-name"),
            },
            "local" | "file" => Location::Local {
                path: format!("/{}", body.trim_start_matches('/')),
            },
            other => {
                return Err(format!(
                    "invalid storage URL '{url}': scheme {other} cannot be read (want s3, gcs, azure or local)"
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
        assert!(Location::parse("bucket/prefix").is_err());
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
}
