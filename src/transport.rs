//! HTTP to PD's API, TiKV's and TiDB's status ports: one blocking client factory (TLS,
//! `--tls-server-name`, small buffers) and the one-line explanation of a failed
//! connection that every channel, etcd's gRPC included, shows.

use crate::tls::Tls;
use std::time::Duration;

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
}
