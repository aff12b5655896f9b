//! The built binary: only the integration tests know its path
//! (`CARGO_BIN_EXE_check_tidb_log_backup`); the harness itself is in `testkit`.

use testkit::run::{run, Run};

const BINARY: &str = env!("CARGO_BIN_EXE_check_tidb_log_backup");

/// Runs the built binary with a clean environment (no $TIDB_PD leaking in).
pub fn check(args: &[&str]) -> Run {
    check_env(args, &[])
}

/// [`check`] with extra environment variables (`TZ`, `NO_COLOR`, …).
pub fn check_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    run(BINARY, args, env)
}

/// [`check_env`] with the run's peak RSS in KiB (measured by `/usr/bin/time`).
#[allow(dead_code)] // the hostile storage tests use it (they land next)
pub fn check_measured(args: &[&str], env: &[(&str, &str)]) -> (Run, u64) {
    testkit::run::run_measured(BINARY, args, env)
}
