//! The storage I/O (object_store): S3, GCS, Azure Blob or a local directory, GET and
//! LIST only, every request bounded by the run's deadline.

use super::credentials::StorageCredentials;
use super::names;
use super::open::{describe, open};
use super::requests::StorageRequest;
use super::{
    Flush, FullBackup, FullMeta, LogRead, LogStorage, RootMeta, StorageFacts, FLUSH_WINDOW_MS,
    LIST_PAGE,
};
use crate::location::Location;
use crate::proto;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::ObjectStore;
use prost::Message;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Counts what is sent, for `storage_requests`.
struct Counted {
    store: Arc<dyn ObjectStore>,
    requests: AtomicU32,
}

impl Counted {
    async fn get(&self, path: &str) -> Result<Option<(Vec<u8>, u64)>, String> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        match self.store.get(&Path::from(path)).await {
            Ok(result) => {
                let modified = result.meta.last_modified.timestamp_millis().max(0) as u64;
                let bytes = result.bytes().await.map_err(|e| describe(&e))?;
                Ok(Some((bytes.to_vec(), modified)))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(format!("GET {path}: {}", describe(&e))),
        }
    }

    /// One page at most, starting after `offset` when given.
    async fn list(
        &self,
        prefix: &str,
        offset: Option<&str>,
    ) -> Result<Vec<object_store::ObjectMeta>, String> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let prefix = Path::from(prefix);
        let offset = offset.map(Path::from);
        let stream = match &offset {
            Some(o) => self.store.list_with_offset(Some(&prefix), o),
            None => self.store.list(Some(&prefix)),
        };
        // Some servers (Azurite) ignore the start key: keep only what sorts after it.
        stream
            .try_filter(move |m| {
                futures::future::ready(offset.as_ref().is_none_or(|o| m.location > *o))
            })
            .take(LIST_PAGE)
            .try_collect()
            .await
            .map_err(|e| format!("LIST {prefix}/: {}", describe(&e)))
    }
}

fn decode_root(bytes: &[u8]) -> Result<RootMeta, String> {
    let meta =
        proto::BackupMeta::decode(bytes).map_err(|e| format!("backupmeta does not decode: {e}"))?;
    Ok(RootMeta {
        start_version: meta.start_version,
        end_version: meta.end_version,
        cluster_id: meta.cluster_id,
        is_raw_kv: meta.is_raw_kv,
    })
}

/// Tier A and the freshness page of one task's storage.
async fn read_log(store: &Counted, checkpoint: Option<u64>) -> Result<LogRead, String> {
    let offset_of = |ts: u64| {
        let ms = crate::tso::physical_ms(ts).saturating_sub(FLUSH_WINDOW_MS);
        names::list_offset(crate::tso::from_physical_ms(ms))
    };
    // With etcd's checkpoint the freshness page is listed at once, beside Tier A.
    let early = checkpoint.map(offset_of);
    let fresh_early = async {
        match &early {
            Some(offset) => Some(store.list("v1/backupmeta", Some(offset)).await),
            None => None,
        }
    };
    let (tier_a, fresh) = futures::join!(tier_a(store), fresh_early);
    let mut out = tier_a?;
    let metas = match fresh {
        Some(listed) => listed?,
        None => {
            let from = out.global_checkpoints.iter().map(|(_, ts)| *ts).max();
            store
                .list("v1/backupmeta", from.map(offset_of).as_deref())
                .await?
        }
    };
    newest_flush(&mut out, &metas);
    Ok(out)
}

/// `br log metadata`'s reads: backupmeta, the safepoint, BASE, the checkpoint files.
async fn tier_a(store: &Counted) -> Result<LogRead, String> {
    let mut out = LogRead::default();
    let (root, safepoint, base, checkpoints) = futures::join!(
        store.get("backupmeta"),
        store.get("v1_stream_trancate_safepoint.txt"),
        store.get("v1/migrations/BASE"),
        store.list("v1/global_checkpoint", None),
    );
    out.backupmeta = root?.map(|(bytes, _)| decode_root(&bytes));
    if let Some((bytes, _)) = safepoint? {
        let text = String::from_utf8_lossy(&bytes);
        out.truncate_safepoint = text.trim().parse().map_err(|_| {
            format!(
                "v1_stream_trancate_safepoint.txt holds '{}', not a TSO",
                text.trim()
            )
        })?;
    }
    if let Some((bytes, _)) = base? {
        let migration = proto::Migration::decode(bytes.as_slice())
            .map_err(|e| format!("v1/migrations/BASE does not decode: {e}"))?;
        out.base_truncated_to = Some(migration.truncated_to);
    }
    let files: Vec<String> = checkpoints?
        .into_iter()
        .map(|m| m.location.to_string())
        .filter(|p| p.ends_with(".ts"))
        .collect();
    let fetched = futures::future::join_all(files.iter().map(|p| store.get(p))).await;
    for (path, result) in files.iter().zip(fetched) {
        let Some((bytes, _)) = result? else { continue };
        let store_id = path
            .rsplit('/')
            .next()
            .unwrap_or("")
            .trim_end_matches(".ts")
            .to_string();
        match <[u8; 8]>::try_from(bytes.as_slice()) {
            Ok(le) => out
                .global_checkpoints
                .push((store_id, u64::from_le_bytes(le))),
            Err(_) => out.skipped_checkpoint_files += 1,
        }
    }
    out.global_checkpoints.sort();
    Ok(out)
}

