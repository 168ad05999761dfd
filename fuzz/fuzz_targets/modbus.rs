//! cargo fuzz target `modbus`: see `fuzz::modbus`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::modbus(data));
