//! Hand-written protobuf messages for the etcd values (pingcap/kvproto:proto/brpb.proto).
//!
//! Secrets are kept out *structurally*: the credential fields (S3 access/secret key and
//! session token, GCS credentials blob, Azure keys and SAS, CloudDynamic attrs, the
//! security config with its data key) are simply not declared, so prost skips them while
//! decoding and no decoded value, `Debug` print or renderer can ever hold them.

use prost::Message;

/// `backup.StreamBackupTaskInfo` (K1 value). Field 7 `security_config` is deliberately absent.
#[derive(Clone, PartialEq, Message)]
pub struct StreamBackupTaskInfo {
    #[prost(message, optional, tag = "1")]
    pub storage: Option<StorageBackend>,
    #[prost(uint64, tag = "2")]
    pub start_ts: u64,
    #[prost(uint64, tag = "3")]
    pub end_ts: u64,
    #[prost(string, tag = "4")]
    pub name: String,
    #[prost(string, repeated, tag = "5")]
    pub table_filter: Vec<String>,
    #[prost(int32, tag = "6")]
    pub compression_type: i32,
}

/// `backup.StreamBackupError` (K9 value and the PauseV2 protobuf payload).
#[derive(Clone, PartialEq, Eq, Message)]
pub struct StreamBackupError {
    /// Unix epoch milliseconds (not a TSO).
    #[prost(uint64, tag = "1")]
    pub happen_at: u64,
    #[prost(string, tag = "2")]
    pub error_code: String,
    #[prost(string, tag = "3")]
    pub error_message: String,
    #[prost(uint64, tag = "4")]
    pub store_id: u64,
}

/// `backup.StorageBackend`: only what BR's `FormatBackendURL` needs.
#[derive(Clone, PartialEq, Message)]
pub struct StorageBackend {
    #[prost(oneof = "Backend", tags = "1, 2, 3, 4, 5, 6, 7")]
    pub backend: Option<Backend>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Backend {
    #[prost(message, tag = "1")]
    Noop(Empty),
    #[prost(message, tag = "2")]
    Local(Local),
    #[prost(message, tag = "3")]
    S3(S3),
    #[prost(message, tag = "4")]
    Gcs(Gcs),
    #[prost(message, tag = "5")]
    CloudDynamic(Empty),
    #[prost(message, tag = "6")]
    Hdfs(Empty),
    #[prost(message, tag = "7")]
    AzureBlobStorage(Azure),
}

/// A message whose fields we never need (its secrets included).
#[derive(Clone, PartialEq, Message)]
pub struct Empty {}

#[derive(Clone, PartialEq, Message)]
pub struct Local {
    #[prost(string, tag = "1")]
    pub path: String,
}

/// `S3`: where the bucket is (access_key 8, secret_access_key 9, session_token 15 are
/// not declared). `profile` 17 names a profile of the AWS config: only whether it is set
/// is used, and `Debug` never shows it.
#[derive(Clone, PartialEq, Message)]
#[prost(skip_debug)]
pub struct S3 {
    #[prost(string, tag = "1")]
    pub endpoint: String,
    #[prost(string, tag = "2")]
    pub region: String,
    #[prost(string, tag = "3")]
    pub bucket: String,
    #[prost(string, tag = "4")]
    pub prefix: String,
    #[prost(bool, tag = "10")]
    pub force_path_style: bool,
    #[prost(string, tag = "17")]
    pub profile: String,
}

/// `GCS` (credentials_blob 6 not declared).
#[derive(Clone, PartialEq, Message)]
pub struct Gcs {
    #[prost(string, tag = "1")]
    pub endpoint: String,
    #[prost(string, tag = "2")]
    pub bucket: String,
    #[prost(string, tag = "3")]
    pub prefix: String,
}

/// `AzureBlobStorage` (shared_key 6, access_sig 8, encryption_key 10 not declared).
#[derive(Clone, PartialEq, Message)]
pub struct Azure {
    #[prost(string, tag = "5")]
    pub account_name: String,
    #[prost(string, tag = "1")]
    pub endpoint: String,
    /// The container.
    #[prost(string, tag = "2")]
    pub bucket: String,
    #[prost(string, tag = "3")]
    pub prefix: String,
}

/// The credentials a task info may carry, decoded only on request
/// (`storage_credentials = "task"`) and only into [`crate::secret::Secret`]s.
#[derive(Clone, PartialEq, Message)]
#[prost(skip_debug)]
pub struct TaskSecrets {
    #[prost(message, optional, tag = "1")]
    pub storage: Option<SecretBackend>,
}

#[derive(Clone, PartialEq, Message)]
#[prost(skip_debug)]
pub struct SecretBackend {
    #[prost(oneof = "SecretKind", tags = "3, 4, 7")]
    pub backend: Option<SecretKind>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
#[prost(skip_debug)]
pub enum SecretKind {
    #[prost(message, tag = "3")]
    S3(S3Secrets),
    #[prost(message, tag = "4")]
    Gcs(GcsSecrets),
    #[prost(message, tag = "7")]
    Azure(AzureSecrets),
}

#[derive(Clone, PartialEq, Message)]
#[prost(skip_debug)]
pub struct S3Secrets {
    #[prost(string, tag = "8")]
    pub access_key: String,
    #[prost(string, tag = "9")]
    pub secret_access_key: String,
    #[prost(string, tag = "15")]
    pub session_token: String,
}

#[derive(Clone, PartialEq, Message)]
#[prost(skip_debug)]
pub struct GcsSecrets {
    #[prost(string, tag = "6")]
    pub credentials_blob: String,
}

#[derive(Clone, PartialEq, Message)]
#[prost(skip_debug)]
pub struct AzureSecrets {
    #[prost(string, tag = "6")]
    pub shared_key: String,
    #[prost(string, tag = "8")]
    pub access_sig: String,
}

/// Never shows a credential, whatever a `Debug` print of a task's secrets reaches.
macro_rules! redacted_debug {
    ($($name:ident),*) => {$(
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }
    )*};
}
redacted_debug!(
    TaskSecrets,
    SecretBackend,
    SecretKind,
    S3Secrets,
    GcsSecrets,
    AzureSecrets
);

impl std::fmt::Debug for S3 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("force_path_style", &self.force_path_style)
            .field(
                "profile",
                &(!self.profile.is_empty()).then_some("<redacted>"),
            )
            .finish()
    }
}

