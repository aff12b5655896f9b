//! The state file: what one run leaves for the next, so the check never has to wait
//! between two samples. One file per cluster (`throughput-<cluster>.json`, the name kept
//! from the first release), read once before judging and written once after, under an
//! exclusive lock and by atomic replace, so concurrent checks of one cluster never leave
//! a torn file. A missing, corrupt or foreign file counts as none.
//!
//! The state directory is trusted only when it is not a symlink, is owned by the running
//! user and is writable by no one else; the same holds for its file and the lock. A
//! directory that fails is refused: the run reads and writes nothing there and says why
//! ([`load`]'s `Err`). Inside a trusted directory everything is opened relative to the
//! directory's descriptor and never through a link: the lock without following links, the
//! temp file created exclusively (`O_EXCL`) under a random name, mode 0600, then renamed
//! into place. Temp files that a killed run left behind are removed under the lock. See
//! docs/state.md.

use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ffi::{CString, OsString};
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

const VERSION: u32 = 1;

/// How the help text names [`default_dir`].
pub const DEFAULT_DIR_HELP: &str = "$XDG_STATE_HOME/check_tidb_log_backup, else ~/.local/state/check_tidb_log_backup, else /var/lib/check_tidb_log_backup";

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
    /// `--verify`: how far each task's log chain was verified, file by file.
    #[serde(default)]
    pub verify: BTreeMap<String, VerifyState>,
}

/// One task's `--verify` progress.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VerifyState {
    /// The last meta (its key under the log storage) whose every file was checked.
    pub cursor: Option<String>,
    /// The newest `max_ts` among the checked metas.
    pub verified_to_ts: u64,
    /// Files found missing or short, re-checked every run until they are back or
    /// truncation passes them.
    pub missing: Vec<MissingFile>,
    /// (max_ts, bytes) of the data files checked in the last hour of the chain.
    #[serde(default)]
    pub recent: Vec<(u64, u64)>,
    /// The compactions whose SSTs were checked (absent in files written before, and while
    /// there are none).
    #[serde(default, skip_serializing_if = "CompactionProgress::is_empty")]
    pub compactions: CompactionProgress,
}

/// `--verify`'s progress through the compactions the migrations name, each known by its
/// `artifacts` prefix. Only live compactions are kept (at most
/// `storage::MAX_COMPACTIONS`): one that truncation removed is forgotten.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompactionProgress {
    /// Compactions whose every SST was checked: never read again.
    #[serde(default)]
    pub done: Vec<String>,
    /// Compactions checked in part.
    #[serde(default)]
    pub partial: BTreeMap<String, PartialCompaction>,
}

/// Where the check of one compaction stands: its `.cmeta` objects are checked in
/// batches, in key order, and a batch's SST directories are listed across runs when the
/// budget runs out midway.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialCompaction {
    /// The last `.cmeta` whose every SST was checked.
    #[serde(default)]
    pub cmeta: Option<String>,
    /// The last `.cmeta` of the batch being checked (read again next run).
    #[serde(default)]
    pub batch_to: Option<String>,
    /// Each SST directory of that batch: the key it was listed up to (its SSTs up to
    /// there are checked).
    #[serde(default)]
    pub listed: BTreeMap<String, String>,
}

impl CompactionProgress {
    pub fn is_empty(&self) -> bool {
        self.done.is_empty() && self.partial.is_empty()
    }
}

/// A data file a meta references, or an SST a compaction's `.cmeta` names, that is not
/// there whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingFile {
    pub path: String,
    /// The meta (or the `.cmeta`) that references it.
    pub meta: String,
    /// The length the meta says.
    pub need: u64,
    /// The length found, `None` when absent.
    pub have: Option<u64>,
    /// The earliest ts of the data in it: a restore past it needs the file.
    pub min_ts: u64,
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
            verify: BTreeMap::new(),
        }
    }
}

