//! Command line → one validated [`Options`] before any work starts.

use crate::config::{FileConfig, TaskOverride};
use crate::evaluate::{Policy, Thresholds};
use crate::model::Selection;
use crate::range::Range;
use crate::render::Format;
use crate::state::State;
use crate::tls::{Credentials, Secret, Tls};
use clap::Parser;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

pub const DEFAULT_PD: &str = "http://127.0.0.1:2379";

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
pub struct Cli {
    /// PD endpoint (its etcd client URL): http://host:2379, or host:port. Repeatable and
    /// comma-separated; tried one at a time. Default: config, then $TIDB_PD, then http://127.0.0.1:2379
    #[arg(long = "pd", value_name = "URL")]
    pub pd: Vec<String>,

    /// PD HTTP API endpoint for GC safepoints and stores (repeatable, comma-separated).
    /// Default: the --pd endpoints
    #[arg(long = "pd-api", value_name = "URL")]
    pub pd_api: Vec<String>,

    /// Do not ask PD's HTTP API: no GC safepoint, resume-deadline or store checks
    #[arg(long)]
    pub no_pd_api: bool,

    /// A paused task's resume deadline (when its GC protection expires) closer than this → WARNING [default: 6h]
    #[arg(long, value_name = "DURATION")]
    pub safepoint_warning: Option<String>,

    /// A paused task's resume deadline closer than this, or none at all → CRITICAL [default: 2h]
    #[arg(long, value_name = "DURATION")]
    pub safepoint_critical: Option<String>,

    /// central_global ahead of the restorable (storage) checkpoint by more than this → WARNING [default: 5m]
    #[arg(long, value_name = "DURATION")]
    pub persist_lag: Option<String>,

    /// Also read every Up TiKV's /metrics: KV events per second (rate against the previous
    /// run's sample), task status 2 and new fatal errors → CRITICAL
    #[arg(long)]
    pub throughput: bool,

    /// Where --throughput keeps the previous sample [default: $XDG_STATE_HOME or
    /// ~/.local/state/check_tidb_log_backup]
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    /// With --throughput and no previous sample: take a second sample this much later
    /// (within the deadline) instead of reporting no rate yet
    #[arg(long, value_name = "DURATION")]
    pub sample: Option<String>,

    /// CA certificate (PEM) to verify PD and TiKV; implies https for host:port endpoints
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,

    /// Client certificate (PEM) for mutual TLS (PD requires one when its CA is set)
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,

    /// Client private key (PEM: PKCS#8, SEC1 or PKCS#1) for --cert
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,

    /// Verify server certificates against this name instead of the endpoint's host
    #[arg(long, value_name = "NAME")]
    pub tls_server_name: Option<String>,

    /// etcd user (when PD's etcd has auth enabled). The password comes from
    /// $TIDB_LOG_BACKUP_PASSWORD, --password-file or the config file, never the command line
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,

    /// File holding the etcd password (first line)
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,

    /// Only check these tasks (repeatable); '*' means all. A named task that does not exist is CRITICAL
    #[arg(long = "task", value_name = "NAME")]
    pub task: Vec<String>,

    /// Checkpoint lag range of a running task for WARNING [default: 10m]
    #[arg(short = 'w', long, value_name = "RANGE", allow_hyphen_values = true)]
    pub warning: Option<String>,

    /// Checkpoint lag range of a running task for CRITICAL [default: 30m]
    #[arg(short = 'c', long, value_name = "RANGE", allow_hyphen_values = true)]
    pub critical: Option<String>,

    /// Checkpoint lag range of a paused task for WARNING [default: 2h]
    #[arg(long, value_name = "RANGE", allow_hyphen_values = true)]
    pub paused_warning: Option<String>,

    /// Checkpoint lag range of a paused task for CRITICAL [default: 12h]
    #[arg(long, value_name = "RANGE", allow_hyphen_values = true)]
    pub paused_critical: Option<String>,

    /// State when the cluster has no log backup task [default: critical]
    #[arg(long, value_name = "STATE")]
    pub no_task_state: Option<String>,