/// `backup.BackupMeta`: the fields a restorable-window check needs, and the size.
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
    /// "record the size of the backup data files and meta files" (kvproto's comment);
    /// 0 when the BR that wrote it predates the field.
    #[prost(uint64, tag = "25")]
    pub backup_size: u64,
}

/// `backup.Migration` (`v1/migrations/BASE`): only `truncated_to`.
#[derive(Clone, PartialEq, Message)]
pub struct Migration {
    #[prost(uint64, tag = "2")]
    pub truncated_to: u64,
}

/// `backup.Migration` again, only its `compactions` (3): decoded apart from
/// [`Migration`], so that a compaction that does not decode costs `--verify` its
/// compactions, never the migration's `truncated_to`.
#[derive(Clone, PartialEq, Message)]
pub struct MigrationCompactions {
    #[prost(message, repeated, tag = "3")]
    pub compactions: Vec<LogFileCompaction>,
}

/// `backup.LogFileCompaction`: one `tikv-ctl compact-log-backup` run: `name` 3,
/// `artifacts` 5 (the prefix of its `.cmeta` files), `input_min_ts` 8, `input_max_ts` 9.
#[derive(Clone, PartialEq, Message)]
pub struct LogFileCompaction {
    #[prost(string, tag = "3")]
    pub name: String,
    #[prost(string, tag = "5")]
    pub artifacts: String,
    #[prost(uint64, tag = "8")]
    pub input_min_ts: u64,
    #[prost(uint64, tag = "9")]
    pub input_max_ts: u64,
}

/// `backup.LogFileSubcompactionMeta` (`LogFileSubcompaction.meta`, 1): only
/// `input_min_ts` (5).
#[derive(Clone, PartialEq, Message)]
pub struct LogFileSubcompactionMeta {
    #[prost(uint64, tag = "5")]
    pub input_min_ts: u64,
}

