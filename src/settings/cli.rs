//! The command line (clap), private to the settings: flags → one all-`Option` [`Layer`].

use super::defaults;
use super::layer::Layer;
use crate::deadline::DEFAULT_TIMEOUT;
use crate::judge::policy;
use crate::render::{self, Format};
use crate::service_state::State;
use crate::statefile;
use crate::tso::short_duration;
use clap::builder::{PossibleValue, PossibleValuesParser};
use clap::{Arg, CommandFactory, FromArgMatches, Parser};
use std::path::PathBuf;

/// Checks TiDB log backup (PITR) tasks in PD's etcd and reports a Nagios verdict.
///
/// Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also for --help, --version and
/// usage errors); --format br-json exits as br log status does (0 printed, 1 failed). Ranges use the Monitoring Plugins syntax ([@][start:][end]) with
/// seconds or durations: 600, 10m, 1h30m, ~:10m, @1h:2h.
#[derive(Debug, Parser)]
#[command(
    name = "check_tidb_log_backup",
    version,
    disable_help_subcommand = true
)]
pub(super) struct Cli {
    /// PD endpoint (its etcd client URL): http://host:2379, or host:port. Repeatable and
    /// comma-separated; tried one at a time. Default: config, then $TIDB_PD, then {default}
    #[arg(long = "pd", value_name = "URL")]
    pub(super) pd: Vec<String>,

    /// PD HTTP API endpoint for GC safepoints, stores and the keyspace list (repeatable, comma-separated).
    /// Default: the --pd endpoints
    #[arg(long = "pd-api", value_name = "URL")]
    pub(super) pd_api: Vec<String>,

    /// Do not ask PD's HTTP API: no GC safepoint, resume-deadline or store checks
    #[arg(long)]
    pub(super) no_pd_api: bool,

    /// A paused task's resume deadline (when its GC protection expires) closer than this → WARNING [default: {default}]
    #[arg(long, value_name = "DURATION")]
    pub(super) safepoint_warning: Option<String>,

    /// A paused task's resume deadline closer than this, or none at all → CRITICAL [default: {default}]
    #[arg(long, value_name = "DURATION")]
    pub(super) safepoint_critical: Option<String>,

    /// central_global ahead of the restorable (storage) checkpoint by more than this → WARNING [default: {default}]
    #[arg(long, value_name = "DURATION")]
    pub(super) persist_lag: Option<String>,

    /// The advancer's checkpoint lag limit in this cluster (TiDB's
    /// tidb_advancer_check_point_lag_limit; not in etcd) [default: {default}]
    #[arg(long, value_name = "DURATION")]
    pub(super) lag_limit: Option<String>,

    /// Log backup holding GC back for longer than this (its service safepoint being the
    /// oldest) → WARNING [default: {default}]
    #[arg(long, value_name = "DURATION")]
    pub(super) gc_hold_warning: Option<String>,

    /// A running task's store whose backup-stream-<task>-<store> safepoint was not
    /// refreshed for longer than this (no flush) → WARNING [default: {default}]
    #[arg(long, value_name = "DURATION")]
    pub(super) flush_stale: Option<String>,

    /// The log-backup-coordinator safepoint not refreshed for longer than this while a
    /// task runs (the advancer does not tick) → WARNING [default: {default}]
    #[arg(long, value_name = "DURATION")]
    pub(super) advancer_stale: Option<String>,

    /// A task seen by an earlier run and now gone from etcd (br log stop) is reported
    /// (WARNING) for this long, then forgotten; needs the state file [default: {default}]
    #[arg(long, value_name = "DURATION")]
    pub(super) gone_for: Option<String>,

    /// A running task whose checkpoint has not advanced (across runs) for longer than
    /// this → WARNING; no default
    #[arg(long, value_name = "DURATION")]
    pub(super) stuck_warning: Option<String>,

    /// The same for CRITICAL; no default
    #[arg(long, value_name = "DURATION")]
    pub(super) stuck_critical: Option<String>,

    /// Extra perfdata (repeatable): `stores` adds each store's checkpoint lag,
    /// <task>_store_<id>_lag (off by default: the label count grows with the stores)
    #[arg(long, value_name = "WHAT", value_parser = ["stores"])]
    pub(super) perfdata: Vec<String>,

