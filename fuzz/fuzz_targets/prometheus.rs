//! `cargo fuzz run prometheus`: see fuzz/README.md and
//! `testkit::oracles::prometheus::check` for what it asserts.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    testkit::oracles::prometheus::check(data);
});
