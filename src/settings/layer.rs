//! One all-`Option` layer of settings, merged once (flag > cluster entry > file > env >
//! default), then validated into one cluster's [`ClusterPlan`] and the run's [`RunPlan`].

use super::defaults;
use super::values::{endpoints, parse_seconds, parse_timeout, range, state};
use super::{ClusterPlan, Env, RunPlan, Throughput};
use crate::deadline::DEFAULT_TIMEOUT;
use crate::etcd::Login;
use crate::judge::policy::{self, Policy, StoragePolicy, Thresholds};
use crate::judge::restore_point::RestoreAt;
use crate::model::{Pattern, Patterns, Selection};
use crate::range::Range;
use crate::render::{self, Format};
use crate::secret::Secret;
use crate::statefile;
use crate::storage::StoragePlan;
use crate::tls::Tls;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every setting that a flag, the config file's top level and a `[[clusters]]` entry can
/// give; the config file is read straight into one (field order = the order unknown-key
/// errors list them in).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    /// A `[[clusters]]` entry's name (fleet mode).
    pub name: Option<String>,
    /// Fleet mode: one entry per cluster, each over the top-level settings.
    #[serde(default)]
    pub clusters: Vec<Layer>,
    pub parallel: Option<usize>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub pd: Option<Vec<String>>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub pd_api: Option<Vec<String>>,
    pub no_pd_api: Option<bool>,
    pub safepoint_warning: Option<String>,
    pub safepoint_critical: Option<String>,
    pub persist_lag: Option<String>,
    pub throughput: Option<bool>,
    pub cacert: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub tls_server_name: Option<String>,
    pub user: Option<String>,
    /// Only from a file, never a flag; keep the file mode 0640 or stricter.
    pub password: Option<Secret>,
    pub password_file: Option<PathBuf>,
    pub state_dir: Option<PathBuf>,
    pub sample: Option<String>,
    /// Task names to check (`*` = all).
    #[serde(default, deserialize_with = "one_or_many")]
    pub task: Option<Vec<String>>,
    /// Regular expressions (whole name) of tasks to check, and to leave out.
    #[serde(default, deserialize_with = "one_or_many")]
    pub task_match: Option<Vec<String>>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub task_ignore: Option<Vec<String>>,
    pub warning: Option<String>,
    pub critical: Option<String>,
    pub paused_warning: Option<String>,
    pub paused_critical: Option<String>,
    pub no_task_state: Option<String>,
    pub unreachable_state: Option<String>,
    pub timeout: Option<String>,
    pub format: Option<String>,
    /// `--output`: write the output to this file, atomically.
    pub output: Option<PathBuf>,
    pub max_output: Option<usize>,
    pub lag_limit: Option<String>,
    pub gc_hold_warning: Option<String>,
    pub flush_stale: Option<String>,
    pub advancer_stale: Option<String>,
    /// `--gone-for`: how long a task that disappeared is reported.
    pub gone_for: Option<String>,
    pub stuck_warning: Option<String>,
    pub stuck_critical: Option<String>,
    /// `no_state = true` / `--no-state`: keep no state file (no checkpoint rate).
    pub no_state: Option<bool>,
    /// Extra perfdata: `stores` (per-store lag).
    #[serde(default, deserialize_with = "one_or_many")]
    pub perfdata: Option<Vec<String>>,
    pub auto_pause_warning: Option<String>,
    pub auto_pause_critical: Option<String>,
    /// Read each task's backup storage (`--storage`).
    pub storage: Option<bool>,
    pub storage_unreachable_state: Option<String>,
    /// `host` (default) or `task`: whose credentials open the storage.
    pub storage_credentials: Option<String>,
    pub window_warning: Option<String>,
    pub window_critical: Option<String>,
    pub flush_age_warning: Option<String>,
    pub flush_age_critical: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub full_backup: Option<Vec<String>>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub full_backup_root: Option<Vec<String>>,
    /// `--allow-storage-endpoint` (repeatable).
    #[serde(default, deserialize_with = "one_or_many")]
    pub allow_storage_endpoints: Option<Vec<String>>,
    /// `--storage-max-object`, e.g. `16MiB`.
    pub storage_max_object: Option<String>,
    /// `--verify`: prove every data file of the log chain is there, incrementally.
    pub verify: Option<bool>,
    /// `--verify-budget`: requests per task per run.
    pub verify_budget: Option<u32>,
    /// `--verify-lengths`: every meta read, no check by name (implies `verify`).
    pub verify_lengths: Option<bool>,
    /// `--storage-lock-stale`, a duration.
    pub storage_lock_stale: Option<String>,
    /// `--full-incomplete-warning`, a duration.
    pub full_incomplete_warning: Option<String>,
    /// `--full-min-count`.
    pub full_min_count: Option<usize>,
    pub full_age_warning: Option<String>,
    pub full_age_critical: Option<String>,
    /// `[tasks.<name>]` threshold overrides (files only).
    #[serde(default)]
    pub tasks: BTreeMap<String, TaskOverride>,
}