/// Where the packages create the state directory, owned by the monitoring user: the
/// default's last resort.
pub const SYSTEM_DIR: &str = "/var/lib/check_tidb_log_backup";

/// The state directory's name under `$XDG_STATE_HOME` and `~/.local/state`.
const NAME: &str = "check_tidb_log_backup";

/// Where the state directory is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// `--state-dir`: this directory, created 0700 when missing.
    Given(PathBuf),
    /// None given: [`default_dir`] picks one when the run starts, from these variables.
    Default {
        /// `$XDG_STATE_HOME`
        state_home: Option<OsString>,
        /// `$HOME`
        home: Option<OsString>,
    },
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

/// The default state directory, the first usable of:
/// 1. `$XDG_STATE_HOME/check_tidb_log_backup`,
/// 2. `~/.local/state/check_tidb_log_backup`,
///
///    each when its variable is an absolute path, and it exists (trusted or not: [`load`]
///    refuses an untrusted one) or can be created (0700, parents too);
/// 3. `system` (`/var/lib/check_tidb_log_backup`, which the packages create for the
///    monitoring user) when it exists and passes the checks.
///
/// Per user, because the engines run the check as different users (nagios, icinga,
/// telegraf, vector, root from cron); never a predictable name in a shared temp
/// directory. `Err`: the finding that says why there is none.
pub fn default_dir(
    state_home: Option<&OsString>,
    home: Option<&OsString>,
    system: &Path,
) -> Result<PathBuf, String> {
    let absolute = |v: Option<&OsString>| v.map(PathBuf::from).filter(|p| p.is_absolute());
    let mut passed_over = Vec::new();
    let state_home = absolute(state_home).map(|d| d.join(NAME));
    let home = absolute(home).map(|h| h.join(".local/state").join(NAME));
    if home.is_none() {
        passed_over.push("$HOME is not set".to_string());
    }
    for dir in state_home.into_iter().chain(home) {
        match create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) => passed_over.push(format!("cannot create {}: {e}", dir.display())),
        }
    }
    match open_dir(system) {
        Ok(_) => return Ok(system.to_path_buf()),
        Err(DirError::Missing(dir)) => {
            passed_over.push(format!("{} does not exist", dir.display()))
        }
        Err(e) => passed_over.push(e.to_string()),
    }
    Err(format!(
        "no state directory ({}): set --state-dir (no state kept)",
        passed_over.join("; ")
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

/// Finds the state directory (creating it 0700 when missing) and reads `cluster`'s file
/// in it, once. `Err`: the finding that says why no state is kept this run: the
/// directory, its file or the lock is refused (a symlink, owned by another user,
/// writable by group or others), or no default directory is usable. Nothing is written
/// then.
pub fn load(location: &Location, cluster: &str) -> Result<Loaded, String> {
    let dir = match location {
        Location::Given(dir) => {
            create(dir).map_err(|e| {
                format!(
                    "state directory {}: cannot create it: {e} (no state kept)",
                    dir.display()
                )
            })?;
            dir.clone()
        }
        Location::Default { state_home, home } => {
            default_dir(state_home.as_ref(), home.as_ref(), Path::new(SYSTEM_DIR))?
        }
    };
    let no_state = |e: DirError| format!("{e} (no state kept)");
    let handle = open_dir(&dir).map_err(no_state)?;
    let path = path(&dir, cluster);
    let names = Names::of(&path);
    let previous = read(&handle, &dir, &names, cluster).map_err(no_state)?;
    // The lock is opened without following links when saving; a link there is refused
    // now, before anything is written.
    let lock = rustix::fs::statat(&handle, names.lock.as_str(), AtFlags::SYMLINK_NOFOLLOW);
    if let Ok(stat) = lock {
        check_file(stat.st_mode, stat.st_uid)
            .map_err(|why| no_state(DirError::refused(&dir, format!("{} is {why}", names.lock))))?;
    }
    Ok(Loaded {
        path,
        cluster: cluster.to_string(),
        previous,
    })
}

/// The file's name, its lock's and its temp files' prefix, in the state directory.
struct Names {
    file: String,
    lock: String,
    temp_prefix: String,
}

impl Names {
    fn of(path: &Path) -> Names {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Names {
            file: path
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            lock: format!("{stem}.lock"),
            temp_prefix: format!("{stem}.tmp."),
        }
    }
}

/// Why the state directory cannot be used.
#[derive(Debug)]
enum DirError {
    /// It, its file or the lock failed a check: "state directory … refused: …".
    Refused(String),
    /// It does not exist.
    Missing(PathBuf),
    /// It cannot be opened.
    Io(PathBuf, std::io::Error),
}

impl DirError {
    fn refused(dir: &Path, why: String) -> DirError {
        DirError::Refused(format!("state directory {} refused: {why}", dir.display()))
    }
}

impl std::fmt::Display for DirError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DirError::Refused(text) => f.write_str(text),
            DirError::Missing(dir) => {
                write!(f, "state directory {} does not exist", dir.display())
            }
            DirError::Io(dir, e) => write!(f, "state directory {}: {e}", dir.display()),
        }
    }
}

