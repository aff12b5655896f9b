//! Generates the man page and shell completions from the clap definition in `src/settings/cli.rs`:
//! `cargo run --example gen_docs -- OUT_DIR [DATE]` (used by `packaging/build`).
//!
//! Writes `OUT_DIR/check_tidb_log_backup.1` (roff, not compressed) and
//! `OUT_DIR/completions/{check_tidb_log_backup.bash,_check_tidb_log_backup,check_tidb_log_backup.fish}`.
//! DATE (`YYYY-MM-DD`) goes into the man page header; the packaging script passes the
//! date of the last commit so that rebuilds are reproducible.
// A developer tool: printing is its job (the check itself never prints directly).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use check_tidb_log_backup::settings;
use clap_complete::Shell;
use std::io::Write;
use std::path::Path;

const BIN: &str = "check_tidb_log_backup";

/// Text for a roff line: backslashes and hyphens escaped, no leading control character.
fn roff_text(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// Sections clap does not know about, in man-pages(7) order after OPTIONS.
/// Each entry: (heading, [(tag, paragraph)]); tag "" is a plain paragraph, "$" a command line.
type Section = (&'static str, &'static [(&'static str, &'static str)]);

const EXTRA_SECTIONS: &[Section] = &[
    (
        "EXIT STATUS",
        &[
            ("0", "OK: every task and finding is OK."),
            ("1", "WARNING: the worst state is WARNING."),
            (
                "2",
                "CRITICAL: the worst state is CRITICAL, including PD's etcd unreachable and no log backup task (both configurable).",
            ),
            (
                "3",
                "UNKNOWN: the worst state is UNKNOWN; also --help, --version, usage errors, config file errors, the -t deadline and internal errors.",
            ),
        ],
    ),
    (
        "ENVIRONMENT",
        &[
            ("TIDB_PD", "PD endpoint used when neither --pd nor the config file names one."),
            (
                "TIDB_LOG_BACKUP_PASSWORD",
                "etcd password for --user (after --password-file, before the config file's password). Prefer it to any command-line form: the command line is visible in ps.",
            ),
            (
                "XDG_STATE_HOME",
                "The default --state-dir is $XDG_STATE_HOME/check_tidb_log_backup; when that variable is unset or not an absolute path, $HOME/.local/state/check_tidb_log_backup; when neither can be created, /var/lib/check_tidb_log_backup (see FILES).",
            ),
            ("HOME", "See XDG_STATE_HOME."),
        ],
    ),
    (
        "FILES",
        &[
            (
                "/etc/check_tidb_log_backup/config.toml",
                "Example configuration installed by the packages (mode 0640, group of the monitoring user). Read only when given with --config. Keys are the long option names with _ instead of -, plus [tasks.NAME] tables for per-task thresholds.",
            ),
            (
                "/var/lib/check_tidb_log_backup/",
                "State directory created by the packages (mode 0700, owned by the monitoring user): the default --state-dir when neither $XDG_STATE_HOME nor $HOME gives one. Like any state directory it is refused, and no state is kept, when it is a symlink, is not owned by the running user, or is writable by group or others.",
            ),
            (
                "/usr/share/doc/check-tidb-log-backup/examples/",
                "Icinga 2 CheckCommand, Nagios command and service definitions, NRPE, Telegraf, Vector and cron examples; Prometheus alert rules and a cron / systemd-timer recipe (prometheus/); Zabbix agent 2 user parameters and a template (zabbix/).",
            ),
        ],
    ),
    (
        "EXAMPLES",
        &[
            ("", "Check every task of a cluster with two PD members:"),
            (
                "$",
                "check_tidb_log_backup --pd http://pd-1:2379,http://pd-2:2379 \\\n    -w 10m -c 30m -t 20",
            ),
            ("", "NDJSON events for a log pipeline, settings from the config file:"),
            (
                "$",
                "check_tidb_log_backup --format ndjson \\\n    --config /etc/check_tidb_log_backup/config.toml",
            ),
            (
                "",
                "For node_exporter's textfile collector, written atomically (from cron or a systemd timer):",
            ),
            (
                "$",
                "check_tidb_log_backup --config /etc/check_tidb_log_backup/config.toml \\\n    --format prometheus --output /var/lib/prometheus/node-exporter/tidb_log_backup.prom",
            ),
            ("", "Zabbix low-level discovery of the tasks:"),
            (
                "$",
                "check_tidb_log_backup --pd http://pd-1:2379 --list-tasks --format zabbix-lld",
            ),
            ("", "Mutual TLS and etcd authentication, password from the environment:"),
            (
                "$",
                "TIDB_LOG_BACKUP_PASSWORD=... check_tidb_log_backup --pd pd-1:2379 \\\n    --cacert ca.pem --cert client.pem --key client-key.pem --user checker",
            ),
        ],
    ),
    (
        "SEE ALSO",
        &[(
            "",
            "/usr/share/doc/check-tidb-log-backup/README.md, and the Monitoring Plugins development guidelines for the output and threshold range format.",
        )],
    ),
];

fn extra_sections(out: &mut impl Write) -> std::io::Result<()> {
    for (heading, entries) in EXTRA_SECTIONS {
        writeln!(out, ".SH \"{heading}\"")?;
        for (tag, text) in entries.iter() {
            if tag.is_empty() {
                writeln!(out, ".PP")?;
                writeln!(out, "{}", roff_text(text))?;
            } else if *tag == "$" {
                writeln!(out, ".PP")?;
                writeln!(out, ".RS 4")?;
                writeln!(out, ".nf")?;
                for line in text.lines() {
                    writeln!(out, "{}", roff_text(line))?;
                }
                writeln!(out, ".fi")?;
                writeln!(out, ".RE")?;
            } else {
                writeln!(out, ".TP")?;
                writeln!(out, "\\fB{}\\fR", roff_text(tag))?;
                writeln!(out, "{}", roff_text(text))?;
            }
        }
    }
    Ok(())
}

fn man_page(out_dir: &Path, date: Option<&str>) -> std::io::Result<()> {
    let cmd = settings::command();
    let version = cmd.get_version().unwrap_or_default().to_string();
    let mut man = clap_mangen::Man::new(cmd)
        .section("1")
        .source(format!("{BIN} {version}"))
        .manual("Monitoring Plugins");
    if let Some(date) = date {
        man = man.date(date);
    }
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    extra_sections(&mut page)?;
    man.render_version_section(&mut page)?;
    std::fs::write(out_dir.join(format!("{BIN}.1")), page)
}

fn completions(out_dir: &Path) -> std::io::Result<()> {
    let dir = out_dir.join("completions");
    std::fs::create_dir_all(&dir)?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let mut cmd = settings::command();
        clap_complete::generate_to(shell, &mut cmd, BIN, &dir)?;
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() || args.len() > 2 || args[0].starts_with('-') {
        eprintln!("usage: gen_docs OUT_DIR [YYYY-MM-DD]");
        std::process::exit(2);
    }
    let out_dir = Path::new(&args[0]);
    let result = std::fs::create_dir_all(out_dir)
        .and_then(|_| man_page(out_dir, args.get(1).map(String::as_str)))
        .and_then(|_| completions(out_dir));
    if let Err(e) = result {
        eprintln!("gen_docs: writing into {}: {e}", out_dir.display());
        std::process::exit(1);
    }
    println!("man page and completions written to {}", out_dir.display());
}
