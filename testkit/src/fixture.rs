//! Fixture files: etcd key-value pairs as TOML data (`fixtures/*.toml`), loaded into a
//! real etcd by the tests, the demo and the benchmark.
//!
//! ```toml
//! description = "v7.1+ cluster, task running"
//! [[kv]]
//! key = "/tidb/br-stream/info/pitr"   # or key_hex = "2f74…" for binary keys
//! hex = "0a16…"                        # or text = "…", or tso = "2024-01-01T00:59:30Z" / "now-5m"
//! ```
//! A `tso` value is stored as 8 big-endian bytes of `physical_ms << 18`; `now±<duration>`
//! is relative to the time the fixture is resolved, so a demo always looks current.

use check_tidb_log_backup::snapshot::Kv;
use check_tidb_log_backup::{etcd, keys, snapshot, tso};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// `fixtures/<name>` in the repository (the directory holding testkit/).
pub fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("testkit/ has a parent directory")
        .join("fixtures")
        .join(name)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub kv: Vec<FixtureKv>,
    /// PD HTTP responses served by the tests' fixture server (recorded formats,
    /// docs/rules.md#pd-facts); missing ones fall back to `fixtures/pd/*.json`.
    #[serde(default)]
    pub pd: FixturePd,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixturePd {
    /// Body of `GET /pd/api/v1/stores`.
    pub stores: Option<String>,
    /// Body of `GET /pd/api/v1/gc/safepoint`.
    pub gc_safepoint: Option<String>,
    /// Body of `GET /pd/api/v2/keyspaces` (every page); absent: HTTP 404, a PD without
    /// the keyspace API.
    pub keyspaces: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureKv {
    pub key: Option<String>,
    pub key_hex: Option<String>,
    pub hex: Option<String>,
    pub text: Option<String>,
    pub tso: Option<String>,
}

pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if !clean.len().is_multiple_of(2) {
        return Err(format!("odd-length hex '{clean}'"));
    }
    (0..clean.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&clean[i..i + 2], 16).map_err(|_| format!("bad hex '{clean}'")))
        .collect()
}

/// `2024-01-01T00:59:30Z`, `2024-01-01T00:59:30.5Z`, `now`, `now-5m`, `now+1h`.
pub fn resolve_time(text: &str, now: SystemTime) -> Result<u64, String> {
    let now_ms = tso::unix_ms(now);
    if let Some(rel) = text.strip_prefix("now") {
        if rel.is_empty() {
            return Ok(now_ms);
        }
        let (sign, span) = rel.split_at(1);
        let ms = humantime::parse_duration(span)
            .map_err(|e| format!("bad duration in '{text}': {e}"))?
            .as_millis() as u64;
        return match sign {
            "-" => Ok(now_ms.saturating_sub(ms)),
            "+" => Ok(now_ms.saturating_add(ms)),
            _ => Err(format!(
                "bad relative time '{text}' (want now-5m or now+5m)"
            )),
        };
    }
    humantime::parse_rfc3339(text)
        .map(tso::unix_ms)
        .map_err(|e| format!("bad time '{text}': {e}"))
}

impl Fixture {
    pub fn parse(text: &str) -> Result<Fixture, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    pub fn load(path: &Path) -> Result<Fixture, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Fixture::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The key-value pairs, with relative times taken from `now`.
    pub fn pairs(&self, now: SystemTime) -> Result<Vec<Kv>, String> {
        self.kv
            .iter()
            .map(|item| {
                let key = match (&item.key, &item.key_hex) {
                    (Some(k), None) => k.as_bytes().to_vec(),
                    (None, Some(h)) => parse_hex(h)?,
                    _ => return Err("each kv needs exactly one of key, key_hex".to_string()),
                };
                let value = match (&item.hex, &item.text, &item.tso) {
                    (Some(h), None, None) => parse_hex(h)?,
                    (None, Some(t), None) => t.as_bytes().to_vec(),
                    (None, None, Some(t)) => tso::from_physical_ms(resolve_time(t, now)?)
                        .to_be_bytes()
                        .to_vec(),
                    (None, None, None) => Vec::new(),
                    _ => return Err("each kv takes at most one of hex, text, tso".to_string()),
                };
                Ok(Kv { key, value })
            })
            .collect()
    }
}

/// Replaces everything under `/tidb/br-stream/` (and PD's cluster id) in a test or demo
/// etcd with `pairs`, in Txns of at most 128 puts.
pub fn load_into_etcd(endpoint: &str, pairs: &[Kv]) -> Result<(), String> {
    load_into_etcd_with(endpoint, pairs, etcd::Access::default())
}

/// [`load_into_etcd`] over TLS and/or with credentials.
pub fn load_into_etcd_with(
    endpoint: &str,
    pairs: &[Kv],
    access: etcd::Access,
) -> Result<(), String> {
    use etcd_client::{Client, ConnectOptions, DeleteOptions, Txn, TxnOp};
    let mut options = ConnectOptions::new();
    if let Some(tls) = access.tls {
        options = options
            .with_tls(tls.etcd_options(check_tidb_log_backup::transport::url_host(endpoint)));
    }
    if let Some(c) = access.login {
        options = options.with_user(c.user.clone(), c.password.0.clone());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let mut client = Client::connect([endpoint], Some(options))
            .await
            .map_err(|e| e.to_string())?;
        client
            .delete(keys::CLUSTER_ID, None)
            .await
            .map_err(|e| e.to_string())?;
        client
            .delete("/tidb/br-stream/", Some(DeleteOptions::new().with_prefix()))
            .await
            .map_err(|e| e.to_string())?;
        for chunk in pairs.chunks(snapshot::MAX_TXN_OPS) {
            let ops: Vec<TxnOp> = chunk
                .iter()
                .map(|kv| TxnOp::put(kv.key.clone(), kv.value.clone(), None))
                .collect();
            client
                .txn(Txn::new().and_then(ops))
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn values_in_every_form() {
        let fixture = Fixture::parse(
            r#"
            [[kv]]
            key = "/a"
            hex = "06 33 0a 21 b5 40 00 00"
            [[kv]]
            key_hex = "2f62"
            text = "{}"
            [[kv]]
            key = "/c"
            tso = "2024-01-01T00:59:30Z"
            [[kv]]
            key = "/d"
            tso = "now-1m"
            [[kv]]
            key = "/e"
            "#,
        )
        .unwrap();
        let now = UNIX_EPOCH + Duration::from_secs(1_704_070_800);
        let pairs = fixture.pairs(now).unwrap();
        assert_eq!(pairs[0].value, [0x06, 0x33, 0x0a, 0x21, 0xb5, 0x40, 0, 0]);
        assert_eq!(pairs[1].key, b"/b");
        assert_eq!(pairs[1].value, b"{}");
        assert_eq!(
            u64::from_be_bytes(pairs[2].value[..].try_into().unwrap()),
            446_711_927_930_880_000
        );
        let d = u64::from_be_bytes(pairs[3].value[..].try_into().unwrap());
        assert_eq!(tso::physical_ms(d), 1_704_070_740_000);
        assert!(pairs[4].value.is_empty());
    }

    #[test]
    fn rejects_ambiguous_entries() {
        let fixture = Fixture::parse("[[kv]]\nkey = \"/a\"\nhex = \"00\"\ntext = \"x\"\n").unwrap();
        assert!(fixture.pairs(SystemTime::now()).is_err());
        assert!(Fixture::parse("[[kv]]\nkee = \"/a\"\n").is_err());
    }
}
