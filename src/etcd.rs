//! Reads the snapshot from PD's embedded etcd.
//!
//! Endpoints are tried one at a time in our own loop: etcd-client's balancer, given
//! several endpoints with one dead, fails about half the runs (docs/etcd-layout.md#endpoints-and-failover).
//! Each endpoint gets an equal share of the time left, so a frozen member cannot use up
//! the whole deadline while a healthy one is still untried.

use crate::keys;
use crate::secret::Secret;
use crate::snapshot::{plan, FetchError, Kv, OpResult, ReadOp, Snapshot};
use crate::tls::Tls;
use etcd_client::proto::PbTxnOpResponse;
use etcd_client::{Client, ConnectOptions, GetOptions, KvClient, Txn, TxnOp};
use std::time::{Duration, Instant};

/// etcd-client's default 4 MiB response cap is too small for big clusters.
const MAX_RESPONSE_BYTES: usize = 512 << 20;

/// One line from an etcd-client error: the gRPC status and the innermost cause.
fn describe(err: &etcd_client::Error) -> String {
    let mut text = match err {
        etcd_client::Error::GRpcStatus(status) => {
            format!("{:?}: {}", status.code(), status.message())
        }
        other => other.to_string(),
    };
    // A gRPC status carries its transport cause itself, not as the error's source.
    let mut source = match err {
        etcd_client::Error::GRpcStatus(status) => std::error::Error::source(status),
        other => std::error::Error::source(other),
    };
    let mut innermost = None;
    while let Some(s) = source {
        innermost = Some(s.to_string());
        source = s.source();
    }
    if let Some(inner) = innermost {
        if !text.contains(&inner) {
            text.push_str(": ");
            text.push_str(&inner);
        }
    }
    text.replace('\n', " ")
}

fn get_options(op: &ReadOp, revision: i64) -> GetOptions {
    let mut options = GetOptions::new().with_revision(revision);
    if !op.end.is_empty() {
        options = options.with_range(op.end.clone());
    }
    if op.count_only {
        options = options.with_count_only();
    }
    options
}

fn into_kvs(kvs: Vec<etcd_client::KeyValue>) -> Vec<Kv> {
    kvs.into_iter()
        .map(|kv| {
            let (key, value) = kv.into_key_value();
            Kv { key, value }
        })
        .collect()
}

/// etcd's user and password (`--user`, `$TIDB_LOG_BACKUP_PASSWORD`). `Debug` never shows
/// the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Login {
    pub user: String,
    pub password: Secret,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Runs read-only Txns of `batches` at `revision` and files each op's result into
/// `snapshot`.
async fn read_batches(
    kv: &mut KvClient,
    batches: Vec<Vec<ReadOp>>,
    revision: i64,
    snapshot: &mut Snapshot,
) -> Result<(), String> {
    for batch in batches {
        let ops: Vec<TxnOp> = batch
            .iter()
            .map(|op| TxnOp::get(op.start.clone(), Some(get_options(op, revision))))
            .collect();
        let mut response = kv
            .txn(Txn::new().and_then(ops))
            .await
            .map_err(|e| describe(&e))?;
        snapshot.round_trips += 1;
        // Taken, not copied (`op_responses()` clones every key and value).
        let results = std::mem::take(&mut response.0.responses);
        if results.len() != batch.len() {
            return Err(format!(
                "etcd answered {} of {} reads",
                results.len(),
                batch.len()
            ));
        }
        for (op, result) in batch.iter().zip(results) {
            let Some(PbTxnOpResponse::ResponseRange(range)) = result.response else {
                return Err("etcd answered a read with a write response".to_string());
            };
            let count = u64::try_from(range.count).unwrap_or(0);
            let kvs = range
                .kvs
                .into_iter()
                .map(|kv| Kv {
                    key: kv.key,
                    value: kv.value,
                })
                .collect();
            snapshot.absorb(op, OpResult { kvs, count });
        }
    }
    Ok(())
}

/// How to talk to etcd: TLS and credentials, if any.
#[derive(Debug, Clone, Copy, Default)]
pub struct Access<'a> {
    pub tls: Option<&'a Tls>,
    pub login: Option<&'a Login>,
    /// Also list `/tidb/server/info/` at the snapshot's revision (`--throughput`).
    pub tidb_servers: bool,
}

