//! The built binary: only the integration tests know its path
//! (`CARGO_BIN_EXE_check_tidb_log_backup`); the harness itself is in `testkit`.

use testkit::run::{run, run_in, Run};

const BINARY: &str = env!("CARGO_BIN_EXE_check_tidb_log_backup");

/// Runs the built binary with a clean environment (no $TIDB_PD leaking in).
pub fn check(args: &[&str]) -> Run {
    check_env(args, &[])
}

/// [`check`] with extra environment variables (`TZ`, `NO_COLOR`, …).
pub fn check_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    run(BINARY, args, env)
}

/// [`check_env`] in the working directory `dir`.
pub fn check_in(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    run_in(BINARY, dir, args, env)
}

/// [`check_env`] with the run's peak RSS in KiB (measured by `/usr/bin/time`).
pub fn check_measured(args: &[&str], env: &[(&str, &str)]) -> (Run, u64) {
    testkit::run::run_measured(BINARY, args, env)
}