    /// State when PD's etcd cannot be read [default: critical]
    #[arg(long, value_name = "STATE")]
    pub unreachable_state: Option<String>,

    /// Deadline for the whole run, seconds or a duration; on expiry UNKNOWN [default: 10s]
    #[arg(short = 't', long, value_name = "DURATION")]
    pub timeout: Option<String>,

    /// Output format [default: nagios]. br-json keeps `br log status --json`'s contract,
    /// not the plugin's: exit 0 with the document, else exit 1 and one line on stderr
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,

    /// TOML config file (connection, thresholds, [tasks.<name>] overrides)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Byte budget of the nagios output; long-output lines are dropped first [default: 8192]
    #[arg(long, value_name = "BYTES")]
    pub max_output: Option<usize>,

    /// Evaluate as if the time were this (RFC 3339 UTC), for tests and replays
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,

    /// Fleet mode: only check this `[[clusters]]` entry of the config (repeatable)
    #[arg(long, value_name = "NAME")]
    pub cluster: Vec<String>,

    /// Fleet mode: clusters checked at once [default: 8]
    #[arg(long, value_name = "N")]
    pub parallel: Option<usize>,

    /// More detail: -v per-store lines, -vv the endpoint and revision read
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// Environment variables the options read (passed in, so tests never touch the process).
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// `$TIDB_PD`
    pub pd: Option<String>,
    /// `$TIDB_LOG_BACKUP_PASSWORD`
    pub password: Option<String>,
}

impl Env {
    pub fn from_process() -> Env {
        Env {
            pd: std::env::var("TIDB_PD").ok(),
            password: std::env::var("TIDB_LOG_BACKUP_PASSWORD").ok(),
        }
    }
}

/// `--throughput` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throughput {
    pub state_dir: PathBuf,
    pub sample: Option<Duration>,
}

/// Everything a run needs, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub endpoints: Vec<String>,
    /// PD HTTP endpoints; `None` when `--no-pd-api`.
    pub pd_api: Option<Vec<String>>,
    /// `None` unless `--throughput`.
    pub throughput: Option<Throughput>,
    /// TLS for all three channels (etcd, PD HTTP, TiKV status).
    pub tls: Option<Tls>,
    /// etcd user and password.
    pub credentials: Option<Credentials>,
    /// Warnings about the set-up itself (files holding secrets readable by others).
    pub notices: Vec<String>,
    pub selection: Selection,
    pub policy: Policy,
    pub unreachable_state: State,
    pub timeout: Duration,
    pub format: Format,
    pub max_output: usize,
    pub verbosity: u8,
    pub now: Option<SystemTime>,
    /// The configured name of this cluster (fleet mode).
    pub cluster: Option<String>,
    /// Fleet mode: one entry per selected `[[clusters]]` entry; empty for one cluster.
    pub fleet: Vec<Options>,
    /// Fleet mode: how many clusters are checked at once.
    pub parallel: usize,
}

fn range(text: &str, what: &str) -> Result<Range, String> {
    Range::parse(text).map_err(|e| format!("invalid {what} range: {e}"))
}

fn state(text: &str, what: &str) -> Result<State, String> {
    State::parse(text)
        .ok_or_else(|| format!("invalid {what} '{text}' (want ok, warning, critical or unknown)"))
}

/// `3600`, `6h`, `1h30m` → whole seconds (zero allowed: disables the warning).
pub fn parse_seconds(text: &str, what: &str) -> Result<u64, String> {
    let t = text.trim();
    let parsed = match t.parse::<u64>() {
        Ok(secs) => Some(secs),
        Err(_) => humantime::parse_duration(t).ok().map(|d| d.as_secs()),
    };
    parsed.ok_or_else(|| format!("invalid {what} '{text}' (want seconds or a duration such as 6h)"))
}

/// `10`, `10s`, `1m30s` → a positive duration.
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let parsed = match t.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 && secs < 1e9 => {
            Some(Duration::from_secs_f64(secs))
        }
        Ok(_) => None,
        Err(_) => humantime::parse_duration(t).ok().filter(|d| !d.is_zero()),
    };
    parsed
        .ok_or_else(|| format!("invalid timeout '{text}' (want seconds or a duration such as 10s)"))
}

