//! Structured inputs for `snapshot_to_render`: `arbitrary` builds a key space biased
//! towards the real `/tidb/br-stream/` layout (real prefixes, a few shared task names,
//! TSOs near "now", valid protobuf and PauseV2 JSON most of the time, raw bytes some of
//! the time), optional PD and TiKV answers, and how to judge and render. It becomes a
//! [`Case`], whose raw encoding is what regression files hold.

use arbitrary::{Arbitrary, Result, Unstructured};
use check_tidb_log_backup::{keys, proto, snapshot::Kv, tso};
use prost::Message;
use testkit::oracles::pause_v2::base64_encode;
use testkit::oracles::snapshot_to_render::{Case, TikvCase, TikvStore, DEFAULT_NOW_MS};

/// Task names that collide on purpose: prefixes of each other, ones that sort
/// differently from their keys, ones that are not label-safe or not printable.
const TASKS: &[&str] = &[
    "pitr",
    "pitr2",
    "a",
    "a-b",
    "a.b",
    "PITR",
    "t|x",
    "bad\nname\u{7}",
    "é🦀",
    "",
    "missing-task",
    "a_very_long_task_name_that_is_longer_than_forty_bytes_for_labels",
];

#[derive(Arbitrary, Debug)]
pub enum TaskName {
    Known(u8),
    Bytes(Vec<u8>),
}

impl TaskName {
    fn bytes(&self) -> Vec<u8> {
        match self {
            TaskName::Known(i) => TASKS[usize::from(*i) % TASKS.len()].as_bytes().to_vec(),
            TaskName::Bytes(b) => b.clone(),
        }
    }
}

#[derive(Arbitrary, Debug)]
pub enum StoreId {
    Small(u8),
    Any(u64),
    Text(Vec<u8>),
}

impl StoreId {
    fn text(&self) -> Vec<u8> {
        match self {
            StoreId::Small(n) => n.to_string().into_bytes(),
            StoreId::Any(n) => n.to_string().into_bytes(),
            StoreId::Text(b) => b.clone(),
        }
    }
}

#[derive(Arbitrary, Debug)]
pub enum CheckpointRest {
    Global,
    Store(StoreId),
    Region(StoreId, StoreId),
    Legacy(u64),
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
pub enum Key {
    Info(TaskName),
    Pause(TaskName),
    Checkpoint(TaskName, CheckpointRest),
    StorageCheckpoint(TaskName, StoreId),
    LastError(TaskName, StoreId),
    Owner(Vec<u8>),
    Ranges(TaskName, Vec<u8>),
    ClusterId,
    /// Anything else under `/tidb/br-stream/` (kind names that are almost right).
    UnderPrefix(Vec<u8>),
    Raw(Vec<u8>),
}

fn join(prefix: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut key = prefix.to_vec();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            key.push(b'/');
        }
        key.extend_from_slice(part);
    }
    key
}

impl Key {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Key::Info(t) => join(keys::INFO, &[&t.bytes()]),
            Key::Pause(t) => join(keys::PAUSE, &[&t.bytes()]),
            Key::Checkpoint(t, rest) => {
                let rest = match rest {
                    CheckpointRest::Global => b"central_global".to_vec(),
                    CheckpointRest::Store(id) => join(b"store/", &[&id.text()]),
                    CheckpointRest::Region(id, ver) => join(b"region/", &[&id.text(), &ver.text()]),
                    CheckpointRest::Legacy(id) => id.to_be_bytes().to_vec(),
                    CheckpointRest::Raw(b) => b.clone(),
                };
                join(keys::CHECKPOINT, &[&t.bytes(), &rest])
            }
            Key::StorageCheckpoint(t, id) => {
                join(keys::STORAGE_CHECKPOINT, &[&t.bytes(), &id.text()])
            }
            Key::LastError(t, id) => join(keys::LAST_ERROR, &[&t.bytes(), &id.text()]),
            Key::Owner(b) => join(keys::OWNER, &[b]),
            Key::Ranges(t, b) => join(b"/tidb/br-stream/ranges/", &[&t.bytes(), b]),
            Key::ClusterId => keys::CLUSTER_ID.to_vec(),
            Key::UnderPrefix(b) => join(b"/tidb/br-stream/", &[b]),
            Key::Raw(b) => b.clone(),
        }
    }
}

