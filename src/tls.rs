//! TLS and etcd credentials, shared by the three channels: PD's etcd (gRPC), PD's HTTP
//! API and TiKV's status port. PD requires client certificates as soon as its CA is set
//! (docs/etcd-layout.md#tls), so one `--cacert/--cert/--key` set serves all of them.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// PEM material read once at start-up. `Debug` shows the paths, never the key.
#[derive(Clone, PartialEq, Eq)]
pub struct Tls {
    pub ca: Option<(PathBuf, Vec<u8>)>,
    pub cert: Option<(PathBuf, Vec<u8>)>,
    pub key: Option<(PathBuf, Vec<u8>)>,
    /// The name to verify the servers' certificates against, instead of the URL's host.
    pub server_name: Option<String>,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path =
            |p: &Option<(PathBuf, Vec<u8>)>| p.as_ref().map(|(path, _)| path.display().to_string());
        f.debug_struct("Tls")
            .field("ca", &path(&self.ca))
            .field("cert", &path(&self.cert))
            .field("key", &path(&self.key).map(|_| "<redacted>"))
            .field("server_name", &self.server_name)
            .finish()
    }
}

/// A secret string (a password): `Debug` prints `<redacted>`.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// etcd user and password. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: Secret,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

fn read(path: &Path, what: &str) -> Result<(PathBuf, Vec<u8>), String> {
    std::fs::read(path)
        .map(|bytes| (path.to_path_buf(), bytes))
        .map_err(|e| format!("cannot read {what} {}: {e}", path.display()))
}

impl Tls {
    /// Reads and checks the PEM files; `Ok(None)` when no TLS option is given.
    pub fn load(
        cacert: Option<&Path>,
        cert: Option<&Path>,
        key: Option<&Path>,
        server_name: Option<String>,
    ) -> Result<Option<Tls>, String> {
        if cert.is_some() != key.is_some() {
            return Err("--cert and --key go together".to_string());
        }
        if cacert.is_none() && cert.is_none() && server_name.is_none() {
            return Ok(None);
        }
        let tls = Tls {
            ca: cacert.map(|p| read(p, "--cacert")).transpose()?,
            cert: cert.map(|p| read(p, "--cert")).transpose()?,
            key: key.map(|p| read(p, "--key")).transpose()?,
            server_name,
        };
        // Parse now, so a bad file is a clear start-up error, not a handshake mystery.
        if let Some((path, pem)) = &tls.ca {
            ureq::tls::Certificate::from_pem(pem)
                .map_err(|e| format!("--cacert {}: not a PEM certificate: {e}", path.display()))?;
        }
        if let Some((path, pem)) = &tls.cert {
            ureq::tls::Certificate::from_pem(pem)
                .map_err(|e| format!("--cert {}: not a PEM certificate: {e}", path.display()))?;
        }
        if let Some((path, pem)) = &tls.key {
            ureq::tls::PrivateKey::from_pem(pem)
                .map_err(|e| format!("--key {}: not a PEM private key: {e}", path.display()))?;
        }
        Ok(Some(tls))
    }

    /// Options for etcd-client (tonic + rustls).
    pub fn etcd_options(&self, endpoint_host: &str) -> etcd_client::TlsOptions {
        let mut options = etcd_client::TlsOptions::new();
        options = match &self.ca {
            Some((_, pem)) => options.ca_certificate(etcd_client::Certificate::from_pem(pem)),
            None => options.with_webpki_roots(),
        };
        if let (Some((_, cert)), Some((_, key))) = (&self.cert, &self.key) {
            options = options.identity(etcd_client::Identity::from_pem(cert, key));
        }
        options.domain_name(
            self.server_name
                .clone()
                .unwrap_or_else(|| endpoint_host.to_string()),
        )
    }

    fn ureq_config(&self) -> Result<ureq::tls::TlsConfig, String> {
        use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig};
        let mut builder = TlsConfig::builder();
        if let Some((_, pem)) = &self.ca {
            let ca = Certificate::from_pem(pem)
                .map_err(|e| e.to_string())?
                .to_owned();
            builder = builder.root_certs(RootCerts::new_with_certs(&[ca]));
        }
        if let (Some((_, cert)), Some((_, key))) = (&self.cert, &self.key) {
            let cert = Certificate::from_pem(cert)
                .map_err(|e| e.to_string())?
                .to_owned();
            let key = PrivateKey::from_pem(key)
                .map_err(|e| e.to_string())?
                .to_owned();
            builder = builder.client_cert(Some(ClientCert::new_with_certs(&[cert], key)));
        }
        Ok(builder.build())
    }
}

/// Host part of `scheme://host:port[/…]`.
pub fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or(rest);
    match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    }
}

