//! The TOML config file: top-level keys, `[tasks.<name>]` overrides and `[[clusters]]`
//! entries. Every top-level key also has a command-line flag; flags win.

use super::layer::Layer;
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
pub(super) struct FileConfig {
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
    /// The keys that are also flags, as a layer (a `[[clusters]]` entry's own, or the
    /// top level's).
    pub(super) fn layer(&self) -> Layer {
        let many = |v: &Option<OneOrMany>| v.clone().map(OneOrMany::into_vec);
        Layer {
            pd: many(&self.pd),
            pd_api: many(&self.pd_api),
            no_pd_api: self.no_pd_api,
            safepoint_warning: self.safepoint_warning.clone(),
            safepoint_critical: self.safepoint_critical.clone(),
            persist_lag: self.persist_lag.clone(),
            throughput: self.throughput,
            state_dir: self.state_dir.clone(),
            sample: self.sample.clone(),
            cacert: self.cacert.clone(),
            cert: self.cert.clone(),
            key: self.key.clone(),
            tls_server_name: self.tls_server_name.clone(),
            user: self.user.clone(),
            password: self.password.clone(),
            password_file: self.password_file.clone(),
            task: many(&self.task),
            warning: self.warning.clone(),
            critical: self.critical.clone(),
            paused_warning: self.paused_warning.clone(),
            paused_critical: self.paused_critical.clone(),
            no_task_state: self.no_task_state.clone(),
            unreachable_state: self.unreachable_state.clone(),
            timeout: self.timeout.clone(),
            format: self.format.clone(),
            max_output: self.max_output,
            parallel: self.parallel,
            tasks: self.tasks.clone(),
        }
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