/// A time in ms, mostly near "now".
#[derive(Arbitrary, Debug)]
pub enum Time {
    Now,
    SecondsAgo(u16),
    HoursAgo(u16),
    SecondsAhead(u16),
    Abs(u64),
}

impl Time {
    fn ms(&self, now_ms: u64) -> u64 {
        match self {
            Time::Now => now_ms,
            Time::SecondsAgo(s) => now_ms.saturating_sub(u64::from(*s) * 1000),
            Time::HoursAgo(h) => now_ms.saturating_sub(u64::from(*h) * 3_600_000),
            Time::SecondsAhead(s) => now_ms + u64::from(*s) * 1000,
            Time::Abs(ms) => *ms,
        }
    }
}

#[derive(Arbitrary, Debug)]
pub enum Tso {
    At(Time, u8),
    Raw(u64),
    Zero,
    Max,
}

impl Tso {
    fn value(&self, now_ms: u64) -> u64 {
        match self {
            Tso::At(t, logical) => {
                tso::from_physical_ms(t.ms(now_ms) % (1 << 46)) | u64::from(*logical)
            }
            Tso::Raw(v) => *v,
            Tso::Zero => 0,
            Tso::Max => u64::MAX,
        }
    }
}

#[derive(Arbitrary, Debug)]
pub enum Storage {
    Missing,
    Unset,
    Noop,
    Local(String),
    S3(String, String),
    Gcs(String, String),
    Azure(String, String),
    Hdfs,
    CloudDynamic,
}

#[derive(Arbitrary, Debug)]
pub struct TaskInfo {
    storage: Storage,
    start: Tso,
    end: Option<Tso>,
    name: Option<TaskName>,
    filters: Vec<String>,
    compression: i32,
    /// Extra bytes after the message (unknown fields, the security config, garbage).
    trailing: Vec<u8>,
}

impl TaskInfo {
    fn encode(&self, now_ms: u64) -> Vec<u8> {
        use proto::{Azure, Backend, Empty, Gcs, Local, StorageBackend, S3};
        let gp = |b: &String, p: &String| Gcs {
            bucket: b.clone(),
            prefix: p.clone(),
            ..Gcs::default()
        };
        let backend = |b: Backend| Some(StorageBackend { backend: Some(b) });
        let storage = match &self.storage {
            Storage::Missing => None,
            Storage::Unset => Some(StorageBackend { backend: None }),
            Storage::Noop => backend(Backend::Noop(Empty {})),
            Storage::Local(p) => backend(Backend::Local(Local { path: p.clone() })),
            Storage::S3(b, p) => backend(Backend::S3(S3 {
                bucket: b.clone(),
                prefix: p.clone(),
                ..S3::default()
            })),
            Storage::Gcs(b, p) => backend(Backend::Gcs(gp(b, p))),
            Storage::Azure(b, p) => backend(Backend::AzureBlobStorage(Azure {
                bucket: b.clone(),
                prefix: p.clone(),
                ..Azure::default()
            })),
            Storage::Hdfs => backend(Backend::Hdfs(Empty {})),
            Storage::CloudDynamic => backend(Backend::CloudDynamic(Empty {})),
        };
        let info = proto::StreamBackupTaskInfo {
            storage,
            start_ts: self.start.value(now_ms),
            end_ts: self
                .end
                .as_ref()
                .map_or(999_999_999_999_999_999, |t| t.value(now_ms)),
            name: self
                .name
                .as_ref()
                .map(|n| String::from_utf8_lossy(&n.bytes()).into_owned())
                .unwrap_or_default(),
            table_filter: self.filters.clone(),
            compression_type: self.compression,
        };
        let mut out = info.encode_to_vec();
        out.extend_from_slice(&self.trailing);
        out
    }
}

