//! cargo fuzz target `dissect`: see `fuzz::dissect`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::dissect(data));
