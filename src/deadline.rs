//! The run's contract with the engine: one output, written once, and an exit code 0-3
//! on every path, even when the work hangs or panics.

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

static STAGE: Mutex<String> = Mutex::new(String::new());
/// Held by whoever writes the result; it is never released because the writer exits.
static OUTPUT: Mutex<()> = Mutex::new(());

/// When endpoints are tried one at a time: the time the next one may take, an equal share
/// of what is left, so a frozen endpoint cannot use up the time of the ones after it.
/// `None` when no time is left.
pub fn share(deadline: Instant, endpoints_left: usize) -> Option<Duration> {
    let remaining = deadline.saturating_duration_since(Instant::now());
    (!remaining.is_zero()).then(|| remaining / endpoints_left.max(1) as u32)
}

/// Records what the run is doing, for the timeout message.
pub fn set_stage(stage: impl Into<String>) {
    if let Ok(mut s) = STAGE.lock() {
        *s = stage.into();
    }
}

pub fn stage() -> String {
    STAGE.lock().map(|s| s.clone()).unwrap_or_default()
}

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

/// [`emit_and_exit`] for an [`Emission`] that may also write stderr.
pub fn emit(emission: &Emission) -> ! {
    let _guard = OUTPUT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut out = std::io::stdout().lock();
    // A closed stdout cannot be reported anywhere; the exit code still is.
    let _ = out.write_all(emission.stdout.as_bytes());
    let _ = out.flush();
    if !emission.stderr.is_empty() {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(emission.stderr.as_bytes());
        let _ = err.flush();
    }
    std::process::exit(emission.code)
}

/// Starts a thread that, after `after`, renders a timeout result with `render(stage)`
/// and exits. It is the backstop for work that ignores its own deadline.
pub fn start_watchdog<F>(after: Duration, render: F)
where
    F: Fn(&str) -> Emission + Send + 'static,
{
    std::thread::spawn(move || {
        std::thread::sleep(after);
        emit(&render(&stage()));
    });
}