    /// Keep no state file between runs (no checkpoint rate, no stuck detection);
    /// --throughput still keeps its samples
    #[arg(long)]
    pub(super) no_state: bool,

    /// A running task closer than this to being paused by the advancer → WARNING [default: {default}]
    #[arg(long, value_name = "DURATION")]
    pub(super) auto_pause_warning: Option<String>,

    /// A running task closer than this to being paused by the advancer → CRITICAL [default: {default}]
    #[arg(long, value_name = "DURATION")]
    pub(super) auto_pause_critical: Option<String>,

    /// Also read every Up TiKV's /metrics: KV events per second (rate against the previous
    /// run's sample), task status 2 and new fatal errors → CRITICAL
    #[arg(long)]
    pub(super) throughput: bool,

    /// Where each run keeps the tasks' checkpoints (and --throughput its samples), created
    /// 0700; refused (no state kept) when it is a symlink, not the running user's, or
    /// writable by group or others [default: {default}]
    #[arg(long, value_name = "DIR")]
    pub(super) state_dir: Option<PathBuf>,

    /// With --throughput and no previous sample: take a second sample this much later
    /// (within the deadline) instead of reporting no rate yet
    #[arg(long, value_name = "DURATION")]
    pub(super) sample: Option<String>,

    /// CA certificate (PEM) to verify PD and TiKV; implies https for host:port endpoints
    #[arg(long, value_name = "FILE")]
    pub(super) cacert: Option<PathBuf>,

    /// Client certificate (PEM) for mutual TLS (PD requires one when its CA is set)
    #[arg(long, value_name = "FILE")]
    pub(super) cert: Option<PathBuf>,

    /// Client private key (PEM: PKCS#8, SEC1 or PKCS#1) for --cert
    #[arg(long, value_name = "FILE")]
    pub(super) key: Option<PathBuf>,

    /// Verify server certificates against this name instead of the endpoint's host
    #[arg(long, value_name = "NAME")]
    pub(super) tls_server_name: Option<String>,

    /// etcd user (when PD's etcd has auth enabled). The password comes from
    /// $TIDB_LOG_BACKUP_PASSWORD, --password-file or the config file, never the command line
    #[arg(long, value_name = "USER")]
    pub(super) user: Option<String>,

    /// File holding the etcd password (first line)
    #[arg(long, value_name = "FILE")]
    pub(super) password_file: Option<PathBuf>,

    /// Only check these tasks (repeatable); '*' means all. A named task that does not exist is CRITICAL
    #[arg(long = "task", value_name = "NAME")]
    pub(super) task: Vec<String>,

    /// Only check tasks whose whole name matches this regular expression (repeatable)
    #[arg(long = "task-match", value_name = "REGEX")]
    pub(super) task_match: Vec<String>,

    /// Leave out tasks whose whole name matches this regular expression (repeatable)
    #[arg(long = "task-ignore", value_name = "REGEX")]
    pub(super) task_ignore: Vec<String>,

    /// Print the selected task names, one per line (ndjson: one task-list event each),
    /// and exit 0: for Icinga `apply for` rules and Director imports
    #[arg(long)]
    pub(super) list_tasks: bool,

    /// Answer "can I restore to TIME?" (RFC 3339, a TSO, or a duration ago such as 15m)
    /// from the storage reads: one line per task, exit 0 possible, 2 impossible, 3 when it
    /// cannot be told. Reads every selected task's storage (implies --storage)
    #[arg(long, value_name = "TIME")]
    pub(super) restore_point: Option<String>,

    /// Checkpoint lag range of a running task for WARNING [default: {default}]
    #[arg(short = 'w', long, value_name = "RANGE", allow_hyphen_values = true)]
    pub(super) warning: Option<String>,

    /// Checkpoint lag range of a running task for CRITICAL [default: {default}]
    #[arg(short = 'c', long, value_name = "RANGE", allow_hyphen_values = true)]
    pub(super) critical: Option<String>,

    /// Checkpoint lag range of a paused task for WARNING [default: {default}]
    #[arg(long, value_name = "RANGE", allow_hyphen_values = true)]
    pub(super) paused_warning: Option<String>,

    /// Checkpoint lag range of a paused task for CRITICAL [default: {default}]
    #[arg(long, value_name = "RANGE", allow_hyphen_values = true)]
    pub(super) paused_critical: Option<String>,