/// `[tasks.<name>]`: one task's lag thresholds.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TaskOverride {
    pub warning: Option<String>,
    pub critical: Option<String>,
    pub paused_warning: Option<String>,
    pub paused_critical: Option<String>,
    /// `storage = false`, or a `[tasks.<name>.storage]` table.
    pub storage: Option<TaskStorage>,
}

/// `[tasks.<name>] storage = false`, or `[tasks.<name>.storage]` with overrides.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum TaskStorage {
    Enabled(bool),
    Table(Box<StorageOverride>),
}

/// How the monitoring host reaches one task's storage, when not as the task info says.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StorageOverride {
    pub enabled: Option<bool>,
    /// Another URL for the same storage (BR's syntax).
    pub url: Option<String>,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub force_path_style: Option<bool>,
    pub access_key_id_file: Option<PathBuf>,
    pub secret_access_key_file: Option<PathBuf>,
    pub google_service_account_file: Option<PathBuf>,
    pub azure_account: Option<String>,
    pub azure_key_file: Option<PathBuf>,
    pub azure_sas_file: Option<PathBuf>,
}

/// `pd = "a:2379"` or `pd = ["a:2379", "b:2379"]`.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    Ok(Some(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    }))
}

impl Layer {
    /// `self` over `lower`: each setting `self` gives wins; task overrides of the same
    /// task are replaced whole; the entries of a fleet are not settings of it.
    pub fn over(self, lower: Layer) -> Layer {
        macro_rules! pick {
            ($($field:ident),*) => { Layer { $($field: self.$field.or(lower.$field),)*
                clusters: Vec::new(),
                tasks: {
                    let mut tasks = lower.tasks;
                    tasks.extend(self.tasks);
                    tasks
                }
            } };
        }
        pick!(
            name,
            parallel,
            pd,
            pd_api,
            no_pd_api,
            safepoint_warning,
            safepoint_critical,
            persist_lag,
            throughput,
            cacert,
            cert,
            key,
            tls_server_name,
            user,
            password,
            password_file,
            state_dir,
            sample,
            task,
            task_match,
            task_ignore,
            warning,
            critical,
            paused_warning,
            paused_critical,
            no_task_state,
            unreachable_state,
            timeout,
            format,
            output,
            max_output,
            lag_limit,
            gc_hold_warning,
            flush_stale,
            advancer_stale,
            gone_for,
            stuck_warning,
            stuck_critical,
            no_state,
            perfdata,
            auto_pause_warning,
            auto_pause_critical,
            storage,
            storage_unreachable_state,
            storage_credentials,
            window_warning,
            window_critical,
            flush_age_warning,
            flush_age_critical,
            full_backup,
            full_backup_root,
            allow_storage_endpoints,
            storage_max_object,
            verify,
            verify_budget,
            verify_lengths,
            storage_lock_stale,
            full_incomplete_warning,
            full_min_count,
            full_age_warning,
            full_age_critical
        )
    }
}

/// Flags that only exist on the command line.
pub(super) struct CommandLineOnly<'a> {
    pub verbosity: u8,
    pub now: Option<&'a str>,
    /// `--config`, for the "readable by others" notice.
    pub config: Option<&'a Path>,
    pub list_tasks: bool,
    /// `--restore-point`, parsed.
    pub restore_point: Option<RestoreAt>,
}

/// Mode bits of a file, for the "readable by others" warning (None where unknown).
fn world_readable(path: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o004 != 0)
        .unwrap_or(false)
}

fn override_thresholds(
    base: &Thresholds,
    o: &TaskOverride,
    task: &str,
) -> Result<Thresholds, String> {
    let pick = |value: &Option<String>, fallback: Range, what: &str| match value {
        Some(text) => range(text, &format!("tasks.{task}.{what}")),
        None => Ok(fallback),
    };
    Ok(Thresholds {
        warning: pick(&o.warning, base.warning, "warning")?,
        critical: pick(&o.critical, base.critical, "critical")?,
        paused_warning: pick(&o.paused_warning, base.paused_warning, "paused_warning")?,
        paused_critical: pick(&o.paused_critical, base.paused_critical, "paused_critical")?,
    })
}