/// `backup.File` (`LogFileSubcompaction.sst_outputs`, 2): one SST a subcompaction wrote,
/// `name` 1 (its key under the storage prefix), `size` 11.
#[derive(Clone, PartialEq, Message)]
pub struct File {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(uint64, tag = "11")]
    pub size: u64,
}

/// `backup.Metadata`: one `v1/backupmeta/*.meta` (kvproto brpb.proto): the data files it
/// references, for `--verify`. V1 metas list `files`, V2 metas `file_groups`.
#[derive(Clone, PartialEq, Message)]
pub struct Metadata {
    #[prost(message, repeated, tag = "1")]
    pub files: Vec<DataFileInfo>,
    #[prost(int64, tag = "2")]
    pub store_id: i64,
    #[prost(uint64, tag = "4")]
    pub max_ts: u64,
    #[prost(uint64, tag = "5")]
    pub min_ts: u64,
    #[prost(message, repeated, tag = "6")]
    pub file_groups: Vec<DataFileGroup>,
}

/// `backup.DataFileInfo` (V1: one object per file): path 2, min_ts 4, max_ts 5, length 14.
#[derive(Clone, PartialEq, Message)]
pub struct DataFileInfo {
    #[prost(string, tag = "2")]
    pub path: String,
    #[prost(uint64, tag = "4")]
    pub min_ts: u64,
    #[prost(uint64, tag = "5")]
    pub max_ts: u64,
    #[prost(uint64, tag = "14")]
    pub length: u64,
}

/// `backup.DataFileGroup` (V2: one merged object): path 1, min_ts 3, max_ts 4, length 6.
#[derive(Clone, PartialEq, Message)]
pub struct DataFileGroup {
    #[prost(string, tag = "1")]
    pub path: String,
    #[prost(uint64, tag = "3")]
    pub min_ts: u64,
    #[prost(uint64, tag = "4")]
    pub max_ts: u64,
    #[prost(uint64, tag = "6")]
    pub length: u64,
}

/// Reads one varint off the front of `bytes`; `None` when they end first or it runs past
/// 64 bits.
pub fn varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = bytes.split_first()?;
        *bytes = rest;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// The varint fields (tag, value) at the start of a protobuf message that may be cut
/// short: the walk stops at the first field it cannot read whole. Length-delimited
/// fields are skipped; fixed-width ones too.
pub fn leading_varints(mut bytes: &[u8]) -> Vec<(u32, u64)> {
    let mut out = Vec::new();
    while let Some(key) = varint(&mut bytes) {
        let tag = (key >> 3) as u32;
        let skip = match key & 7 {
            0 => match varint(&mut bytes) {
                Some(v) => {
                    out.push((tag, v));
                    continue;
                }
                None => break,
            },
            1 => 8,
            2 => match varint(&mut bytes) {
                Some(len) => len,
                None => break,
            },
            5 => 4,
            _ => break,
        };
        match usize::try_from(skip).ok().filter(|s| *s <= bytes.len()) {
            Some(s) => bytes = &bytes[s..],
            None => break,
        }
    }
    out
}

/// Decodes a K1 value.
pub fn decode_task_info(bytes: &[u8]) -> Result<StreamBackupTaskInfo, String> {
    StreamBackupTaskInfo::decode(bytes)
        .map_err(|e| format!("bad StreamBackupTaskInfo protobuf: {e}"))
}

/// Decodes a K9 value or a PauseV2 protobuf payload.
pub fn decode_backup_error(bytes: &[u8]) -> Result<StreamBackupError, String> {
    StreamBackupError::decode(bytes).map_err(|e| format!("bad StreamBackupError protobuf: {e}"))
}

