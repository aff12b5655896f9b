//! The storage I/O (object_store): S3, GCS, Azure Blob or a local directory, GET and
//! LIST only, every request bounded by the run's deadline, every read by
//! `--storage-max-object`, every listing by a page budget.

use super::compacted::Named;
use super::credentials::StorageCredentials;
use super::http::{Clients, Seen};
use super::names;
use super::open::{describe, open};
use super::requests::StorageRequest;
use super::trust::Contact;
use super::{
    Flush, FullBackup, FullMeta, LogRead, LogStorage, RootMeta, StorageFacts, FLUSH_WINDOW_MS,
    LIST_PAGE, MAX_LIST_PAGES,
};
use crate::location::Location;
use crate::proto;
use crate::text::shown;
use futures::{FutureExt, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::ObjectStore;
use prost::Message;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

mod control;

/// At most this many `.ts` files are fetched at once.
const CHECKPOINT_FETCHES: usize = 16;
/// What one read may hold without the run's turn to hold more ([`Counted::big`]): every
/// object Tier A reads is far smaller.
const SMALL_READ: usize = 64 << 10;

/// One store and what its requests met. A local directory sends no HTTP: its operations
/// are counted here instead.
struct Counted {
    store: Arc<dyn ObjectStore>,
    seen: Seen,
    local: bool,
    /// It lists in key order from a start key (S3, GCS): a listing may stop early.
    ordered: bool,
    /// `--storage-max-object`.
    max_object: u64,
    /// The run's one turn to read more than [`SMALL_READ`] bytes, shared by every store:
    /// reads run concurrently (Tier A's three GETs, 16 `.ts` files, every task and full
    /// backup), and each may hold up to `max_object`, so without it the run would hold
    /// that many times the cap. With it, and every read's bytes decoded before its
    /// caller's next await (so that joined and buffered reads hold decoded values), the
    /// run holds at most one cap and a small read per request in flight.
    big: Arc<futures::lock::Mutex<()>>,
    /// `--verify` starts nothing after this (set when it starts), and its listings stop
    /// here: what it checked by then is kept, the rest waits for the next run, instead of
    /// the run's deadline taking the whole storage read with it.
    verify_until: std::sync::Mutex<Option<Instant>>,
}

/// An object ordered by its key.
struct ByKey(object_store::ObjectMeta);

impl PartialEq for ByKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.location == other.0.location
    }
}

impl Eq for ByKey {}

impl PartialOrd for ByKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ByKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.location.cmp(&other.0.location)
    }
}

/// An object read up to the size cap.
struct Got {
    /// The whole object, or its first `max_object` bytes when `complete` is false.
    bytes: Vec<u8>,
    modified_ms: u64,
    complete: bool,
    /// The size the server announced (a chunked reply may have none).
    size: u64,
}

impl Counted {
    fn count_local(&self) {
        if self.local {
            self.seen.requests.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// GET, streamed: never more than `max_object` bytes are held, whatever the server
    /// announces or sends. `prefix_only`: stop at the cap instead of reading an object
    /// known to be larger not at all. Beyond [`SMALL_READ`] it waits for the run's turn
    /// ([`Counted::big`]), released when it returns: the caller decodes the bytes before
    /// its next await, never holds them in a join or a buffered stream.
    async fn get(&self, path: &str, prefix_only: bool) -> Result<Option<Got>, String> {
        self.count_local();
        let result = match self.store.get(&Path::from(path)).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(format!("GET {path}: {}", describe(&e))),
        };
        let modified_ms = result.meta.last_modified.timestamp_millis().max(0) as u64;
        let size = result.meta.size;
        if size > self.max_object && !prefix_only {
            return Ok(Some(Got {
                bytes: Vec::new(),
                modified_ms,
                complete: false,
                size,
            }));
        }
        let cap = self.max_object as usize;
        let mut bytes = Vec::with_capacity((size as usize).min(cap).min(SMALL_READ));
        let mut turn = None;
        let mut stream = result.into_stream();
        let mut complete = true;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| format!("GET {path}: {}", describe(&e)))?;
            if turn.is_none() && bytes.len() + chunk.len() > SMALL_READ {
                turn = Some(self.big.lock().await);
                // Once, so that growing never holds two copies; pages count when written.
                bytes.reserve_exact(cap.saturating_sub(bytes.len()));
            }
            let room = cap - bytes.len();
            if chunk.len() > room {
                bytes.extend_from_slice(&chunk[..room]);
                complete = false;
                break;
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Some(Got {
            bytes,
            modified_ms,
            complete,
            size,
        }))
    }