/// `--task` names and `--task-match`/`--task-ignore` patterns → the selection.
fn selection(
    names: &[String],
    include: &Option<Vec<String>>,
    exclude: &Option<Vec<String>>,
) -> Result<Selection, String> {
    let compile = |v: &Option<Vec<String>>| -> Result<Vec<Pattern>, String> {
        v.iter().flatten().map(|p| Pattern::new(p)).collect()
    };
    let (include, exclude) = (compile(include)?, compile(exclude)?);
    if include.is_empty() && exclude.is_empty() {
        return Ok(Selection::from_names(names));
    }
    let names = match Selection::from_names(names) {
        Selection::Named(names) => names,
        _ => Vec::new(),
    };
    Ok(Selection::Patterns(Patterns {
        names,
        include,
        exclude,
    }))
}

/// Validates one merged layer (the environment and defaults below it).
/// `storage` is what `settings::storage` resolved of the same layer.
pub(super) fn build(
    layer: &Layer,
    only: &CommandLineOnly,
    env: &Env,
    storage: (Option<StoragePlan>, StoragePolicy),
) -> Result<(ClusterPlan, RunPlan), String> {
    let mut notices = Vec::new();
    let tls = Tls::load(
        layer.cacert.as_deref(),
        layer.cert.as_deref(),
        layer.key.as_deref(),
        layer.tls_server_name.clone(),
    )?;
    // A password file wins; then the environment (set per service), then the config.
    let password = match (
        &layer.password_file,
        env.password.clone().filter(|p| !p.is_empty()),
        &layer.password,
    ) {
        (Some(path), _, _) => {
            if world_readable(path) {
                notices.push(format!(
                    "password file {} is readable by others: chmod 600 it",
                    path.display()
                ));
            }
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read --password-file {}: {e}", path.display()))?;
            Some(Secret(text.trim_end_matches(['\n', '\r']).to_string()))
        }
        (None, Some(env), _) => Some(Secret(env)),
        (None, None, Some(p)) => {
            if let Some(config) = only.config.filter(|c| world_readable(c)) {
                notices.push(format!(
                    "config {} holds a password and is readable by others: chmod 640 it",
                    config.display()
                ));
            }
            Some(p.clone())
        }
        (None, None, None) => None,
    };
    let login = match (layer.user.clone(), password) {
        (Some(user), Some(password)) => Some(Login { user, password }),
        (Some(_), None) => {
            return Err("--user needs a password: $TIDB_LOG_BACKUP_PASSWORD, --password-file or the config's password".to_string())
        }
        (None, Some(_)) => return Err("a password is set but no --user".to_string()),
        (None, None) => None,
    };
    let tls_on = tls
        .as_ref()
        .is_some_and(|t| t.ca.is_some() || t.cert.is_some());
    let pd = match (&layer.pd, env.pd.clone().filter(|e| !e.trim().is_empty())) {
        (Some(pd), _) => pd.clone(),
        (None, Some(env)) => vec![env],
        (None, None) => vec![defaults::PD.to_string()],
    };
    let tasks = layer.task.clone().unwrap_or_default();
    let defaults = Thresholds::default();
    let lag_range = |value: &Option<String>, fallback: Range, what: &str| match value {
        Some(text) => range(text, what),
        None => Ok(fallback),
    };
    let thresholds = Thresholds {
        warning: lag_range(&layer.warning, defaults.warning, "warning")?,
        critical: lag_range(&layer.critical, defaults.critical, "critical")?,
        paused_warning: lag_range(
            &layer.paused_warning,
            defaults.paused_warning,
            "paused-warning",
        )?,
        paused_critical: lag_range(
            &layer.paused_critical,
            defaults.paused_critical,
            "paused-critical",
        )?,
    };
    let mut per_task = BTreeMap::new();
    for (name, o) in &layer.tasks {
        per_task.insert(name.clone(), override_thresholds(&thresholds, o, name)?);
    }
    let format = match &layer.format {
        Some(text) => Format::from_name(text).ok_or_else(|| {
            let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
            format!(
                "invalid format '{text}' in config (want {})",
                names.join(", ")
            )
        })?,
        None => Format::DEFAULT,
    };
    if format == Format::ZabbixLld && !only.list_tasks {
        return Err(
            "--format zabbix-lld is the discovery output of --list-tasks: add --list-tasks"
                .to_string(),
        );
    }
    if format == Format::Prometheus && only.list_tasks {
        return Err(
            "--list-tasks has no prometheus output: use nagios, ndjson, json or zabbix-lld"
                .to_string(),
        );
    }
    let endpoints = endpoints(&pd, tls_on)?;
    let pd_api = if layer.no_pd_api == Some(true) {
        None
    } else if let Some(api) = &layer.pd_api {
        Some(self::endpoints(api, tls_on)?)
    } else {
        Some(self::endpoints(&pd, tls_on)?)
    };
    let throughput = if layer.throughput == Some(true) {
        Some(Throughput {
            sample: layer.sample.as_deref().map(parse_timeout).transpose()?,
        })
    } else {
        None
    };
    let seconds = |value: &Option<String>, fallback: u64, what: &str| match value {
        Some(text) => parse_seconds(text, what),
        None => Ok(fallback),
    };
    let no_task_state = match &layer.no_task_state {
        Some(text) => state(text, "no-task-state")?,
        None => policy::NO_TASK_STATE,
    };
    let safepoint_warning = seconds(
        &layer.safepoint_warning,
        policy::SAFEPOINT_WARNING,
        "safepoint-warning",
    )?;
    let safepoint_critical = seconds(
        &layer.safepoint_critical,
        policy::SAFEPOINT_CRITICAL,
        "safepoint-critical",
    )?;
    let persist_lag = seconds(&layer.persist_lag, policy::PERSIST_LAG, "persist-lag")?;
    let lag_limit = seconds(&layer.lag_limit, policy::LAG_LIMIT, "lag-limit")?;
    let gc_hold_warning = seconds(
        &layer.gc_hold_warning,
        policy::GC_HOLD_WARNING,
        "gc-hold-warning",
    )?;
    let flush_stale = seconds(&layer.flush_stale, policy::FLUSH_STALE, "flush-stale")?;
    let advancer_stale = seconds(
        &layer.advancer_stale,
        policy::ADVANCER_STALE,
        "advancer-stale",
    )?;
    let gone_for = seconds(&layer.gone_for, policy::GONE_FOR, "gone-for")?;
    let mut store_perfdata = false;
    for item in layer.perfdata.iter().flatten() {
        match item.as_str() {
            "stores" => store_perfdata = true,
            other => return Err(format!("invalid perfdata '{other}' (want stores)")),
        }
    }
    let stuck_warning = layer
        .stuck_warning
        .as_deref()
        .map(|t| parse_seconds(t, "stuck-warning"))
        .transpose()?;
    let stuck_critical = layer
        .stuck_critical
        .as_deref()
        .map(|t| parse_seconds(t, "stuck-critical"))
        .transpose()?;
    let auto_pause_warning = seconds(
        &layer.auto_pause_warning,
        policy::AUTO_PAUSE_WARNING,
        "auto-pause-warning",
    )?;
    let auto_pause_critical = seconds(
        &layer.auto_pause_critical,
        policy::AUTO_PAUSE_CRITICAL,
        "auto-pause-critical",
    )?;
    let unreachable_state = match &layer.unreachable_state {
        Some(text) => state(text, "unreachable-state")?,
        None => policy::UNREACHABLE_STATE,
    };
    let timeout = match &layer.timeout {
        Some(text) => parse_timeout(text)?,
        None => DEFAULT_TIMEOUT,
    };
    let now = only.now.map(crate::tso::parse_now).transpose()?;
    let (storage, storage_policy) = storage;
    let cluster = ClusterPlan {
        name: None,
        endpoints,
        pd_api,
        throughput,
        tls,
        login,
        notices,
        selection: selection(&tasks, &layer.task_match, &layer.task_ignore)?,
        policy: Policy {
            defaults: thresholds,
            per_task,
            no_task_state,
            unreachable_state,
            timeout,
            safepoint_warning,
            safepoint_critical,
            persist_lag,
            lag_limit,
            auto_pause_warning,
            auto_pause_critical,
            gc_hold_warning,
            flush_stale,
            advancer_stale,
            gone_for,
            stuck_warning,
            stuck_critical,
            store_perfdata,
            storage: storage_policy,
        },
        storage,
        // A replay (`--now`) neither reads nor writes the state of real runs.
        state_dir: (layer.no_state != Some(true) && now.is_none()).then(|| {
            match &layer.state_dir {
                Some(dir) => statefile::Location::Given(dir.clone()),
                None => statefile::Location::Default {
                    state_home: env.state_home.clone(),
                    home: env.home.clone(),
                },
            }
        }),
    };
    let run = RunPlan {
        format,
        output: layer.output.clone(),
        max_output: layer
            .max_output
            .unwrap_or(render::DEFAULT_MAX_BYTES)
            .max(defaults::MAX_OUTPUT_FLOOR),
        verbosity: only.verbosity.min(defaults::MAX_VERBOSITY),
        list_tasks: only.list_tasks,
        restore_point: only.restore_point,
        timeout,
        now,
        fleet: false,
        parallel: layer.parallel.unwrap_or(defaults::PARALLEL).max(1),
    };
    Ok((cluster, run))
}