/// The storage URL exactly as BR renders it (`storage.FormatBackendURL(..).String()`,
/// pingcap/tidb:br/pkg/storage/parse.go): scheme, host and path only, never credentials.
pub fn storage_url(storage: Option<&StorageBackend>) -> String {
    let Some(backend) = storage.and_then(|s| s.backend.as_ref()) else {
        // BR would dereference nil here; show that the task has no storage.
        return "<none>".to_string();
    };
    match backend {
        Backend::Noop(_) => go_url("noop", "", "/"),
        Backend::Local(l) => go_url("local", "", &l.path),
        Backend::S3(s) => go_url("s3", &s.bucket, &s.prefix),
        Backend::Gcs(g) => go_url("gcs", &g.bucket, &g.prefix),
        Backend::AzureBlobStorage(a) => go_url("azure", &a.bucket, &a.prefix),
        Backend::CloudDynamic(_) | Backend::Hdfs(_) => String::new(),
    }
}

/// Go's `url.URL{Scheme, Host, Path}.String()`.
fn go_url(scheme: &str, host: &str, path: &str) -> String {
    let mut out = format!("{scheme}:");
    if !host.is_empty() || !path.is_empty() {
        out.push_str("//");
    }
    escape_into(&mut out, host, true);
    if !path.is_empty() && !path.starts_with('/') && !host.is_empty() {
        out.push('/');
    }
    escape_into(&mut out, path, false);
    out
}

