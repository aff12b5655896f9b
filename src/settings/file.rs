//! The TOML config file: top-level keys, `[tasks.<name>]` overrides and `[[clusters]]`
//! entries, read straight into a [`Layer`]. Every top-level key also has a command-line
//! flag; flags win.

use super::layer::Layer;
use std::path::Path;

/// The config text → a layer; errors in one line, naming the line.
pub(super) fn parse(text: &str) -> Result<Layer, String> {
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

pub(super) fn load(path: &Path) -> Result<Layer, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read config {}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("config {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_config() {
        let config = parse(
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
        assert_eq!(config.pd.unwrap().len(), 2);
        assert_eq!(config.task, Some(vec!["pitr".to_string()]));
        assert_eq!(config.tasks["pitr"].critical.as_deref(), Some("1h"));
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = parse("pd = \"x\"\nwarnign = \"1m\"\n").unwrap_err();
        assert!(err.contains("warnign") && err.contains("line 2"), "{err}");
        let err = parse("[tasks.pitr]\ncritcal = \"1h\"\n").unwrap_err();
        assert!(err.contains("critcal"), "{err}");
        assert!(!err.contains('\n'));
    }
}
