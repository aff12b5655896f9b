//! Settings, resolved once before any work starts: the command line (clap, private to
//! this module), the TOML config file and the environment become one clap-free [`Plan`].
//!
//! Precedence, merged once: flag > `[[clusters]]` entry > config file > environment >
//! default. Run defaults live in [`defaults`], rule defaults in `judge::policy`; the
//! help text reads both.

mod cli;
pub mod defaults;
mod file;
mod layer;
mod storage;
mod values;

use crate::etcd::Login;
use crate::judge::restore_point::RestoreAt;
use crate::judge::Policy;
use crate::model::Selection;
use crate::render::Format;
use crate::statefile;
use crate::storage::StoragePlan;
use crate::tls::Tls;
use layer::CommandLineOnly;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

pub use cli::command;
pub use layer::{Layer, TaskOverride};
pub use layer::{StorageOverride, TaskStorage};

/// A config file's text → its settings as written (unknown keys and bad types are
/// errors, naming the line); nothing is validated further.
pub fn parse_config(text: &str) -> Result<Layer, String> {
    file::parse(text)
}

/// Everything a run does: how it reports, and which clusters it checks. One cluster is
/// a fleet of one.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub run: RunPlan,
    pub clusters: Vec<ClusterPlan>,
}

/// Settings of the run as a whole.
#[derive(Debug, Clone, PartialEq)]
pub struct RunPlan {
    pub format: Format,
    /// `--output`: write the output there (atomically) instead of stdout.
    pub output: Option<PathBuf>,
    /// Byte budget of the nagios output.
    pub max_output: usize,
    pub verbosity: u8,
    /// `-t`: the deadline of everything, output included.
    pub timeout: Duration,
    /// `--now`: judge as if the time were this (tests and replays).
    pub now: Option<SystemTime>,
    /// The config has `[[clusters]]`: report as a fleet, even of one.
    pub fleet: bool,
    /// Fleet mode: clusters checked at once.
    pub parallel: usize,
    /// `--list-tasks`: print the selected task names instead of judging them.
    pub list_tasks: bool,
    /// `--restore-point`: answer "can I restore to T?" instead of the usual output.
    pub restore_point: Option<RestoreAt>,
}

/// One cluster: where to read, with what credentials, and how to judge.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterPlan {
    /// The `[[clusters]]` entry's name (fleet mode).
    pub name: Option<String>,
    pub endpoints: Vec<String>,
    /// PD HTTP endpoints; `None` with `--no-pd-api`.
    pub pd_api: Option<Vec<String>>,
    /// `None` unless `--throughput`.
    pub throughput: Option<Throughput>,
    /// TLS for all three channels (etcd, PD HTTP, TiKV status).
    pub tls: Option<Tls>,
    /// etcd user and password.
    pub login: Option<Login>,
    /// Warnings about the set-up itself (files holding secrets readable by others).
    pub notices: Vec<String>,
    pub selection: Selection,
    pub policy: Policy,
    /// `--storage`: what to read of the backup storage; `None` when off.
    pub storage: Option<StoragePlan>,
    /// Where each run keeps the tasks' checkpoints for the next: `--state-dir`, else the
    /// default, chosen when the run starts (`None`: `--no-state`, or a `--now` replay).
    pub state_dir: Option<statefile::Location>,
}

/// `--throughput` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throughput {
    /// `--sample`: without a previous sample, take a second one after this long.
    pub sample: Option<Duration>,
}

/// The environment the settings read (passed in, so tests never touch the process).
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// `$TIDB_PD`
    pub pd: Option<String>,
    /// `$TIDB_LOG_BACKUP_PASSWORD`
    pub password: Option<String>,
    /// `$XDG_STATE_HOME`, `$HOME`: where the state file goes by default.
    pub state_home: Option<OsString>,
    pub home: Option<OsString>,
}

impl Env {
    pub fn from_process() -> Env {
        Env {
            pd: std::env::var("TIDB_PD").ok(),
            password: std::env::var("TIDB_LOG_BACKUP_PASSWORD").ok(),
            state_home: std::env::var_os("XDG_STATE_HOME"),
            home: std::env::var_os("HOME"),
        }
    }
}

