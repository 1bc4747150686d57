//! Analysing a pcap from code: the same importer and detectors `tcpsim analyze` uses.
//!
//! Run: `cargo run --release --example analyze_pcap -- CAPTURE.pcap` (pcap, pcapng or tcpdump
//! text). Without an argument it first simulates `models/esp32-wifi-stale-fin.toml` into a pcap in
//! a temporary directory, so the example runs anywhere.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use tcpsim::Scenario;
use tcpsim::analyze::{AnalyzeOptions, analyze_file};
use tcpsim::capture::ImportOptions;
use tcpsim::run::{Analyse, simulate};
use tcpsim::trace::pcap::PcapWriter;

/// Simulates the stale-FIN model and writes what its capture point saw as a pcap.
fn simulated_pcap(dir: &Path) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/esp32-wifi-stale-fin.toml");
    let scenario = Scenario::load(&model)?;
    let path = dir.join("stale-fin.pcap");
    let mut pcap = PcapWriter::new(BufWriter::new(File::create(&path)?), scenario.capture)?;
    simulate(&scenario, &mut pcap, Analyse::No)?;
    Ok(path)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let path = match std::env::args_os().nth(1) {
        Some(p) => PathBuf::from(p),
        None => simulated_pcap(tmp.path())?,
    };
    let (analysis, stats) =
        analyze_file(&path, ImportOptions::default(), AnalyzeOptions::default())?;
    println!(
        "{}: {} TCP packets, {} connection(s)",
        path.display(),
        stats.packets,
        analysis.connections.len()
    );
    for c in &analysis.connections {
        println!(
            "connection {}: {} <-> {}, {} packets",
            c.index, c.a, c.b, c.packets
        );
        for (class, n) in &c.classes {
            println!("    {class:<30} {n}");
        }
    }
    for f in &analysis.findings {
        println!(
            "FINDING {} at {:.6} s: {:?}",
            f.signature, f.at_s, f.features
        );
    }
    Ok(())
}
