//! The control objects of a log storage, read beside Tier A (docs/storage.md):
//!
//! - the migration layers `v1/migrations/{seq:08}_{hash:016X}.mgrt`: one LIST of
//!   `v1/migrations/`, then one GET per layer (the newest [`MAX_MIGRATION_LAYERS`]) for its
//!   `truncated_to`: BR's `Load` merges `BASE`, every layer and the safepoint file;
//! - the locks: a GET of `truncating.lock` and one listing of `v1/`'s `LOCK*` and
//!   `APPEND_LOCK*` objects, whose ages are their last-modified times (no GET each);
//! - the CRR resume state [`RESUME_STATE`]: one GET.
//!
//! Every read goes through [`Counted`]'s bounded helpers and is counted.

use super::{size_text, Counted, CHECKPOINT_FETCHES};
use crate::proto;
use crate::storage::compacted::Named;
use crate::storage::{
    LogRead, StorageLock, LIST_PAGE, MAX_LIST_PAGES, MAX_LOCKS, MAX_MIGRATION_LAYERS, RESUME_STATE,
};
use crate::text::shown;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use prost::Message;

/// BR's truncation lock, at the root of the prefix (pingcap/tidb:br/pkg/task/stream.go).
const TRUNCATING_LOCK: &str = "truncating.lock";

/// What the control objects say, merged into [`LogRead`] by [`Control::apply`].
pub(super) struct Control {
    layers: usize,
    layer_truncated_to: Vec<(String, u64)>,
    locks: Vec<StorageLock>,
    more_locks: usize,
    resume_state: Option<Result<u64, String>>,
    cut_listings: Vec<String>,
    /// The compactions of the layers read, for `--verify`.
    pub(super) compactions: Vec<Named>,
}

impl Control {
    pub(super) fn apply(self, out: &mut LogRead) {
        out.migration_layers = self.layers;
        out.layer_truncated_to = self.layer_truncated_to;
        out.locks = self.locks;
        out.more_locks = self.more_locks;
        out.resume_state = self.resume_state;
        out.cut_listings.extend(self.cut_listings);
    }
}

/// The migration layers, the locks and the resume state, concurrently.
pub(super) async fn read(store: &Counted) -> Result<Control, String> {
    // Each read yields what it decoded, never its bytes (see [`Counted::get`]).
    let (layers, truncating, v1, resume) = futures::join!(
        migration_layers(store),
        async {
            let got = store.get(TRUNCATING_LOCK, false).await?;
            Ok::<_, String>(got.map(|got| got.modified_ms))
        },
        v1_locks(store),
        async {
            let got = store.get(RESUME_STATE, false).await?;
            Ok::<_, String>(got.map(|got| {
                if got.complete {
                    last_checkpoint(&got.bytes)
                } else if got.size > store.max_object {
                    Err(format!(
                        "it is {}, over --storage-max-object {}",
                        size_text(got.size),
                        size_text(store.max_object)
                    ))
                } else {
                    Err(format!(
                        "it sent more than --storage-max-object {} (announced as {})",
                        size_text(store.max_object),
                        size_text(got.size)
                    ))
                }
            }))
        },
    );
    let (layers, layer_truncated_to, compactions, layers_cut) = layers?;
    let (v1, locks_cut) = v1?;
    let mut locks = Locks::default();
    if let Some(modified_ms) = truncating? {
        locks.add(TRUNCATING_LOCK.to_string(), modified_ms);
    }
    for lock in v1 {
        locks.add(lock.name, lock.modified_ms);
    }
    let resume_state = resume?;
    let mut cut_listings = Vec::new();
    if layers_cut {
        cut_listings.push("v1/migrations/".to_string());
    }
    if locks_cut {
        cut_listings.push("v1/".to_string());
    }
    let (locks, more_locks) = locks.done();
    Ok(Control {
        layers,
        layer_truncated_to,
        locks,
        more_locks,
        resume_state,
        cut_listings,
        compactions,
    })
}

/// A layer's name as BR's `migIdOf` and TiKV's `id_of_migration` read it: 8 decimal
/// digits first (the sequence number); `BASE` is the base, not a layer.
fn is_layer(name: &str) -> bool {
    name != "BASE" && name.len() >= 8 && name.as_bytes()[..8].iter().all(u8::is_ascii_digit)
}

