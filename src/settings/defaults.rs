//! Run-wide defaults, each in one place (the rules' defaults live in judge/policy.rs);
//! the help text reads them from here.

use super::Env;
use crate::render::Format;
use std::path::PathBuf;
use std::time::Duration;

/// PD's etcd when neither a flag, the config nor `$TIDB_PD` names one.
pub const PD: &str = "http://127.0.0.1:2379";
/// The whole run's deadline (`-t`).
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// The nagios output's byte budget: Nagios Core's 8 KiB plugin output buffer.
pub const MAX_OUTPUT: usize = 8192;
/// Below this there is no room for a summary and any perfdata.
pub const MAX_OUTPUT_FLOOR: usize = 256;
/// Fleet mode: clusters checked at once.
pub const PARALLEL: usize = 8;
pub const FORMAT: Format = Format::Nagios;
/// `-vvv` and more are `-vvv`.
pub const MAX_VERBOSITY: u8 = 3;
/// How the help text names [`state_dir`].
pub const STATE_DIR_HELP: &str = "$XDG_STATE_HOME or ~/.local/state/check_tidb_log_backup";

/// `$XDG_STATE_HOME/check_tidb_log_backup`, `~/.local/state/check_tidb_log_backup`,
/// else `/tmp/check_tidb_log_backup-<user>`: per user, because the engines run the check
/// as different users (nagios, icinga, telegraf, vector, root from cron).
pub fn state_dir(env: &Env) -> PathBuf {
    let set =
        |v: &Option<std::ffi::OsString>| v.clone().filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = set(&env.state_home) {
        return dir.join("check_tidb_log_backup");
    }
    if let Some(home) = set(&env.home) {
        return home.join(".local/state/check_tidb_log_backup");
    }
    let user = env.user.clone().unwrap_or_else(|| "unknown".to_string());
    std::env::temp_dir().join(format!("check_tidb_log_backup-{user}"))
}