    /// [`Counted::get`] of a small object that must be whole: over the cap is an error.
    async fn get_small(&self, path: &str) -> Result<Option<Got>, String> {
        match self.get(path, false).await? {
            Some(got) if !got.complete && got.size > self.max_object => Err(format!(
                "{path} is {}, over --storage-max-object {}",
                size_text(got.size),
                size_text(self.max_object)
            )),
            // A body longer than the server announced.
            Some(got) if !got.complete => Err(format!(
                "{path} sent more than --storage-max-object {} (announced as {})",
                size_text(self.max_object),
                size_text(got.size)
            )),
            other => Ok(other),
        }
    }

    /// [`Counted::get_small`] decoded by `decode` inside the read: what concurrent reads
    /// (joined, buffered) hold is the decoded value, never the bytes.
    async fn read_small<T>(
        &self,
        path: &str,
        decode: impl FnOnce(&[u8]) -> T,
    ) -> Result<Option<T>, String> {
        Ok(self.get_small(path).await?.map(|got| decode(&got.bytes)))
    }

    /// Every object under `prefix` (after `offset` when given), in key order, to the end
    /// of the listing or the page budget; `f` sees each. Returns whether the budget (or
    /// `--verify`'s time) cut it. A local directory lists in the file system's order: it
    /// is read whole and the first objects in key order kept, so that a cut listing is
    /// always the start of the key order (a cursor past it skips nothing); cut by the
    /// time, it sees nothing.
    async fn list_each(
        &self,
        prefix: &str,
        offset: Option<&str>,
        mut f: impl FnMut(object_store::ObjectMeta),
    ) -> Result<bool, String> {
        self.count_local();
        let prefix = Path::from(prefix);
        let offset = offset.map(Path::from);
        let mut stream = match &offset {
            Some(o) => self.store.list_with_offset(Some(&prefix), o),
            None => self.store.list(Some(&prefix)),
        };
        let budget = LIST_PAGE * MAX_LIST_PAGES;
        if self.local {
            let mut first = std::collections::BinaryHeap::new();
            let mut cut = false;
            while let Some(meta) = stream
                .try_next()
                .await
                .map_err(|e| format!("LIST {prefix}/: {}", describe(&e)))?
            {
                if super::verify::Reader::time_is_up(self) {
                    return Ok(true);
                }
                if offset.as_ref().is_some_and(|o| meta.location <= *o) {
                    continue;
                }
                first.push(ByKey(meta));
                if first.len() > budget {
                    first.pop();
                    cut = true;
                }
            }
            first.into_sorted_vec().into_iter().for_each(|m| f(m.0));
            return Ok(cut);
        }
        let mut seen = 0;
        while let Some(meta) = stream
            .try_next()
            .await
            .map_err(|e| format!("LIST {prefix}/: {}", describe(&e)))?
        {
            // Some servers (Azurite) ignore the start key: keep only what sorts after it.
            if offset.as_ref().is_some_and(|o| meta.location <= *o) {
                continue;
            }
            if seen == budget || super::verify::Reader::time_is_up(self) {
                return Ok(true);
            }
            seen += 1;
            f(meta);
        }
        Ok(false)
    }
}

impl super::verify::Reader for Counted {
    async fn object(&self, path: &str) -> Result<Option<Vec<u8>>, String> {
        Ok(self.get_small(path).await?.map(|got| got.bytes))
    }

    async fn keys(
        &self,
        prefix: &str,
        offset: Option<&str>,
        mut f: impl FnMut(String, u64),
    ) -> Result<bool, String> {
        self.list_each(prefix, offset, |m| f(m.location.to_string(), m.size))
            .await
    }

    fn sent(&self) -> u32 {
        self.seen.requests()
    }

    fn local(&self) -> bool {
        self.local
    }

    fn time_is_up(&self) -> bool {
        let until = *self.verify_until.lock().unwrap_or_else(|e| e.into_inner());
        until.is_some_and(|until| Instant::now() >= until)
    }

    fn stop_at(&self, at: Instant) {
        *self.verify_until.lock().unwrap_or_else(|e| e.into_inner()) = Some(at);
    }
}

