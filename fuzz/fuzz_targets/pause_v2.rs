//! `cargo fuzz run pause_v2`: see fuzz/README.md and `checks::pause_v2` for what it asserts.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    check_tidb_log_backup_fuzz::checks::pause_v2(data);
});
