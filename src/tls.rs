//! TLS material, shared by the three channels: PD's etcd (gRPC), PD's HTTP
//! API and TiKV's status port. PD requires client certificates as soon as its CA is set
//! (docs/etcd-layout.md#tls), so one `--cacert/--cert/--key` set serves all of them.

use std::fmt;
use std::path::{Path, PathBuf};

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

    pub(crate) fn ureq_config(&self) -> Result<ureq::tls::TlsConfig, String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_key() {
        let tls = Tls {
            ca: None,
            cert: None,
            key: Some((
                PathBuf::from("/k.pem"),
                b"-----BEGIN PRIVATE KEY-----SECRETKEY".to_vec(),
            )),
            server_name: None,
        };
        let printed = format!("{tls:?}");
        assert!(!printed.contains("SECRETKEY"), "{printed}");
        assert!(printed.contains("<redacted>"), "{printed}");
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
