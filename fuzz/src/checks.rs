//! The properties every fuzz target asserts, one function per target.
//!
//! Shared verbatim by the fuzz targets (`fuzz_targets/*.rs`), by the seed generator
//! (`seedgen/`) and by the regression replay in `cargo test`
//! (`fuzz/regression_test.rs.txt`, copied to `tests/fuzz_regressions.rs`, which includes
//! this file with `#[path]`). So it may use only the public library API and the main
//! crate's own dependencies (clap, prost, serde_json): no libfuzzer, no arbitrary.
//!
//! Every check panics (with a message naming the broken property) on a violation; that
//! is what libFuzzer and `cargo test` both report.
#![allow(dead_code)]

use check_tidb_log_backup as lib;
use lib::cli::{Cli, Options};
use lib::evaluate::{self, Observed, Verdict};
use lib::keys::{self, CheckpointKey};
use lib::pause::{self, Pause, Payload};
use lib::pd::{self, PdFacts};
use lib::proto;
use lib::range::Range;
use lib::render::{renderer, Format, Outcome, RenderOptions};
use lib::snapshot::{Kv, Snapshot};
use lib::state::State;
use lib::throughput::{self, StateFile};
use lib::tikv;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The six targets, also the directory names under `fuzz/seeds/` and `fuzz/regressions/`.
pub const TARGETS: [&str; 6] = [
    "pause_v2",
    "protobuf",
    "checkpoint_key",
    "range",
    "prometheus",
    "snapshot_to_render",
];

/// Runs one target's checks on one input (regression replay).
pub fn check(target: &str, data: &[u8]) {
    match target {
        "pause_v2" => pause_v2(data),
        "protobuf" => protobuf(data),
        "checkpoint_key" => checkpoint_key(data),
        "range" => range(data),
        "prometheus" => prometheus(data),
        "snapshot_to_render" => snapshot_to_render_raw(data),
        other => panic!("unknown fuzz target {other}"),
    }
}

// ---------------------------------------------------------------------------------------
// pause_v2