    /// State when the cluster has no log backup task [default: {default}]
    #[arg(long, value_name = "STATE")]
    pub(super) no_task_state: Option<String>,

    /// State when PD's etcd cannot be read [default: {default}]
    #[arg(long, value_name = "STATE")]
    pub(super) unreachable_state: Option<String>,

    /// Deadline for the whole run, seconds or a duration; on expiry UNKNOWN [default: {default}]
    #[arg(short = 't', long, value_name = "DURATION")]
    pub(super) timeout: Option<String>,

    /// Output format [default: {default}]. br-json keeps `br log status --json`'s contract,
    /// not the plugin's: exit 0 with the document, else exit 1 and one line on stderr.
    /// zabbix-lld only with --list-tasks; prometheus not with it
    #[arg(long, value_name = "FORMAT", value_parser = format_values())]
    pub(super) format: Option<String>,

    /// Write the output to this file instead of stdout, atomically (a temp file in its
    /// directory, then renamed over it): e.g. a node_exporter textfile .prom file. A failed
    /// check still writes its result; a file that cannot be written leaves the old one
    /// and exits 3 with one line on stdout
    #[arg(long, value_name = "FILE")]
    pub(super) output: Option<PathBuf>,

    /// TOML config file (connection, thresholds, [tasks.<name>] overrides)
    #[arg(long, value_name = "FILE")]
    pub(super) config: Option<PathBuf>,

    /// Byte budget of the nagios output; long-output lines are dropped first [default: {default}]
    #[arg(long, value_name = "BYTES")]
    pub(super) max_output: Option<usize>,

    /// Evaluate as if the time were this (RFC 3339 UTC), for tests and replays
    #[arg(long, value_name = "TIME")]
    pub(super) now: Option<String>,

    /// Fleet mode: only check this `[[clusters]]` entry of the config (repeatable)
    #[arg(long, value_name = "NAME")]
    pub(super) cluster: Vec<String>,

    /// Fleet mode: clusters checked at once [default: {default}]
    #[arg(long, value_name = "N")]
    pub(super) parallel: Option<usize>,

    /// Also read each task's backup storage (read-only: GET and LIST): the restorable
    /// window, the storage checkpoint, the newest flush and the full-backup base
    #[arg(long)]
    pub(super) storage: bool,

    /// State when a task's backup storage cannot be read [default: {default}]
    #[arg(long, value_name = "STATE")]
    pub(super) storage_unreachable_state: Option<String>,

    /// Restorable window (seconds or durations) for WARNING, e.g. 7d: (warn below 7 days)
    #[arg(long, value_name = "RANGE", allow_hyphen_values = true)]
    pub(super) window_warning: Option<String>,

    /// Restorable window for CRITICAL, e.g. 1d:
    #[arg(long, value_name = "RANGE", allow_hyphen_values = true)]
    pub(super) window_critical: Option<String>,

    /// Age of the newest flush in the storage for WARNING, e.g. 15m
    #[arg(long, value_name = "RANGE", allow_hyphen_values = true)]
    pub(super) flush_age_warning: Option<String>,

    /// Age of the newest flush in the storage for CRITICAL
    #[arg(long, value_name = "RANGE", allow_hyphen_values = true)]
    pub(super) flush_age_critical: Option<String>,

    /// A snapshot (full) backup that can be the PITR base, as a storage URL (repeatable)
    #[arg(long = "full-backup", value_name = "URL")]
    pub(super) full_backup: Vec<String>,

    /// A prefix whose every child prefix holding a backupmeta is one snapshot backup (repeatable)
    #[arg(long = "full-backup-root", value_name = "URL")]
    pub(super) full_backup_root: Vec<String>,

    /// A storage endpoint a task's info may name besides the providers' own (AWS S3, GCS,
    /// Azure Blob); it gets the host's credentials. http:// only when written so (repeatable)
    #[arg(long = "allow-storage-endpoint", value_name = "URL")]
    pub(super) allow_storage_endpoint: Vec<String>,

    /// The most bytes one storage read holds, e.g. 16MiB; a larger object is a finding
    #[arg(long, value_name = "SIZE")]
    pub(super) storage_max_object: Option<String>,

    /// With --storage: prove every data file the log chain's metas reference exists whole,
    /// a few requests per run, from where the previous run stopped (needs the state file)
    #[arg(long)]
    pub(super) verify: bool,

