//! Importer robustness: truncated, corrupt and empty captures give clear errors, never panics.

use std::io::Cursor;
use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use tcpsim::capture::{ImportOptions, pcap, text};

fn observed_text() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/observed");
    let mut lines = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for p in names {
        lines.extend(
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .map(str::to_string),
        );
    }
    lines
}

fn sim_pcap() -> Vec<u8> {
    sim_capture().0
}

/// The stale-fin model's pcap, and how many frames its trace shows at the capture point (counted
/// from the trace directly, not through the pcap).
fn sim_capture() -> (Vec<u8>, usize) {
    static PCAP: std::sync::OnceLock<(Vec<u8>, usize)> = std::sync::OnceLock::new();
    PCAP.get_or_init(make_pcap).clone()
}

fn make_pcap() -> (Vec<u8>, usize) {
    let s = tcpsim::Scenario::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("models/esp32-wifi-stale-fin.toml"),
    )
    .unwrap();
    let (trace, _) = tcpsim::run_trace(&s).unwrap();
    let mut w = tcpsim::trace::pcap::PcapWriter::new(Vec::new(), s.capture).unwrap();
    trace.replay(&mut w).unwrap();
    let seen = tcpsim::capture::trace_packets(&trace, s.capture).0.len();
    (w.into_inner(), seen)
}

fn run_text(data: &[u8], lenient: bool) -> Result<u64, String> {
    text::import(
        Cursor::new(data),
        Path::new("x.txt"),
        ImportOptions { lenient },
        &mut |_, _| {},
    )
    .map(|(_, s)| s.packets)
    .map_err(|e| e.to_string())
}

fn run_pcap(data: &[u8]) -> Result<u64, String> {
    pcap::import(
        Cursor::new(data.to_vec()),
        Path::new("x.pcap"),
        &mut |_, _| {},
    )
    .map(|(_, s)| s.packets)
    .map_err(|e| e.to_string())
}

// Proves empty inputs and a text line that is not a packet are errors naming the file (and line),
// and that --lenient skips and counts such lines instead.
#[test]
fn clear_errors() {
    assert!(
        run_text(b"", false)
            .unwrap_err()
            .contains("x.txt: no packets")
    );
    let bad =
        b"13:40:20.210400 IP a.1 > b.2: Flags [P.], seq 1:2, ack 1, win 5, length 1\nhello there\n";
    assert_eq!(
        run_text(bad, false).unwrap_err(),
        "x.txt:2: not a tcpdump packet line (bad timestamp \"hello\"): hello there"
    );
    let (_, stats) = text::import(
        Cursor::new(&bad[..]),
        Path::new("x.txt"),
        ImportOptions { lenient: true },
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!((stats.packets, stats.skipped_lines), (1, 1));
    let (pcap, seen) = sim_capture();
    assert!(run_pcap(&pcap[..24]).unwrap_err().contains("no packets"));
    let cut = run_pcap(&pcap[..pcap.len() - 7]).unwrap_err();
    assert!(cut.contains("x.pcap") && cut.contains("truncated"), "{cut}");
    assert_eq!(run_pcap(&pcap).unwrap(), seen as u64);
}

fn config() -> Config {
    Config {
        cases: 64,
        rng_seed: RngSeed::Fixed(0x1_3f0a7),
        failure_persistence: None,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config())]

    // Proves the text importer never panics on mutated capture lines (bytes flipped, cut, inserted):
    // every input yields packets or an error.
    #[test]
    fn text_importer_never_panics(
        picks in prop::collection::vec(any::<prop::sample::Index>(), 1..20),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 0..12),
    ) {
        let lines = observed_text();
        let mut data: Vec<u8> = picks.iter().flat_map(|i| format!("{}\n", i.get(&lines)).into_bytes()).collect();
        for (at, byte, op) in edits {
            if data.is_empty() { break; }
            let i = at.index(data.len());
            match op { 0 => data[i] = byte, 1 => data.truncate(i), _ => data.insert(i, byte) }
        }
        let _ = run_text(&data, false);
        let _ = run_text(&data, true);
    }

    // Proves the pcap importer never panics on mutated, truncated or extended pcap bytes.
    #[test]
    fn pcap_importer_never_panics(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..16),
    ) {
        let mut data = sim_pcap();
        for (at, byte, op) in edits {
            if data.is_empty() { break; }
            let i = at.index(data.len());
            match op { 0 => data[i] = byte, 1 => data.truncate(i), _ => data.insert(i, byte) }
        }
        let _ = run_pcap(&data);
    }
}

/// Rewrites a raw-IP pcap (link type 101) with each packet behind a link-layer header.
fn rewrap(raw: &[u8], linktype: u32, header: &[u8]) -> Vec<u8> {
    let mut out = raw[..24].to_vec();
    out[20..24].copy_from_slice(&linktype.to_le_bytes());
    let mut at = 24;
    while at + 16 <= raw.len() {
        let len = u32::from_le_bytes(raw[at + 8..at + 12].try_into().unwrap()) as usize;
        let mut rec = raw[at..at + 16].to_vec();
        let new_len = ((len + header.len()) as u32).to_le_bytes();
        rec[8..12].copy_from_slice(&new_len);
        rec[12..16].copy_from_slice(&new_len);
        out.extend_from_slice(&rec);
        out.extend_from_slice(header);
        out.extend_from_slice(&raw[at + 16..at + 16 + len]);
        at += 16 + len;
    }
    out
}

fn packets_of(data: &[u8]) -> Vec<tcpsim::trace::packet::Packet> {
    let mut v = Vec::new();
    pcap::import(
        Cursor::new(data.to_vec()),
        Path::new("x.pcap"),
        &mut |p, _| v.push(*p),
    )
    .unwrap();
    v
}

// Proves Ethernet (with an 802.1Q tag) and Linux cooked (SLL) captures decode to exactly the packets
// of the raw-IP capture they were made from.
#[test]
fn link_layers_decode_the_same() {
    let (raw, seen) = sim_capture();
    let want = packets_of(&raw);
    assert_eq!(want.len(), seen);
    let mut eth = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
    eth.extend_from_slice(&[0x81, 0x00, 0x00, 0x07, 0x08, 0x00]);
    let mut sll = vec![0u8; 14];
    sll.extend_from_slice(&[0x08, 0x00]);
    for (lt, header) in [(1u32, eth), (113, sll)] {
        assert_eq!(
            packets_of(&rewrap(&raw, lt, &header)),
            want,
            "link type {lt}"
        );
    }
}