/// `16 MiB`, `200 B`.
fn size_text(bytes: u64) -> String {
    const MIB: u64 = 1 << 20;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= MIB {
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    } else {
        format!("{bytes} B")
    }
}

/// A root `backupmeta`. Empty or holding none of the fields a backup writes, it is not
/// a backupmeta at all (a 0-byte object or `/dev/zero` would otherwise read as start 0).
fn decode_root(bytes: &[u8]) -> Result<RootMeta, String> {
    if bytes.is_empty() {
        return Err("its backupmeta is empty".to_string());
    }
    let meta =
        proto::BackupMeta::decode(bytes).map_err(|e| format!("backupmeta does not decode: {e}"))?;
    let root = RootMeta {
        start_version: meta.start_version,
        end_version: meta.end_version,
        cluster_id: meta.cluster_id,
        is_raw_kv: meta.is_raw_kv,
        backup_size: (meta.backup_size > 0).then_some(meta.backup_size),
    };
    if root.start_version == 0 && root.end_version == 0 && root.cluster_id == 0 {
        return Err("its backupmeta holds none of the fields a backup writes".to_string());
    }
    Ok(root)
}

/// Tier A and the freshness listing of one task's storage, then `--verify`'s share
/// (until two thirds of the time left before `deadline`).
async fn read_log(
    store: &Counted,
    checkpoint: Option<u64>,
    verify: Option<&super::requests::VerifyRequest>,
    deadline: Instant,
) -> Result<LogRead, String> {
    let offset_of = |ts: u64| {
        let ms = crate::tso::physical_ms(ts).saturating_sub(FLUSH_WINDOW_MS);
        names::list_offset(crate::tso::from_physical_ms(ms))
    };
    // With etcd's checkpoint the freshness listing starts at once, beside Tier A.
    let early = checkpoint.map(offset_of);
    let fresh_early = async {
        match &early {
            Some(offset) => Some(freshness(store, Some(offset)).await),
            None => None,
        }
    };
    let (tier_a, fresh, control) = futures::join!(tier_a(store), fresh_early, control::read(store));
    let (mut out, base_compactions) = tier_a?;
    let mut control = control?;
    // BASE first, then the layers by name (their order).
    let mut named: Vec<Named> = base_compactions.into_iter().collect();
    named.append(&mut control.compactions);
    control.apply(&mut out);
    let fresh = match fresh {
        Some(listed) => listed?,
        None => {
            let from = out.global_checkpoints.iter().map(|(_, ts)| *ts).max();
            freshness(store, from.map(offset_of).as_deref()).await?
        }
    };
    out.newest_flush = fresh.newest;
    out.suspicious_metas = fresh.suspicious;
    if fresh.cut {
        out.cut_listings.push("v1/backupmeta/".to_string());
    }
    if let Some(asked) = verify {
        // Data before the truncation point is deleted on purpose.
        let truncated_to = out
            .truncate_safepoint
            .max(out.base_truncated_to.unwrap_or(0))
            .max(match &out.backupmeta {
                Some(Ok(root)) => root.start_version,
                _ => 0,
            });
        // Two thirds of the time left, the last third for the requests under way then.
        let now = Instant::now();
        let limits = super::verify::Limits {
            budget: asked.budget,
            whole_only: asked.whole_only,
            truncated_to,
            until: Some(now + deadline.saturating_duration_since(now) * 2 / 3),
        };
        let layers_truncated_to = out
            .layer_truncated_to
            .iter()
            .map(|(_, ts)| *ts)
            .fold(truncated_to, u64::max);
        let checks = async {
            let mut verified = super::verify::verify(store, &asked.from, limits).await;
            // The compacted SSTs, with what the chain left of the budget; a layer's
            // truncation (merged by BR's `Load`) counts for them too.
            let mut compactions = None;
            if let Ok(chain) = &mut verified {
                let left = asked.budget.saturating_sub(chain.requests);
                compactions = Some(
                    super::compacted::verify(
                        store,
                        &mut chain.state,
                        &named,
                        left,
                        layers_truncated_to,
                    )
                    .await,
                );
            }
            (verified, compactions)
        };
        // A request under way when the time is up may outlast the run (a slow listing):
        // then this run's verification is dropped, never the storage facts read before.
        let (verified, compactions) =
            tokio::time::timeout(deadline.saturating_duration_since(now) * 9 / 10, checks)
                .await
                .unwrap_or_else(|_| {
                    let unfinished = super::Verified {
                        state: asked.from.clone(),
                        timed_out: true,
                        ..Default::default()
                    };
                    (Ok(unfinished), None)
                });
        out.verified = Some(verified);
        out.compactions = compactions;
    }
    Ok(out)
}