    /// The requests --verify may send per task per run [default: {default}]
    #[arg(long, value_name = "N")]
    pub(super) verify_budget: Option<u32>,

    /// --verify reading every meta (a GET each): each file's length and every file of a
    /// flush proven, not only the file a v8.5.6+ meta's name points to (implies --verify)
    #[arg(long)]
    pub(super) verify_lengths: bool,
    /// A storage lock (truncating.lock, v1/LOCK.*, v1/APPEND_LOCK.*) older than this
    /// → WARNING: left by a truncation, compaction or restore that died [default: {default}]
    #[arg(long, value_name = "DURATION")]
    pub(super) storage_lock_stale: Option<String>,

    /// Age of the newest valid full backup for WARNING, e.g. 8d
    #[arg(long, value_name = "RANGE", allow_hyphen_values = true)]
    pub(super) full_age_warning: Option<String>,

    /// Age of the newest valid full backup for CRITICAL
    #[arg(long, value_name = "RANGE", allow_hyphen_values = true)]
    pub(super) full_age_critical: Option<String>,

    /// Under --full-backup-root: the newest backup attempt (a backup.lock or checkpoints/
    /// without a backupmeta) unfinished for longer than this → WARNING [default: {default}]
    #[arg(long, value_name = "DURATION")]
    pub(super) full_incomplete_warning: Option<String>,

    /// Fewer valid full backups than this inside the log window → WARNING (retention by
    /// count); no default
    #[arg(long, value_name = "N")]
    pub(super) full_min_count: Option<usize>,

    /// More detail: -v per-store lines, -vv the endpoint and revision read
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub(super) verbose: u8,
}

fn format_values() -> PossibleValuesParser {
    PossibleValuesParser::new(Format::ALL.iter().map(|f| {
        let value = PossibleValue::new(f.name());
        match f.description() {
            Some(text) => value.help(text),
            None => value,
        }
    }))
}

/// The `[default: …]` of each flag's help, read from the one home of each default.
fn help_defaults() -> Vec<(&'static str, String)> {
    let state = |s: State| s.as_str().to_ascii_lowercase();
    vec![
        ("pd", defaults::PD.to_string()),
        (
            "safepoint_warning",
            short_duration(policy::SAFEPOINT_WARNING),
        ),
        (
            "safepoint_critical",
            short_duration(policy::SAFEPOINT_CRITICAL),
        ),
        ("persist_lag", short_duration(policy::PERSIST_LAG)),
        ("lag_limit", short_duration(policy::LAG_LIMIT)),
        ("gc_hold_warning", short_duration(policy::GC_HOLD_WARNING)),
        ("flush_stale", short_duration(policy::FLUSH_STALE)),
        ("advancer_stale", short_duration(policy::ADVANCER_STALE)),
        ("gone_for", short_duration(policy::GONE_FOR)),
        ("verify_budget", crate::storage::VERIFY_BUDGET.to_string()),
        (
            "auto_pause_warning",
            short_duration(policy::AUTO_PAUSE_WARNING),
        ),
        (
            "auto_pause_critical",
            short_duration(policy::AUTO_PAUSE_CRITICAL),
        ),
        ("state_dir", statefile::DEFAULT_DIR_HELP.to_string()),
        ("warning", short_duration(policy::LAG_WARNING)),
        ("critical", short_duration(policy::LAG_CRITICAL)),
        ("paused_warning", short_duration(policy::PAUSED_LAG_WARNING)),
        (
            "paused_critical",
            short_duration(policy::PAUSED_LAG_CRITICAL),
        ),
        ("no_task_state", state(policy::NO_TASK_STATE)),
        ("unreachable_state", state(policy::UNREACHABLE_STATE)),
        ("timeout", short_duration(DEFAULT_TIMEOUT.as_secs())),
        ("format", Format::DEFAULT.name().to_string()),
        ("max_output", render::DEFAULT_MAX_BYTES.to_string()),
        ("parallel", defaults::PARALLEL.to_string()),
        (
            "storage_unreachable_state",
            state(policy::STORAGE_UNREACHABLE_STATE),
        ),
        (
            "storage_lock_stale",
            short_duration(policy::STORAGE_LOCK_STALE),
        ),
        (
            "full_incomplete_warning",
            short_duration(policy::FULL_INCOMPLETE_WARNING),
        ),
    ]
}

