//! Writing generated storage contents ([`crate::layout`], [`crate::full_backup`]) to
//! where a test's `--storage` points: a local directory (`local://`), or one of the
//! storage test servers, so one test can run against every backend.

use crate::azurite::Azurite;
use crate::gcs::GcsServer;
use crate::s3::S3Server;
use crate::store::join_key;
use object_store::local::LocalFileSystem;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Where objects go: a directory, or a bucket/container of a test server.
#[derive(Clone, Copy)]
pub enum Sink<'a> {
    Dir(&'a Path),
    S3(&'a S3Server, &'a str),
    Azure(&'a Azurite, &'a str),
    Gcs(&'a GcsServer, &'a str),
}

impl Sink<'_> {
    /// Writes `objects` under `prefix` (`""` for the root).
    pub fn write(&self, prefix: &str, objects: &[(String, Vec<u8>)]) {
        match self {
            Sink::Dir(dir) => write_dir(dir, prefix, objects),
            Sink::S3(server, bucket) => server.put_all(bucket, prefix, objects),
            Sink::Azure(server, container) => server.put_all(container, prefix, objects),
            Sink::Gcs(server, bucket) => server.put_all(bucket, prefix, objects),
        }
    }
}

/// Writes each object as a file `dir/prefix/key`, creating directories.
pub fn write_dir(dir: &Path, prefix: &str, objects: &[(String, Vec<u8>)]) {
    for (key, bytes) in objects {
        let path = dir.join(join_key(prefix, key));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

/// Sets the modification time of `dir/prefix/key` (what `local://` reports as
/// LastModified).
pub fn set_modified(dir: &Path, prefix: &str, key: &str, time: SystemTime) {
    let path = dir.join(join_key(prefix, key));
    std::fs::File::options()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_modified(time))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// object_store's client of a local directory (the `local://` backend).
pub fn local_client(dir: &Path) -> LocalFileSystem {
    LocalFileSystem::new_with_prefix(dir)
        .unwrap_or_else(|e| panic!("local store {}: {e}", dir.display()))
}

/// A temporary directory, removed on drop.
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    /// Writes `config.toml` here reading every task's storage, with `table` as task
    /// `pitr`'s `[tasks.pitr.storage]` body; returns its path.
    pub fn storage_config(&self, table: &str) -> String {
        let path = self.path.join("config.toml");
        std::fs::write(
            &path,
            format!("storage = true\n[tasks.pitr.storage]\n{table}\n"),
        )
        .expect("write the config file");
        path.display().to_string()
    }

    /// `$TMPDIR/ctlb-<tag>-<pid>-<n>`, new and empty.
    pub fn new(tag: &str) -> TempDir {
        static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("ctlb-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir { path }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