/// Go's `url.escape` in host or path mode.
fn escape_into(out: &mut String, text: &str, host_mode: bool) {
    for &b in text.as_bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (host_mode
                && matches!(
                    b,
                    b'!' | b'$'
                        | b'&'
                        | b'\''
                        | b'('
                        | b')'
                        | b'*'
                        | b'+'
                        | b','
                        | b';'
                        | b'='
                        | b':'
                        | b'['
                        | b']'
                        | b'<'
                        | b'>'
                        | b'"'
                ))
            || (!host_mode
                && matches!(
                    b,
                    b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'@'
                ));
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_varints_read_what_a_cut_message_holds() {
        let meta = BackupMeta {
            cluster_id: 7,
            cluster_version: "v8".into(),
            start_version: 5,
            end_version: 6,
            is_raw_kv: false,
            br_version: "br".into(),
            backup_size: 0,
        };
        let bytes = meta.encode_to_vec();
        assert_eq!(leading_varints(&bytes), vec![(1, 7), (5, 5), (6, 6)]);
        // Cut inside the string field: only what came before it.
        assert_eq!(leading_varints(&bytes[..4]), vec![(1, 7)]);
        assert_eq!(leading_varints(&[]), vec![]);
    }

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    // The K1 value of task `pitr` in docs/etcd-layout.md#worked-example-baseline.
    const PITR_INFO: &str = "0a161a141a066261636b75702208706974722d6c6f6750011080808080fda8c2990618ffff8fbbbad6adf00d2204706974722a032a2e2a30033a00";

    #[test]
    fn decodes_the_reference_task_info_with_and_without_security_config() {
        let bytes = hex(PITR_INFO);
        for value in [&bytes[..], &bytes[..bytes.len() - 2]] {
            let info = decode_task_info(value).unwrap();
            assert_eq!(info.name, "pitr");
            assert_eq!(info.start_ts, 446_710_992_076_800_000);
            assert_eq!(info.end_ts, 999_999_999_999_999_999);
            assert_eq!(info.table_filter, vec!["*.*"]);
            assert_eq!(info.compression_type, 3);
            assert_eq!(storage_url(info.storage.as_ref()), "s3://backup/pitr-log");
        }
    }

    #[test]
    fn decodes_the_reference_store_error() {
        let bytes = hex("08e8cfa294cc31120f4b563a4c6f674261636b75703a496f1a285b73746f7265203d20345d20492f4f206572726f723a207065726d697373696f6e2064656e6965642004");
        let err = decode_backup_error(&bytes).unwrap();
        assert_eq!(err.happen_at, 1_704_070_785_000);
        assert_eq!(err.error_code, "KV:LogBackup:Io");
        assert_eq!(
            err.error_message,
            "[store = 4] I/O error: permission denied"
        );
        assert_eq!(err.store_id, 4);
    }

    #[test]
    fn truncated_protobuf_is_an_error_not_a_panic() {
        let bytes = hex(PITR_INFO);
        assert!(decode_task_info(&bytes[..10]).is_err());
        assert!(decode_backup_error(&[0x12, 0x40, 0x41]).is_err());
    }

    fn backend(b: Backend) -> StorageBackend {
        StorageBackend { backend: Some(b) }
    }

    #[test]
    fn storage_urls_follow_go_url_rules() {
        let bp = |bucket: &str, prefix: &str| S3 {
            bucket: bucket.into(),
            prefix: prefix.into(),
            ..S3::default()
        };
        let gp = |bucket: &str, prefix: &str| Gcs {
            bucket: bucket.into(),
            prefix: prefix.into(),
            ..Gcs::default()
        };
        let ap = |bucket: &str, prefix: &str| Azure {
            bucket: bucket.into(),
            prefix: prefix.into(),
            ..Azure::default()
        };
        let local = |path: &str| backend(Backend::Local(Local { path: path.into() }));
        let cases = [
            (local("/data/log"), "local:///data/log"),
            (local("rel/path"), "local://rel/path"),
            (backend(Backend::Noop(Empty {})), "noop:///"),
            (backend(Backend::S3(bp("backup", ""))), "s3://backup"),
            (
                backend(Backend::S3(bp("b", "a b?%/é"))),
                "s3://b/a%20b%3F%25/%C3%A9",
            ),
            (
                backend(Backend::S3(bp("b", "x@y=z;$&+,:"))),
                "s3://b/x@y=z;$&+,:",
            ),
            (backend(Backend::Gcs(gp("bkt", "p"))), "gcs://bkt/p"),
            (
                backend(Backend::AzureBlobStorage(ap("container", "p"))),
                "azure://container/p",
            ),
            (backend(Backend::Hdfs(Empty {})), ""),
            (backend(Backend::CloudDynamic(Empty {})), ""),
        ];
        for (storage, want) in cases {
            assert_eq!(storage_url(Some(&storage)), want);
        }
        assert_eq!(storage_url(None), "<none>");
        assert_eq!(
            storage_url(Some(&StorageBackend { backend: None })),
            "<none>"
        );
    }

    #[test]
    fn credential_fields_are_dropped_while_decoding() {
        // S3 { bucket "b" (3), access_key "AKIA-SECRET" (8), secret_access_key "s3cr3t" (9), session_token "tok" (15) }
        let mut s3 = vec![0x1a, 1, b'b'];
        for (tag, value) in [(8u8, "AKIA-SECRET"), (9, "s3cr3t"), (15, "tok")] {
            s3.push(tag << 3 | 2);
            s3.push(value.len() as u8);
            s3.extend_from_slice(value.as_bytes());
        }
        let mut storage = vec![0x1a, s3.len() as u8];
        storage.extend_from_slice(&s3);
        let mut info = vec![0x0a, storage.len() as u8];
        info.extend_from_slice(&storage);
        let decoded = decode_task_info(&info).unwrap();
        let debug = format!("{decoded:?}");
        for secret in ["AKIA-SECRET", "s3cr3t", "tok"] {
            assert!(!debug.contains(secret), "{debug}");
        }
        assert_eq!(storage_url(decoded.storage.as_ref()), "s3://b");
    }

    #[test]
    fn task_secrets_decode_but_never_print() {
        // K1 with an S3 backend holding access_key 8, secret 9 and session token 15.
        let s3 = S3Secrets {
            access_key: "AKIDSECRET1".into(),
            secret_access_key: "SECRET2".into(),
            session_token: "TOKEN3".into(),
        };
        let info = TaskSecrets {
            storage: Some(SecretBackend {
                backend: Some(SecretKind::S3(s3)),
            }),
        };
        let bytes = info.encode_to_vec();
        let decoded = TaskSecrets::decode(bytes.as_slice()).unwrap();
        let Some(SecretBackend {
            backend: Some(SecretKind::S3(back)),
        }) = &decoded.storage
        else {
            panic!("no S3 secrets decoded");
        };
        assert_eq!(back.secret_access_key, "SECRET2");
        let shown = format!("{decoded:?} {back:?} {:?}", decoded.storage);
        for secret in ["AKIDSECRET1", "SECRET2", "TOKEN3"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