/// Every layer's name, and the `truncated_to` and compactions of the newest
/// [`MAX_MIGRATION_LAYERS`].
async fn migration_layers(
    store: &Counted,
) -> Result<(usize, Vec<(String, u64)>, Vec<Named>, bool), String> {
    let mut names = Vec::new();
    let cut = store
        .list_each("v1/migrations", None, |meta| {
            if meta.location.filename().is_some_and(is_layer) {
                names.push(meta.location.to_string());
            }
        })
        .await?;
    let count = names.len();
    // The sequence number is zero-padded: name order is layer order.
    names.sort();
    let newest = &names[count.saturating_sub(MAX_MIGRATION_LAYERS)..];
    let mut fetched = futures::stream::iter(newest.iter().map(|p| {
        store.read_small(p, |bytes| {
            (proto::Migration::decode(bytes), Named::decode(p, bytes))
        })
    }))
    .buffered(CHECKPOINT_FETCHES);
    let mut paths = newest.iter();
    let mut out = Vec::new();
    let mut compactions = Vec::new();
    while let Some(result) = fetched.next().await {
        let path = paths.next().map(String::as_str).unwrap_or("");
        // Gone since the listing: merged into BASE meanwhile.
        let Some((migration, named)) = result? else {
            continue;
        };
        let migration =
            migration.map_err(|e| format!("{} does not decode: {e}", shown(path, 120)))?;
        let name = path.strip_prefix("v1/migrations/").unwrap_or(path);
        out.push((shown(name, 120), migration.truncated_to));
        compactions.push(named);
    }
    Ok((count, out, compactions, cut))
}

/// Whether a key is a lock BR or TiKV takes on `v1/`: a write lock (`LOCK.WRIT`,
/// `APPEND_LOCK.WRIT`), a read lock (`LOCK.READ.<hex16>`) or a left intent file
/// (`….INTENT.<hex32>`). Any object under these prefixes blocks a write lock
/// (tikv/tikv:components/external_storage/src/locking.rs).
fn is_v1_lock(key: &str) -> bool {
    key.starts_with("v1/LOCK") || key.starts_with("v1/APPEND_LOCK")
}

/// The lock objects of `v1/`, and whether the listing was cut. Where the listing is in
/// key order from a start key (S3, GCS), it starts before `v1/APPEND_LOCK` and stops
/// after the `v1/LOCK` keys (upper case sorts before `v1/backupmeta/`): one page.
/// Elsewhere (a local directory, Azure) one delimiter listing of `v1/`'s own entries.
async fn v1_locks(store: &Counted) -> Result<(Vec<StorageLock>, bool), String> {
    let mut locks = Vec::new();
    // Keys come from the storage: cleaned and cut as any text from it.
    let lock = |meta: &object_store::ObjectMeta| StorageLock {
        name: shown(meta.location.as_ref(), 120),
        modified_ms: meta.last_modified.timestamp_millis().max(0) as u64,
    };
    if store.ordered {
        let cut = list_while(store, "v1", "v1/APPEND_LOCK", |meta| {
            let key = meta.location.as_ref();
            if is_v1_lock(key) {
                locks.push(lock(&meta));
            }
            key <= "v1/LOCK" || key.starts_with("v1/LOCK")
        })
        .await?;
        return Ok((locks, cut));
    }
    store.count_local();
    let listed = store
        .store
        .list_with_delimiter(Some(&Path::from("v1")))
        .await
        .map_err(|e| format!("LIST v1/: {}", super::describe(&e)))?;
    let budget = LIST_PAGE * MAX_LIST_PAGES;
    let cut = listed.objects.len() > budget;
    locks.extend(
        listed
            .objects
            .iter()
            .take(budget)
            .filter(|m| is_v1_lock(m.location.as_ref()))
            .map(lock),
    );
    Ok((locks, cut))
}

/// [`Counted::list_each`] that stops when `f` says so: every object under `prefix` after
/// `offset`, in key order, within the page budget. Returns whether the budget cut it.
async fn list_while(
    store: &Counted,
    prefix: &str,
    offset: &str,
    mut f: impl FnMut(object_store::ObjectMeta) -> bool,
) -> Result<bool, String> {
    store.count_local();
    let offset = Path::from(offset);
    let mut stream = store
        .store
        .list_with_offset(Some(&Path::from(prefix)), &offset);
    let budget = LIST_PAGE * MAX_LIST_PAGES;
    let mut seen = 0;
    while let Some(meta) = stream
        .try_next()
        .await
        .map_err(|e| format!("LIST {prefix}/: {}", super::describe(&e)))?
    {
        if meta.location <= offset {
            continue;
        }
        if seen == budget {
            return Ok(true);
        }
        seen += 1;
        if !f(meta) {
            break;
        }
    }
    Ok(false)
}

