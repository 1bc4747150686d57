//! Importing and analysing a large capture: two simulated hours of esp32-wifi-telemetry captured at
//! the server (~215,000 packets), as tcpdump text and as pcap. Throughput is in packets, so "elem/s"
//! is packets per second (floors: 1 M/s for text, 3 M/s for pcap).

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
    let mut g = c.benchmark_group("analyze-2h-capture");
    g.sample_size(10);
    for file in ["trace.txt", "trace.pcap"] {
        let p = dir.join(file);
        let (_, stats) = analyze_file(&p, Default::default(), Default::default()).unwrap();
        g.throughput(Throughput::Elements(stats.packets));
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
