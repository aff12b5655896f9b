//! Runs the built binary. Its path is known only to the integration test crate
//! (`env!("CARGO_BIN_EXE_check_tidb_log_backup")`), which passes it in.

use std::process::{Command, Output, Stdio};

pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

/// Runs `binary` with a clean environment (no $TIDB_PD leaking in; every cloud fallback
/// on a closed loopback port and the state file in a directory of the test process:
/// [`crate::loopback::isolate`]), plus `env` (`TZ`, `NO_COLOR`, …).
pub fn run(binary: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
    output(Command::new(binary).args(args), env)
}

/// [`run`] in the working directory `dir`.
pub fn run_in(binary: &str, dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    output(Command::new(binary).current_dir(dir).args(args), env)
}

/// [`run`] under `/usr/bin/time` (which passes its environment on), with the process's
/// peak RSS in KiB.
pub fn run_measured(binary: &str, args: &[&str], env: &[(&str, &str)]) -> (Run, u64) {
    let report = std::env::temp_dir().join(format!(
        "ctlb-rss-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let mut command = Command::new("/usr/bin/time");
    command
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&report)
        .arg(binary)
        .args(args);
    let run = output(&mut command, env);
    let text = std::fs::read_to_string(&report).expect("/usr/bin/time wrote its report");
    let _ = std::fs::remove_file(&report);
    let kib = text
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak RSS in /usr/bin/time's report: {text}"));
    (run, kib)
}

fn output(command: &mut Command, env: &[(&str, &str)]) -> Run {
    let output: Output = crate::loopback::isolate(command)
        .env_remove("TIDB_PD")
        .env_remove("NO_COLOR")
        // The table prints BR's local dates: pin the zone so the golden files hold anywhere.
        .env("TZ", "UTC")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run check_tidb_log_backup");
    Run {
        stdout: String::from_utf8(output.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        code: output.status.code().expect("exit code, not a signal"),
    }
}