/// Standard base64 with padding (what Go and TiKV write), the oracle for `base64_decode`.
pub fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `decode_pause` on the raw bytes, then with the bytes as a text and as a protobuf
/// payload, against oracles: the payload decodes exactly as `base64_decode` and
/// `decode_backup_error` say, and `base64_decode` inverts standard base64.
pub fn pause_v2(data: &[u8]) {
    // 1. Arbitrary bytes as a K3 value: Ok or Err, never a panic.
    match pause::decode_pause(data) {
        Ok(Pause::V1) => assert!(data.is_empty(), "non-empty value decoded as PauseV1"),
        Ok(Pause::V2(p)) => {
            assert!(!data.is_empty(), "empty value decoded as PauseV2");
            assert_eq!(p.is_error(), p.severity == "ERROR");
            if let Payload::Error(_) = &p.payload {
                assert!(
                    p.payload_type.to_ascii_lowercase().contains("x-protobuf"),
                    "error payload from payload_type {:?}",
                    p.payload_type
                );
            }
        }
        Err(e) => assert!(
            e.starts_with("invalid PauseV2 JSON"),
            "unexpected error text {e}"
        ),
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(decoded) = pause::base64_decode(text) {
            let digits = text.trim_end_matches('=').len();
            assert_eq!(
                decoded.len(),
                digits * 6 / 8,
                "base64_decode length for {text:?}"
            );
        }
    }

    // 2. base64 round trip, padded and unpadded.
    let b64 = base64_encode(data);
    assert_eq!(
        pause::base64_decode(&b64).as_deref(),
        Some(data),
        "padded base64"
    );
    let unpadded = b64.trim_end_matches('=');
    assert_eq!(
        pause::base64_decode(unpadded).as_deref(),
        Some(data),
        "unpadded base64"
    );

    // 3. The bytes as a text payload (BR `log pause --message`).
    let value = serde_json::json!({
        "severity": "MANUAL",
        "operation_hostname": "h",
        "operation_pid": 1,
        "operation_time": "2024-01-01T00:00:00Z",
        "payload_type": "text/plain;charset=UTF-8",
        "payload": b64,
    });
    let Ok(Pause::V2(p)) = pause::decode_pause(value.to_string().as_bytes()) else {
        panic!("text PauseV2 not decoded")
    };
    assert_eq!(
        p.payload,
        Payload::Text(String::from_utf8_lossy(data).into_owned())
    );
    assert!(!p.is_error());

    // 4. The bytes as a protobuf payload (TiKV's fatal error), both parameter spellings.
    for payload_type in [
        "application/x-protobuf;messagetype=brpb.StreamBackupError",
        "application/x-protobuf; messageType=brpb.StreamBackupError",
    ] {
        let value = serde_json::json!({
            "payload": b64,
            "payload_type": payload_type,
            "severity": "ERROR",
        });
        let Ok(Pause::V2(p)) = pause::decode_pause(value.to_string().as_bytes()) else {
            panic!("protobuf PauseV2 not decoded")
        };
        assert!(p.is_error());
        match (proto::decode_backup_error(data), &p.payload) {
            (Ok(want), Payload::Error(got)) => assert_eq!(&want, got),
            (Err(_), Payload::Invalid(_)) => {}
            (want, got) => panic!("payload {got:?} but decode_backup_error says {want:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// protobuf

/// What BR prints for a storage URL can never break output: ASCII, no space, no `|`.
fn assert_clean_url(url: &str) {
    assert!(
        url.bytes().all(|b| b.is_ascii_graphic() && b != b'|'),
        "storage URL {url:?} holds a byte that should have been %-escaped"
    );
}

/// K1 and K9 decoding: no panic; what decodes re-encodes to the same message; the
/// storage URL is always clean.
pub fn protobuf(data: &[u8]) {
    use prost::Message;
    if let Ok(info) = proto::decode_task_info(data) {
        let again = proto::decode_task_info(&info.encode_to_vec()).expect("re-encoded K1");
        assert_eq!(again, info, "K1 round trip");
        assert_clean_url(&proto::storage_url(info.storage.as_ref()));
        let _ = format!("{info:?}");
    }
    if let Ok(err) = proto::decode_backup_error(data) {
        let again = proto::decode_backup_error(&err.encode_to_vec()).expect("re-encoded K9");
        assert_eq!(again, err, "K9 round trip");
    }
    // The bytes as the storage backend alone (field 1 of K1), reaching every oneof arm.
    if let Ok(storage) = proto::StorageBackend::decode(data) {
        assert_clean_url(&proto::storage_url(Some(&storage)));
    }
}

// ---------------------------------------------------------------------------------------
// checkpoint_key

/// Inverse of `display_key` (`\xNN` for everything but printable ASCII other than `|`, `\`).
fn undisplay_key(text: &str) -> Vec<u8> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            assert!(
                i + 4 <= b.len() && b[i + 1] == b'x',
                "bad escape in {text:?}"
            );
            let hex = std::str::from_utf8(&b[i + 2..i + 4]).unwrap();
            out.push(u8::from_str_radix(hex, 16).expect("hex escape"));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

fn is_decimal_u64(text: &[u8]) -> Option<u64> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// Key parsing: no panic; results agree with a straightforward re-statement of the
/// grammar; `display_key` is printable, `|`-free and reversible.
pub fn checkpoint_key(data: &[u8]) {
    let shown = keys::display_key(data);
    assert!(
        shown
            .bytes()
            .all(|b| (0x20..0x7f).contains(&b) && b != b'|'),
        "display_key {shown:?}"
    );
    assert_eq!(undisplay_key(&shown), data, "display_key is not reversible");

    match (keys::parse_store_id(data), is_decimal_u64(data)) {
        (Ok(a), Some(b)) => assert_eq!(a, b),
        (Err(e), None) => assert!(!e.contains('|') && !e.contains('\n'), "{e:?}"),
        (got, want) => panic!("parse_store_id {got:?}, want {want:?}"),
    }

    let parsed = keys::parse_checkpoint_key(data);
    let segments: Vec<&[u8]> = data.split(|&b| b == b'/').collect();
    let want = if data == b"central_global" {
        Some(CheckpointKey::Global)
    } else if segments[0] == b"store" {
        (segments.len() == 2)
            .then(|| is_decimal_u64(segments[1]).map(CheckpointKey::Store))
            .flatten()
    } else if segments[0] == b"region" {
        (segments.len() == 3
            && is_decimal_u64(segments[1]).is_some()
            && is_decimal_u64(segments[2]).is_some())
        .then_some(CheckpointKey::Region)
    } else if data.len() == 8 {
        Some(CheckpointKey::Legacy(u64::from_be_bytes(
            data.try_into().unwrap(),
        )))
    } else {
        None
    };
    match (&parsed, want) {
        (Ok(got), Some(want)) => assert_eq!(*got, want),
        (Err(e), None) => assert!(!e.contains('|') && !e.contains('\n'), "{e:?}"),
        (got, want) => panic!("parse_checkpoint_key {got:?}, want {want:?}"),
    }

    for prefix in [
        keys::INFO,
        keys::PAUSE,
        keys::CHECKPOINT,
        keys::STORAGE_CHECKPOINT,
        keys::LAST_ERROR,
        keys::OWNER,
    ] {
        // The bytes as a whole key, and as the part after a real prefix.
        let mut full = prefix.to_vec();
        full.extend_from_slice(data);
        for key in [data, &full[..]] {
            match keys::split_task(key, prefix) {
                None => assert!(!key.starts_with(prefix)),
                Some((task, rest)) => {
                    assert!(!task.contains(&b'/'), "task with a slash");
                    let mut joined = prefix.to_vec();
                    joined.extend_from_slice(task);
                    if let Some(rest) = rest {
                        joined.push(b'/');
                        joined.extend_from_slice(rest);
                    }
                    assert_eq!(joined, key, "split_task does not rebuild the key");
                    let task_prefix = keys::task_prefix(prefix, task);
                    assert_eq!(rest.is_some(), key.starts_with(&task_prefix));
                }
            }
        }
        let end = keys::prefix_end(&full);
        assert!(end.as_slice() > full.as_slice() || end == [0], "prefix_end");
    }
}

// ---------------------------------------------------------------------------------------
// range

/// Threshold ranges: no panic; accepted ranges are sane and round-trip through Display;
/// rejections name the text on one line.
pub fn range(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();
    let parsed = Range::parse(text);
    assert_eq!(text.parse::<Range>(), parsed, "FromStr differs from parse");
    match parsed {
        Ok(r) => {
            assert!(
                !r.start.is_nan() && !r.end.is_nan(),
                "NaN bound from {text:?}"
            );
            assert!(r.start <= r.end, "start > end from {text:?}");
            assert!(
                r.end != f64::NEG_INFINITY && r.start != f64::INFINITY,
                "{text:?}"
            );
            let shown = r.to_string();
            assert!(
                !shown.contains(['e', 'E', 'i', 'n', 'N', ' ']),
                "{shown:?} is not canonical (from {text:?})"
            );
            assert_eq!(Range::parse(&shown), Ok(r), "{text:?} shown as {shown:?}");
            assert_eq!(
                Range::parse(&shown).unwrap().to_string(),
                shown,
                "Display is not a fixed point"
            );
            for v in [f64::NEG_INFINITY, -1.0, 0.0, 1.0, r.start, r.end, f64::NAN] {
                let _ = r.alerts(v);
            }
            // The ends themselves never alert for an outside range, always for @.
            if r.start.is_finite() {
                assert_eq!(r.alerts(r.start), r.inside, "start of {text:?}");
            }
            if r.end.is_finite() {
                assert_eq!(r.alerts(r.end), r.inside, "end of {text:?}");
            }
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.contains(&format!("{text:?}")),
                "{msg:?} does not name {text:?}"
            );
            assert!(!msg.contains('\n'), "multi-line error {msg:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// prometheus

/// `/metrics` parsing: no panic; parsed names are the line's first token; the extracted
/// series hold no NaN; a previous body (before the first NUL) and the current one go
/// through the state file (JSON, as saved and loaded) and the rate computation.
pub fn prometheus(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (previous, current) = match text.split_once('\0') {
        Some((a, b)) => (Some(a), b),
        None => (None, text.as_ref()),
    };
    for body in previous.into_iter().chain([current]) {
        for line in body.lines() {
            if let Some((name, labels, value)) = tikv::parse_line(line) {
                let trimmed = line.trim();
                assert!(trimmed.starts_with(name), "name {name:?} of {line:?}");
                assert!(
                    !name.contains(|c: char| c == '{' || c.is_whitespace()),
                    "name {name:?} of {line:?}"
                );
                assert!(!trimmed.starts_with('#'), "comment parsed: {line:?}");
                let _ = (labels, value);
            }
        }
    }
    let sample = |body: &str| {
        let s = tikv::parse_metrics(body);
        assert!(
            !s.kv_events.is_nan() && !s.fatal_errors.is_nan(),
            "NaN sum in {s:?}"
        );
        assert!(s.task_status.values().all(|v| v.is_finite()), "{s:?}");
        s
    };
    let cur = sample(current);
    let prev = previous.map(sample);
    let state = prev.map(|p| {
        let file = StateFile::new("fuzz", 1_000, &[(1, p)]);
        let json = serde_json::to_string(&file).expect("state file serialises");
        // What `throughput::load` would read back (None = "no previous sample").
        serde_json::from_str::<StateFile>(&json).ok()
    });
    let facts = throughput::compare(
        state.flatten().as_ref(),
        &[(1, Ok(cur)), (2, Err("x".into()))],
        61_000,
    );
    for s in &facts.stores {
        assert!(s.rate.is_none_or(|r| !r.is_nan()), "NaN rate {s:?}");
        assert!(
            !s.fatal_increase.is_nan() && s.fatal_increase >= 0.0,
            "{s:?}"
        );
    }
    assert!(
        facts.total_rate.is_none_or(|r| !r.is_nan()),
        "NaN total rate"
    );
}

// ---------------------------------------------------------------------------------------
// snapshot_to_render

/// The fixed "now" of the seeds: 2024-01-01T01:00:00Z (reference §8's central_global).
pub const DEFAULT_NOW_MS: u64 = 1_704_070_800_000;

/// Option sets the full path runs with, parsed once (index = `Case::option % len`).
pub const OPTION_ARGS: &[&[&str]] = &[
    &[],
    &["--task", "pitr", "--task", "missing-task"],
    &[
        "-w",
        "1m",
        "-c",
        "@5m:10m",
        "--paused-warning",
        "~:1h",
        "--paused-critical",
        "10:",
        "--no-task-state",
        "ok",
    ],
    &[
        "--persist-lag",
        "0",
        "--safepoint-warning",
        "0",
        "--safepoint-critical",
        "0",
        "--no-task-state",
        "unknown",
    ],
    &["--task", "*", "-w", "@0", "-c", "~:", "--persist-lag", "1h"],
    &[
        "--task", "a", "--task", "a-b", "--task", "pitr", "-w", "-10:10", "-c", "0:1",
    ],
];

pub fn options() -> &'static [Options] {
    static OPTIONS: OnceLock<Vec<Options>> = OnceLock::new();
    OPTIONS.get_or_init(|| {
        use clap::Parser;
        OPTION_ARGS
            .iter()
            .map(|args| {
                let argv = std::iter::once("check_tidb_log_backup").chain(args.iter().copied());
                Cli::try_parse_from(argv)
                    .expect("fuzz option set parses")
                    .into_options(None)
                    .expect("fuzz option set is valid")
            })
            .collect()
    })
}

/// One TiKV store's `/metrics` as `--throughput` would have read it.
#[derive(Debug, Clone, PartialEq)]
pub struct TikvStore {
    pub id: u64,
    /// The current body, or the fetch error.
    pub current: Result<String, String>,
    /// The previous run's body (kept in the state file).
    pub previous: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TikvCase {
    /// Time since the previous sample.
    pub elapsed_ms: u32,
    pub stores: Vec<TikvStore>,
}

/// One full-path input: what etcd (and optionally PD and TiKV) said, plus how to judge
/// and render it.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub option: u8,
    pub verbosity: u8,
    pub max_bytes: u16,
    pub now_ms: u64,
    pub pd_gc: Option<String>,
    pub pd_stores: Option<String>,
    pub tikv: Option<TikvCase>,
    pub pairs: Vec<Kv>,
}

/// The raw encoding of a [`Case`] (all integers little-endian):
///
/// ```text
/// "R1" option:u8 verbosity:u8 max_bytes:u16 now_ms:u64 flags:u8
/// [flags&1: gc body:blob32] [flags&2: stores body:blob32]
/// [flags&4: elapsed_ms:u32 n:u8 n×(id:u64 ok:u8 body:blob32 has_prev:u8 [prev:blob32])]
/// (key:blob16 value:blob32)*            blobN = length:uN then the bytes
/// ```
///
/// Decoding never fails: a length past the end takes what is left, a missing number is 0.
/// Seeds and regression files of `snapshot_to_render` use it; the fuzzer's structured
/// inputs (anything not starting with `R1`) are converted to it before checking.
pub const RAW_MAGIC: &[u8; 2] = b"R1";

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        head
    }
    fn int<const N: usize>(&mut self) -> u64 {
        let mut buf = [0u8; 8];
        let bytes = self.take(N);
        buf[..bytes.len()].copy_from_slice(bytes);
        u64::from_le_bytes(buf)
    }
    fn blob<const N: usize>(&mut self) -> Vec<u8> {
        let len = self.int::<N>() as usize;
        self.take(len).to_vec()
    }
    fn text32(&mut self) -> String {
        String::from_utf8_lossy(&self.blob::<4>()).into_owned()
    }
}

fn put_blob<const N: usize>(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = bytes
        .len()
        .min(if N == 2 { 0xffff } else { u32::MAX as usize });
    out.extend_from_slice(&(len as u64).to_le_bytes()[..N]);
    out.extend_from_slice(&bytes[..len]);
}

impl Case {
    pub fn decode_raw(data: &[u8]) -> Option<Case> {
        let mut r = Reader(data.strip_prefix(RAW_MAGIC)?);
        let option = r.int::<1>() as u8;
        let verbosity = r.int::<1>() as u8;
        let max_bytes = r.int::<2>() as u16;
        let now_ms = r.int::<8>();
        let flags = r.int::<1>();
        let pd_gc = (flags & 1 != 0).then(|| r.text32());
        let pd_stores = (flags & 2 != 0).then(|| r.text32());
        let tikv = (flags & 4 != 0).then(|| {
            let elapsed_ms = r.int::<4>() as u32;
            let n = r.int::<1>();
            let stores = (0..n)
                .map(|_| {
                    let id = r.int::<8>();
                    let ok = r.int::<1>() != 0;
                    let body = r.text32();
                    let previous = (r.int::<1>() != 0).then(|| r.text32());
                    TikvStore {
                        id,
                        current: if ok { Ok(body) } else { Err(body) },
                        previous,
                    }
                })
                .collect();
            TikvCase { elapsed_ms, stores }
        });
        let mut pairs = Vec::new();
        while !r.0.is_empty() {
            let key = r.blob::<2>();
            let value = r.blob::<4>();
            pairs.push(Kv { key, value });
        }
        Some(Case {
            option,
            verbosity,
            max_bytes,
            now_ms,
            pd_gc,
            pd_stores,
            tikv,
            pairs,
        })
    }

    pub fn encode_raw(&self) -> Vec<u8> {
        let mut out = RAW_MAGIC.to_vec();
        out.push(self.option);
        out.push(self.verbosity);
        out.extend_from_slice(&self.max_bytes.to_le_bytes());
        out.extend_from_slice(&self.now_ms.to_le_bytes());
        let flags = u8::from(self.pd_gc.is_some())
            | u8::from(self.pd_stores.is_some()) << 1
            | u8::from(self.tikv.is_some()) << 2;
        out.push(flags);
        for body in [&self.pd_gc, &self.pd_stores].into_iter().flatten() {
            put_blob::<4>(&mut out, body.as_bytes());
        }
        if let Some(t) = &self.tikv {
            out.extend_from_slice(&t.elapsed_ms.to_le_bytes());
            let n = t.stores.len().min(255);
            out.push(n as u8);
            for s in &t.stores[..n] {
                out.extend_from_slice(&s.id.to_le_bytes());
                let (ok, body) = match &s.current {
                    Ok(b) => (1, b),
                    Err(e) => (0, e),
                };
                out.push(ok);
                put_blob::<4>(&mut out, body.as_bytes());
                out.push(u8::from(s.previous.is_some()));
                if let Some(p) = &s.previous {
                    put_blob::<4>(&mut out, p.as_bytes());
                }
            }
        }
        for kv in &self.pairs {
            put_blob::<2>(&mut out, &kv.key);
            put_blob::<4>(&mut out, &kv.value);
        }
        out
    }

    /// The run's "now": any time a TSO can express (physical ms < 2^46).
    pub fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.now_ms % (1 << 46))
    }

    pub fn render_options(&self) -> RenderOptions {
        RenderOptions {
            verbosity: self.verbosity % 4,
            // The CLI never goes below 256 bytes (`--max-output`).
            max_bytes: if self.max_bytes == 0 {
                RenderOptions::default().max_bytes
            } else {
                usize::from(self.max_bytes).max(256)
            },
            color: false,
            duration_ms: 12,
            ..RenderOptions::default()
        }
    }

    fn observed(&self) -> Observed {
        let pd = (self.pd_gc.is_some() || self.pd_stores.is_some()).then(|| PdFacts {
            endpoint: "http://pd.fuzz:2379".into(),
            gc: match &self.pd_gc {
                Some(body) => pd::parse_gc(body),
                None => Err("PD HTTP request failed".into()),
            },
            stores: match &self.pd_stores {
                Some(body) => pd::parse_stores(body),
                None => Err("PD HTTP request failed".into()),
            },
        });
        let tikv = self.tikv.as_ref().map(|t| {
            let now_ms = lib::tso::unix_ms(self.now());
            let previous: Vec<(u64, tikv::Sample)> = t
                .stores
                .iter()
                .filter_map(|s| Some((s.id, tikv::parse_metrics(s.previous.as_deref()?))))
                .collect();
            let state = (!previous.is_empty()).then(|| {
                StateFile::new(
                    "fuzz",
                    now_ms.saturating_sub(u64::from(t.elapsed_ms)),
                    &previous,
                )
            });
            let current: Vec<(u64, tikv::Fetched)> = t
                .stores
                .iter()
                .map(|s| {
                    (
                        s.id,
                        s.current
                            .as_deref()
                            .map(tikv::parse_metrics)
                            .map_err(Into::into),
                    )
                })
                .collect();
            throughput::compare(state.as_ref(), &current, now_ms)
        });
        Observed { pd, tikv }
    }

    /// Snapshot → verdict, as `lib::run` does it (plain `judge` without PD and TiKV facts).
    pub fn judge(&self) -> Verdict {
        let options = &options()[usize::from(self.option) % options().len()];
        let snapshot = Snapshot::from_pairs(self.pairs.clone());
        let observed = self.observed();
        if observed.pd.is_none() && observed.tikv.is_none() {
            lib::judge(&snapshot, options, self.now())
        } else {
            let cluster = lib::model::decode(&snapshot, &options.selection);
            evaluate::evaluate_observed(
                cluster,
                &observed,
                &options.policy,
                lib::tso::unix_ms(self.now()),
            )
        }
    }
}

/// Known, reported, not yet fixed violations to step over while fuzzing for new ones:
/// `FUZZ_IGNORE=name,name` (see README.md). Replays run without it, so they stay red.
pub fn ignored(name: &str) -> bool {
    static IGNORED: OnceLock<Vec<String>> = OnceLock::new();
    IGNORED
        .get_or_init(|| {
            std::env::var("FUZZ_IGNORE")
                .unwrap_or_default()
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .iter()
        .any(|n| n == name)
}

fn assert_no_control(format: &str, out: &str) {
    // `ndjson-del`: DEL (U+007F), which JSON need not escape (serde_json does not).
    let skip_del = format == "ndjson" && ignored("ndjson-del");
    if let Some(c) = out
        .chars()
        .find(|&c| c.is_control() && c != '\n' && !(skip_del && c == '\u{7f}'))
    {
        panic!("{format} output holds control character {c:?}:\n{out}");
    }
}

/// Checks the renderings of one outcome in every format.
pub fn check_rendered(outcome: &Outcome, render: &RenderOptions) {
    let state = outcome.state();
    assert!((0..=3).contains(&state.exit_code()), "exit code");
    let checked = matches!(outcome, Outcome::Checked(_));

    // Nagios.
    let out = renderer(Format::Nagios).render(outcome, render);
    assert_no_control("nagios", &out);
    assert!(
        out.len() <= render.max_bytes,
        "nagios output is {} bytes > max_bytes {}:\n{out}",
        out.len(),
        render.max_bytes
    );
    let first = out.lines().next().unwrap_or("");
    let prefix = format!("TIDB_LOG_BACKUP {} ", state.as_str());
    assert!(
        first.starts_with(&prefix),
        "first line {first:?} does not start with {prefix:?}"
    );
    if checked {
        assert_eq!(
            out.matches('|').count(),
            1,
            "exactly one '|' wanted:\n{out}"
        );
        let (_, perf) = first
            .split_once('|')
            .unwrap_or_else(|| panic!("the '|' is not on line 1:\n{out}"));
        let perf = perf.trim();
        assert!(!perf.is_empty(), "empty perfdata:\n{out}");
        for item in perf.split(' ') {
            let (label, value) = item
                .split_once('=')
                .unwrap_or_else(|| panic!("perfdata item {item:?} is not label=value"));
            assert!(
                !label.is_empty()
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "perfdata label {label:?} is not [a-z0-9_]+:\n{out}"
            );
            assert!(!value.is_empty(), "perfdata item {item:?} has no value");
        }
    } else {
        assert!(!out.contains('|'), "failure output holds '|':\n{out}");
    }

    // NDJSON: one JSON object per line, the last one the summary with the exit code.
    let out = renderer(Format::Ndjson).render(outcome, render);
    assert_no_control("ndjson", &out);
    let mut last = None;
    for line in out.lines() {
        let value: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("ndjson line is not JSON ({e}): {line}"));
        assert!(value.is_object(), "ndjson line is not an object: {line}");
        last = Some(value);
    }
    let last = last.expect("ndjson output has no line");
    assert_eq!(
        last["kind"], "summary",
        "last ndjson line is not the summary"
    );
    assert_eq!(last["state_code"], state.exit_code(), "summary state_code");

    // Table (colour off): plain text.
    let out = renderer(Format::Table).render(outcome, render);
    assert_no_control("table", &out);

    // br-json: `br log status --json`'s contract: the document (one JSON array on one
    // line) exactly when it renders, else one line for stderr and nothing on stdout. A
    // failure before judging is always the second. Go's encoding leaves DEL and C1
    // controls raw (as BR does), so only what JSON itself forbids raw is checked.
    let out = renderer(Format::BrJson).render(outcome, render);
    match lib::render::brjson::result(outcome) {
        Ok(document) => {
            assert!(
                checked,
                "br-json printed a document for a failure:\n{document}"
            );
            assert_eq!(out, document, "br-json stdout is not the document");
            if let Some(c) = out.chars().find(|&c| c < ' ' && c != '\n') {
                panic!("br-json output holds control character {c:?}:\n{out}");
            }
            assert_eq!(out.lines().count(), 1, "br-json document is not one line");
            let value: serde_json::Value = serde_json::from_str(&out)
                .unwrap_or_else(|e| panic!("br-json is not JSON ({e}): {out}"));
            assert!(
                value.is_array(),
                "br-json of a verdict is not an array: {out}"
            );
        }
        Err(reason) => {
            assert_eq!(out, "", "br-json failure wrote stdout");
            assert!(!reason.is_empty(), "br-json failure without a reason");
        }
    }
}

/// The full path for one case: judge, then all three formats of the verdict, and of a
/// failure whose message is the first value (an etcd error can say anything).
pub fn check_case(case: &Case) {
    let render = case.render_options();
    let verdict = case.judge();
    let checked = Outcome::Checked(Box::new(verdict));
    check_rendered(&checked, &render);

    let message = case
        .pairs
        .first()
        .map(|kv| String::from_utf8_lossy(&kv.value).into_owned())
        .unwrap_or_default();
    let states = [State::Ok, State::Warning, State::Critical, State::Unknown];
    let failed = Outcome::Failed {
        state: states[usize::from(case.option) % 4],
        message,
        now_ms: lib::tso::unix_ms(case.now()),
    };
    check_rendered(&failed, &render);
}

/// Replay of a raw-encoded case (`fuzz/regressions/snapshot_to_render/*`). Structured
/// fuzzer inputs must be converted first (`scripts/fuzz` does it; see README.md).
pub fn snapshot_to_render_raw(data: &[u8]) {
    let case = Case::decode_raw(data).unwrap_or_else(|| {
        panic!("not a raw snapshot_to_render case (must start with \"R1\"): convert it with FUZZ_WRITE_RAW")
    });
    check_case(&case);
}
