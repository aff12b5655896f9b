//! `cargo fuzz run pause_v2`: see fuzz/README.md and
//! `testkit::oracles::pause_v2::check` for what it asserts.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    testkit::oracles::pause_v2::check(data);
});
