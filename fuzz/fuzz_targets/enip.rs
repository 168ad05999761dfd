//! cargo fuzz target `enip`: see `fuzz::enip`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::enip(data));
