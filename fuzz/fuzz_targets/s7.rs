//! cargo fuzz target `s7`: see `fuzz::s7`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::s7(data));
