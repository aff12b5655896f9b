//! The storage's HTTP client, under object_store's clients: one reqwest client per run and
//! scheme (TLS roots are loaded only when an `https://` endpoint is used, once), redirects
//! never followed (a 3xx is an unreadable storage naming where it pointed, so no signed
//! request or session token ever goes to a host the check was not given), and every HTTP
//! request counted for `storage_requests`.

use object_store::client::{
    ClientOptions, HttpClient, HttpConnector, HttpError, HttpErrorKind, HttpRequest, HttpResponse,
    HttpService,
};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// The run's two clients, each built on first use.
#[derive(Debug)]
pub(super) struct Clients {
    timeout: Duration,
    plain: OnceLock<Result<reqwest::Client, String>>,
    tls: OnceLock<Result<reqwest::Client, String>>,
}

impl Clients {
    pub(super) fn new(timeout: Duration) -> Clients {
        Clients {
            timeout,
            plain: OnceLock::new(),
            tls: OnceLock::new(),
        }
    }

    /// The client for a store whose requests go over `https` (or only plain http).
    fn get(&self, https: bool) -> Result<reqwest::Client, String> {
        let slot = if https { &self.tls } else { &self.plain };
        slot.get_or_init(|| {
            reqwest::Client::builder()
                .user_agent(concat!("check_tidb_log_backup/", env!("CARGO_PKG_VERSION")))
                .timeout(self.timeout)
                .connect_timeout(self.timeout)
                .redirect(reqwest::redirect::Policy::none())
                // Reading the system's CA files costs ~80 ms on Debian: only for https.
                .tls_built_in_root_certs(https)
                .build()
                .map_err(|e| format!("cannot build the HTTP client: {e}"))
        })
        .clone()
    }

    /// A connector for one store: its requests are counted in `requests`, and a redirect
    /// it met is kept in `redirect`.
    pub(super) fn connector(&self, https: bool, seen: &Seen) -> Result<Connector, String> {
        Ok(Connector {
            client: self.get(https)?,
            seen: seen.clone(),
        })
    }
}

/// What one store's requests met.
#[derive(Debug, Clone, Default)]
pub(super) struct Seen {
    pub requests: Arc<AtomicU32>,
    /// The host a 3xx pointed at.
    pub redirect: Arc<Mutex<Option<String>>>,
}

impl Seen {
    pub(super) fn requests(&self) -> u32 {
        self.requests.load(Ordering::Relaxed)
    }

    pub(super) fn redirect(&self) -> Option<String> {
        self.redirect.lock().ok().and_then(|r| r.clone())
    }
}

#[derive(Debug)]
pub(super) struct Connector {
    client: reqwest::Client,
    seen: Seen,
}

impl HttpConnector for Connector {
    fn connect(&self, _options: &ClientOptions) -> object_store::Result<HttpClient> {
        Ok(HttpClient::new(Service {
            client: self.client.clone(),
            seen: self.seen.clone(),
        }))
    }
}

#[derive(Debug)]
struct Service {
    client: reqwest::Client,
    seen: Seen,
}

#[async_trait::async_trait]
impl HttpService for Service {
    async fn call(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        // reqwest's adapter unwraps the URI as a URL: refuse one that would not parse.
        if url::Url::parse(&request.uri().to_string()).is_err() {
            return Err(HttpError::new(
                HttpErrorKind::Request,
                std::io::Error::other("request URI is not a URL"),
            ));
        }
        self.seen.requests.fetch_add(1, Ordering::Relaxed);
        let response = self.client.call(request).await?;
        if response.status().is_redirection() {
            let to = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .map(|l| match url::Url::parse(l) {
                    Ok(url) => url.host_str().unwrap_or("").to_string(),
                    Err(_) => "a relative location".to_string(),
                })
                .unwrap_or_else(|| "no location".to_string());
            if let Ok(mut r) = self.seen.redirect.lock() {
                *r = Some(to);
            }
        }
        Ok(response)
    }
}