#[derive(Arbitrary, Debug)]
pub enum ErrorCode {
    Io,
    Pd,
    Other(String),
}

#[derive(Arbitrary, Debug)]
pub struct BackupError {
    happen_at: Time,
    code: ErrorCode,
    message: String,
    store_id: u64,
}

impl BackupError {
    fn encode(&self, now_ms: u64) -> Vec<u8> {
        proto::StreamBackupError {
            happen_at: self.happen_at.ms(now_ms),
            error_code: match &self.code {
                ErrorCode::Io => "KV:LogBackup:Io".into(),
                ErrorCode::Pd => "KV:LogBackup:Pd".into(),
                ErrorCode::Other(s) => s.clone(),
            },
            error_message: self.message.clone(),
            store_id: self.store_id,
        }
        .encode_to_vec()
    }
}

#[derive(Arbitrary, Debug)]
pub enum Severity {
    Error,
    Manual,
    Missing,
    Other(String),
}

#[derive(Arbitrary, Debug)]
pub enum PausePayload {
    /// `"payload_type":"","payload":null` (Go, no `--message`).
    Null,
    Absent,
    Text(String),
    Error(BackupError, bool),
    /// The type and the (possibly not base64) payload text as given.
    Raw(String, Option<String>),
    /// A real type with raw payload bytes (base64-encoded).
    Bytes(u8, Vec<u8>),
}

#[derive(Arbitrary, Debug)]
pub struct PauseV2 {
    severity: Severity,
    hostname: Option<String>,
    pid: Option<i64>,
    time: Option<String>,
    payload: PausePayload,
}

impl PauseV2 {
    fn encode(&self, now_ms: u64) -> Vec<u8> {
        use serde_json::{json, Map, Value};
        let mut m = Map::new();
        match &self.severity {
            Severity::Error => drop(m.insert("severity".into(), json!("ERROR"))),
            Severity::Manual => drop(m.insert("severity".into(), json!("MANUAL"))),
            Severity::Missing => {}
            Severity::Other(s) => drop(m.insert("severity".into(), json!(s))),
        }
        if let Some(h) = &self.hostname {
            m.insert("operation_hostname".into(), json!(h));
        }
        if let Some(p) = self.pid {
            m.insert("operation_pid".into(), json!(p));
        }
        if let Some(t) = &self.time {
            m.insert("operation_time".into(), json!(t));
        }
        let (ty, payload): (Option<String>, Option<Value>) = match &self.payload {
            PausePayload::Null => (Some(String::new()), Some(Value::Null)),
            PausePayload::Absent => (None, None),
            PausePayload::Text(t) => (
                Some("text/plain;charset=UTF-8".into()),
                Some(json!(base64_encode(t.as_bytes()))),
            ),
            PausePayload::Error(e, camel) => (
                Some(if *camel {
                    "application/x-protobuf;messageType=brpb.StreamBackupError".into()
                } else {
                    "application/x-protobuf;messagetype=brpb.StreamBackupError".into()
                }),
                Some(json!(base64_encode(&e.encode(now_ms)))),
            ),
            PausePayload::Raw(ty, p) => (Some(ty.clone()), p.as_ref().map(|p| json!(p))),
            PausePayload::Bytes(kind, bytes) => (
                Some(
                    [
                        "text/plain",
                        "application/x-protobuf;messagetype=brpb.StreamBackupError",
                        "application/x-protobuf",
                        "image/png",
                    ][usize::from(*kind) % 4]
                        .into(),
                ),
                Some(json!(base64_encode(bytes))),
            ),
        };
        if let Some(ty) = ty {
            m.insert("payload_type".into(), json!(ty));
        }
        if let Some(p) = payload {
            m.insert("payload".into(), p);
        }
        Value::Object(m).to_string().into_bytes()
    }
}

