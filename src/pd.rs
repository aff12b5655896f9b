//! PD's HTTP API (docs/rules.md#pd-facts, docs/rules.md#gc-safepoints-in-pd): GC safepoints,
//! stores, and the keyspaces that keep their own GC (docs/rules.md#keyspace-gc-barriers).
//!
//! Parsing is pure and separate from the requests. TSOs are decoded as integers, never
//! through f64 (they exceed 2^53).

use crate::tls::Tls;
use serde::Deserialize;
use std::time::{Duration, Instant};

/// One service safepoint (`expired_at` in Unix seconds; i64::MAX = never).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ServiceSafepoint {
    pub service_id: String,
    #[serde(default)]
    pub expired_at: i64,
    #[serde(default)]
    pub safe_point: u64,
}

/// `GET /pd/api/v1/gc/safepoint`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GcSafepoints {
    #[serde(default)]
    pub service_gc_safe_points: Vec<ServiceSafepoint>,
    pub gc_safe_point: u64,
}

/// A TiKV store as PD reports it (TiFlash and tombstones already removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    pub id: u64,
    pub address: String,
    pub status_address: String,
    /// `Up`, `Disconnected`, `Down` or `Offline` (PD's `state_name`; `state` is omitted for Up).
    pub state_name: String,
}

#[derive(Deserialize)]
struct StoresResponse {
    #[serde(default)]
    stores: Vec<StoreEntry>,
}

#[derive(Deserialize)]
struct StoreEntry {
    store: StoreMeta,
}

#[derive(Deserialize)]
struct StoreMeta {
    id: u64,
    #[serde(default)]
    address: String,
    #[serde(default)]
    status_address: String,
    #[serde(default)]
    state_name: String,
    #[serde(default)]
    labels: Vec<Label>,
}

#[derive(Deserialize)]
struct Label {
    key: String,
    value: String,
}

pub fn parse_gc(body: &str) -> Result<GcSafepoints, String> {
    serde_json::from_str(body).map_err(|e| format!("bad gc/safepoint JSON: {e}"))
}

/// TiKV stores only: TiFlash (`engine=tiflash|tiflash_compute`, any case) does not run log
/// backup, and tombstones are gone for good (as the advancer's store list, advancer_env.go).
pub fn parse_stores(body: &str) -> Result<Vec<Store>, String> {
    let response: StoresResponse =
        serde_json::from_str(body).map_err(|e| format!("bad stores JSON: {e}"))?;
    Ok(response
        .stores
        .into_iter()
        .map(|entry| entry.store)
        .filter(|s| {
            !s.labels.iter().any(|l| {
                l.key.eq_ignore_ascii_case("engine")
                    && (l.value.eq_ignore_ascii_case("tiflash")
                        || l.value.eq_ignore_ascii_case("tiflash_compute"))
            })
        })
        .filter(|s| !s.state_name.eq_ignore_ascii_case("Tombstone"))
        .map(|s| Store {
            id: s.id,
            address: s.address,
            status_address: s.status_address,
            state_name: s.state_name,
        })
        .collect())
}

/// Service ids that log backup writes (docs/rules.md#service-safepoints).
pub const COORDINATOR: &str = "log-backup-coordinator";

/// The safepoints that keep a paused task resumable: its own pause safepoint, the TiKV
/// pause guards, and the (no longer refreshed) advancer coordinator.
pub fn protects_task(service_id: &str, task: &str) -> bool {
    service_id == COORDINATOR
        || service_id == format!("{task}_pause_safepoint")
        || service_id
            .strip_prefix(task)
            .and_then(|rest| rest.strip_prefix('-'))
            .and_then(|rest| rest.strip_suffix("-pause-guard"))
            .is_some_and(|store| !store.is_empty() && store.bytes().all(|b| b.is_ascii_digit()))
}

/// Any service safepoint written by log backup.
pub fn is_log_backup_safepoint(service_id: &str) -> bool {
    service_id == COORDINATOR
        || service_id.starts_with("backup-stream-")
        || service_id.ends_with("-pause-guard")
        || service_id.ends_with("_pause_safepoint")
}

