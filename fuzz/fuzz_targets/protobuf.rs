//! `cargo fuzz run protobuf`: see fuzz/README.md and
//! `testkit::oracles::protobuf::check` for what it asserts.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    testkit::oracles::protobuf::check(data);
});
