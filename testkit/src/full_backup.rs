//! Generators of snapshot (full) backup prefixes, the restore base of PITR (BR's
//! `br backup full`, `pingcap/tidb:br/pkg/metautil/metafile.go` for `backupmeta` and
//! its encryption, `pingcap/tidb:br/pkg/checkpoint/backup.go` for the checkpoints):
//!
//! | key | when | content |
//! |---|---|---|
//! | `backup.lock` | at backup start | text (not read by the check) |
//! | `checkpoints/backup/checkpoint.meta` | while a backup with checkpoints runs | JSON (placeholder here) |
//! | `backupmeta` | once, at the end of a successful backup | [`BackupMeta`], `end_version` = backup ts, `backup_size` when [`FullBackup::size`] set it; with `--crypter.*`, 16-byte IV + AES-CTR ciphertext |

use crate::brpb::BackupMeta;
use crate::layout::{BR_VERSION, CLUSTER_ID, CLUSTER_VERSION, LOCK_TEXT};
use crate::store::Objects;
use prost::Message;

/// A snapshot backup prefix under construction; [`FullBackup::objects`] lists it.
#[derive(Clone, Debug)]
pub struct FullBackup {
    meta: BackupMeta,
    encrypted: bool,
    in_progress: bool,
}

impl FullBackup {
    /// A finished full backup at `backup_ts`: `end_version` = `backup_ts`,
    /// `start_version` 0, [`CLUSTER_ID`], transactional (not raw) KV.
    pub fn new(backup_ts: u64) -> FullBackup {
        FullBackup {
            meta: BackupMeta {
                cluster_id: CLUSTER_ID,
                cluster_version: CLUSTER_VERSION.into(),
                start_version: 0,
                end_version: backup_ts,
                br_version: BR_VERSION.into(),
                ..Default::default()
            },
            encrypted: false,
            in_progress: false,
        }
    }

    pub fn cluster_id(mut self, cluster_id: u64) -> FullBackup {
        self.meta.cluster_id = cluster_id;
        self
    }

    /// A raw-KV backup (`is_raw_kv`): not a base for PITR.
    pub fn raw_kv(mut self) -> FullBackup {
        self.meta.is_raw_kv = true;
        self
    }

    /// A txn-KV backup (`is_txn_kv`).
    pub fn txn_kv(mut self) -> FullBackup {
        self.meta.is_txn_kv = true;
        self
    }

    /// An incremental backup since `last_backup_ts` (`start_version` ≠ 0).
    pub fn incremental(mut self, last_backup_ts: u64) -> FullBackup {
        self.meta.start_version = last_backup_ts;
        self
    }

    /// `backup_size`: the bytes of its data and meta files, as BR records them (none by
    /// default, as a BR before the field).
    pub fn size(mut self, bytes: u64) -> FullBackup {
        self.meta.backup_size = bytes;
        self
    }

    /// `backupmeta` encrypted (`--crypter.method`): 16 random-looking IV bytes and
    /// ciphertext-like bytes, guaranteed not to decode as a [`BackupMeta`].
    pub fn encrypted(mut self) -> FullBackup {
        self.encrypted = true;
        self
    }

    /// Still running (or failed): `backup.lock` and the checkpoint meta, no `backupmeta`.
    pub fn in_progress(mut self) -> FullBackup {
        self.in_progress = true;
        self
    }

    /// The `BackupMeta` the backup describes (also when encrypted or in progress).
    pub fn meta(&self) -> &BackupMeta {
        &self.meta
    }

    /// The root `backupmeta` bytes as written (plain or "encrypted").
    pub fn backupmeta_bytes(&self) -> Vec<u8> {
        let plain = self.meta.encode_to_vec();
        if !self.encrypted {
            return plain;
        }
        // Not real AES: only the shape (IV + same-length ciphertext) matters to a
        // reader without the key, and that it does not parse. Regenerate the
        // pseudo-random bytes until they do not (almost always the first try).
        let mut seed = self.meta.end_version ^ 0xA5A5_5A5A_DEAD_BEEF;
        loop {
            let mut next = || {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed >> 24) as u8
            };
            let bytes: Vec<u8> = (0..16 + plain.len().max(16)).map(|_| next()).collect();
            if BackupMeta::decode(&bytes[..]).is_err() {
                return bytes;
            }
        }
    }

    /// Every object, keys relative to the backup's prefix, sorted.
    pub fn objects(&self) -> Objects {
        let mut out: Objects = vec![("backup.lock".into(), LOCK_TEXT.as_bytes().to_vec())];
        if self.in_progress {
            let checkpoint = format!(
                "{{\"backup-ts\":{},\"gc-service-id\":\"testkit\"}}",
                self.meta.end_version
            );
            out.push((
                "checkpoints/backup/checkpoint.meta".into(),
                checkpoint.into_bytes(),
            ));
        } else {
            out.push(("backupmeta".into(), self.backupmeta_bytes()));
        }
        out.sort();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_backups() {
        let done = FullBackup::new(42).objects();
        let keys: Vec<_> = done.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["backup.lock", "backupmeta"]);
        let meta = BackupMeta::decode(&done[1].1[..]).unwrap();
        assert_eq!((meta.start_version, meta.end_version), (0, 42));
        assert!(!meta.is_raw_kv);

        let raw = FullBackup::new(42).raw_kv().incremental(7).cluster_id(3);
        let meta = BackupMeta::decode(&raw.backupmeta_bytes()[..]).unwrap();
        assert!(meta.is_raw_kv);
        assert_eq!((meta.start_version, meta.cluster_id), (7, 3));
        assert_eq!(meta.backup_size, 0);
        let sized = FullBackup::new(42).size(1 << 40).backupmeta_bytes();
        assert_eq!(BackupMeta::decode(&sized[..]).unwrap().backup_size, 1 << 40);

        for ts in 0..200 {
            let bytes = FullBackup::new(ts).encrypted().backupmeta_bytes();
            assert!(bytes.len() >= 32);
            assert!(BackupMeta::decode(&bytes[..]).is_err());
        }

        let running = FullBackup::new(42).in_progress().objects();
        let keys: Vec<_> = running.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["backup.lock", "checkpoints/backup/checkpoint.meta"]);
    }
}
