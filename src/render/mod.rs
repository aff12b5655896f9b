//! Output formats, one file each, behind one small trait.

pub mod brjson;
pub mod nagios;
pub mod ndjson;
pub mod perfdata;
pub mod prometheus;
pub mod restore_point;
pub mod table;
pub mod zabbix;

use crate::judge::{TaskVerdict, Verdict};
use crate::service_state::State;

/// What a run produced: a judged cluster, or a failure before judging.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Checked(Box<Verdict>),
    /// Unreachable PD, our own timeout, a bad option or config, an internal error.
    Failed {
        state: State,
        message: String,
        now_ms: u64,
    },
    /// Fleet mode: one result per configured cluster, in config order.
    Fleet(Vec<ClusterResult>),
}

/// One cluster's result in fleet mode.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterResult {
    /// The configured name.
    pub name: String,
    /// PD's cluster id, when the cluster could be read.
    pub cluster_id: Option<u64>,
    pub outcome: Outcome,
}

impl Outcome {
    /// A verdict, or the failure it records (PD's etcd could not be read).
    pub fn from_verdict(verdict: Verdict) -> Outcome {
        match verdict.failure {
            Some(failure) => Outcome::Failed {
                state: failure.state,
                message: failure.text,
                now_ms: verdict.now_ms,
            },
            None => Outcome::Checked(Box::new(verdict)),
        }
    }

    pub fn state(&self) -> State {
        match self {
            Outcome::Checked(v) => v.state,
            Outcome::Failed { state, .. } => *state,
            Outcome::Fleet(clusters) => clusters
                .iter()
                .map(|c| c.outcome.state())
                .max()
                .unwrap_or(State::Ok),
        }
    }
}

/// The nagios output's byte budget: Nagios Core's 8 KiB plugin output buffer.
pub const DEFAULT_MAX_BYTES: usize = 8192;

#[derive(Debug, Clone, PartialEq)]
pub struct RenderOptions {
    pub verbosity: u8,
    /// Byte budget of the nagios format (Nagios Core's 8 KiB by default).
    pub max_bytes: usize,
    /// ANSI colours (table format, only when stdout is a terminal).
    pub color: bool,
    /// Run time so far, reported by ndjson.
    pub duration_ms: u64,
    /// The zone of the table's dates (BR prints its local zone); nagios and ndjson are UTC.
    pub time_zone: jiff::tz::TimeZone,
    /// Terminal columns for the table (BR: the terminal's width, else 80).
    pub width: usize,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            verbosity: 0,
            max_bytes: DEFAULT_MAX_BYTES,
            color: false,
            duration_ms: 0,
            time_zone: jiff::tz::TimeZone::UTC,
            width: table::DEFAULT_WIDTH,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Nagios,
    Ndjson,
    Table,
    /// `br log status --json`'s document.
    BrJson,
    /// The Prometheus text exposition format (node_exporter's textfile collector).
    Prometheus,
    /// The ndjson events as one JSON array (one value, for Zabbix's agent).
    Json,
    /// `--list-tasks` as Zabbix low-level discovery JSON.
    ZabbixLld,
}

impl Format {
    /// The format when none is asked for.
    pub const DEFAULT: Format = Format::Nagios;
    pub const ALL: [Format; 7] = [
        Format::Nagios,
        Format::Ndjson,
        Format::Table,
        Format::BrJson,
        Format::Prometheus,
        Format::Json,
        Format::ZabbixLld,
    ];

    /// The name `--format` takes.
    pub fn name(self) -> &'static str {
        match self {
            Format::Nagios => "nagios",
            Format::Ndjson => "ndjson",
            Format::Table => "table",
            Format::BrJson => "br-json",
            Format::Prometheus => "prometheus",
            Format::Json => "json",
            Format::ZabbixLld => "zabbix-lld",
        }
    }

    /// What the help text says of it, where the name is not enough.
    pub fn description(self) -> Option<&'static str> {
        match self {
            Format::BrJson => Some("`br log status --json`'s document"),
            Format::Prometheus => Some("text exposition for node_exporter's textfile collector"),
            Format::Json => Some("the ndjson events as one JSON array"),
            Format::ZabbixLld => Some("--list-tasks as Zabbix low-level discovery JSON"),
            _ => None,
        }
    }

    /// A name, in any case.
    pub fn from_name(text: &str) -> Option<Format> {
        Format::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(text))
    }
}

pub trait Render {
    fn render(&self, outcome: &Outcome, options: &RenderOptions) -> String;
}

pub fn renderer(format: Format) -> &'static dyn Render {
    match format {
        Format::Nagios => &nagios::Nagios,
        Format::Ndjson => &ndjson::Ndjson,
        Format::Table => &table::Table,
        Format::BrJson => &brjson::BrJson,
        Format::Prometheus => &prometheus::Prometheus,
        Format::Json => &ndjson::Json,
        Format::ZabbixLld => &zabbix::ZabbixLld,
    }
}

/// One task `--list-tasks` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedTask {
    /// The `[[clusters]]` entry's name (fleet mode).
    pub cluster: Option<String>,
    /// PD's cluster id, when it could be read.
    pub cluster_id: Option<u64>,
    pub task: String,
}

/// `--list-tasks` output: one name per line (`<cluster>\t<task>` in fleet mode); one
/// `task-list` event per task in ndjson (all in one array in json); Zabbix low-level
/// discovery in zabbix-lld. prometheus has no list (the settings refuse it).
pub fn task_list(tasks: &[ListedTask], format: Format) -> String {
    let text = |v: &str| serde_json::to_string(v).unwrap_or_default();
    let event = |t: &ListedTask| {
        let cluster = t.cluster.as_deref().map_or("null".to_string(), text);
        format!(
            "{{\"kind\":\"task-list\",\"cluster\":{cluster},\"task\":{}}}",
            text(&t.task)
        )
    };
    match format {
        Format::Ndjson => tasks.iter().map(|t| event(t) + "\n").collect(),
        Format::Json => {
            let events: Vec<String> = tasks.iter().map(event).collect();
            format!("[{}]\n", events.join(","))
        }
        Format::ZabbixLld => zabbix::discovery(tasks),
        _ => {
            let mut out = String::new();
            for t in tasks {
                if let Some(c) = &t.cluster {
                    out.push_str(&crate::text::clean_text(c));
                    out.push('\t');
                }
                out.push_str(&crate::text::clean_text(&t.task));
                out.push('\n');
            }
            out
        }
    }
}

/// Tasks worst first; equal states keep etcd key order.
pub fn worst_first(verdict: &Verdict) -> Vec<&TaskVerdict> {
    let mut tasks: Vec<&TaskVerdict> = verdict.tasks.iter().collect();
    tasks.sort_by_key(|t| std::cmp::Reverse(t.state));
    tasks
}

/// `3 tasks: 1 critical, 1 warning, 1 ok` counts, in severity order, zero counts left out.
pub fn state_counts(verdict: &Verdict) -> [(State, usize); 4] {
    let count = |s: State| verdict.tasks.iter().filter(|t| t.state == s).count();
    [
        (State::Critical, count(State::Critical)),
        (State::Unknown, count(State::Unknown)),
        (State::Warning, count(State::Warning)),
        (State::Ok, count(State::Ok)),
    ]
}
