//! cargo fuzz target `reassembly`: see `fuzz::reassembly::run`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::reassembly::run(data));
