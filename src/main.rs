use check_tidb_log_backup::render::{self, Format, RenderOptions};
use check_tidb_log_backup::runner;
use check_tidb_log_backup::service_state::State;
use check_tidb_log_backup::settings::{self, Env, Refusal};
use check_tidb_log_backup::{deadline, guard};
use std::io::IsTerminal;
use std::time::Instant;

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
    guard::install_panic_hook(started);

    let plan = match settings::resolve(std::env::args_os(), &Env::from_process()) {
        Ok(plan) => plan,
        // Monitoring Plugins convention: --help and --version exit UNKNOWN (3).
        Err(Refusal::Info(text)) => guard::emit_and_exit(&text, 3),
        Err(Refusal::Usage(first)) => {
            let args: Vec<String> = std::env::args_os()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            guard::set_format(guard::sniff_format(&args));
            if let Some(path) = guard::sniff_output(&args) {
                guard::set_output(path);
            }
            guard::emit(&guard::failure(
                State::Unknown,
                format!("usage: {first} (see --help)"),
                started,
            ))
        }
        Err(Refusal::Invalid {
            message,
            format,
            output,
        }) => {
            if let Some(format) = format {
                guard::set_format(format);
            }
            if let Some(path) = output {
                guard::set_output(path);
            }
            guard::emit(&guard::failure(State::Unknown, message, started))
        }
    };
    let run = &plan.run;
    guard::set_format(run.format);
    if let Some(path) = &run.output {
        guard::set_output(path.clone());
    }

    // Debug builds only: lets the tests prove that a panic still ends in one UNKNOWN
    // result, in the format asked for and through --output.
    if cfg!(debug_assertions) && std::env::var_os("CHECK_TIDB_LOG_BACKUP_TEST_PANIC").is_some() {
        panic!("test panic requested");
    }
    deadline::set_stage("connecting");
    guard::watch(run.timeout, started);

    if run.list_tasks {
        match runner::list_tasks(&plan, started) {
            Ok(tasks) => guard::emit_and_exit(&render::task_list(&tasks, run.format), 0),
            Err(failed) => {
                let options = RenderOptions {
                    duration_ms: started.elapsed().as_millis() as u64,
                    ..RenderOptions::default()
                };
                guard::emit(&guard::emission(run.format, &failed, &options))
            }
        }
    }
    if let Some(at) = run.restore_point {
        let (outcome, answers, at_ts) = runner::restore_point(&plan, at, started);
        let (text, code) =
            render::restore_point::render(&answers, &outcome, at_ts, run.format == Format::Ndjson);
        guard::emit_and_exit(&text, code)
    }
    let outcome = runner::run(&plan, started);
    deadline::set_stage("rendering");
    let table = run.format == Format::Table;
    let render_options = RenderOptions {
        verbosity: run.verbosity,
        max_bytes: run.max_output,
        color: table
            && run.output.is_none()
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
    guard::emit(&guard::emission(run.format, &outcome, &render_options));
}