/// A blocking HTTP agent for PD's API and TiKV's status port. With `--tls-server-name`,
/// the request URL carries that name (so rustls verifies and sends it) and a resolver
/// sends the connection to the real host.
pub fn http_agent(
    tls: Option<&Tls>,
    timeout: Duration,
    url: &str,
) -> Result<(ureq::Agent, String), String> {
    let mut config = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        // Small buffers: 32 fetches in flight with ureq's 128 KiB defaults cost ~8 MiB of RSS
        // (measured in BENCHMARKS.md); a /metrics body is streamed through them anyway.
        .input_buffer_size(16 * 1024)
        .output_buffer_size(4 * 1024);
    if let Some(tls) = tls {
        config = config.tls_config(tls.ureq_config()?);
        if let Some(name) = &tls.server_name {
            let real = url_host(url).to_string();
            let renamed = url.replacen(&real, name, 1);
            let resolver = RenameResolver {
                name: name.clone(),
                real,
                inner: ureq::unversioned::resolver::DefaultResolver::default(),
            };
            let agent = ureq::Agent::with_parts(
                config.build(),
                ureq::unversioned::transport::DefaultConnector::default(),
                resolver,
            );
            return Ok((agent, renamed));
        }
    }
    Ok((config.build().into(), url.to_string()))
}

/// Resolves `name` as if it were `real` (for `--tls-server-name` over HTTP).
#[derive(Debug)]
struct RenameResolver {
    name: String,
    real: String,
    inner: ureq::unversioned::resolver::DefaultResolver,
}

impl ureq::unversioned::resolver::Resolver for RenameResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        if uri.host() == Some(self.name.as_str()) {
            let text = uri.to_string().replacen(&self.name, &self.real, 1);
            let real: ureq::http::Uri = text.parse().map_err(|_| ureq::Error::HostNotFound)?;
            return self.inner.resolve(&real, config, timeout);
        }
        self.inner.resolve(uri, config, timeout)
    }
}

/// Turns rustls/tonic wording into what an operator checks next; the original reason
/// is kept in brackets.
pub fn explain(error: &str, tls_on: bool) -> String {
    let hint = if error.contains("UnknownIssuer") || error.contains("unknown issuer") {
        Some("server certificate is not signed by the --cacert CA (unknown CA)")
    } else if error.contains("NotValidForName") || error.contains("not valid for name") {
        Some("server certificate does not name this host (name mismatch; see --tls-server-name)")
    } else if error.contains("Expired") || error.contains("certificate expired") {
        Some("certificate expired")
    } else if error.contains("BadCertificate")
        || error.contains("CertificateRequired")
        || error.contains("UnknownCA")
    {
        Some("server rejected our client certificate (missing, or not signed by a CA it trusts)")
    } else if error.contains("InvalidContentType") || error.contains("CorruptMessage") {
        Some("TLS handshake with a plain-text server (use http://)")
    } else if tls_on
        && [
            "connection closed",
            "connection reset",
            "broken pipe",
            "stream closed",
        ]
        .iter()
        .any(|m| error.contains(m))
    {
        // TLS 1.3 servers check the client certificate after the client's handshake ends,
        // so a rejection arrives as a closed connection.
        Some("server closed the connection after the handshake: it probably rejected our client certificate (missing, or not signed by a CA it trusts)")
    } else {
        None
    };
    match hint {
        Some(h) => format!("TLS: {h} [{error}]"),
        None => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_hosts() {
        assert_eq!(url_host("https://pd-1:2379"), "pd-1");
        assert_eq!(
            url_host("https://127.0.0.1:2379/pd/api/v1/stores"),
            "127.0.0.1"
        );
        assert_eq!(url_host("https://[::1]:2379"), "::1");
        assert_eq!(url_host("tikv:20180"), "tikv");
    }

    #[test]
    fn explains_tls_failures_in_one_line() {
        assert!(explain("invalid peer certificate: UnknownIssuer", true)
            .starts_with("TLS: server certificate is not signed by the --cacert CA"));
        assert!(explain(
            "invalid peer certificate: NotValidForNameContext { .. }",
            true
        )
        .contains("name mismatch"));
        assert!(
            explain("received fatal alert: BadCertificate", true).contains("client certificate")
        );
        assert!(
            explain("Cancelled: operation was canceled: connection closed", true)
                .contains("rejected our client certificate")
        );
        assert_eq!(
            explain(
                "Cancelled: operation was canceled: connection closed",
                false
            ),
            "Cancelled: operation was canceled: connection closed"
        );
        assert_eq!(explain("connection refused", true), "connection refused");
        assert_eq!(
            explain("Cancelled: Timeout expired", true),
            "Cancelled: Timeout expired"
        );
        assert!(explain("invalid peer certificate: Expired", true).contains("certificate expired"));
    }

    #[test]
    fn debug_never_shows_keys_or_passwords() {
        let tls = Tls {
            ca: None,
            cert: None,
            key: Some((
                PathBuf::from("/k.pem"),
                b"-----BEGIN PRIVATE KEY-----SECRETKEY".to_vec(),
            )),
            server_name: None,
        };
        let creds = Credentials {
            user: "checker".into(),
            password: Secret("hunter2".into()),
        };
        let printed = format!("{tls:?} {creds:?}");
        assert!(
            !printed.contains("SECRETKEY") && !printed.contains("hunter2"),
            "{printed}"
        );
        assert!(printed.contains("checker"));
    }

    #[test]
    fn cert_and_key_go_together() {
        assert!(Tls::load(None, Some(Path::new("/c")), None, None)
            .unwrap_err()
            .contains("together"));
        assert_eq!(Tls::load(None, None, None, None), Ok(None));
        assert!(
            Tls::load(Some(Path::new("/nonexistent/ca.pem")), None, None, None)
                .unwrap_err()
                .contains("cannot read --cacert /nonexistent/ca.pem")
        );
    }
}
