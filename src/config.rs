//! The TOML config file. Every key also has a command-line flag; flags win.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// `pd = "a:2379"` or `pd = ["a:2379", "b:2379"]`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// A `[[clusters]]` entry's name (fleet mode).
    pub name: Option<String>,
    /// Fleet mode: one entry per cluster, each inheriting the top-level settings.
    #[serde(default)]
    pub clusters: Vec<FileConfig>,
    pub parallel: Option<usize>,
    pub pd: Option<OneOrMany>,
    pub pd_api: Option<OneOrMany>,
    pub no_pd_api: Option<bool>,
    pub safepoint_warning: Option<String>,
    pub safepoint_critical: Option<String>,
    pub persist_lag: Option<String>,
    pub throughput: Option<bool>,
    pub cacert: Option<std::path::PathBuf>,
    pub cert: Option<std::path::PathBuf>,
    pub key: Option<std::path::PathBuf>,
    pub tls_server_name: Option<String>,
    pub user: Option<String>,
    /// The etcd password; keep the file mode 0640 or stricter.
    pub password: Option<crate::tls::Secret>,
    pub password_file: Option<std::path::PathBuf>,
    pub state_dir: Option<std::path::PathBuf>,
    pub sample: Option<String>,
    /// Task names to check (`*` = all).
    pub task: Option<OneOrMany>,
    pub warning: Option<String>,
    pub critical: Option<String>,
    pub paused_warning: Option<String>,
    pub paused_critical: Option<String>,
    pub no_task_state: Option<String>,
    pub unreachable_state: Option<String>,
    pub timeout: Option<String>,
    pub format: Option<String>,
    pub max_output: Option<usize>,
    /// Per-task threshold overrides: `[tasks.<name>]`.
    #[serde(default)]
    pub tasks: BTreeMap<String, TaskOverride>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TaskOverride {
    pub warning: Option<String>,
    pub critical: Option<String>,
    pub paused_warning: Option<String>,
    pub paused_critical: Option<String>,
}

impl FileConfig {
    /// A `[[clusters]]` entry over the top-level settings: the entry's keys win, and its
    /// `[tasks.<name>]` overrides replace the top-level ones for the same task.
    pub fn merged_with(&self, entry: &FileConfig) -> FileConfig {
        macro_rules! pick {
            ($($field:ident),*) => { FileConfig { $($field: entry.$field.clone().or_else(|| self.$field.clone()),)* clusters: Vec::new(), tasks: {
                let mut tasks = self.tasks.clone();
                tasks.extend(entry.tasks.clone());
                tasks
            } } };
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
            warning,
            critical,
            paused_warning,
            paused_critical,
            no_task_state,
            unreachable_state,
            timeout,
            format,
            max_output
        )
    }

    pub fn parse(text: &str) -> Result<FileConfig, String> {
        // toml's message spans several lines (with a source excerpt); keep the first.
        toml::from_str(text).map_err(|e| {
            let message = e.message().to_string();
            match e.span() {
                Some(span) => {
                    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                    format!("line {line}: {message}")
                }
                None => message,
            }
        })
    }

    pub fn load(path: &Path) -> Result<FileConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read config {}: {e}", path.display()))?;
        FileConfig::parse(&text).map_err(|e| format!("config {}: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_config() {
        let config = FileConfig::parse(
            r#"
            pd = ["http://pd1:2379", "pd2:2379"]
            task = "pitr"
            warning = "15m"
            paused_critical = "1d"
            timeout = "8s"
            [tasks.pitr]
            critical = "1h"
            "#,
        )
        .unwrap();
        assert_eq!(config.pd.unwrap().into_vec().len(), 2);
        assert_eq!(config.task, Some(OneOrMany::One("pitr".into())));
        assert_eq!(config.tasks["pitr"].critical.as_deref(), Some("1h"));
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = FileConfig::parse("pd = \"x\"\nwarnign = \"1m\"\n").unwrap_err();
        assert!(err.contains("warnign") && err.contains("line 2"), "{err}");
        let err = FileConfig::parse("[tasks.pitr]\ncritcal = \"1h\"\n").unwrap_err();
        assert!(err.contains("critcal"), "{err}");
        assert!(!err.contains('\n'));
    }
}
