//! `cargo fuzz run protobuf`: see fuzz/README.md and `checks::protobuf` for what it asserts.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    check_tidb_log_backup_fuzz::checks::protobuf(data);
});