/// The newest flush among one listing page of `v1/backupmeta/`.
fn newest_flush(out: &mut LogRead, metas: &[object_store::ObjectMeta]) {
    for meta in metas {
        let name = meta.location.filename().unwrap_or("");
        let modified = meta.last_modified.timestamp_millis().max(0) as u64;
        let flush = match names::parse(name) {
            Some(n) if n.suspicious => {
                out.suspicious_metas += 1;
                Flush::Modified(modified)
            }
            // A legacy name's ts is the store's resolved ts, older than the flush.
            Some(n) if n.store_id.is_some() || name.as_bytes().get(16) == Some(&b'-') => {
                Flush::Ts(n.ts)
            }
            _ => Flush::Modified(modified),
        };
        let newer = match (out.newest_flush, flush) {
            (None, _) => true,
            (Some(old), new) => flush_ms(new) > flush_ms(old),
        };
        if newer {
            out.newest_flush = Some(flush);
        }
    }
}

/// A flush's time in Unix ms.
pub fn flush_ms(flush: Flush) -> u64 {
    match flush {
        Flush::Ts(ts) => crate::tso::physical_ms(ts),
        Flush::Modified(ms) => ms,
    }
}

async fn read_full(store: &Counted) -> Result<FullMeta, String> {
    match store.get("backupmeta").await? {
        None => {
            Err("no backupmeta: the backup is still running, failed, or is not here".to_string())
        }
        Some((bytes, modified)) => Ok(match decode_root(&bytes) {
            Ok(meta) => FullMeta::Decoded(meta),
            Err(_) => FullMeta::Encrypted {
                modified_ms: modified,
            },
        }),
    }
}

/// Reads every task's storage and the full backups, concurrently, before `deadline`.
pub fn read_all(
    requests: &[StorageRequest],
    full_backups: &[Location],
    full_backup_roots: &[Location],
    deadline: Instant,
) -> StorageFacts {
    let timeout = deadline.saturating_duration_since(Instant::now());
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let why = format!("cannot start the storage I/O runtime: {e}");
            return StorageFacts {
                tasks: requests
                    .iter()
                    .map(|r| {
                        (
                            r.task.clone(),
                            LogStorage {
                                url: r.location.display(),
                                read: Err(why.clone()),
                                requests: 0,
                            },
                        )
                    })
                    .collect(),
                ..StorageFacts::default()
            };
        }
    };
    let timed_out = || "timed out before the storage answered".to_string();
    runtime.block_on(async {
        let tasks = futures::future::join_all(requests.iter().map(|r| async move {
            let (read, requests) = match open(&r.location, &r.credentials, timeout) {
                Err(e) => (Err(e), 0),
                Ok(store) => {
                    let counted = Counted {
                        store,
                        requests: AtomicU32::new(0),
                    };
                    let read = tokio::time::timeout(timeout, read_log(&counted, r.checkpoint))
                        .await
                        .unwrap_or_else(|_| Err(timed_out()));
                    (read, counted.requests.load(Ordering::Relaxed))
                }
            };
            (
                r.task.clone(),
                LogStorage {
                    url: r.location.display(),
                    read,
                    requests,
                },
            )
        }));
        let roots = futures::future::join_all(full_backup_roots.iter().map(|root| async move {
            let listed = async {
                let store = open(root, &StorageCredentials::Host, timeout)?;
                let listing = store
                    .list_with_delimiter(None)
                    .await
                    .map_err(|e| format!("LIST {}: {}", root.display(), describe(&e)))?;
                Ok::<_, String>(
                    listing
                        .common_prefixes
                        .iter()
                        .filter_map(|p| p.filename().map(|n| root.child(n)))
                        .collect::<Vec<_>>(),
                )
            };
            (
                root.display(),
                tokio::time::timeout(timeout, listed)
                    .await
                    .unwrap_or_else(|_| Err(timed_out())),
            )
        }));
        let (tasks, roots) = futures::join!(tasks, roots);
        let mut root_errors = Vec::new();
        let mut candidates: Vec<(Location, bool)> =
            full_backups.iter().map(|l| (l.clone(), true)).collect();
        for (url, listed) in roots {
            match listed {
                Ok(children) => candidates.extend(children.into_iter().map(|c| (c, false))),
                Err(e) => root_errors.push((url, e)),
            }
        }
        let fulls =
            futures::future::join_all(candidates.iter().map(|(location, named)| async move {
                let read = match open(location, &StorageCredentials::Host, timeout) {
                    Err(e) => Err(e),
                    Ok(store) => {
                        let counted = Counted {
                            store,
                            requests: AtomicU32::new(0),
                        };
                        tokio::time::timeout(timeout, read_full(&counted))
                            .await
                            .unwrap_or_else(|_| Err(timed_out()))
                    }
                };
                // A root's child without a backupmeta is simply not a backup.
                (!*named && read.is_err()).then_some(()).map_or(
                    Some(FullBackup {
                        url: location.display(),
                        read,
                    }),
                    |_| None,
                )
            }))
            .await;
        StorageFacts {
            tasks,
            full_backups: fulls.into_iter().flatten().collect(),
            full_backups_asked: !full_backups.is_empty() || !full_backup_roots.is_empty(),
            root_errors,
        }
    })
}