#[derive(Arbitrary, Debug)]
pub enum Value {
    Empty,
    Raw(Vec<u8>),
    Tso(Tso),
    TaskInfo(TaskInfo),
    Error(BackupError),
    Pause(PauseV2),
    /// A checkpoint TSO as text (what a wrong writer might store).
    TsoText(Tso),
}

impl Value {
    fn bytes(&self, now_ms: u64) -> Vec<u8> {
        match self {
            Value::Empty => Vec::new(),
            Value::Raw(b) => b.clone(),
            Value::Tso(t) => t.value(now_ms).to_be_bytes().to_vec(),
            Value::TaskInfo(i) => i.encode(now_ms),
            Value::Error(e) => e.encode(now_ms),
            Value::Pause(p) => p.encode(now_ms),
            Value::TsoText(t) => t.value(now_ms).to_string().into_bytes(),
        }
    }
}

#[derive(Arbitrary, Debug)]
pub struct Entry {
    key: Key,
    value: Value,
}

#[derive(Arbitrary, Debug)]
pub enum ServiceId {
    GcWorker,
    Coordinator,
    PauseGuard(TaskName, u16),
    PauseSafepoint(TaskName),
    BackupStream(String),
    Other(String),
}

#[derive(Arbitrary, Debug)]
pub struct ServiceSafepoint {
    id: ServiceId,
    expired_at: ExpiredAt,
    safe_point: Tso,
}

#[derive(Arbitrary, Debug)]
pub enum ExpiredAt {
    Never,
    In(Time),
    Raw(i64),
}

#[derive(Arbitrary, Debug)]
pub enum PdGc {
    Valid {
        gc_safe_point: Tso,
        services: Vec<ServiceSafepoint>,
    },
    Raw(String),
}

#[derive(Arbitrary, Debug)]
pub struct PdStore {
    id: u8,
    state: u8,
    tiflash: bool,
    status_address: Option<String>,
}

#[derive(Arbitrary, Debug)]
pub enum PdStores {
    Valid(Vec<PdStore>),
    Raw(String),
}

impl PdGc {
    fn body(&self, now_ms: u64) -> String {
        use serde_json::json;
        match self {
            PdGc::Raw(s) => s.clone(),
            PdGc::Valid {
                gc_safe_point,
                services,
            } => {
                let services: Vec<_> = services
                    .iter()
                    .map(|s| {
                        let id = match &s.id {
                            ServiceId::GcWorker => "gc_worker".to_string(),
                            ServiceId::Coordinator => "log-backup-coordinator".to_string(),
                            ServiceId::PauseGuard(t, store) => format!(
                                "{}-{store}-pause-guard",
                                String::from_utf8_lossy(&t.bytes())
                            ),
                            ServiceId::PauseSafepoint(t) => {
                                format!("{}_pause_safepoint", String::from_utf8_lossy(&t.bytes()))
                            }
                            ServiceId::BackupStream(s) => format!("backup-stream-{s}"),
                            ServiceId::Other(s) => s.clone(),
                        };
                        let expired_at = match &s.expired_at {
                            ExpiredAt::Never => i64::MAX,
                            ExpiredAt::In(t) => (t.ms(now_ms) / 1000) as i64,
                            ExpiredAt::Raw(v) => *v,
                        };
                        json!({"service_id": id, "expired_at": expired_at,
                               "safe_point": s.safe_point.value(now_ms)})
                    })
                    .collect();
                json!({"service_gc_safe_points": services,
                       "gc_safe_point": gc_safe_point.value(now_ms)})
                .to_string()
            }
        }
    }
}

