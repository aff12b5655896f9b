//! The defaults only the settings use, each in one place. The others live with the
//! module that uses them, and the help text reads them there: the rules' in
//! `judge::policy`, the deadline's in `deadline`, the output's in `render`, the state
//! directory's in `statefile`.

/// PD's etcd when neither a flag, the config nor `$TIDB_PD` names one.
pub const PD: &str = "http://127.0.0.1:2379";
/// Below this there is no room for a summary and any perfdata.
pub const MAX_OUTPUT_FLOOR: usize = 256;
/// Fleet mode: clusters checked at once.
pub const PARALLEL: usize = 8;
/// `-vvv` and more are `-vvv`.
pub const MAX_VERBOSITY: u8 = 3;