/// The task a log-backup service safepoint was written for: `backup-stream-<task>-<store>`
/// (a TiKV's flush), `<task>-<store>-pause-guard` (a TiKV's fatal error) or
/// `<task>_pause_safepoint` (`br log pause`); `None` for `log-backup-coordinator`, which
/// serves every task, and for any other id. The store id is the last `-` segment, so a
/// task name may hold `-` itself.
pub fn log_backup_task_of(service_id: &str) -> Option<&str> {
    fn task_store(rest: &str) -> Option<&str> {
        rest.rsplit_once('-')
            .filter(|(task, store)| {
                !task.is_empty() && !store.is_empty() && store.bytes().all(|b| b.is_ascii_digit())
            })
            .map(|(task, _)| task)
    }
    if let Some(rest) = service_id.strip_prefix("backup-stream-") {
        return task_store(rest);
    }
    if let Some(rest) = service_id.strip_suffix("-pause-guard") {
        return task_store(rest);
    }
    service_id
        .strip_suffix("_pause_safepoint")
        .filter(|task| !task.is_empty())
}

/// A keyspace whose GC state is its own (`gc_management_type` = `keyspace_level` in its
/// config, tikv/pd:pkg/keyspace/keyspace.go): PD keeps its GC barriers apart from the
/// ones `GET /pd/api/v1/gc/safepoint` lists, and serves them over no HTTP route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyspace {
    pub id: u32,
    pub name: String,
}

/// One page of `GET /pd/api/v2/keyspaces` (tikv/pd:server/apiv2/handlers/keyspace.go,
/// `LoadAllKeyspacesResponse`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyspacePage {
    /// The ENABLED keyspaces of the page with keyspace-level GC, in id order.
    pub keyspace_level_gc: Vec<Keyspace>,
    /// Where the next page starts; empty on the last page.
    pub next_page_token: String,
}

#[derive(Deserialize)]
struct KeyspacesResponse {
    #[serde(default)]
    keyspaces: Option<Vec<KeyspaceMeta>>,
    #[serde(default)]
    next_page_token: String,
}

#[derive(Deserialize)]
struct KeyspaceMeta {
    id: u32,
    #[serde(default)]
    name: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    config: std::collections::BTreeMap<String, String>,
}

/// The keyspace config key and value of keyspace-level GC (tikv/pd:pkg/keyspace/keyspace.go,
/// `GCManagementType`, `KeyspaceLevelGC`); `unified` or no key is the cluster's GC.
const GC_MANAGEMENT_TYPE: &str = "gc_management_type";
const KEYSPACE_LEVEL_GC: &str = "keyspace_level";

pub fn parse_keyspaces(body: &str) -> Result<KeyspacePage, String> {
    let response: KeyspacesResponse =
        serde_json::from_str(body).map_err(|e| format!("bad keyspaces JSON: {e}"))?;
    Ok(KeyspacePage {
        keyspace_level_gc: response
            .keyspaces
            .unwrap_or_default()
            .into_iter()
            // Disabled, archived and tombstone keyspaces run no GC (PD's
            // GetAllKeyspacesGCStates leaves them out too).
            .filter(|k| k.state.eq_ignore_ascii_case("ENABLED"))
            .filter(|k| {
                k.config.get(GC_MANAGEMENT_TYPE).map(String::as_str) == Some(KEYSPACE_LEVEL_GC)
            })
            .map(|k| Keyspace {
                id: k.id,
                name: k.name,
            })
            .collect(),
        next_page_token: response.next_page_token,
    })
}

/// What PD's HTTP API said, each call on its own (one may fail while the other works).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdFacts {
    pub endpoint: String,
    pub gc: Result<GcSafepoints, String>,
    pub stores: Result<Vec<Store>, String>,
    /// The keyspaces with keyspace-level GC (`GET /pd/api/v2/keyspaces`); empty when there
    /// is none or PD has no keyspace API (HTTP 404, a PD before it).
    pub keyspace_gc: Result<Vec<Keyspace>, String>,
}

/// `http://host:2379` + path, with the body (up to 64 MiB) when the status is 200.
fn get(tls: Option<&Tls>, timeout: Duration, base: &str, path: &str) -> Result<String, String> {
    get_unless_404(tls, timeout, base, path)?.ok_or_else(|| format!("HTTP 404 from {path}"))
}

/// [`get`], with `None` for HTTP 404 (a route this PD does not serve).
fn get_unless_404(
    tls: Option<&Tls>,
    timeout: Duration,
    base: &str,
    path: &str,
) -> Result<Option<String>, String> {
    let (agent, url) = crate::transport::http_agent(tls, timeout, &format!("{base}{path}"))?;
    let mut response = agent
        .get(&url)
        .call()
        .map_err(|e| crate::transport::explain(&e.to_string(), url.starts_with("https://")))?;
    let status = response.status();
    if status == 404 {
        return Ok(None);
    }
    if status != 200 {
        return Err(format!("HTTP {} from {path}", status.as_u16()));
    }
    response
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_string()
        .map(Some)
        .map_err(|e| e.to_string())
}

