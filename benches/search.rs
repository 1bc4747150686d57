//! Search and sweep speed: time to a precise `stale-seq-after-fin` reproducer of each capture from
//! the generic ESP32 model (floor: under 10 s each), cases per second, and sweep runs per second on
//! 1 and 2 threads.

use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tcpsim::Scenario;
use tcpsim::search::sweep::{Shard, Sweep, par_map, parse_param, run_one};
use tcpsim::search::{SearchOptions, search, target_from_capture};

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let base = Scenario::load(&root.join("models/esp32-wifi-generic.toml")).unwrap();
    let mut g = c.benchmark_group("search");
    g.sample_size(10);
    // Time to a precise match (the CLI's defaults: 500 cases, 1,000 refinement runs, 5 % / 0.1 s,
    // robustness over 10 seeds, every core) for each capture in the repository and the two
    // hand-made unseen ones; floor: under 10 s each.
    for capture in [
        "observed/esp32-wifi-stale-fin-a.txt",
        "observed/esp32-wifi-stale-fin-b.txt",
        "unseen/esp32-wifi-stale-fin-c.txt",
        "unseen/esp32-wifi-stale-fin-d.txt",
    ] {
        let mut opts = SearchOptions::new("stale-seq-after-fin");
        opts.threads = tcpsim::search::sweep::threads(None);
        opts.matching = Some(
            target_from_capture(
                &root.join("tests/data").join(capture),
                "stale-seq-after-fin",
            )
            .unwrap(),
        );
        let name = capture.rsplit('/').next().unwrap().trim_end_matches(".txt");
        g.bench_function(format!("precise-match-{name}"), |b| {
            b.iter(|| {
                let o = search(&base, &opts, &mut |_, _| {}).unwrap();
                assert!(o.found.is_some(), "{capture}: no match");
                o.refine_runs
            })
        });
    }
    // Cases per second: 20 generated scenarios evaluated one after another.
    let cases: Vec<Scenario> = (0..20u64)
        .map(|i| {
            let mut s = base.clone();
            s.seed = i;
            s.link.outage = tcpsim::model::OutageSchedule::Windows {
                windows: vec![tcpsim::model::Window {
                    at: tcpsim::model::Dur::secs(5 + i),
                    len: tcpsim::model::Dur::ms(500 * i + 100),
                }],
            };
            s
        })
        .collect();
    g.throughput(Throughput::Elements(cases.len() as u64));
    g.bench_function("cases", |b| {
        b.iter(|| par_map(&cases, 1, |_, s| run_one(s).findings.len()))
    });
    g.finish();

    let path = root.join("models/esp32-wifi-stale-fin.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let params = [parse_param("link.outage.windows.0.for=2s..16s:8").unwrap()];
    let mut g = c.benchmark_group("sweep");
    g.sample_size(10);
    g.throughput(Throughput::Elements(16));
    for threads in [1, 2] {
        g.bench_function(format!("{threads}-threads"), |b| {
            b.iter(|| {
                Sweep {
                    text: &text,
                    path: &path,
                    params: &params,
                    seeds: 2,
                    shard: Shard { index: 1, count: 1 },
                    threads,
                }
                .run(&|_, _| {})
                .unwrap()
                .len()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