/// The locks found, the oldest [`MAX_LOCKS`] kept.
#[derive(Default)]
struct Locks {
    kept: Vec<StorageLock>,
    more: usize,
}

impl Locks {
    fn add(&mut self, name: String, modified_ms: u64) {
        self.kept.push(StorageLock { name, modified_ms });
        if self.kept.len() > MAX_LOCKS {
            self.kept.sort_by_key(|l| l.modified_ms);
            self.kept.pop();
            self.more += 1;
        }
    }

    fn done(mut self) -> (Vec<StorageLock>, usize) {
        self.kept.sort_by(|a, b| a.name.cmp(&b.name));
        (self.kept, self.more)
    }
}

/// `{"last_checkpoint": N, …}`, as TiKV's compact-log-backup reads it
/// (tikv/tikv:components/compact-log-backup/src/exec_hooks/consistency.rs).
fn last_checkpoint(bytes: &[u8]) -> Result<u64, String> {
    #[derive(serde::Deserialize)]
    struct ResumeState {
        last_checkpoint: Option<serde_json::Value>,
    }
    let not_object = |why: String| format!("it is not a JSON object ({})", shown(&why, 120));
    // serde would also take `[N]` for the struct; Go's json (and BR) would not.
    if bytes.trim_ascii_start().first() != Some(&b'{') {
        return Err(not_object("it does not start with {".to_string()));
    }
    let state: ResumeState =
        serde_json::from_slice(bytes).map_err(|e| not_object(e.to_string()))?;
    match state.last_checkpoint {
        None => Err("it has no last_checkpoint".to_string()),
        Some(value) => value.as_u64().ok_or_else(|| {
            format!(
                "its last_checkpoint {} is not a TSO",
                shown(&value.to_string(), 40)
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_names_and_lock_keys() {
        assert!(is_layer("00000001_0123456789ABCDEF.mgrt"));
        assert!(is_layer("00000012_X"));
        assert!(!is_layer("BASE"));
        assert!(!is_layer("BASE_TMP"));
        assert!(!is_layer("0000001"));
        for key in [
            "v1/LOCK.WRIT",
            "v1/APPEND_LOCK.WRIT",
            "v1/LOCK.READ.00000000deadbeef",
            "v1/LOCK.WRIT.INTENT.0123",
        ] {
            assert!(is_v1_lock(key), "{key}");
        }
        assert!(!is_v1_lock("v1/backupmeta/x.meta"));
        assert!(!is_v1_lock("v1/20240101/01/1/x.log"));
    }

    #[test]
    fn the_resume_states_last_checkpoint() {
        assert_eq!(last_checkpoint(br#"{"last_checkpoint":88}"#), Ok(88));
        assert_eq!(
            last_checkpoint(br#"{"synced_ts":1,"last_checkpoint":446711927930880000}"#),
            Ok(446_711_927_930_880_000)
        );
        for (bytes, want) in [
            (&b"{}"[..], "it has no last_checkpoint"),
            (b"[1]", "it is not a JSON object"),
            (b"", "it is not a JSON object"),
            (
                br#"{"last_checkpoint":"88"}"#,
                "its last_checkpoint \"88\" is not a TSO",
            ),
            (
                br#"{"last_checkpoint":-1}"#,
                "its last_checkpoint -1 is not a TSO",
            ),
            (br#"{"last_checkpoint":1.5}"#, "is not a TSO"),
        ] {
            let e = last_checkpoint(bytes).unwrap_err();
            assert!(e.contains(want), "{e}");
        }
    }

    #[test]
    fn the_oldest_locks_are_kept() {
        let mut locks = Locks::default();
        for i in 0..(MAX_LOCKS as u64 + 3) {
            locks.add(format!("v1/LOCK.READ.{i:016x}"), 1000 - i);
        }
        let (kept, more) = locks.done();
        assert_eq!((kept.len(), more), (MAX_LOCKS, 3));
        assert!(kept.iter().all(|l| l.modified_ms <= 1000 - 3));
        assert!(kept.windows(2).all(|w| w[0].name < w[1].name));
    }
}
