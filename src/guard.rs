//! The run's contract with the engine: one output, written once, and an exit code 0-3
//! on every path, even when the work hangs or panics. The watchdog fires at `-t` with
//! the stage the run was in; the panic hook turns a panic into one UNKNOWN result; both
//! come out in the format asked for, known as early as possible.

use crate::render::{brjson, renderer, Format, Outcome, RenderOptions};
use crate::service_state::State;
use crate::tso;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

/// The chosen format, for results produced outside the normal path (panic, usage error,
/// timeout); nagios until it is known.
static FORMAT: OnceLock<Format> = OnceLock::new();

/// Records the format as soon as it is known; the first one recorded stays.
pub fn set_format(format: Format) {
    let _ = FORMAT.set(format);
}

/// `--output`: where the result goes instead of stdout, once known.
static OUTPUT_FILE: OnceLock<PathBuf> = OnceLock::new();

/// Records `--output` as soon as it is known; the first one recorded stays.
pub fn set_output(path: PathBuf) {
    let _ = OUTPUT_FILE.set(path);
}

/// Held by whoever writes the result; it is never released because the writer exits.
static OUTPUT: Mutex<()> = Mutex::new(());

/// What the process prints and how it exits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emission {
    pub stdout: String,
    /// Empty in every mode but `--format br-json`'s failures (BR's contract).
    pub stderr: String,
    pub code: i32,
}

impl Emission {
    pub fn stdout(text: String, code: i32) -> Emission {
        Emission {
            stdout: text,
            stderr: String::new(),
            code,
        }
    }
}

/// Writes the whole result to stdout, flushes and exits. The first caller wins; a
/// second one (the watchdog racing the main thread) blocks until the process is gone.
pub fn emit_and_exit(text: &str, code: i32) -> ! {
    emit(&Emission::stdout(text.to_string(), code))
}

/// [`emit_and_exit`] for an [`Emission`] that may also write stderr. With `--output`,
/// stdout's text goes to that file instead, atomically; a file that cannot be written
/// leaves the old one and turns the run into one UNKNOWN line on stdout, exit 3.
pub fn emit(emission: &Emission) -> ! {
    let _guard = OUTPUT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut code = emission.code;
    let mut stdout = emission.stdout.as_str();
    let failed;
    if let Some(path) = OUTPUT_FILE.get() {
        // br-json's failure has no document: the previous file stays.
        let written = if stdout.is_empty() {
            Ok(())
        } else {
            write_atomically(path, stdout)
        };
        match written {
            Ok(()) => stdout = "",
            Err(e) => {
                failed = format!(
                    "TIDB_LOG_BACKUP UNKNOWN - cannot write --output {}: {}\n",
                    crate::text::clean_text(&path.display().to_string()),
                    crate::text::clean_text(&e.to_string())
                );
                stdout = &failed;
                code = State::Unknown.exit_code();
            }
        }
    }
    let mut out = std::io::stdout().lock();
    // A closed stdout cannot be reported anywhere; the exit code still is.
    let _ = out.write_all(stdout.as_bytes());
    let _ = out.flush();
    if !emission.stderr.is_empty() {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(emission.stderr.as_bytes());
        let _ = err.flush();
    }
    std::process::exit(code)
}

/// Replaces `path` with `text` so that a reader sees the old file or the new one, never
/// a part: a temp file created exclusively (never through an existing name or link) in
/// the same directory, written, synced, then renamed over `path`. Its name starts with
/// `.` and ends in `.tmp`, which node_exporter's textfile collector (`*.prom`) skips.
pub fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"))?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut attempt = 0;
    let (tmp, mut file) = loop {
        let tmp = dir.join(format!(
            ".{}.{}-{attempt}.tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&tmp)
        {
            Ok(file) => break (tmp, file),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 20 => attempt += 1,
            Err(e) => return Err(e),
        }
    };
    let written = file
        .write_all(text.as_bytes())
        .and_then(|_| file.sync_all())
        .and_then(|_| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Starts a thread that, after `after`, renders a timeout result with `render(stage)`
/// and exits. It is the backstop for work that ignores its own deadline.
pub fn start_watchdog<F>(after: Duration, render: F)
where
    F: Fn(&str) -> Emission + Send + 'static,
{
    std::thread::spawn(move || {
        std::thread::sleep(after);
        emit(&render(&crate::deadline::stage()));
    });
}

/// Before the command line is parsed: which format was asked for? (so a usage error is
/// still JSON, an exposition, or BR's stderr line). The last `--format` that names one.
pub fn sniff_format(args: &[String]) -> Format {
    option_values(args, "--format")
        .filter_map(|v| Format::from_name(&v))
        .last()
        .unwrap_or(Format::Nagios)
}

/// Before the command line is parsed: `--output FILE`, if given (the last one).
pub fn sniff_output(args: &[String]) -> Option<PathBuf> {
    option_values(args, "--output")
        .filter(|v| !v.is_empty())
        .last()
        .map(PathBuf::from)
}

/// The values of `--name VALUE` and `--name=VALUE` in `args`.
fn option_values<'a>(args: &'a [String], name: &'a str) -> impl Iterator<Item = String> + 'a {
    let prefix = format!("{name}=");
    args.iter().enumerate().filter_map(move |(i, a)| {
        if a == name {
            args.get(i + 1).cloned()
        } else {
            a.strip_prefix(&prefix).map(str::to_string)
        }
    })
}

/// The output of a run in `format`: the plugin contract (stdout, exit 0-3), except for
/// br-json, which keeps BR's (the document and 0, or one stderr line and 1).
pub fn emission(format: Format, outcome: &Outcome, options: &RenderOptions) -> Emission {
    if format == Format::BrJson {
        return match brjson::result(outcome) {
            Ok(document) => Emission::stdout(document, 0),
            Err(reason) => Emission {
                stdout: String::new(),
                stderr: format!("Error: {}\n", crate::text::clean_text(&reason)),
                code: brjson::FAILURE_EXIT,
            },
        };
    }
    Emission::stdout(
        renderer(format).render(outcome, options),
        outcome.state().exit_code(),
    )
}

/// A result without a verdict (usage error, panic, timeout) in the recorded format.
pub fn failure(state: State, message: String, started: Instant) -> Emission {
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

/// A panic anywhere ends the run with one UNKNOWN result naming it.
pub fn install_panic_hook(started: Instant) {
    std::panic::set_hook(Box::new(move |info| {
        // Work that catches its own panics (one task's storage reading) reports them itself.
        if crate::panic_scope::is_contained() {
            return;
        }
        let message = crate::panic_scope::message(info.payload());
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        emit(&failure(
            State::Unknown,
            format!("internal error: {message}{location}"),
            started,
        ));
    }));
}

/// The watchdog: at `timeout` after `started`, UNKNOWN naming the stage, whatever the
/// work is doing.
pub fn watch(timeout: Duration, started: Instant) {
    start_watchdog(timeout.saturating_sub(started.elapsed()), move |stage| {
        failure(
            State::Unknown,
            format!(
                "timed out after {} while {stage}",
                humantime::format_duration(timeout)
            ),
            started,
        )
    });
}
