//! Importing and analysing a large capture: two simulated hours of esp32-wifi-telemetry captured at
//! the server (~215,000 packets), as tcpdump text, as pcap, and (when tshark is installed) as
//! tshark's one-line text and CSV export. Throughput is in packets, so "elem/s" is packets per
//! second (floors: 1 M/s for text, tshark text and CSV, 3 M/s for pcap).

use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tcpsim::Scenario;
use tcpsim::analyze::analyze_file;
use tcpsim::model::Dur;
use tcpsim::run::{Outputs, run_to_dir};

fn bench(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/esp32-wifi-telemetry.toml");
    let mut s = Scenario::load(&path).expect("model loads");
    s.duration = Dur::secs(7200);
    let dir = std::env::temp_dir().join("tcpsim-bench-capture");
    let outputs = Outputs {
        text: true,
        pcap: true,
        ..Outputs::NONE
    };
    run_to_dir(&s, &dir, true, outputs).expect("capture written");
    let mut files = vec!["trace.txt", "trace.pcap"];
    let text_dir = std::env::temp_dir().join("tcpsim-bench-text");
    std::fs::create_dir_all(&text_dir).expect("created");
    // tshark's one-line text and its CSV export of the same pcap, when tshark is installed.
    let pcap = dir.join("trace.pcap");
    let csv_cols = tcpsim::capture::TSHARK_CSV_ARGS;
    for (name, extra) in [("tshark.txt", &[][..]), ("tshark.csv", &csv_cols[..])] {
        let out = std::process::Command::new("tshark")
            .arg("-r")
            .arg(&pcap)
            .args(extra)
            .output();
        match out {
            Ok(o) if o.status.success() => {
                // Beside the run directory: `--force` replaces only a directory of tcpsim's files.
                std::fs::write(text_dir.join(name), o.stdout).expect("written");
                files.push(name);
            }
            _ => eprintln!("*** SKIPPED {name}: tshark is not installed"),
        }
    }
    let mut g = c.benchmark_group("analyze-2h-capture");
    g.sample_size(10);
    for file in files {
        let p = if file.starts_with("tshark") {
            text_dir.join(file)
        } else {
            dir.join(file)
        };
        let (_, stats) = analyze_file(&p, Default::default(), Default::default()).unwrap();
        // Lines (or records) read: packets imported and packets counted without TCP fields.
        g.throughput(Throughput::Elements(stats.packets + stats.no_tcp_fields));
        g.bench_function(file, |b| {
            b.iter(|| {
                analyze_file(&p, Default::default(), Default::default())
                    .unwrap()
                    .1
                    .packets
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