impl PdStores {
    fn body(&self) -> String {
        use serde_json::json;
        match self {
            PdStores::Raw(s) => s.clone(),
            PdStores::Valid(stores) => {
                let stores: Vec<_> = stores
                    .iter()
                    .map(|s| {
                        let state = ["Up", "Disconnected", "Down", "Offline", "Tombstone", "up"]
                            [usize::from(s.state) % 6];
                        let labels = if s.tiflash {
                            json!([{"key": "engine", "value": "tiflash"}])
                        } else {
                            json!([])
                        };
                        json!({"store": {"id": s.id, "address": format!("tikv-{}:20160", s.id),
                            "status_address": s.status_address.clone()
                                .unwrap_or_else(|| format!("tikv-{}:20180", s.id)),
                            "state_name": state, "labels": labels}})
                    })
                    .collect();
                json!({"count": stores.len(), "stores": stores}).to_string()
            }
        }
    }
}

#[derive(Arbitrary, Debug)]
pub struct Metrics {
    kv_events: MetricValue,
    fatal: Vec<(u8, MetricValue)>,
    status: Vec<(TaskName, u8)>,
    extra: String,
}

#[derive(Arbitrary, Debug)]
pub enum MetricValue {
    Small(u32),
    Float(f64),
    Text(String),
}

impl MetricValue {
    fn text(&self) -> String {
        match self {
            MetricValue::Small(n) => n.to_string(),
            MetricValue::Float(f) => f.to_string(),
            MetricValue::Text(s) => s.clone(),
        }
    }
}

impl Metrics {
    fn body(&self) -> String {
        let mut out = format!(
            "# TYPE tikv_log_backup_handle_kv_batch histogram\ntikv_log_backup_handle_kv_batch_sum {}\n",
            self.kv_events.text()
        );
        for (kind, v) in &self.fatal {
            out.push_str(&format!(
                "tikv_log_backup_fatal_errors{{type=\"KV:LogBackup:{kind}\"}} {}\n",
                v.text()
            ));
        }
        for (task, status) in &self.status {
            let task = String::from_utf8_lossy(&task.bytes())
                .replace('\\', "\\\\")
                .replace('"', "\\\"");
            out.push_str(&format!(
                "tikv_log_backup_task_status{{task=\"{task}\"}} {}\n",
                status % 4
            ));
        }
        out.push_str(&self.extra);
        out
    }
}

#[derive(Arbitrary, Debug)]
pub struct Tikv {
    elapsed_ms: u32,
    stores: Vec<(u8, Result<Metrics, String>, Option<Metrics>)>,
}

#[derive(Arbitrary, Debug)]
pub enum Now {
    Default,
    Ms(u64),
}

/// The whole structured input.
#[derive(Arbitrary, Debug)]
pub struct Input {
    option: u8,
    verbosity: u8,
    max_bytes: u16,
    now: Now,
    pd_gc: Option<PdGc>,
    pd_stores: Option<PdStores>,
    tikv: Option<Tikv>,
    entries: Vec<Entry>,
}

impl Input {
    pub fn from_bytes(data: &[u8]) -> Result<Input> {
        Input::arbitrary_take_rest(Unstructured::new(data))
    }

    pub fn into_case(self) -> Case {
        let now_ms = match self.now {
            Now::Default => DEFAULT_NOW_MS,
            Now::Ms(ms) => ms % (1 << 46),
        };
        Case {
            option: self.option,
            verbosity: self.verbosity,
            max_bytes: self.max_bytes,
            now_ms,
            pd_gc: self.pd_gc.map(|g| g.body(now_ms)),
            pd_stores: self.pd_stores.map(|s| s.body()),
            tikv: self.tikv.map(|t| TikvCase {
                elapsed_ms: t.elapsed_ms,
                stores: t
                    .stores
                    .iter()
                    .map(|(id, current, previous)| TikvStore {
                        id: u64::from(*id),
                        current: current.as_ref().map(Metrics::body).map_err(Clone::clone),
                        previous: previous.as_ref().map(Metrics::body),
                    })
                    .collect(),
            }),
            pairs: self
                .entries
                .iter()
                .map(|e| Kv {
                    key: e.key.bytes(),
                    value: e.value.bytes(now_ms),
                })
                .collect(),
        }
    }
}
