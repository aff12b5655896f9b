//! The protobuf messages of backup storage that the layout generators write: hand-written
//! prost structs with only the fields a read-only check looks at, and kvproto's field
//! numbers (`pingcap/kvproto:proto/brpb.proto`, checked at b6cdca19). Fields left out
//! are simply never written; a reader built from the full `.proto` decodes these bytes.

use prost::Message;

/// `backup.BackupMeta`: the root `backupmeta` of a log-backup storage (start_version =
/// the task's start ts, end_version 0) and of a snapshot backup (end_version = the
/// backup ts, start_version 0 for a full backup, the last backup's ts for an
/// incremental one).
#[derive(Clone, PartialEq, Message)]
pub struct BackupMeta {
    #[prost(uint64, tag = "1")]
    pub cluster_id: u64,
    #[prost(string, tag = "2")]
    pub cluster_version: String,
    #[prost(uint64, tag = "5")]
    pub start_version: u64,
    #[prost(uint64, tag = "6")]
    pub end_version: u64,
    #[prost(bool, tag = "8")]
    pub is_raw_kv: bool,
    #[prost(string, tag = "11")]
    pub br_version: String,
    #[prost(bool, tag = "21")]
    pub is_txn_kv: bool,
    /// The bytes of the backup's data and meta files (0: not written, as BRs before
    /// the field).
    #[prost(uint64, tag = "25")]
    pub backup_size: u64,
}

/// `backup.MetaVersion`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum MetaVersion {
    V1 = 0,
    /// Merged data files (`file_groups`), TiKV v6.3 onward.
    V2 = 1,
}

/// `backup.Metadata`: one `v1/backupmeta/*.meta` object, written by a TiKV per flush.
#[derive(Clone, PartialEq, Message)]
pub struct Metadata {
    #[prost(int64, tag = "2")]
    pub store_id: i64,
    /// The minimum resolved ts of this flush.
    #[prost(uint64, tag = "3")]
    pub resolved_ts: u64,
    #[prost(uint64, tag = "4")]
    pub max_ts: u64,
    #[prost(uint64, tag = "5")]
    pub min_ts: u64,
    #[prost(message, repeated, tag = "6")]
    pub file_groups: Vec<DataFileGroup>,
    #[prost(enumeration = "MetaVersion", tag = "7")]
    pub meta_version: i32,
}

/// `backup.DataFileGroup`: one merged `.log` object of a flush (its ranges,
/// `data_files_info` = 2, are left out).
#[derive(Clone, PartialEq, Message)]
pub struct DataFileGroup {
    #[prost(string, tag = "1")]
    pub path: String,
    #[prost(uint64, tag = "3")]
    pub min_ts: u64,
    #[prost(uint64, tag = "4")]
    pub max_ts: u64,
    #[prost(uint64, tag = "5")]
    pub min_resolved_ts: u64,
    /// Bytes uploaded (after compression).
    #[prost(uint64, tag = "6")]
    pub length: u64,
}

/// `backup.MigrationVersion`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum MigrationVersion {
    M0 = 0,
    M1 = 1,
    M2 = 2,
}

/// `backup.Migration`: `v1/migrations/BASE` and the layers
/// `v1/migrations/{seq:08}_{hash:016X}.mgrt` (`edit_meta` 1, `destruct_prefix` 4 and
/// `ingested_sst_paths` 7 left out).
#[derive(Clone, PartialEq, Message)]
pub struct Migration {
    /// Log data before this ts has been (or is being) deleted.
    #[prost(uint64, tag = "2")]
    pub truncated_to: u64,
    /// Compactions (`tikv-ctl compact-log-backup`) this migration adds.
    #[prost(message, repeated, tag = "3")]
    pub compactions: Vec<LogFileCompaction>,
    #[prost(string, tag = "5")]
    pub creator: String,
    #[prost(enumeration = "MigrationVersion", tag = "6")]
    pub version: i32,
}