async fn read_one(
    endpoint: &str,
    access: Access<'_>,
    budget: Duration,
) -> Result<Snapshot, String> {
    let mut options = ConnectOptions::new()
        .with_connect_timeout(budget)
        .with_timeout(budget);
    if let Some(t) = access.tls.filter(|_| endpoint.starts_with("https://")) {
        options = options.with_tls(t.etcd_options(crate::transport::url_host(endpoint)));
    }
    if let Some(c) = access.login {
        options = options.with_user(c.user.clone(), c.password.0.clone());
    }
    let client = Client::connect([endpoint], Some(options))
        .await
        .map_err(|e| describe(&e))?;
    let mut kv = client
        .kv_client()
        .max_decoding_message_size(MAX_RESPONSE_BYTES);

    let mut listing = kv
        .get(keys::INFO, Some(GetOptions::new().with_prefix()))
        .await
        .map_err(|e| describe(&e))?;
    let revision = listing
        .header()
        .map(|h| h.revision())
        .ok_or("etcd response has no header")?;
    let info = into_kvs(listing.take_kvs());
    let tasks: Vec<Vec<u8>> = info
        .iter()
        .map(|kv| kv.key[keys::INFO.len()..].to_vec())
        .collect();
    let mut snapshot = Snapshot {
        endpoint: endpoint.to_string(),
        revision,
        info,
        round_trips: 1,
        ..Snapshot::default()
    };

    read_batches(&mut kv, plan(&tasks), revision, &mut snapshot).await?;
    // Only with several tasks and region keys: one more Txn counts them per task.
    let follow_up = snapshot.count_region_keys(&tasks);
    read_batches(&mut kv, follow_up, revision, &mut snapshot).await?;
    if access.tidb_servers {
        // Its own request, so a role that cannot read it costs only the owner's name.
        let listed = kv
            .get(
                keys::TIDB_SERVER_INFO,
                Some(GetOptions::new().with_prefix().with_revision(revision)),
            )
            .await;
        snapshot.round_trips += 1;
        snapshot.tidb_servers = Some(
            listed
                .map(|mut r| into_kvs(r.take_kvs()))
                .map_err(|e| describe(&e)),
        );
    }
    Ok(snapshot)
}

async fn read_any(
    endpoints: &[String],
    access: Access<'_>,
    deadline: Instant,
) -> Result<Snapshot, FetchError> {
    let mut failures = Vec::new();
    for (i, endpoint) in endpoints.iter().enumerate() {
        let Some(budget) = crate::deadline::share(deadline, endpoints.len() - i) else {
            break;
        };
        crate::deadline::set_stage(format!("reading PD etcd at {endpoint}"));
        match tokio::time::timeout(budget, read_one(endpoint, access, budget)).await {
            Ok(Ok(snapshot)) => return Ok(snapshot),
            Ok(Err(message)) => {
                let tls_on = endpoint.starts_with("https://");
                failures.push(format!(
                    "{endpoint}: {}",
                    crate::transport::explain(&message, tls_on)
                ))
            }
            Err(_) => failures.push(format!(
                "{endpoint}: no answer within {:.1}s",
                budget.as_secs_f64()
            )),
        }
    }
    let timed_out = Instant::now() >= deadline;
    let mut message = if timed_out {
        "timed out reading PD etcd: ".to_string()
    } else {
        "cannot read PD etcd: ".to_string()
    };
    if failures.is_empty() {
        message.push_str("no time left to try an endpoint");
    } else {
        message.push_str(&failures.join("; "));
    }
    Err(FetchError { timed_out, message })
}

/// Reads one consistent snapshot from the first endpoint that answers before `deadline`.
pub fn read_snapshot(
    endpoints: &[String],
    access: Access<'_>,
    deadline: Instant,
) -> Result<Snapshot, FetchError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| FetchError {
            timed_out: false,
            message: format!("cannot start the I/O runtime: {e}"),
        })?;
    runtime.block_on(read_any(endpoints, access, deadline))
}
