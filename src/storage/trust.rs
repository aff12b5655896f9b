//! Which endpoints the check contacts, and with whose credentials (docs/storage.md#trust).
//!
//! Anyone who can write etcd can write a task's storage endpoint. The host's own
//! credentials (its environment, instance role, managed identity) therefore go only to the
//! cloud providers' own endpoints and to the endpoints the operator names
//! (`--allow-storage-endpoint`, or a per-task storage override in the config). A task
//! whose info names any other endpoint is not contacted at all.

use crate::location::{check_endpoint, Location};
use crate::text::shown;

/// An endpoint the operator allows (`--allow-storage-endpoint URL`): scheme, host and
/// port must match. `http://` only when written so; without a scheme, https.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedEndpoint {
    pub https: bool,
    pub host: String,
    /// `None`: the scheme's default port.
    pub port: Option<u16>,
}

impl AllowedEndpoint {
    pub fn parse(text: &str) -> Result<AllowedEndpoint, String> {
        let with_scheme = if text.contains("://") {
            text.to_string()
        } else {
            format!("https://{text}")
        };
        let url = check_endpoint(&with_scheme)
            .map_err(|e| format!("invalid --allow-storage-endpoint: {e}"))?;
        Ok(AllowedEndpoint {
            https: url.scheme() == "https",
            host: url.host_str().unwrap_or("").to_ascii_lowercase(),
            port: url.port(),
        })
    }

    fn admits(&self, url: &url::Url) -> bool {
        (url.scheme() == "https") == self.https
            && url
                .host_str()
                .is_some_and(|h| h.eq_ignore_ascii_case(&self.host))
            && url.port() == self.port
    }
}

/// Whether a task's storage is contacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contact {
    Yes,
    /// A well-formed endpoint the operator did not allow: never contacted.
    Refused(String),
    /// An endpoint that is not a URL object_store can use: never contacted.
    Invalid(String),
}

/// The cloud providers' own storage hosts, which the host's credentials are meant for:
/// Amazon S3 (`s3.amazonaws.com`, `s3.<region>.amazonaws.com`, `s3-<region>…`,
/// `s3-fips…`, `s3.dualstack…`, `<bucket>.s3…`, and `.amazonaws.com.cn`), Google Cloud
/// Storage (`storage.googleapis.com`, `<bucket>.storage.googleapis.com`) and Azure Blob
/// Storage (`<account>.blob.core.windows.net` and the sovereign clouds'). Sources in
/// docs/storage.md#trust.
pub fn provider_host(location: &Location, host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    match location {
        Location::S3 { .. } => {
            let aws = host
                .strip_suffix(".amazonaws.com")
                .or_else(|| host.strip_suffix(".amazonaws.com.cn"));
            aws.is_some_and(|rest| rest.split('.').any(|label| label.starts_with("s3")))
        }
        Location::Gcs { .. } => {
            host == "storage.googleapis.com" || host.ends_with(".storage.googleapis.com")
        }
        Location::Azure { .. } => [
            ".blob.core.windows.net",
            ".blob.core.chinacloudapi.cn",
            ".blob.core.usgovcloudapi.net",
        ]
        .iter()
        .any(|suffix| host.ends_with(suffix)),
        Location::Local { .. } => false,
    }
}

/// Whether the storage at `location` may be contacted. `operator_chosen`: the endpoint
/// comes from the operator's own config (a per-task override), not from etcd.
pub fn contact(location: &Location, operator_chosen: bool, allowed: &[AllowedEndpoint]) -> Contact {
    let endpoint = location.endpoint();
    if endpoint.is_empty() || operator_chosen {
        // The provider's default endpoint (https), a local directory, or the operator's.
        return match check_endpoint(endpoint) {
            Err(e) if !endpoint.is_empty() => Contact::Invalid(e),
            _ => Contact::Yes,
        };
    }
    let url = match check_endpoint(endpoint) {
        Ok(url) => url,
        Err(e) => return Contact::Invalid(format!("the task info names an {e}")),
    };
    let host = url.host_str().unwrap_or("");
    if allowed.iter().any(|a| a.admits(&url))
        || (url.scheme() == "https" && provider_host(location, host))
    {
        return Contact::Yes;
    }
    Contact::Refused(format!(
        "the task info names the endpoint {}, which is not {} endpoint: not contacted (allow it with --allow-storage-endpoint)",
        shown(endpoint, 120),
        match location {
            Location::S3 { .. } => "an Amazon S3",
            Location::Gcs { .. } => "a Google Cloud Storage",
            _ => "an Azure Blob Storage",
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3(endpoint: &str) -> Location {
        Location::S3 {
            bucket: "b".into(),
            prefix: "p".into(),
            endpoint: endpoint.into(),
            region: String::new(),
            force_path_style: false,
            named_profile: false,
        }
    }

    #[test]
    fn only_providers_and_allowed_endpoints_are_contacted() {
        let allowed = [
            AllowedEndpoint::parse("http://minio.lan:9000").unwrap(),
            AllowedEndpoint::parse("ceph.lan").unwrap(),
        ];
        for (endpoint, want) in [
            ("", true),
            ("https://s3.eu-west-1.amazonaws.com", true),
            ("https://b.s3.dualstack.us-east-1.amazonaws.com", true),
            ("https://s3.cn-north-1.amazonaws.com.cn", true),
            ("http://s3.amazonaws.com", false),
            ("https://ec2.amazonaws.com", false),
            ("https://s3.amazonaws.com.evil.net", false),
            ("http://minio.lan:9000", true),
            ("https://minio.lan:9000", false),
            ("http://minio.lan:9001", false),
            ("https://ceph.lan", true),
            ("http://ceph.lan", false),
            ("http://127.0.0.2:9000", false),
        ] {
            let got = contact(&s3(endpoint), false, &allowed);
            assert_eq!(got == Contact::Yes, want, "{endpoint}: {got:?}");
        }
        assert!(matches!(
            contact(&s3("http://127.0.0.2:1"), false, &[]),
            Contact::Refused(r) if r.contains("--allow-storage-endpoint") && r.contains("127.0.0.2")
        ));
        assert_eq!(contact(&s3("http://127.0.0.2:1"), true, &[]), Contact::Yes);
        for bad in ["::::", "http://[", "http://h:99999"] {
            assert!(
                matches!(contact(&s3(bad), false, &[]), Contact::Invalid(_)),
                "{bad}"
            );
        }
        assert!(AllowedEndpoint::parse("http://[").is_err());
    }

    #[test]
    fn provider_hosts_per_cloud() {
        let gcs = Location::Gcs {
            bucket: "b".into(),
            prefix: String::new(),
            endpoint: String::new(),
        };
        assert!(provider_host(&gcs, "storage.googleapis.com"));
        assert!(!provider_host(&gcs, "s3.amazonaws.com"));
        let azure = Location::Azure {
            container: "c".into(),
            prefix: String::new(),
            endpoint: String::new(),
            account: "acc".into(),
        };
        assert!(provider_host(&azure, "acc.blob.core.windows.net"));
        assert!(!provider_host(&azure, "acc.blob.core.windows.net.evil"));
    }
}