/// `br log metadata`'s reads: backupmeta, the safepoint, BASE, the checkpoint files; and
/// BASE's compactions, for `--verify`.
async fn tier_a(store: &Counted) -> Result<(LogRead, Option<Named>), String> {
    let mut out = LogRead::default();
    let mut files = Vec::new();
    let (root, safepoint, base, listed) = futures::join!(
        store.read_small("backupmeta", decode_root),
        store.read_small("v1_stream_trancate_safepoint.txt", |bytes| {
            let text = String::from_utf8_lossy(bytes);
            text.trim().parse::<u64>().map_err(|_| {
                format!(
                    "v1_stream_trancate_safepoint.txt holds '{}', not a TSO",
                    shown(text.trim(), 120)
                )
            })
        }),
        store.read_small("v1/migrations/BASE", |bytes| {
            let truncated_to = proto::Migration::decode(bytes)
                .map(|m| m.truncated_to)
                .map_err(|e| format!("v1/migrations/BASE does not decode: {e}"));
            (truncated_to, Named::decode("v1/migrations/BASE", bytes))
        }),
        store.list_each("v1/global_checkpoint", None, |m| {
            let path = m.location.to_string();
            if path.ends_with(".ts") {
                files.push(path);
            }
        }),
    );
    out.backupmeta = root?;
    if let Some(safepoint) = safepoint? {
        out.truncate_safepoint = safepoint?;
    }
    let mut base_compactions = None;
    if let Some((truncated_to, named)) = base? {
        out.base_truncated_to = Some(truncated_to?);
        base_compactions = Some(named);
    }
    if listed? {
        out.cut_listings.push("v1/global_checkpoint/".to_string());
    }
    let mut fetched = futures::stream::iter(files.iter().map(|p| {
        store.read_small(p, |bytes| {
            <[u8; 8]>::try_from(bytes).ok().map(u64::from_le_bytes)
        })
    }))
    .buffered(CHECKPOINT_FETCHES);
    let mut paths = files.iter();
    while let Some(result) = fetched.next().await {
        let path = paths.next().map(String::as_str).unwrap_or("");
        let Some(ts) = result? else { continue };
        let store_id = path
            .rsplit('/')
            .next()
            .unwrap_or("")
            .trim_end_matches(".ts")
            .to_string();
        match ts {
            Some(ts) => out.global_checkpoints.push((store_id, ts)),
            None => out.skipped_checkpoint_files += 1,
        }
    }
    out.global_checkpoints.sort();
    Ok((out, base_compactions))
}

/// What the freshness listing found.
struct Fresh {
    newest: Option<Flush>,
    suspicious: usize,
    cut: bool,
}

/// The newest flush among every meta name of `v1/backupmeta/` after `offset`.
async fn freshness(store: &Counted, offset: Option<&str>) -> Result<Fresh, String> {
    let mut fresh = Fresh {
        newest: None,
        suspicious: 0,
        cut: false,
    };
    fresh.cut = store
        .list_each("v1/backupmeta", offset, |meta| {
            let (flush, suspicious) = flush_of(&meta);
            fresh.suspicious += usize::from(suspicious);
            if fresh
                .newest
                .is_none_or(|old| flush_ms(flush) > flush_ms(old))
            {
                fresh.newest = Some(flush);
            }
        })
        .await?;
    Ok(fresh)
}

/// A meta file's flush time, and whether its name says PD gave no TSO.
fn flush_of(meta: &object_store::ObjectMeta) -> (Flush, bool) {
    let name = meta.location.filename().unwrap_or("");
    let modified = meta.last_modified.timestamp_millis().max(0) as u64;
    match names::parse(name) {
        Some(n) if n.suspicious => (Flush::Modified(modified), true),
        // A legacy name's ts is the store's resolved ts, older than the flush.
        Some(n) if n.store_id.is_some() || name.as_bytes().get(16) == Some(&b'-') => {
            (Flush::Ts(n.ts), false)
        }
        _ => (Flush::Modified(modified), false),
    }
}

