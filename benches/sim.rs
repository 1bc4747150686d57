//! One simulated hour of `models/esp32-wifi-telemetry.toml`, with outputs off (the engine and the
//! stacks) and with every output written to files. Throughput is in simulated seconds, so
//! criterion's "elem/s" is the speed-up over real time (floors: 40,000x off, 10,000x on).

use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tcpsim::model::Dur;
use tcpsim::run::{Analyse, Outputs, run_to_dir, simulate};
use tcpsim::{Scenario, Sim};

fn telemetry_hour() -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/esp32-wifi-telemetry.toml");
    let mut s = Scenario::load(&path).expect("model loads");
    s.duration = Dur::secs(3600);
    s
}

fn bench(c: &mut Criterion) {
    let s = telemetry_hour();
    let mut g = c.benchmark_group("telemetry-1h");
    g.sample_size(10);
    g.throughput(Throughput::Elements(3600));
    // The engine and the stacks with the summary counters (what `--outputs none` runs).
    g.bench_function("outputs-off", |b| {
        b.iter(|| {
            simulate(&s, &mut (), Analyse::No)
                .unwrap()
                .summary
                .uplink
                .frames
                .offered
        })
    });
    // The engine alone: no sink at all.
    g.bench_function("engine-only", |b| {
        b.iter(|| Sim::new(&s).unwrap().run(&mut ()).unwrap().steps)
    });
    let dir = std::env::temp_dir().join("tcpsim-bench");
    g.bench_function("outputs-all", |b| {
        b.iter(|| {
            run_to_dir(&s, &dir, true, Outputs::ALL)
                .unwrap()
                .summary
                .uplink
                .frames
                .offered
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