/// One merged layer → its cluster and run plans (the storage settings first, which the
/// cluster plan holds).
fn build(
    layer: &Layer,
    only: &CommandLineOnly,
    env: &Env,
) -> Result<(ClusterPlan, RunPlan), String> {
    // --restore-point answers from the storage: it reads every selected task's.
    let storage = storage::build(layer, only.restore_point.is_some())?;
    layer::build(layer, only, env, storage)
}

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// `--help` or `--version`: the text to print (exit 3, as the Monitoring Plugins do).
    Info(String),
    /// A usage error from the command line parser: its first line.
    Usage(String),
    /// A bad value, file or combination: the message, and the `--format` of the command
    /// line (the error comes out in it).
    Invalid {
        message: String,
        format: Option<Format>,
        /// The command line's `--output`.
        output: Option<PathBuf>,
    },
}

/// The command line (`args[0]` is the program name) and the environment → a [`Plan`].
/// `format` is set as soon as it is known (for errors reported before the plan exists).
pub fn resolve<I, T>(args: I, env: &Env) -> Result<Plan, Refusal>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = cli::Cli::parse_from(args).map_err(|e| {
        use clap::error::ErrorKind;
        if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
            return Refusal::Info(e.to_string());
        }
        let first = e
            .to_string()
            .lines()
            .next()
            .unwrap_or("")
            .trim_start_matches("error: ")
            .to_string();
        Refusal::Usage(first)
    })?;
    plan(&cli, env).map_err(|message| Refusal::Invalid {
        message,
        format: cli.format.as_deref().and_then(Format::from_name),
        output: cli.output.clone(),
    })
}

fn plan(cli: &cli::Cli, env: &Env) -> Result<Plan, String> {
    let config = match &cli.config {
        Some(path) => file::load(path)?,
        None => Layer::default(),
    };
    let only = CommandLineOnly {
        verbosity: cli.verbose,
        now: cli.now.as_deref(),
        config: cli.config.as_deref(),
        list_tasks: cli.list_tasks,
        restore_point: cli
            .restore_point
            .as_deref()
            .map(RestoreAt::parse)
            .transpose()?,
    };
    let flags = cli.layer();
    let mut top = config.clone();
    top.clusters.clear();
    if config.clusters.is_empty() {
        if !cli.cluster.is_empty() {
            return Err("--cluster needs a config file with [[clusters]]".to_string());
        }
        let (cluster, run) = build(&flags.over(top), &only, env)?;
        return Ok(Plan {
            run,
            clusters: vec![cluster],
        });
    }
    if !cli.pd.is_empty() {
        return Err(
            "--pd cannot be combined with [[clusters]] in the config: pick clusters with --cluster"
                .to_string(),
        );
    }
    let mut clusters = Vec::new();
    let mut seen = Vec::new();
    for entry in &config.clusters {
        let name = entry
            .name
            .clone()
            .ok_or("every [[clusters]] entry needs a name")?;
        if seen.contains(&name) {
            return Err(format!("cluster {name} is defined twice"));
        }
        seen.push(name.clone());
        if !entry.clusters.is_empty()
            || entry.timeout.is_some()
            || entry.format.is_some()
            || entry.output.is_some()
            || entry.max_output.is_some()
            || entry.parallel.is_some()
        {
            return Err(format!("cluster {name}: clusters, timeout, format, output, max_output and parallel are run-wide settings"));
        }
        if entry.pd.is_none() {
            return Err(format!("cluster {name} has no pd endpoints"));
        }
        if !cli.cluster.is_empty() && !cli.cluster.contains(&name) {
            continue;
        }
        let merged = flags.clone().over(entry.clone().over(top.clone()));
        let (mut cluster, _) =
            build(&merged, &only, env).map_err(|e| format!("cluster {name}: {e}"))?;
        cluster.name = Some(name);
        clusters.push(cluster);
    }
    if let Some(unknown) = cli.cluster.iter().find(|c| !seen.contains(c)) {
        return Err(format!(
            "--cluster {unknown}: no such [[clusters]] entry in the config"
        ));
    }
    // The run-wide settings, validated like one cluster's (its plan is not used).
    let (_, mut run) = build(&flags.over(top), &only, env)?;
    if run.format == Format::BrJson && clusters.len() != 1 {
        return Err(
            "--format br-json shows one cluster, as br log status does: pick it with --cluster"
                .to_string(),
        );
    }
    run.fleet = true;
    Ok(Plan { run, clusters })
}

#[cfg(test)]
mod tests;
