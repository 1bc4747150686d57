//! Fuzz target `plot`: arbitrary bytes through `tcpsim::fuzzing::plot` (see that function for what
//! it checks beyond "no panic").
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tcpsim::fuzzing::plot(data));
