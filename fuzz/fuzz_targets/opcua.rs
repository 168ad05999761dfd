//! cargo fuzz target `opcua`: see `fuzz::opcua`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::opcua(data));
