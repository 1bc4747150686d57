//! Fuzz target `pcap`: arbitrary bytes through `tcpsim::fuzzing::pcap` (see that function for what
//! it checks beyond "no panic").
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tcpsim::fuzzing::pcap(data));