/// Keyspaces per page, and pages read at most: a cluster of classic TiDB has one
/// keyspace (`DEFAULT`) or none, so one request; a keyspace cluster shows keyspace-level
/// GC on its first page with any.
const KEYSPACE_PAGE: u32 = 256;
const KEYSPACE_PAGES: usize = 16;

/// The keyspaces with keyspace-level GC, page by page until a page has any or the list
/// ends; each request gets `budget`, never past `deadline`.
fn keyspace_gc(
    tls: Option<&Tls>,
    budget: Duration,
    deadline: Instant,
    endpoint: &str,
) -> Result<Vec<Keyspace>, String> {
    let mut token = String::new();
    for _ in 0..KEYSPACE_PAGES {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("no time left to list PD's keyspaces".into());
        }
        let mut path = format!("/pd/api/v2/keyspaces?limit={KEYSPACE_PAGE}");
        if !token.is_empty() {
            path.push_str(&format!("&page_token={token}"));
        }
        let Some(body) = get_unless_404(tls, budget.min(left), endpoint, &path)? else {
            return Ok(Vec::new());
        };
        let page = parse_keyspaces(&body)?;
        if !page.keyspace_level_gc.is_empty() || page.next_page_token.is_empty() {
            return Ok(page.keyspace_level_gc);
        }
        // PD's token is a keyspace id; anything else would not be a URL query value.
        if !page.next_page_token.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "bad keyspaces next_page_token '{}'",
                page.next_page_token
            ));
        }
        token = page.next_page_token;
    }
    Err(format!(
        "more than {} keyspaces, none with keyspace-level GC among them",
        KEYSPACE_PAGE as usize * KEYSPACE_PAGES
    ))
}