/// `backup.LogFileCompaction`: one compaction a migration adds (`comments` 4 and the size
/// totals 10, 11 left out).
#[derive(Clone, PartialEq, Message)]
pub struct LogFileCompaction {
    #[prost(uint64, tag = "1")]
    pub compaction_from_ts: u64,
    #[prost(uint64, tag = "2")]
    pub compaction_until_ts: u64,
    #[prost(string, tag = "3")]
    pub name: String,
    /// Where its subcompaction metas are (`v1/compactions/<name>_<crc64>/metas`).
    #[prost(string, tag = "5")]
    pub artifacts: String,
    #[prost(uint64, tag = "6")]
    pub artifacts_hash: u64,
    /// Where its SSTs are (`v1/compactions/<name>_<crc64>/outputs`): a hint for garbage
    /// collection.
    #[prost(string, tag = "7")]
    pub generated_files: String,
    #[prost(uint64, tag = "8")]
    pub input_min_ts: u64,
    #[prost(uint64, tag = "9")]
    pub input_max_ts: u64,
}

/// `backup.LogFileSubcompactions`: one `.cmeta` object under a compaction's `artifacts`.
#[derive(Clone, PartialEq, Message)]
pub struct LogFileSubcompactions {
    #[prost(message, repeated, tag = "1")]
    pub subcompactions: Vec<LogFileSubcompaction>,
}

/// `backup.LogFileSubcompaction`: the SSTs one subcompaction wrote (`region_meta_hints`
/// 3 left out).
#[derive(Clone, PartialEq, Message)]
pub struct LogFileSubcompaction {
    #[prost(message, optional, tag = "1")]
    pub meta: Option<LogFileSubcompactionMeta>,
    #[prost(message, repeated, tag = "2")]
    pub sst_outputs: Vec<File>,
}

/// `backup.LogFileSubcompactionMeta` (the key range 8, 9, `ty` 10, `table_id` 11 and the
/// sources 12 left out).
#[derive(Clone, PartialEq, Message)]
pub struct LogFileSubcompactionMeta {
    #[prost(uint64, tag = "1")]
    pub size: u64,
    #[prost(uint64, tag = "2")]
    pub region_id: u64,
    #[prost(string, tag = "3")]
    pub cf: String,
    #[prost(uint64, tag = "4")]
    pub input_max_ts: u64,
    #[prost(uint64, tag = "5")]
    pub input_min_ts: u64,
    #[prost(uint64, tag = "6")]
    pub compact_from_ts: u64,
    #[prost(uint64, tag = "7")]
    pub compact_until_ts: u64,
}

