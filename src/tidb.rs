//! Which TiDB runs the checkpoint advancer (`--throughput`). The owner key under
//! `/tidb/br-stream/owner/` holds a random id that no etcd key joins to a TiDB, so the
//! TiDBs registered under `/tidb/server/info/` (same snapshot) are asked instead: the
//! owner's `/metrics` says `tidb_log_backup_advancer_owner 1`
//! (pingcap/tidb:pkg/metrics/log_backup.go, docs/rules.md#advancer-owner).

use crate::prom;
use crate::snapshot::Snapshot;
use crate::tls::Tls;
use serde::Deserialize;
use std::time::Instant;

/// One `/tidb/server/info/<ddl id>` entry (TiDB's `ServerInfo` JSON,
/// pingcap/tidb:pkg/domain/infosync/info.go), as much of it as the check needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TidbServer {
    /// `ip:listening_port`, the address operators know the TiDB by.
    pub address: String,
    /// `ip:status_port`, where its `/metrics` is.
    pub status_address: String,
}

#[derive(Deserialize)]
struct ServerInfo {
    #[serde(default)]
    ip: String,
    #[serde(default)]
    listening_port: u16,
    #[serde(default)]
    status_port: u16,
}

/// The TiDBs registered in the snapshot, in key order, or why they could not be listed.
/// An entry that does not decode, or names no status port, cannot be asked: it is
/// counted in [`OwnerFacts::listing`] with its reason.
pub fn servers(snapshot: &Snapshot) -> Result<Vec<Result<TidbServer, String>>, String> {
    let Some(listing) = &snapshot.tidb_servers else {
        return Ok(Vec::new());
    };
    let entries = listing.as_ref().map_err(Clone::clone)?;
    Ok(entries.iter().map(|kv| server(&kv.value)).collect())
}

fn server(value: &[u8]) -> Result<TidbServer, String> {
    let info: ServerInfo =
        serde_json::from_slice(value).map_err(|e| format!("server info does not decode: {e}"))?;
    if info.ip.is_empty() || info.status_port == 0 {
        return Err("server info names no status address".to_string());
    }
    // An IPv6 advertise-address needs brackets in host:port.
    let host = if info.ip.contains(':') {
        format!("[{}]", info.ip)
    } else {
        info.ip
    };
    Ok(TidbServer {
        address: format!("{host}:{}", info.listening_port),
        status_address: format!("{host}:{}", info.status_port),
    })
}

/// What the TiDBs said about the advancer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerFacts {
    /// How many TiDBs are registered under `/tidb/server/info/`, or why that could not
    /// be read.
    pub listing: Result<usize, String>,
    /// Of them, how many answered `/metrics`.
    pub sampled: usize,
    /// Those reporting `tidb_log_backup_advancer_owner 1` (two only while ownership moves).
    pub owners: Vec<String>,
}

impl OwnerFacts {
    /// The owners' addresses for a reason (`a, b` while ownership moves), if any.
    pub fn named(&self) -> Option<String> {
        (!self.owners.is_empty()).then(|| self.owners.join(", "))
    }
}

impl Default for OwnerFacts {
    fn default() -> OwnerFacts {
        OwnerFacts {
            listing: Ok(0),
            sampled: 0,
            owners: Vec::new(),
        }
    }
}

/// The series looked for; a TiDB older than the metric (v6.2) never reports it.
const OWNER_SERIES: &str = "tidb_log_backup_advancer_owner";

/// How many TiDBs are asked at once.
const MAX_PARALLEL: usize = 8;

/// Asks every registered TiDB's `/metrics` before `deadline`.
pub fn find_owner(
    servers: &Result<Vec<Result<TidbServer, String>>, String>,
    tls: Option<&Tls>,
    deadline: Instant,
) -> OwnerFacts {
    let servers = match servers {
        Ok(servers) => servers,
        Err(e) => {
            return OwnerFacts {
                listing: Err(e.clone()),
                ..OwnerFacts::default()
            }
        }
    };
    let askable: Vec<&TidbServer> = servers.iter().filter_map(|s| s.as_ref().ok()).collect();
    let answers = prom::in_parallel(&askable, MAX_PARALLEL, |server| {
        let url = prom::metrics_url(&server.status_address, tls.is_some());
        let mut owner = false;
        prom::scrape(&url, tls, deadline, &[OWNER_SERIES], |name, _, value| {
            owner |= name == OWNER_SERIES && value == 1.0;
        })?;
        Ok(owner)
    });
    OwnerFacts {
        listing: Ok(servers.len()),
        sampled: answers.iter().filter(|a| a.is_ok()).count(),
        owners: askable
            .iter()
            .zip(&answers)
            .filter(|(_, a)| matches!(a, Ok(true)))
            .map(|(s, _)| s.address.clone())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::Kv;

    #[test]
    fn server_info_gives_the_sql_and_status_addresses() {
        let entry = |id: &str, value: &str| Kv {
            key: format!("/tidb/server/info/{id}").into_bytes(),
            value: value.as_bytes().to_vec(),
        };
        let snapshot = Snapshot {
            tidb_servers: Some(Ok(vec![
                entry(
                    "a",
                    r#"{"version":"8.0.11-TiDB-v8.5.0","git_hash":"x","ddl_id":"a","ip":"10.0.1.5","listening_port":4000,"status_port":10080,"lease":"45s","start_timestamp":1700000000,"labels":{}}"#,
                ),
                entry(
                    "b",
                    r#"{"ip":"fd00::7","listening_port":4000,"status_port":10080}"#,
                ),
                entry("c", "not json"),
                entry("d", r#"{"ip":"10.0.1.6","listening_port":4000}"#),
            ])),
            ..Snapshot::default()
        };
        let got = servers(&snapshot).unwrap();
        assert_eq!(
            got[0],
            Ok(TidbServer {
                address: "10.0.1.5:4000".into(),
                status_address: "10.0.1.5:10080".into()
            })
        );
        assert_eq!(
            got[1].as_ref().map(|s| s.status_address.as_str()),
            Ok("[fd00::7]:10080")
        );
        assert!(got[2]
            .as_ref()
            .is_err_and(|e| e.starts_with("server info does not decode")));
        assert_eq!(
            got[3],
            Err("server info names no status address".to_string())
        );
    }

    #[test]
    fn a_listing_etcd_refused_is_said_not_asked() {
        let refused = Snapshot {
            tidb_servers: Some(Err("PermissionDenied: etcdserver: permission denied".into())),
            ..Snapshot::default()
        };
        let listed = servers(&refused);
        assert_eq!(
            find_owner(&listed, None, Instant::now()).listing,
            Err("PermissionDenied: etcdserver: permission denied".to_string())
        );
        assert_eq!(servers(&Snapshot::default()), Ok(Vec::new()));
    }
}