/// Creates `dir` 0700 (and its missing parents, 0700 too) unless something is there
/// already, a link included: [`open_dir`] judges what is there.
fn create(dir: &Path) -> std::io::Result<()> {
    if std::fs::symlink_metadata(dir).is_ok() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Opens the state directory without following a link and checks it: owned by the
/// running user, writable by no one else. Everything inside is reached through the
/// returned handle, so the directory cannot be swapped after the check.
fn open_dir(dir: &Path) -> Result<File, DirError> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let handle = match rustix::fs::open(dir, flags, Mode::empty()) {
        Ok(fd) => File::from(fd),
        Err(Errno::LOOP) => return Err(DirError::refused(dir, "it is a symlink".into())),
        Err(Errno::NOTDIR) => {
            let link = std::fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink());
            let what = if link { "a symlink" } else { "not a directory" };
            return Err(DirError::refused(dir, format!("it is {what}")));
        }
        Err(Errno::NOENT) => return Err(DirError::Missing(dir.to_path_buf())),
        Err(e) => return Err(DirError::Io(dir.to_path_buf(), e.into())),
    };
    let meta = handle
        .metadata()
        .map_err(|e| DirError::Io(dir.to_path_buf(), e))?;
    check_owner(meta.mode(), meta.uid())
        .map_err(|why| DirError::refused(dir, format!("it is {why}")))?;
    Ok(handle)
}

/// Owned by the running user and writable by no one else; else why not ("owned by …").
fn check_owner(mode: u32, uid: u32) -> Result<(), String> {
    let euid = rustix::process::geteuid().as_raw();
    if uid != euid {
        return Err(format!(
            "owned by uid {uid}, not by the running user (uid {euid})"
        ));
    }
    if mode & 0o022 != 0 {
        return Err(format!(
            "writable by group or others (mode {:04o})",
            mode & 0o7777
        ));
    }
    Ok(())
}

/// A regular file that passes [`check_owner`]; else why not ("a symlink", …).
fn check_file(mode: u32, uid: u32) -> Result<(), String> {
    let kind = rustix::fs::FileType::from_raw_mode(mode);
    if kind.is_symlink() {
        return Err("a symlink".to_string());
    }
    if !kind.is_file() {
        return Err("not a regular file".to_string());
    }
    check_owner(mode, uid)
}

