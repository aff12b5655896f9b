//! `cargo fuzz run snapshot_to_render`: arbitrary etcd key spaces (plus PD and TiKV
//! answers) → `Snapshot::from_pairs` → verdict → nagios, ndjson and table output.
//!
//! Inputs starting with `R1` are raw cases (the seeds and regression files); anything
//! else is decoded with `arbitrary` into a structured case biased towards the real key
//! layout. With `FUZZ_WRITE_RAW=<file>` set, the raw form of the input is written there
//! first, so a crash found in a structured input can be kept as a raw regression file.
#![no_main]

use check_tidb_log_backup_fuzz::structured::Input;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use testkit::oracles::snapshot_to_render::{check_case, Case};

fn write_raw_to() -> Option<&'static str> {
    static PATH: OnceLock<Option<String>> = OnceLock::new();
    PATH.get_or_init(|| std::env::var("FUZZ_WRITE_RAW").ok())
        .as_deref()
}

fuzz_target!(|data: &[u8]| {
    let case = match Case::decode_raw(data) {
        Some(case) => case,
        None => match Input::from_bytes(data) {
            Ok(input) => input.into_case(),
            Err(_) => return,
        },
    };
    if let Some(path) = write_raw_to() {
        std::fs::write(path, case.encode_raw()).expect("FUZZ_WRITE_RAW");
    }
    check_case(&case);
});