/// `host:port` → `http://host:port` (or `https://` when TLS is configured); checks the
/// scheme. An explicit `http://` with TLS settings is an error: TLS is never silently dropped.
pub fn normalize_endpoint(text: &str, tls: bool) -> Result<String, String> {
    let t = text.trim().trim_end_matches('/');
    if t.is_empty() {
        return Err("empty --pd endpoint".to_string());
    }
    for scheme in ["http://", "https://"] {
        if let Some(rest) = t.strip_prefix(scheme) {
            if !is_host_port(rest) {
                return Err(format!("invalid endpoint '{t}' (want {scheme}host:port)"));
            }
            if scheme == "http://" && tls {
                return Err(format!(
                    "endpoint {t} is plain http:// but --cacert/--cert/--key are given: use https:// or host:port"
                ));
            }
            return Ok(t.to_string());
        }
    }
    if !is_host_port(t) {
        return Err(format!(
            "invalid endpoint '{t}' (want http://host:port, https://host:port or host:port)"
        ));
    }
    Ok(format!("{}://{t}", if tls { "https" } else { "http" }))
}

/// `host:port` with a DNS name, an IPv4 address or a bracketed IPv6 address and a port
/// 1-65535: anything else is a typo better reported as a usage error than as an
/// unreachable cluster.
fn is_host_port(text: &str) -> bool {
    let (host, port) = if let Some(v6) = text.strip_prefix('[') {
        match v6.split_once("]:") {
            Some((addr, port)) => (addr, port),
            None => return false,
        }
    } else {
        match text.rsplit_once(':') {
            Some((host, port)) => (host, port),
            None => return false,
        }
    };
    let host_ok = if text.starts_with('[') {
        host.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    };
    host_ok && port.parse::<u16>().is_ok_and(|p| p > 0)
}

fn endpoints(values: &[String], tls: bool) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for value in values {
        for part in value.split(',').filter(|p| !p.trim().is_empty()) {
            let endpoint = normalize_endpoint(part, tls)?;
            if !out.contains(&endpoint) {
                out.push(endpoint);
            }
        }
    }
    if out.is_empty() {
        return Err("no PD endpoint given".to_string());
    }
    Ok(out)
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

impl Cli {
    /// Merges flags over the config file over the environment over defaults.
    /// `env_pd` is `$TIDB_PD`, passed in so tests do not touch the process environment.
    pub fn into_options(self, env_pd: Option<String>) -> Result<Options, String> {
        self.into_options_with(Env {
            pd: env_pd,
            password: None,
        })
    }

    /// Like [`Cli::into_options`], with every environment variable passed in. A config
    /// with `[[clusters]]` gives one [`Options`] per selected cluster in `fleet`.
    pub fn into_options_with(self, env: Env) -> Result<Options, String> {
        let file = match &self.config {
            Some(path) => FileConfig::load(path)?,
            None => FileConfig::default(),
        };
        let mut top = file.clone();
        top.clusters.clear();
        if file.clusters.is_empty() {
            if !self.cluster.is_empty() {
                return Err("--cluster needs a config file with [[clusters]]".to_string());
            }
            return self.build(&top, &env);
        }
        if !self.pd.is_empty() {
            return Err("--pd cannot be combined with [[clusters]] in the config: pick clusters with --cluster".to_string());
        }
        let mut fleet = Vec::new();
        let mut seen = Vec::new();
        for entry in &file.clusters {
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
                || entry.max_output.is_some()
                || entry.parallel.is_some()
            {
                return Err(format!("cluster {name}: clusters, timeout, format, max_output and parallel are run-wide settings"));
            }
            if entry.pd.is_none() {
                return Err(format!("cluster {name} has no pd endpoints"));
            }
            if !self.cluster.is_empty() && !self.cluster.contains(&name) {
                continue;
            }
            let merged = top.merged_with(entry);
            let mut options = self
                .build(&merged, &env)
                .map_err(|e| format!("cluster {name}: {e}"))?;
            options.cluster = Some(name);
            fleet.push(options);
        }
        if let Some(unknown) = self.cluster.iter().find(|c| !seen.contains(c)) {
            return Err(format!(
                "--cluster {unknown}: no such [[clusters]] entry in the config"
            ));
        }
        let mut options = self.build(&top, &env)?;
        if options.format == Format::BrJson && fleet.len() != 1 {
            return Err(
                "--format br-json shows one cluster, as br log status does: pick it with --cluster"
                    .to_string(),
            );
        }
        options.fleet = fleet;
        Ok(options)
    }