/// The previous run's file in the directory, never through a link; a missing, unreadable,
/// corrupt or foreign file counts as none, an untrusted one is refused.
fn read(
    handle: &File,
    dir: &Path,
    names: &Names,
    cluster: &str,
) -> Result<Option<StateFile>, DirError> {
    // O_NONBLOCK: a FIFO put in its place cannot hang the run (it is refused below).
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
    let mut file = match rustix::fs::openat(handle, names.file.as_str(), flags, Mode::empty()) {
        Ok(fd) => File::from(fd),
        Err(Errno::LOOP) => {
            return Err(DirError::refused(
                dir,
                format!("{} is a symlink", names.file),
            ))
        }
        Err(_) => return Ok(None),
    };
    let Ok(meta) = file.metadata() else {
        return Ok(None);
    };
    check_file(meta.mode(), meta.uid())
        .map_err(|why| DirError::refused(dir, format!("{} is {why}", names.file)))?;
    let mut text = String::new();
    if file.read_to_string(&mut text).is_err() {
        return Ok(None);
    }
    let Ok(state) = serde_json::from_str::<StateFile>(&text) else {
        return Ok(None);
    };
    Ok((state.version == VERSION && state.cluster == cluster).then_some(state))
}

/// Writes atomically under an exclusive lock: the directory checked again, the lock
/// opened without following a link, temp files of killed runs removed, a new temp file
/// created exclusively under a random name (0600), then renamed into place.
pub fn save(path: &Path, state: &StateFile) -> Result<(), String> {
    let dir = path.parent().ok_or("state path has no directory")?;
    create(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let handle = open_dir(dir).map_err(|e| e.to_string())?;
    let names = Names::of(path);
    let lock_flags = OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let lock = match rustix::fs::openat(
        &handle,
        names.lock.as_str(),
        lock_flags,
        Mode::RUSR | Mode::WUSR,
    ) {
        Ok(fd) => File::from(fd),
        Err(Errno::LOOP) => {
            let why = format!("{} is a symlink", names.lock);
            return Err(DirError::refused(dir, why).to_string());
        }
        Err(e) => {
            return Err(format!(
                "cannot open {}: {}",
                dir.join(&names.lock).display(),
                std::io::Error::from(e)
            ))
        }
    };
    let meta = lock
        .metadata()
        .map_err(|e| format!("cannot open {}: {e}", dir.join(&names.lock).display()))?;
    check_file(meta.mode(), meta.uid())
        .map_err(|why| DirError::refused(dir, format!("{} is {why}", names.lock)).to_string())?;
    lock.lock()
        .map_err(|e| format!("cannot lock {}: {e}", dir.join(&names.lock).display()))?;
    // Every writer holds the lock while its temp file exists: any left now is stale.
    remove_temp_files(&handle, &names.temp_prefix);
    let text = serde_json::to_string(state).map_err(|e| e.to_string())?;
    let (temp, mut file) = create_temp(&handle, &names.temp_prefix)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    // Not fsynced: the file is advisory. One a crash of the host leaves empty or torn reads
    // as no previous state (the next run has no rate and restarts the stuck clock), while an
    // fsync costs every run a journal commit: 0.3–3 ms on ext4, as much as the rest of the
    // check (BENCHMARKS.md, finding 6).
    let written = file
        .write_all(text.as_bytes())
        .and_then(|_| replace(&handle, &temp, &names.file));
    if let Err(e) = written {
        let _ = rustix::fs::unlinkat(&handle, temp.as_str(), AtFlags::empty());
        return Err(format!("cannot write {}: {e}", path.display()));
    }
    Ok(())
}

/// Puts `temp` in the place of `file` (both in `handle`'s directory). The two are swapped
/// (`renameat2` with `RENAME_EXCHANGE`) and the old file, now at `temp`, is removed: a
/// reader still finds the old file or the new one, and ext4 does not write the new file's
/// data out at once as it does for a rename over an existing file (`auto_da_alloc`:
/// 0.1–0.3 ms a run). A plain rename when there is no file yet or the file system cannot
/// swap.
fn replace(handle: &File, temp: &str, file: &str) -> std::io::Result<()> {
    use rustix::fs::{renameat_with, RenameFlags};
    if renameat_with(handle, temp, handle, file, RenameFlags::EXCHANGE).is_ok() {
        // The new file is in place; the old one is only litter now.
        let _ = rustix::fs::unlinkat(handle, temp, AtFlags::empty());
        return Ok(());
    }
    rustix::fs::renameat(handle, temp, handle, file).map_err(std::io::Error::from)
}

/// Creates `<prefix><16 random hex digits>` exclusively (never through a link), 0600.
fn create_temp(handle: &File, prefix: &str) -> std::io::Result<(String, File)> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut last = Errno::EXIST;
    for _ in 0..8 {
        let name = format!("{prefix}{:016x}", random());
        match rustix::fs::openat(handle, name.as_str(), flags, Mode::RUSR | Mode::WUSR) {
            Ok(fd) => return Ok((name, File::from(fd))),
            Err(Errno::EXIST) => last = Errno::EXIST,
            Err(e) => return Err(e.into()),
        }
    }
    Err(last.into())
}

