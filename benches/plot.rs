//! Plotting a one-hour run of esp32-wifi-telemetry (~108,000 frames, 120 outages) as a timeline SVG
//! (floor: under 2 s). The trace is simulated once, outside the measurement.

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use tcpsim::Scenario;
use tcpsim::model::Dur;
use tcpsim::plot::{PlotOptions, timeline};

fn bench(c: &mut Criterion) {
    let mut s = Scenario::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("models/esp32-wifi-telemetry.toml"),
    )
    .unwrap();
    s.duration = Dur::secs(3600);
    let (trace, _) = tcpsim::run_trace(&s).unwrap();
    let opts = PlotOptions::new("hour");
    let mut g = c.benchmark_group("plot");
    g.sample_size(10);
    g.bench_function("telemetry-1h-timeline", |b| {
        b.iter(|| timeline(&trace, s.capture, &opts).unwrap().len())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
