//! `cargo fuzz run checkpoint_key`: see fuzz/README.md and
//! `testkit::oracles::checkpoint_key::check` for what it asserts.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    testkit::oracles::checkpoint_key::check(data);
});