fn with_default(arg: Arg, value: &str) -> Arg {
    let fill = |text: String| text.replace("{default}", value);
    let help = arg.get_help().map(|h| fill(h.to_string()));
    let long = arg.get_long_help().map(|h| fill(h.to_string()));
    let arg = match help {
        Some(h) => arg.help(h),
        None => arg,
    };
    match long {
        Some(h) => arg.long_help(h),
        None => arg,
    }
}

/// The whole command line definition, help text included (also for the man page).
pub fn command() -> clap::Command {
    let defaults = help_defaults();
    // In place (mut_arg would move the argument to the end of the completions).
    Cli::command().mut_args(
        |arg| match defaults.iter().find(|(id, _)| arg.get_id() == *id) {
            Some((_, value)) => with_default(arg, value),
            None => arg,
        },
    )
}

impl Cli {
    pub(super) fn parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        // Filling the defaults into the help text costs as much as parsing: it is done
        // only when the help is shown.
        let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
        let matches = match Cli::command().try_get_matches_from(&args) {
            Ok(matches) => matches,
            Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => {
                command().try_get_matches_from(args)?
            }
            Err(e) => return Err(e),
        };
        Cli::from_arg_matches(&matches)
    }

    /// The flags that also exist in the config file, as a layer over it.
    pub(super) fn layer(&self) -> Layer {
        let some_vec = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
        Layer {
            name: None,
            clusters: Vec::new(),
            pd: some_vec(&self.pd),
            pd_api: some_vec(&self.pd_api),
            no_pd_api: self.no_pd_api.then_some(true),
            safepoint_warning: self.safepoint_warning.clone(),
            safepoint_critical: self.safepoint_critical.clone(),
            persist_lag: self.persist_lag.clone(),
            throughput: self.throughput.then_some(true),
            state_dir: self.state_dir.clone(),
            sample: self.sample.clone(),
            cacert: self.cacert.clone(),
            cert: self.cert.clone(),
            key: self.key.clone(),
            tls_server_name: self.tls_server_name.clone(),
            user: self.user.clone(),
            password: None,
            password_file: self.password_file.clone(),
            task: some_vec(&self.task),
            task_match: some_vec(&self.task_match),
            task_ignore: some_vec(&self.task_ignore),
            warning: self.warning.clone(),
            critical: self.critical.clone(),
            paused_warning: self.paused_warning.clone(),
            paused_critical: self.paused_critical.clone(),
            no_task_state: self.no_task_state.clone(),
            unreachable_state: self.unreachable_state.clone(),
            timeout: self.timeout.clone(),
            format: self.format.clone(),
            output: self.output.clone(),
            max_output: self.max_output,
            parallel: self.parallel,
            lag_limit: self.lag_limit.clone(),
            gc_hold_warning: self.gc_hold_warning.clone(),
            flush_stale: self.flush_stale.clone(),
            stuck_warning: self.stuck_warning.clone(),
            stuck_critical: self.stuck_critical.clone(),
            no_state: self.no_state.then_some(true),
            perfdata: some_vec(&self.perfdata),
            advancer_stale: self.advancer_stale.clone(),
            gone_for: self.gone_for.clone(),
            auto_pause_warning: self.auto_pause_warning.clone(),
            auto_pause_critical: self.auto_pause_critical.clone(),
            storage: self.storage.then_some(true),
            storage_unreachable_state: self.storage_unreachable_state.clone(),
            storage_credentials: None,
            window_warning: self.window_warning.clone(),
            window_critical: self.window_critical.clone(),
            flush_age_warning: self.flush_age_warning.clone(),
            flush_age_critical: self.flush_age_critical.clone(),
            full_backup: some_vec(&self.full_backup),
            full_backup_root: some_vec(&self.full_backup_root),
            allow_storage_endpoints: some_vec(&self.allow_storage_endpoint),
            storage_max_object: self.storage_max_object.clone(),
            verify: self.verify.then_some(true),
            verify_budget: self.verify_budget,
            verify_lengths: self.verify_lengths.then_some(true),
            storage_lock_stale: self.storage_lock_stale.clone(),
            full_age_warning: self.full_age_warning.clone(),
            full_age_critical: self.full_age_critical.clone(),
            full_incomplete_warning: self.full_incomplete_warning.clone(),
            full_min_count: self.full_min_count,
            tasks: Default::default(),
        }
    }
}