/// A flush's time in Unix ms.
pub fn flush_ms(flush: Flush) -> u64 {
    match flush {
        Flush::Ts(ts) => crate::tso::physical_ms(ts),
        Flush::Modified(ms) => ms,
    }
}

/// A full backup's `backupmeta`. Over the size cap only its first bytes are read: Go
/// writes fields in tag order, so `cluster_id`, `start_version` and `end_version` come
/// before the (V1) file list when it is small enough; without `end_version` the backup's
/// time is approximate (its last-modified time).
async fn read_full(store: &Counted) -> Result<FullMeta, String> {
    let got = store.get("backupmeta", true).await?.ok_or_else(|| {
        "no backupmeta: the backup is still running, failed, or is not here".to_string()
    })?;
    if got.complete {
        return Ok(match decode_root(&got.bytes) {
            Ok(meta) => FullMeta::Decoded(meta),
            Err(_) => FullMeta::Encrypted {
                modified_ms: got.modified_ms,
            },
        });
    }
    Ok(match decode_leading(&got.bytes) {
        Some(meta) => FullMeta::Decoded(meta),
        None => FullMeta::Encrypted {
            modified_ms: got.modified_ms,
        },
    })
}

/// The first bytes of a `backupmeta` over the size cap: what its leading varints say,
/// when `end_version` is among them. `backup_size` (25) comes after the file list, so it
/// is known only when the cut falls past it.
fn decode_leading(bytes: &[u8]) -> Option<RootMeta> {
    let fields = proto::leading_varints(bytes);
    let field = |tag: u32| fields.iter().find(|(t, _)| *t == tag).map(|(_, v)| *v);
    Some(RootMeta {
        cluster_id: field(1).unwrap_or(0),
        start_version: field(5).unwrap_or(0),
        end_version: field(6)?,
        is_raw_kv: field(8).unwrap_or(0) != 0,
        backup_size: field(25).filter(|size| *size > 0),
    })
}

/// A root's child without a `backupmeta`: BR's `backup.lock` (written when a backup
/// starts, br/pkg/metautil `LockFile`) or a `checkpoints/` prefix (a checkpointed backup)
/// make it an attempt that failed or is still running; its start is the lock's time.
async fn incomplete_since(store: &Counted) -> Result<Option<u64>, String> {
    if let Some(got) = store.get_small("backup.lock").await? {
        return Ok(Some(got.modified_ms));
    }
    let mut any = false;
    store.list_each("checkpoints", None, |_| any = true).await?;
    Ok(any.then_some(0))
}

/// A future whose panics are contained while it is polled (`panic_scope`): the panic hook
/// leaves them to [`contained`]'s catch. Panics elsewhere on the thread (the runtime's own
/// tasks) still end the run as an internal error, never silently.
struct Marked<F>(std::pin::Pin<Box<F>>);

impl<F: std::future::Future> std::future::Future for Marked<F> {
    type Output = F::Output;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let _marked = crate::panic_scope::mark_thread();
        self.0.as_mut().poll(cx)
    }
}

/// Runs one storage's reading: a panic inside a dependency becomes this storage's error.
async fn contained<T>(
    work: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    std::panic::AssertUnwindSafe(Marked(Box::pin(work)))
        .catch_unwind()
        .await
        .unwrap_or_else(|payload| {
            Err(format!(
                "internal error while reading it: {}",
                shown(&crate::panic_scope::message(payload.as_ref()), 120)
            ))
        })
}