/// Asks the endpoints one at a time (each with a share of the time left) until one
/// answers the stores call; the GC and keyspace calls go to the same endpoint.
pub fn fetch(endpoints: &[String], tls: Option<&Tls>, deadline: Instant) -> PdFacts {
    let mut failures = Vec::new();
    for (i, endpoint) in endpoints.iter().enumerate() {
        let Some(budget) = crate::deadline::share(deadline, endpoints.len() - i) else {
            break;
        };
        match get(tls, budget, endpoint, "/pd/api/v1/stores").and_then(|body| parse_stores(&body)) {
            Ok(stores) => {
                let gc = get(tls, budget, endpoint, "/pd/api/v1/gc/safepoint")
                    .and_then(|body| parse_gc(&body));
                let keyspace_gc = keyspace_gc(tls, budget, deadline, endpoint);
                return PdFacts {
                    endpoint: endpoint.clone(),
                    gc,
                    stores: Ok(stores),
                    keyspace_gc,
                };
            }
            Err(e) => failures.push(format!("{endpoint}: {e}")),
        }
    }
    let message = if failures.is_empty() {
        "no time left to ask PD".to_string()
    } else {
        failures.join("; ")
    };
    PdFacts {
        endpoint: String::new(),
        gc: Err(message.clone()),
        keyspace_gc: Err(message.clone()),
        stores: Err(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_safepoints_without_losing_tso_precision() {
        let body = r#"{"service_gc_safe_points":[{"service_id":"gc_worker","expired_at":9223372036854775807,"safe_point":462150000000000001},{"service_id":"log-backup-coordinator","expired_at":1763086400,"safe_point":462159871999999999}],"min_service_gc_safe_point":462150000000000001,"gc_safe_point":462149000000000003}"#;
        let gc = parse_gc(body).unwrap();
        assert_eq!(gc.gc_safe_point, 462_149_000_000_000_003);
        assert_eq!(gc.service_gc_safe_points[0].expired_at, i64::MAX);
        assert_eq!(
            gc.service_gc_safe_points[1].safe_point,
            462_159_871_999_999_999
        );
        // PD before v8.0 has no min_service_gc_safe_point.
        assert!(parse_gc(r#"{"service_gc_safe_points":[],"gc_safe_point":1}"#).is_ok());
        assert!(parse_gc("<html>").is_err());
    }

    #[test]
    fn keeps_tikv_stores_only() {
        let body = r#"{"count":4,"stores":[
            {"store":{"id":1,"address":"a:20160","status_address":"a:20180","state_name":"Up","labels":[{"key":"zone","value":"z1"}]},"status":{}},
            {"store":{"id":2,"address":"b:20160","status_address":"b:20180","state":1,"state_name":"Disconnected"},"status":{}},
            {"store":{"id":101,"address":"f:3930","labels":[{"key":"engine","value":"TiFlash"}],"state_name":"Up"},"status":{}},
            {"store":{"id":102,"address":"g:3930","labels":[{"key":"engine","value":"tiflash_compute"}],"state_name":"Down"},"status":{}},
            {"store":{"id":3,"address":"c:20160","state":2,"state_name":"Tombstone"},"status":{}}]}"#;
        let stores = parse_stores(body).unwrap();
        let ids: Vec<(u64, &str)> = stores
            .iter()
            .map(|s| (s.id, s.state_name.as_str()))
            .collect();
        assert_eq!(ids, vec![(1, "Up"), (2, "Disconnected")]);
        assert_eq!(stores[0].status_address, "a:20180");
    }

    #[test]
    fn keeps_enabled_keyspaces_with_keyspace_level_gc_only() {
        // The shape of tikv/pd:server/apiv2/handlers/keyspace.go (`KeyspaceMeta`'s JSON).
        let body = r#"{
          "keyspaces": [
            {"id": 0, "name": "DEFAULT", "state": "ENABLED", "created_at": 1704000000, "state_changed_at": 1704000000, "config": {"tso_keyspace_group_id": "0"}},
            {"id": 1, "name": "ks1", "state": "ENABLED", "config": {"gc_management_type": "keyspace_level", "tso_keyspace_group_id": "0"}},
            {"id": 2, "name": "ks2", "state": "ENABLED", "config": {"gc_management_type": "unified"}},
            {"id": 3, "name": "ks3", "state": "ARCHIVED", "config": {"gc_management_type": "keyspace_level"}},
            {"id": 4294967, "name": "big", "state": "ENABLED", "config": {"gc_management_type": "keyspace_level"}}
          ],
          "next_page_token": "4294968"
        }"#;
        let page = parse_keyspaces(body).unwrap();
        assert_eq!(
            page.keyspace_level_gc,
            vec![
                Keyspace {
                    id: 1,
                    name: "ks1".into()
                },
                Keyspace {
                    id: 4_294_967,
                    name: "big".into()
                }
            ]
        );
        assert_eq!(page.next_page_token, "4294968");
        // A PD with no keyspace at all answers `{"keyspaces":null,"next_page_token":""}`.
        let empty = parse_keyspaces(r#"{"keyspaces":null,"next_page_token":""}"#).unwrap();
        assert!(empty.keyspace_level_gc.is_empty());
        assert!(parse_keyspaces(r#"{}"#)
            .unwrap()
            .keyspace_level_gc
            .is_empty());
        assert!(parse_keyspaces("<html>").is_err());
    }

    #[test]
    fn knows_which_safepoints_protect_a_task() {
        assert!(protects_task("pitr_pause_safepoint", "pitr"));
        assert!(protects_task("pitr-4-pause-guard", "pitr"));
        assert!(protects_task("log-backup-coordinator", "pitr"));
        assert!(!protects_task("pitr2-4-pause-guard", "pitr"));
        assert!(!protects_task("pitr-x-pause-guard", "pitr"));
        assert!(!protects_task("gc_worker", "pitr"));
        assert!(!protects_task("backup-stream-pitr-4", "pitr"));
        assert!(is_log_backup_safepoint("backup-stream-pitr-4"));
        for (id, task) in [
            ("backup-stream-pitr-4", Some("pitr")),
            ("backup-stream-my-task-1001", Some("my-task")),
            ("pitr-4-pause-guard", Some("pitr")),
            ("my-task-4-pause-guard", Some("my-task")),
            ("pitr_pause_safepoint", Some("pitr")),
            ("log-backup-coordinator", None),
            ("backup-stream-pitr", None),
            ("backup-stream-pitr-x", None),
            ("backup-stream--4", None),
            ("_pause_safepoint", None),
            ("gc_worker", None),
        ] {
            assert_eq!(log_backup_task_of(id), task, "{id}");
        }
        assert!(is_log_backup_safepoint("old_pause_safepoint"));
        assert!(!is_log_backup_safepoint("gc_worker"));
        assert!(!is_log_backup_safepoint("ticdc-default"));
    }
}
