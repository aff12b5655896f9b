//! The state file: what one run leaves for the next, so the check never has to wait
//! between two samples. One file per cluster (`throughput-<cluster>.json`, the name kept
//! from the first release), read once before judging and written once after, under an
//! exclusive lock and by atomic replace, so concurrent checks of one cluster never leave
//! a torn file. A missing, corrupt or foreign file counts as none.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

const VERSION: u32 = 1;

/// How the help text names [`default_dir`].
pub const DEFAULT_DIR_HELP: &str = "$XDG_STATE_HOME or ~/.local/state/check_tidb_log_backup";

/// One store's TiKV counters at the previous `--throughput` run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoredSample {
    pub kv_events: f64,
    pub fatal_errors: f64,
    /// Retryable errors by type (absent in files written before they were kept).
    #[serde(default)]
    pub errors: BTreeMap<String, f64>,
    #[serde(default)]
    pub flushes: f64,
    #[serde(default)]
    pub flush_seconds: f64,
}

/// A task's checkpoint as a run saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskProgress {
    pub checkpoint_ts: u64,
    /// When the run saw it (Unix ms).
    pub seen_at_ms: u64,
    /// When a run first saw this checkpoint value (Unix ms): since then it has not moved.
    pub advanced_at_ms: u64,
}

/// The file's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateFile {
    pub version: u32,
    /// Which cluster wrote it (PD cluster id, or the endpoints when unknown).
    pub cluster: String,
    /// When the TiKV samples in `stores` were taken (Unix ms).
    pub taken_at_ms: u64,
    pub stores: BTreeMap<String, StoredSample>,
    /// Each task's checkpoint at the previous run.
    #[serde(default)]
    pub tasks: BTreeMap<String, TaskProgress>,
    /// Every task a run judged, with when a run last saw it in etcd (Unix ms): a task
    /// that disappears is reported for `--gone-for`, then dropped from here.
    #[serde(default)]
    pub seen: BTreeMap<String, u64>,
}

impl StateFile {
    /// An empty file for `cluster`.
    pub fn new(cluster: &str, taken_at_ms: u64) -> StateFile {
        StateFile {
            version: VERSION,
            cluster: cluster.to_string(),
            taken_at_ms,
            stores: BTreeMap::new(),
            tasks: BTreeMap::new(),
            seen: BTreeMap::new(),
        }
    }
}

/// What the run found in its state directory: the previous run's file, if any, and where
/// this run writes its own.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub path: PathBuf,
    /// The key the file is written under (PD's cluster id, else the endpoints).
    pub cluster: String,
    pub previous: Option<StateFile>,
}

impl Loaded {
    /// The previous run's task checkpoints (none when there was no usable file).
    pub fn tasks(&self) -> BTreeMap<String, TaskProgress> {
        self.previous
            .as_ref()
            .map(|p| p.tasks.clone())
            .unwrap_or_default()
    }
}

/// `$XDG_STATE_HOME/check_tidb_log_backup`, `~/.local/state/check_tidb_log_backup`,
/// else `/tmp/check_tidb_log_backup-<user>`: per user, because the engines run the check
/// as different users (nagios, icinga, telegraf, vector, root from cron).
pub fn default_dir(
    state_home: Option<&OsString>,
    home: Option<&OsString>,
    user: Option<&str>,
) -> PathBuf {
    let set = |v: Option<&OsString>| v.filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = set(state_home) {
        return dir.join("check_tidb_log_backup");
    }
    if let Some(home) = set(home) {
        return home.join(".local/state/check_tidb_log_backup");
    }
    std::env::temp_dir().join(format!(
        "check_tidb_log_backup-{}",
        user.unwrap_or("unknown")
    ))
}

/// The file for one cluster: `throughput-<key>.json`, key sanitised to `[A-Za-z0-9_-]`.
pub fn path(dir: &Path, cluster: &str) -> PathBuf {
    let key: String = cluster
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("throughput-{key}.json"))
}

/// Reads `cluster`'s file in `dir`, once.
pub fn load(dir: &Path, cluster: &str) -> Loaded {
    let path = path(dir, cluster);
    let previous = read(&path, cluster);
    Loaded {
        path,
        cluster: cluster.to_string(),
        previous,
    }
}

fn read(path: &Path, cluster: &str) -> Option<StateFile> {
    let text = std::fs::read_to_string(path).ok()?;
    let state: StateFile = serde_json::from_str(&text).ok()?;
    (state.version == VERSION && state.cluster == cluster).then_some(state)
}

/// Writes atomically (temp file + rename) under an exclusive lock.
pub fn save(path: &Path, state: &StateFile) -> Result<(), String> {
    let dir = path.parent().ok_or("state path has no directory")?;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let lock_path = path.with_extension("lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| format!("cannot open {}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let text = serde_json::to_string(state).map_err(|e| e.to_string())?;
    let written = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|_| f.sync_all()))
        .and_then(|_| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("cannot write {}: {e}", path.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_replacement_of_bad_files() {
        let dir = std::env::temp_dir().join(format!("ctlb-state-{}", std::process::id()));
        let file = path(&dir, "cluster 7/x");
        assert!(file.ends_with("throughput-cluster_7_x.json"));
        let mut state = StateFile::new("cluster 7/x", 42);
        state.stores.insert(
            "1".into(),
            StoredSample {
                kv_events: 1.5,
                ..StoredSample::default()
            },
        );
        save(&file, &state).unwrap();
        assert_eq!(load(&dir, "cluster 7/x").previous, Some(state.clone()));
        assert_eq!(load(&dir, "another cluster").previous, None, "foreign file");
        std::fs::write(&file, "{ torn").unwrap();
        assert_eq!(load(&dir, "cluster 7/x").previous, None, "corrupt file");
        save(&file, &state).unwrap();
        assert_eq!(load(&dir, "cluster 7/x").previous, Some(state));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_default_directory_is_per_user() {
        let home = OsString::from("/home/n");
        assert_eq!(
            default_dir(None, Some(&home), Some("n")),
            PathBuf::from("/home/n/.local/state/check_tidb_log_backup")
        );
        let xdg = OsString::from("/x");
        assert_eq!(
            default_dir(Some(&xdg), Some(&home), None),
            PathBuf::from("/x/check_tidb_log_backup")
        );
    }
}