/// `backup.File`: an SST (keys 3, 4, versions 5, 6, `crc64xor` 7, `total_bytes` 9,
/// `table_metas` 13 and `cipher_iv` 12 left out).
#[derive(Clone, PartialEq, Message)]
pub struct File {
    /// Its key under the storage prefix.
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(bytes = "vec", tag = "2")]
    pub sha256: Vec<u8>,
    #[prost(uint64, tag = "8")]
    pub total_kvs: u64,
    #[prost(string, tag = "10")]
    pub cf: String,
    #[prost(uint64, tag = "11")]
    pub size: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::{field_bytes, field_varint};

    /// The field numbers, checked against bytes built by hand.
    #[test]
    fn field_numbers() {
        let meta = BackupMeta {
            cluster_id: 1,
            cluster_version: "v".into(),
            start_version: 5,
            end_version: 6,
            is_raw_kv: true,
            br_version: "b".into(),
            is_txn_kv: true,
            backup_size: 300,
        };
        let mut want = Vec::new();
        field_varint(1, 1, &mut want);
        field_bytes(2, b"v", &mut want);
        field_varint(5, 5, &mut want);
        field_varint(6, 6, &mut want);
        field_varint(8, 1, &mut want);
        field_bytes(11, b"b", &mut want);
        field_varint(21, 1, &mut want);
        field_varint(25, 300, &mut want);
        assert_eq!(meta.encode_to_vec(), want);

        let group = DataFileGroup {
            path: "p".into(),
            min_ts: 3,
            max_ts: 4,
            min_resolved_ts: 5,
            length: 6,
        };
        let mut g = Vec::new();
        field_bytes(1, b"p", &mut g);
        for (tag, v) in [(3, 3), (4, 4), (5, 5), (6, 6)] {
            field_varint(tag, v, &mut g);
        }
        assert_eq!(group.encode_to_vec(), g);
        let meta = Metadata {
            store_id: 2,
            resolved_ts: 3,
            max_ts: 4,
            min_ts: 5,
            file_groups: vec![group],
            meta_version: MetaVersion::V2 as i32,
        };
        let mut want = Vec::new();
        for (tag, v) in [(2, 2), (3, 3), (4, 4), (5, 5)] {
            field_varint(tag, v, &mut want);
        }
        field_bytes(6, &g, &mut want);
        field_varint(7, 1, &mut want);
        assert_eq!(meta.encode_to_vec(), want);

        let compaction = LogFileCompaction {
            compaction_from_ts: 1,
            compaction_until_ts: 2,
            name: "n".into(),
            artifacts: "a".into(),
            artifacts_hash: 6,
            generated_files: "g".into(),
            input_min_ts: 8,
            input_max_ts: 9,
        };
        let mut c = Vec::new();
        field_varint(1, 1, &mut c);
        field_varint(2, 2, &mut c);
        field_bytes(3, b"n", &mut c);
        field_bytes(5, b"a", &mut c);
        field_varint(6, 6, &mut c);
        field_bytes(7, b"g", &mut c);
        for (tag, v) in [(8, 8), (9, 9)] {
            field_varint(tag, v, &mut c);
        }
        assert_eq!(compaction.encode_to_vec(), c);
        let migration = Migration {
            truncated_to: 2,
            compactions: vec![compaction],
            creator: "c".into(),
            version: MigrationVersion::M2 as i32,
        };
        let mut want = Vec::new();
        field_varint(2, 2, &mut want);
        field_bytes(3, &c, &mut want);
        field_bytes(5, b"c", &mut want);
        field_varint(6, 2, &mut want);
        assert_eq!(migration.encode_to_vec(), want);

        let file = File {
            name: "s".into(),
            sha256: vec![7],
            total_kvs: 8,
            cf: "write".into(),
            size: 11,
        };
        let mut f = Vec::new();
        field_bytes(1, b"s", &mut f);
        field_bytes(2, &[7], &mut f);
        field_varint(8, 8, &mut f);
        field_bytes(10, b"write", &mut f);
        field_varint(11, 11, &mut f);
        assert_eq!(file.encode_to_vec(), f);
        let meta = LogFileSubcompactionMeta {
            size: 1,
            region_id: 2,
            cf: "c".into(),
            input_max_ts: 4,
            input_min_ts: 5,
            compact_from_ts: 6,
            compact_until_ts: 7,
        };
        let mut m = Vec::new();
        field_varint(1, 1, &mut m);
        field_varint(2, 2, &mut m);
        field_bytes(3, b"c", &mut m);
        for (tag, v) in [(4, 4), (5, 5), (6, 6), (7, 7)] {
            field_varint(tag, v, &mut m);
        }
        assert_eq!(meta.encode_to_vec(), m);
        let batch = LogFileSubcompactions {
            subcompactions: vec![LogFileSubcompaction {
                meta: Some(meta),
                sst_outputs: vec![file],
            }],
        };
        let mut sub = Vec::new();
        field_bytes(1, &m, &mut sub);
        field_bytes(2, &f, &mut sub);
        let mut want = Vec::new();
        field_bytes(1, &sub, &mut want);
        assert_eq!(batch.encode_to_vec(), want);
    }
}
