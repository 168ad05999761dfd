//! cargo fuzz target `tls`: see `fuzz::tls`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::tls(data));
