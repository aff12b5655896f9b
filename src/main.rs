use check_tidb_log_backup::cli::Cli;
use check_tidb_log_backup::deadline::{self, Emission};
use check_tidb_log_backup::render::{self, brjson, renderer, Format, Outcome, RenderOptions};
use check_tidb_log_backup::state::State;
use check_tidb_log_backup::tso;
use clap::Parser;
use std::io::IsTerminal;
use std::sync::OnceLock;
use std::time::{Instant, SystemTime};

/// The chosen format, for results produced outside the normal path (panic, usage error).
static FORMAT: OnceLock<Format> = OnceLock::new();

fn fail(state: State, message: String, started: Instant) -> Emission {
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
    emission(format, &outcome, &options)
}

/// The output of a run in `format`: the plugin contract (stdout, exit 0-3), except for
/// br-json, which keeps BR's (the document and 0, or one stderr line and 1).
fn emission(format: Format, outcome: &Outcome, options: &RenderOptions) -> Emission {
    if format == Format::BrJson {
        return match brjson::result(outcome) {
            Ok(document) => Emission::stdout(document, 0),
            Err(reason) => Emission {
                stdout: String::new(),
                stderr: format!("Error: {}\n", render::clean_text(&reason)),
                code: brjson::FAILURE_EXIT,
            },
        };
    }
    Emission::stdout(
        renderer(format).render(outcome, options),
        outcome.state().exit_code(),
    )
}

/// Before flags are parsed: was ndjson or br-json asked for? (so a usage error is still
/// one JSON line, or BR's stderr line)
fn format_from_args() -> Format {
    let args: Vec<String> = std::env::args().collect();
    let asked = |name: &str| {
        args.windows(2).any(|w| w[0] == "--format" && w[1] == name)
            || args.iter().any(|a| *a == format!("--format={name}"))
    };
    if asked("br-json") {
        Format::BrJson
    } else if asked("ndjson") {
        Format::Ndjson
    } else {
        Format::Nagios
    }
}

/// Terminal columns as BR finds them (stdin's terminal), else stdout's, else 80.
fn terminal_width() -> usize {
    terminal_size::terminal_size_of(std::io::stdin())
        .or_else(|| terminal_size::terminal_size_of(std::io::stdout()))
        .map(|(w, _)| usize::from(w.0))
        .filter(|w| *w > 0)
        .unwrap_or(render::table::DEFAULT_WIDTH)
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
        deadline::emit(&fail(
            State::Unknown,
            format!("internal error: {message}{location}"),
            started,
        ));
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
            deadline::emit(&fail(
                State::Unknown,
                format!("usage: {first} (see --help)"),
                started,
            ));
        }
    };
    if let Some(format) = cli.format {
        let _ = FORMAT.set(format);
    }
    let options = match cli.into_options_with(check_tidb_log_backup::cli::Env::from_process()) {
        Ok(options) => options,
        Err(message) => deadline::emit(&fail(State::Unknown, message, started)),
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
    let table = options.format == Format::Table;
    let render_options = RenderOptions {
        verbosity: options.verbosity,
        max_bytes: options.max_output,
        color: table
            && render::table::colour_wanted(
                std::io::stdout().is_terminal(),
                std::env::var("NO_COLOR").ok().as_deref(),
                std::env::var("TERM").ok().as_deref(),
            ),
        duration_ms: started.elapsed().as_millis() as u64,
        // BR prints its dates in the local zone ($TZ, else /etc/localtime).
        time_zone: if table {
            jiff::tz::TimeZone::system()
        } else {
            jiff::tz::TimeZone::UTC
        },
        width: if table {
            terminal_width()
        } else {
            render::table::DEFAULT_WIDTH
        },
    };
    deadline::emit(&emission(options.format, &outcome, &render_options));
}
