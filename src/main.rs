use check_tidb_log_backup::cli::Cli;
use check_tidb_log_backup::deadline;
use check_tidb_log_backup::render::{renderer, Format, Outcome, RenderOptions};
use check_tidb_log_backup::state::State;
use check_tidb_log_backup::tso;
use clap::Parser;
use std::io::IsTerminal;
use std::sync::OnceLock;
use std::time::{Instant, SystemTime};

/// The chosen format, for results produced outside the normal path (panic, usage error).
static FORMAT: OnceLock<Format> = OnceLock::new();

fn fail(state: State, message: String, started: Instant) -> (String, i32) {
    let format = FORMAT.get().copied().unwrap_or(Format::Nagios);
    let outcome = Outcome::Failed {
        state,
        message,
        now_ms: tso::unix_ms(SystemTime::now()),
    };
    let options = RenderOptions {
        duration_ms: started.elapsed().as_millis() as u64,
        ..RenderOptions::default()
    };
    (
        renderer(format).render(&outcome, &options),
        state.exit_code(),
    )
}

/// Before flags are parsed: was ndjson asked for? (so a usage error is still one JSON line)
fn format_from_args() -> Format {
    let args: Vec<String> = std::env::args().collect();
    let asked = args
        .windows(2)
        .any(|w| w[0] == "--format" && w[1] == "ndjson")
        || args.iter().any(|a| a == "--format=ndjson");
    if asked {
        Format::Ndjson
    } else {
        Format::Nagios
    }
}

fn main() {
    let started = Instant::now();
    std::panic::set_hook(Box::new(move |info| {
        let message = match info.payload().downcast_ref::<&str>() {
            Some(s) => s.to_string(),
            None => info
                .payload()
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_else(|| "panic".to_string()),
        };
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let (text, code) = fail(
            State::Unknown,
            format!("internal error: {message}{location}"),
            started,
        );
        deadline::emit_and_exit(&text, code);
    }));

    // Debug builds only: lets the tests prove that a panic still ends in one UNKNOWN line.
    if cfg!(debug_assertions) && std::env::var_os("CHECK_TIDB_LOG_BACKUP_TEST_PANIC").is_some() {
        panic!("test panic requested");
    }

    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                // Monitoring Plugins convention: --help and --version exit UNKNOWN (3).
                deadline::emit_and_exit(&e.to_string(), 3);
            }
            let _ = FORMAT.set(format_from_args());
            let first = e
                .to_string()
                .lines()
                .next()
                .unwrap_or("")
                .trim_start_matches("error: ")
                .to_string();
            let (text, code) = fail(
                State::Unknown,
                format!("usage: {first} (see --help)"),
                started,
            );
            deadline::emit_and_exit(&text, code);
        }
    };
    if let Some(format) = cli.format {
        let _ = FORMAT.set(format);
    }
    let options = match cli.into_options_with(check_tidb_log_backup::cli::Env::from_process()) {
        Ok(options) => options,
        Err(message) => {
            let (text, code) = fail(State::Unknown, message, started);
            deadline::emit_and_exit(&text, code);
        }
    };
    let _ = FORMAT.set(options.format);

    let timeout = options.timeout;
    deadline::set_stage("connecting");
    deadline::start_watchdog(timeout.saturating_sub(started.elapsed()), move |stage| {
        fail(
            State::Unknown,
            format!(
                "timed out after {} while {stage}",
                humantime::format_duration(timeout)
            ),
            started,
        )
    });

    let outcome = check_tidb_log_backup::run(&options, started);
    deadline::set_stage("rendering");
    let render_options = RenderOptions {
        verbosity: options.verbosity,
        max_bytes: options.max_output,
        color: options.format == Format::Table && std::io::stdout().is_terminal(),
        duration_ms: started.elapsed().as_millis() as u64,
    };
    let text = renderer(options.format).render(&outcome, &render_options);
    deadline::emit_and_exit(&text, outcome.state().exit_code());
}