/// A number no other process can predict: std's hash keys (seeded from the OS's random
/// source) over a counter.
fn random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.finish()
}

/// Removes this cluster's temp files (`<prefix>…`; a link is removed, never followed).
fn remove_temp_files(handle: &File, prefix: &str) {
    let Ok(entries) = rustix::fs::Dir::read_from(handle) else {
        return;
    };
    let stale: Vec<CString> = entries
        .flatten()
        .map(|e| e.file_name().to_owned())
        .filter(|name| {
            let name = name.to_bytes();
            name.len() > prefix.len() && name.starts_with(prefix.as_bytes())
        })
        .collect();
    for name in stale {
        let _ = rustix::fs::unlinkat(handle, name.as_c_str(), AtFlags::empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A fresh directory for one test (removed first, in case a run was killed).
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ctlb-sf-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        dir
    }

    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path).unwrap().mode() & 0o7777
    }

    fn given(dir: &Path) -> Location {
        Location::Given(dir.to_path_buf())
    }

    fn sample() -> StateFile {
        let mut state = StateFile::new("cluster 7/x", 42);
        state.stores.insert(
            "1".into(),
            StoredSample {
                kv_events: 1.5,
                ..StoredSample::default()
            },
        );
        state
    }

    #[test]
    fn round_trip_and_replacement_of_bad_files() {
        let base = scratch("round-trip");
        let dir = base.join("state");
        let file = path(&dir, "cluster 7/x");
        assert!(file.ends_with("throughput-cluster_7_x.json"));
        let state = sample();
        let loaded = load(&given(&dir), "cluster 7/x").unwrap();
        assert_eq!(loaded.path, file);
        assert_eq!(loaded.previous, None, "no file yet");
        save(&file, &state).unwrap();
        let previous = |cluster: &str| load(&given(&dir), cluster).unwrap().previous;
        assert_eq!(previous("cluster 7/x"), Some(state.clone()));
        assert_eq!(previous("another cluster"), None, "foreign file");
        std::fs::write(&file, "{ torn").unwrap();
        assert_eq!(previous("cluster 7/x"), None, "corrupt file");
        save(&file, &state).unwrap();
        assert_eq!(previous("cluster 7/x"), Some(state));
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn a_new_directory_is_0700_and_the_files_0600() {
        let base = scratch("modes");
        let dir = base.join("a/b");
        let loaded = load(&given(&dir), "c").unwrap();
        assert_eq!(mode(&base.join("a")), 0o700, "a parent it created");
        assert_eq!(mode(&dir), 0o700);
        save(&loaded.path, &sample()).unwrap();
        assert_eq!(mode(&loaded.path), 0o600);
        assert_eq!(mode(&dir.join("throughput-c.lock")), 0o600);
        std::fs::remove_dir_all(&base).unwrap();
    }

    /// Owned by someone else: a chown to nobody as root, else a directory root owns.
    fn foreign(dir: &Path) -> PathBuf {
        if rustix::process::geteuid().is_root() {
            std::os::unix::fs::chown(dir, Some(65534), Some(65534)).unwrap();
            dir.to_path_buf()
        } else {
            PathBuf::from("/")
        }
    }

    #[test]
    fn an_untrusted_directory_is_refused_and_nothing_is_written() {
        let base = scratch("untrusted");
        let real = base.join("real");
        std::fs::create_dir(&real).unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o700)).unwrap();
        let link = base.join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let refused = |dir: &Path| load(&given(dir), "c").unwrap_err();
        assert_eq!(
            refused(&link),
            format!(
                "state directory {} refused: it is a symlink (no state kept)",
                link.display()
            )
        );
        let dangling = base.join("dangling");
        std::os::unix::fs::symlink(base.join("nowhere"), &dangling).unwrap();
        assert!(refused(&dangling).ends_with("refused: it is a symlink (no state kept)"));
        assert!(!base.join("nowhere").exists(), "created through a link");
        let not_dir = base.join("file");
        std::fs::write(&not_dir, "").unwrap();
        assert!(refused(&not_dir).ends_with("refused: it is not a directory (no state kept)"));
        for bits in [0o770, 0o707, 0o1777] {
            std::fs::set_permissions(&real, std::fs::Permissions::from_mode(bits)).unwrap();
            assert_eq!(
                refused(&real),
                format!(
                    "state directory {} refused: it is writable by group or others (mode {bits:04o}) (no state kept)",
                    real.display()
                )
            );
        }
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(
            load(&given(&real), "c").is_ok(),
            "readable by others is fine"
        );
        let other = foreign(&real);
        let why = refused(&other);
        assert!(
            why.contains(" refused: it is owned by uid ")
                && why.contains(", not by the running user (uid "),
            "{why}"
        );
        // save checks again: a directory refused after load gets nothing either.
        assert!(save(&path(&other, "c"), &sample())
            .unwrap_err()
            .contains(" refused: "));
        assert!(
            std::fs::read_dir(&real).unwrap().next().is_none(),
            "nothing written"
        );
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn a_linked_or_untrusted_file_or_lock_is_refused() {
        let base = scratch("files");
        let dir = base.join("state");
        let loaded = load(&given(&dir), "c").unwrap();
        let victim = base.join("victim");
        std::fs::write(&victim, "precious").unwrap();
        for name in ["throughput-c.json", "throughput-c.lock"] {
            for left in ["throughput-c.json", "throughput-c.lock"] {
                let _ = std::fs::remove_file(dir.join(left));
            }
            let planted = dir.join(name);
            std::os::unix::fs::symlink(&victim, &planted).unwrap();
            assert_eq!(
                load(&given(&dir), "c").unwrap_err(),
                format!(
                    "state directory {} refused: {name} is a symlink (no state kept)",
                    dir.display()
                )
            );
            // Even when saving regardless, the link is never followed (the file's is
            // replaced by the rename, the lock's refused).
            let _ = save(&loaded.path, &sample());
            assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        }
        std::fs::remove_file(dir.join("throughput-c.lock")).unwrap();
        save(&loaded.path, &sample()).unwrap();
        std::fs::set_permissions(&loaded.path, std::fs::Permissions::from_mode(0o620)).unwrap();
        assert!(load(&given(&dir), "c").unwrap_err().ends_with(
            "refused: throughput-c.json is writable by group or others (mode 0620) (no state kept)"
        ));
        std::fs::remove_file(&loaded.path).unwrap();
        std::fs::remove_file(dir.join("throughput-c.lock")).unwrap();
        std::os::unix::fs::symlink("/nowhere", dir.join("throughput-c.lock")).unwrap();
        assert_eq!(
            save(&loaded.path, &sample()).unwrap_err(),
            format!(
                "state directory {} refused: throughput-c.lock is a symlink",
                dir.display()
            )
        );
        assert!(
            !Path::new("/nowhere").exists(),
            "created through the lock's link"
        );
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn temp_files_are_random_and_stale_ones_removed() {
        let base = scratch("temp");
        let dir = base.join("state");
        let loaded = load(&given(&dir), "c").unwrap();
        let victim = base.join("victim");
        std::fs::write(&victim, "precious").unwrap();
        // Left by killed runs: the old pid-named file, a random-named one, a link.
        std::fs::write(dir.join("throughput-c.tmp.4242"), "{ torn").unwrap();
        std::fs::write(dir.join("throughput-c.tmp.00ff00ff00ff00ff"), "").unwrap();
        std::os::unix::fs::symlink(&victim, dir.join("throughput-c.tmp.7")).unwrap();
        // Another cluster's, and a name that only looks alike: kept.
        std::fs::write(dir.join("throughput-cd.tmp.1"), "").unwrap();
        std::fs::write(dir.join("throughput-c.tmp."), "").unwrap();
        save(&loaded.path, &sample()).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "throughput-c.json",
                "throughput-c.lock",
                "throughput-c.tmp.",
                "throughput-cd.tmp.1"
            ]
        );
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert_ne!(random(), random());
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn the_default_directory_is_per_user_and_never_in_a_shared_temp_dir() {
        let base = scratch("default");
        let os = |p: &Path| OsString::from(p.as_os_str());
        let system = base.join("var-lib");
        // 1. $XDG_STATE_HOME, created with its parents (0700).
        let xdg = base.join("xdg");
        let home = base.join("home");
        assert_eq!(
            default_dir(Some(&os(&xdg)), Some(&os(&home)), &system),
            Ok(xdg.join("check_tidb_log_backup"))
        );
        assert_eq!(mode(&xdg), 0o700);
        assert_eq!(mode(&xdg.join("check_tidb_log_backup")), 0o700);
        // 2. ~/.local/state when $XDG_STATE_HOME is unset, empty or relative.
        for unset in [None, Some(OsString::new()), Some(OsString::from("rel/dir"))] {
            assert_eq!(
                default_dir(unset.as_ref(), Some(&os(&home)), &system),
                Ok(home.join(".local/state/check_tidb_log_backup"))
            );
        }
        assert_eq!(mode(&home.join(".local")), 0o700);
        // An existing candidate is taken as it is: load judges it (a link is refused).
        let linked = base.join("linked");
        std::fs::create_dir(&linked).unwrap();
        std::os::unix::fs::symlink(&xdg, linked.join("check_tidb_log_backup")).unwrap();
        assert_eq!(
            default_dir(Some(&os(&linked)), None, &system),
            Ok(linked.join("check_tidb_log_backup"))
        );
        // 3. The system directory when neither can be created and it passes the checks.
        let file = base.join("a-file");
        std::fs::write(&file, "").unwrap();
        let bad = os(&file.join("x"));
        let none = default_dir(Some(&bad), Some(&bad), &system).unwrap_err();
        assert_eq!(
            none,
            format!(
                "no state directory (cannot create {}: Not a directory (os error 20); cannot create {}: Not a directory (os error 20); {} does not exist): set --state-dir (no state kept)",
                file.join("x/check_tidb_log_backup").display(),
                file.join("x/.local/state/check_tidb_log_backup").display(),
                system.display()
            )
        );
        assert!(!system.exists(), "the system directory is never created");
        std::fs::create_dir(&system).unwrap();
        std::fs::set_permissions(&system, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(
            default_dir(Some(&bad), Some(&bad), &system),
            Ok(system.clone())
        );
        assert_eq!(default_dir(None, None, &system), Ok(system.clone()));
        std::fs::set_permissions(&system, std::fs::Permissions::from_mode(0o775)).unwrap();
        assert_eq!(
            default_dir(None, None, &system).unwrap_err(),
            format!(
                "no state directory ($HOME is not set; state directory {} refused: it is writable by group or others (mode 0775)): set --state-dir (no state kept)",
                system.display()
            )
        );
        std::fs::set_permissions(&system, std::fs::Permissions::from_mode(0o700)).unwrap();
        let other = foreign(&system);
        assert!(default_dir(None, None, &other)
            .unwrap_err()
            .contains(" refused: it is owned by uid "));
        std::fs::remove_dir_all(&base).unwrap();
    }
}