/// Reads every task's storage and the full backups, concurrently, before `deadline`.
pub fn read_all(
    requests: &[StorageRequest],
    full_backups: &[Location],
    full_backup_roots: &[Location],
    max_object: u64,
    deadline: Instant,
) -> StorageFacts {
    let timeout = deadline.saturating_duration_since(Instant::now());
    let failed = |why: String| StorageFacts {
        tasks: requests
            .iter()
            .map(|r| {
                (
                    r.task.clone(),
                    LogStorage {
                        url: r.location.display(),
                        read: Err(why.clone()),
                        requests: 0,
                        refused: false,
                    },
                )
            })
            .collect(),
        ..StorageFacts::default()
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return failed(format!("cannot start the storage I/O runtime: {e}")),
    };
    let clients = Clients::new(timeout + std::time::Duration::from_millis(500));
    let big = Arc::new(futures::lock::Mutex::new(()));
    let opened = |location: &Location, credentials: &StorageCredentials, seen: &Seen| {
        crate::panic_scope::contain(|| open(location, credentials, timeout, &clients, seen))
            .unwrap_or_else(|p| {
                Err(format!(
                    "internal error while opening it: {}",
                    shown(&p, 120)
                ))
            })
            .map(|store| Counted {
                store,
                seen: seen.clone(),
                local: matches!(location, Location::Local { .. }),
                ordered: matches!(location, Location::S3 { .. } | Location::Gcs { .. }),
                max_object,
                big: big.clone(),
                verify_until: std::sync::Mutex::new(None),
            })
    };
    let timed_out = || "timed out before the storage answered".to_string();
    runtime.block_on(async {
        let tasks = futures::future::join_all(requests.iter().map(|r| async {
            let seen = Seen::default();
            let (read, refused) = match &r.contact {
                Contact::Refused(why) => (Err(why.clone()), true),
                Contact::Invalid(why) => (Err(why.clone()), false),
                Contact::Yes => {
                    let read = match opened(&r.location, &r.credentials, &seen) {
                        Err(e) => Err(e),
                        Ok(counted) => {
                            contained(async {
                                tokio::time::timeout(
                                    timeout,
                                    read_log(&counted, r.checkpoint, r.verify.as_ref(), deadline),
                                )
                                .await
                                .unwrap_or_else(|_| Err(timed_out()))
                            })
                            .await
                        }
                    };
                    (with_redirect(read, &seen), false)
                }
            };
            (
                r.task.clone(),
                LogStorage {
                    url: r.location.display(),
                    read,
                    requests: seen.requests(),
                    refused,
                },
            )
        }));
        let roots = futures::future::join_all(full_backup_roots.iter().map(|root| async {
            let seen = Seen::default();
            let listed = contained(async {
                let counted = opened(root, &StorageCredentials::Host, &seen)?;
                let listing =
                    tokio::time::timeout(timeout, counted.store.list_with_delimiter(None))
                        .await
                        .map_err(|_| timed_out())?
                        .map_err(|e| format!("LIST {}: {}", root.display(), describe(&e)))?;
                Ok::<_, String>(
                    listing
                        .common_prefixes
                        .iter()
                        .filter_map(|p| p.filename().map(|n| root.child(n)))
                        .take(LIST_PAGE * MAX_LIST_PAGES)
                        .collect::<Vec<_>>(),
                )
            })
            .await;
            (root.display(), with_redirect(listed, &seen))
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
        let fulls = futures::future::join_all(candidates.iter().map(|(location, named)| async {
            let seen = Seen::default();
            let read = contained(async {
                let counted = opened(location, &StorageCredentials::Host, &seen)?;
                let read = tokio::time::timeout(timeout, read_full(&counted))
                    .await
                    .unwrap_or_else(|_| Err(timed_out()));
                // A root's child without a backupmeta: an unfinished attempt, or no backup.
                let incomplete = match &read {
                    Err(_) if !*named => tokio::time::timeout(timeout, incomplete_since(&counted))
                        .await
                        .ok()
                        .and_then(Result::ok)
                        .flatten(),
                    _ => None,
                };
                Ok::<_, String>((read, incomplete))
            })
            .await;
            let (read, incomplete) = match read {
                Ok(both) => both,
                Err(e) => (Err(e), None),
            };
            let read = with_redirect(read, &seen);
            (*named || read.is_ok() || incomplete.is_some()).then(|| FullBackup {
                url: location.display(),
                read,
                incomplete_since_ms: incomplete,
            })
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

/// A failed read that met a redirect says so: redirects are never followed.
fn with_redirect<T>(read: Result<T, String>, seen: &Seen) -> Result<T, String> {
    read.map_err(|e| match seen.redirect() {
        Some(host) => format!(
            "redirected to {}: redirects are not followed ({e})",
            shown(&host, 120)
        ),
        None => e,
    })
}

#[cfg(test)]
mod decode_tests {
    use super::*;

    fn meta(backup_size: u64) -> proto::BackupMeta {
        proto::BackupMeta {
            cluster_id: 7,
            cluster_version: "v8.5.0".into(),
            start_version: 0,
            end_version: 446_711_927_930_880_000,
            is_raw_kv: false,
            br_version: "BR v8.5.0".into(),
            backup_size,
        }
    }

    /// A full backup's size is `backup_size` (25) when BR wrote one; 0 is "not written".
    #[test]
    fn the_root_backupmeta_carries_the_backup_size() {
        for (written, want) in [
            (1_234_567_890, Some(1_234_567_890)),
            (u64::MAX, Some(u64::MAX)),
            (0, None),
        ] {
            let root = decode_root(&meta(written).encode_to_vec()).unwrap();
            assert_eq!(root.backup_size, want, "{written}");
            assert_eq!(
                (root.cluster_id, root.end_version),
                (7, 446_711_927_930_880_000)
            );
        }
    }

    /// Over the size cap only the leading varints are read: the size is there when the
    /// cut falls past it, and none (never a wrong one) when it falls before.
    #[test]
    fn a_cut_backupmeta_has_a_size_only_when_the_cut_is_past_it() {
        let whole = meta(4096).encode_to_vec();
        let root = decode_leading(&whole).unwrap();
        assert_eq!(root.backup_size, Some(4096));
        assert_eq!(root.end_version, 446_711_927_930_880_000);
        // The same message without its last field (25 is written last).
        let before = meta(0).encode_to_vec().len();
        assert_eq!(whole[..before], meta(0).encode_to_vec()[..]);
        for cut in before..whole.len() {
            let root = decode_leading(&whole[..cut]).unwrap();
            assert_eq!(root.backup_size, None, "cut at {cut}");
        }
        // Cut before end_version: nothing decoded.
        assert_eq!(decode_leading(&whole[..2]), None);
    }
}

#[cfg(test)]
mod contained_tests {
    use super::*;

    /// A panic inside one storage's future is that storage's error, with the hook told to
    /// leave it (the mark is set while it panics) and the mark gone afterwards.
    #[test]
    fn a_panic_while_reading_is_the_storage_error() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let seen_marked = std::sync::atomic::AtomicBool::new(false);
        let result: Result<(), String> = runtime.block_on(contained(async {
            seen_marked.store(
                crate::panic_scope::is_contained(),
                std::sync::atomic::Ordering::SeqCst,
            );
            panic!("endpoint went wrong")
        }));
        assert_eq!(
            result,
            Err("internal error while reading it: endpoint went wrong".to_string())
        );
        assert!(seen_marked.load(std::sync::atomic::Ordering::SeqCst));
        assert!(!crate::panic_scope::is_contained());
    }
}

#[cfg(test)]
mod local_listing_tests {
    use super::*;

    fn local(dir: &std::path::Path) -> Counted {
        Counted {
            store: Arc::new(object_store::local::LocalFileSystem::new_with_prefix(dir).unwrap()),
            seen: Seen::default(),
            local: true,
            ordered: false,
            max_object: super::super::MAX_OBJECT,
            big: Arc::new(futures::lock::Mutex::new(())),
            verify_until: std::sync::Mutex::new(None),
        }
    }

    /// A local directory lists in the file system's order; a listing cut by the page
    /// budget is still the first keys in key order, so a cursor moved past it skips
    /// nothing; cut by `--verify`'s time, it gives nothing.
    #[test]
    fn a_cut_local_listing_is_the_start_of_the_key_order() {
        let dir = std::env::temp_dir().join(format!("ctlb-local-list-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("m")).unwrap();
        let total = LIST_PAGE * MAX_LIST_PAGES + 5;
        for i in 0..total {
            std::fs::write(dir.join(format!("m/{:06}.meta", (i * 7919) % total)), b"x").unwrap();
        }
        let store = local(&dir);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut keys = Vec::new();
        let cut = runtime
            .block_on(store.list_each("m", Some("m/000002.meta"), |m| {
                keys.push(m.location.to_string())
            }))
            .unwrap();
        assert!(cut);
        assert_eq!(keys.len(), LIST_PAGE * MAX_LIST_PAGES);
        let want: Vec<String> = (3..3 + keys.len())
            .map(|i| format!("m/{i:06}.meta"))
            .collect();
        assert!(
            keys == want,
            "not the first keys after the offset, in order"
        );
        // The time is up: nothing.
        super::super::verify::Reader::stop_at(&store, Instant::now());
        let mut none = 0;
        let cut = runtime
            .block_on(store.list_each("m", None, |_| none += 1))
            .unwrap();
        assert!(cut);
        assert_eq!(none, 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
