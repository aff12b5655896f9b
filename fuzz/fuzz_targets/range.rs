//! `cargo fuzz run range`: see fuzz/README.md and
//! `testkit::oracles::range::check` for what it asserts.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    testkit::oracles::range::check(data);
});