    /// One cluster's options from the flags over `file` (already merged) over the environment.
    fn build(&self, file: &FileConfig, env: &Env) -> Result<Options, String> {
        let env_pd = env.pd.clone();
        let mut notices = Vec::new();
        let tls = Tls::load(
            self.cacert.as_deref().or(file.cacert.as_deref()),
            self.cert.as_deref().or(file.cert.as_deref()),
            self.key.as_deref().or(file.key.as_deref()),
            self.tls_server_name
                .clone()
                .or(file.tls_server_name.clone()),
        )?;
        let password_file = self.password_file.clone().or(file.password_file.clone());
        let password = match (
            &password_file,
            env.password.clone().filter(|p| !p.is_empty()),
            &file.password,
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
                if let Some(config) = self.config.as_deref().filter(|c| world_readable(c)) {
                    notices.push(format!(
                        "config {} holds a password and is readable by others: chmod 640 it",
                        config.display()
                    ));
                }
                Some(p.clone())
            }
            (None, None, None) => None,
        };
        let credentials = match (self.user.clone().or(file.user.clone()), password) {
            (Some(user), Some(password)) => Some(Credentials { user, password }),
            (Some(_), None) => {
                return Err("--user needs a password: $TIDB_LOG_BACKUP_PASSWORD, --password-file or the config's password".to_string())
            }
            (None, Some(_)) => return Err("a password is set but no --user".to_string()),
            (None, None) => None,
        };
        let tls_on = tls
            .as_ref()
            .is_some_and(|t| t.ca.is_some() || t.cert.is_some());
        let pick = |flag: Option<String>, file: Option<String>| flag.or(file);
        let pd = if !self.pd.is_empty() {
            self.pd.clone()
        } else if let Some(pd) = file.pd.clone() {
            pd.into_vec()
        } else if let Some(env) = env_pd.filter(|e| !e.trim().is_empty()) {
            vec![env]
        } else {
            vec![DEFAULT_PD.to_string()]
        };
        let tasks = if !self.task.is_empty() {
            self.task.clone()
        } else {
            file.task.clone().map(|t| t.into_vec()).unwrap_or_default()
        };
        let defaults = Thresholds::default();
        let thresholds = Thresholds {
            warning: pick(self.warning.clone(), file.warning.clone())
                .map_or(Ok(defaults.warning), |t| range(&t, "warning"))?,
            critical: pick(self.critical.clone(), file.critical.clone())
                .map_or(Ok(defaults.critical), |t| range(&t, "critical"))?,
            paused_warning: pick(self.paused_warning.clone(), file.paused_warning.clone())
                .map_or(Ok(defaults.paused_warning), |t| range(&t, "paused-warning"))?,
            paused_critical: pick(self.paused_critical.clone(), file.paused_critical.clone())
                .map_or(Ok(defaults.paused_critical), |t| {
                    range(&t, "paused-critical")
                })?,
        };
        let mut per_task = std::collections::BTreeMap::new();
        for (name, o) in &file.tasks {
            per_task.insert(name.clone(), override_thresholds(&thresholds, o, name)?);
        }
        let format = match (self.format, &file.format) {
            (Some(f), _) => f,
            (None, Some(text)) => {
                <Format as clap::ValueEnum>::from_str(text, true).map_err(|_| {
                    format!(
                        "invalid format '{text}' in config (want nagios, ndjson, table or br-json)"
                    )
                })?
            }
            (None, None) => Format::Nagios,
        };
        Ok(Options {
            endpoints: endpoints(&pd, tls_on)?,
            tls,
            credentials,
            notices,
            selection: Selection::from_names(&tasks),
            pd_api: if self.no_pd_api || file.no_pd_api == Some(true) {
                None
            } else if !self.pd_api.is_empty() {
                Some(endpoints(&self.pd_api, tls_on)?)
            } else if let Some(api) = file.pd_api.clone() {
                Some(endpoints(&api.into_vec(), tls_on)?)
            } else {
                Some(endpoints(&pd, tls_on)?)
            },
            throughput: if self.throughput || file.throughput == Some(true) {
                Some(Throughput {
                    state_dir: self
                        .state_dir
                        .clone()
                        .or(file.state_dir.clone())
                        .unwrap_or_else(crate::throughput::default_state_dir),
                    sample: pick(self.sample.clone(), file.sample.clone())
                        .map(|t| parse_timeout(&t))
                        .transpose()?,
                })
            } else {
                None
            },
            policy: Policy {
                defaults: thresholds,
                per_task,
                no_task_state: pick(self.no_task_state.clone(), file.no_task_state.clone())
                    .map_or(Ok(State::Critical), |t| state(&t, "no-task-state"))?,
                safepoint_warning: pick(
                    self.safepoint_warning.clone(),
                    file.safepoint_warning.clone(),
                )
                .map_or(Ok(6 * 3600), |t| parse_seconds(&t, "safepoint-warning"))?,
                safepoint_critical: pick(
                    self.safepoint_critical.clone(),
                    file.safepoint_critical.clone(),
                )
                .map_or(Ok(2 * 3600), |t| parse_seconds(&t, "safepoint-critical"))?,
                persist_lag: pick(self.persist_lag.clone(), file.persist_lag.clone())
                    .map_or(Ok(300), |t| parse_seconds(&t, "persist-lag"))?,
            },
            unreachable_state: pick(
                self.unreachable_state.clone(),
                file.unreachable_state.clone(),
            )
            .map_or(Ok(State::Critical), |t| state(&t, "unreachable-state"))?,
            timeout: pick(self.timeout.clone(), file.timeout.clone())
                .map_or(Ok(Duration::from_secs(10)), |t| parse_timeout(&t))?,
            format,
            max_output: self.max_output.or(file.max_output).unwrap_or(8192).max(256),
            verbosity: self.verbose.min(3),
            now: self.now.as_deref().map(crate::tso::parse_now).transpose()?,
            cluster: None,
            fleet: Vec::new(),
            parallel: self.parallel.or(file.parallel).unwrap_or(8).max(1),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(args: &[&str]) -> Result<Options, String> {
        let mut argv = vec!["check_tidb_log_backup"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv)
            .map_err(|e| e.to_string())?
            .into_options(None)
    }

    #[test]
    fn defaults_follow_the_official_alert_rules() {
        let o = options(&[]).unwrap();
        assert_eq!(o.endpoints, vec![DEFAULT_PD]);
        assert_eq!(o.policy.defaults, Thresholds::default());
        assert_eq!(o.policy.defaults.warning.to_string(), "600");
        assert_eq!(o.policy.defaults.paused_critical.to_string(), "43200");
        assert_eq!(o.timeout, Duration::from_secs(10));
        assert_eq!(o.format, Format::Nagios);
        assert_eq!(o.selection, Selection::All);
    }

    #[test]
    fn endpoints_accept_repeats_comma_lists_and_bare_host_port() {
        let o = options(&["--pd", "a:1,http://b:2", "--pd", "c:3", "--pd", "a:1"]).unwrap();
        assert_eq!(o.endpoints, vec!["http://a:1", "http://b:2", "http://c:3"]);
        assert!(options(&["--pd", "ftp://x:1"]).is_err());
        assert!(options(&["--pd", ","]).is_err());
        assert_eq!(
            options(&["--pd", "[::1]:2379"]).unwrap().endpoints,
            vec!["http://[::1]:2379"]
        );
        for bad in [
            "bogus url",
            "host",
            "host:",
            "host:0",
            "host:99999",
            "http://host",
            "http://a b:1",
            "[::1]",
            "[zz]:1",
            "http://h:1/path",
        ] {
            let e = options(&["--pd", bad]).unwrap_err();
            assert!(e.contains(&format!("'{}'", bad.trim())), "{bad}: {e}");
        }
        let e = options(&["--pd-api", "bogus url"]).unwrap_err();
        assert!(e.contains("'bogus url'"), "{e}");
    }

    #[test]
    fn env_is_a_fallback_after_flags_and_config() {
        let cli = Cli::try_parse_from(["x"]).unwrap();
        assert_eq!(
            cli.into_options(Some("e:1".into())).unwrap().endpoints,
            vec!["http://e:1"]
        );
        let cli = Cli::try_parse_from(["x", "--pd", "f:1"]).unwrap();
        assert_eq!(
            cli.into_options(Some("e:1".into())).unwrap().endpoints,
            vec!["http://f:1"]
        );
    }

    #[test]
    fn thresholds_take_durations_and_ranges() {
        let o = options(&[
            "-w",
            "15m",
            "-c",
            "@1h:2h",
            "--paused-warning",
            "~:3h",
            "-t",
            "2.5",
        ])
        .unwrap();
        assert_eq!(o.policy.defaults.warning.to_string(), "900");
        assert_eq!(o.policy.defaults.critical.to_string(), "@3600:7200");
        assert_eq!(o.policy.defaults.paused_warning.to_string(), "~:10800");
        assert_eq!(o.timeout, Duration::from_millis(2500));
    }

    #[test]
    fn invalid_values_are_clear_errors() {
        assert!(options(&["-w", "20:10"])
            .unwrap_err()
            .contains("invalid warning range"));
        assert!(options(&["--no-task-state", "maybe"])
            .unwrap_err()
            .contains("no-task-state"));
        assert!(options(&["-t", "0"]).unwrap_err().contains("timeout"));
        assert!(options(&["--now", "yesterday"])
            .unwrap_err()
            .contains("--now"));
    }

    #[test]
    fn pd_api_and_throughput_settings() {
        let o = options(&["--pd", "a:1"]).unwrap();
        assert_eq!(
            o.pd_api,
            Some(vec!["http://a:1".to_string()]),
            "defaults to the --pd endpoints"
        );
        assert_eq!(o.throughput, None);
        assert_eq!(
            (
                o.policy.safepoint_warning,
                o.policy.safepoint_critical,
                o.policy.persist_lag
            ),
            (21_600, 7_200, 300)
        );
        let o = options(&["--pd", "a:1", "--pd-api", "b:2,c:3"]).unwrap();
        assert_eq!(
            o.pd_api,
            Some(vec!["http://b:2".to_string(), "http://c:3".to_string()])
        );
        assert_eq!(
            options(&["--no-pd-api", "--pd-api", "b:2"]).unwrap().pd_api,
            None
        );
        let o = options(&[
            "--throughput",
            "--state-dir",
            "/tmp/x",
            "--sample",
            "1s",
            "--safepoint-warning",
            "8h",
            "--safepoint-critical",
            "90m",
            "--persist-lag",
            "120",
        ])
        .unwrap();
        assert_eq!(
            o.throughput,
            Some(Throughput {
                state_dir: PathBuf::from("/tmp/x"),
                sample: Some(Duration::from_secs(1))
            })
        );
        assert_eq!(
            (
                o.policy.safepoint_warning,
                o.policy.safepoint_critical,
                o.policy.persist_lag
            ),
            (28_800, 5_400, 120)
        );
        assert!(options(&["--persist-lag", "soon"])
            .unwrap_err()
            .contains("persist-lag"));
    }

    #[test]
    fn wildcard_selects_all_tasks() {
        assert_eq!(options(&["--task", "*"]).unwrap().selection, Selection::All);
        assert_eq!(
            options(&["--task", "a", "--task", "b"]).unwrap().selection,
            Selection::Named(vec!["a".into(), "b".into()])
        );
    }
}
