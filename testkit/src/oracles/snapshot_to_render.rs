//! `snapshot_to_render`: a whole etcd key space (plus PD and TiKV answers) →
//! `Snapshot::from_pairs` → verdict → nagios, ndjson, table and br-json output, and
//! [`Case`], the input of that path with its raw encoding (seeds, regression files).

use super::ignored;
use check_tidb_log_backup as lib;
use lib::facts::Observed;
use lib::judge::Verdict;
use lib::pd::{self, PdFacts};
use lib::render::{renderer, Format, Outcome, RenderOptions};
use lib::service_state::State;
use lib::settings::ClusterPlan;
use lib::snapshot::{Kv, Snapshot};
use lib::statefile::StateFile;
use lib::throughput;
use lib::tikv;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The fixed "now" of the seeds: 2024-01-01T01:00:00Z (K4 central_global of
/// docs/etcd-layout.md#worked-example-baseline).
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

pub fn options() -> &'static [ClusterPlan] {
    static OPTIONS: OnceLock<Vec<ClusterPlan>> = OnceLock::new();
    OPTIONS.get_or_init(|| {
        OPTION_ARGS
            .iter()
            .map(|args| crate::plan::cluster_plan(args))
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
            keyspace_gc: Ok(Vec::new()),
        });
        let tikv = self.tikv.as_ref().map(|t| {
            let now_ms = lib::tso::unix_ms(self.now());
            let previous: Vec<(u64, tikv::Sample)> = t
                .stores
                .iter()
                .filter_map(|s| Some((s.id, tikv::parse_metrics(s.previous.as_deref()?))))
                .collect();
            let state = (!previous.is_empty()).then(|| {
                let mut file =
                    StateFile::new("fuzz", now_ms.saturating_sub(u64::from(t.elapsed_ms)));
                file.stores = throughput::stored(previous.iter().map(|(id, s)| (*id, s)));
                file
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
        Observed {
            pd,
            tikv,
            ..Observed::default()
        }
    }

    /// Snapshot → verdict, as the runner makes it.
    pub fn judge(&self) -> Verdict {
        let options = &options()[usize::from(self.option) % options().len()];
        let snapshot = Snapshot::from_pairs(self.pairs.clone());
        crate::plan::judge_observed(&snapshot, &self.observed(), options, self.now())
    }
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
/// fuzzer inputs must be converted first (`scripts/fuzz` does it; see fuzz/README.md).
pub fn check(data: &[u8]) {
    let case = Case::decode_raw(data).unwrap_or_else(|| {
        panic!("not a raw snapshot_to_render case (must start with \"R1\"): convert it with FUZZ_WRITE_RAW")
    });
    check_case(&case);
}
