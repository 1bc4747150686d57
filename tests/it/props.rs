//! Property tests over generated models (fixed proptest seed, few cases: each case is a whole
//! simulation).

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use tcpsim::model::{
    Affects, AppModel, Congestion, Dur, LossModel, OutagePolicy, OutageSchedule, Scenario,
    WhenFull, Window,
};
use tcpsim::sim::run_trace;
use tcpsim::trace::{AppEvent, EventKind, Side};

use crate::model;

fn config(cases: u32) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(0x7c9_5173),
        failure_persistence: None,
        ..Config::default()
    }
}

fn loss() -> impl Strategy<Value = LossModel> {
    prop_oneof![
        Just(LossModel::None),
        (0.0..0.2f64).prop_map(|p| LossModel::Bernoulli { p }),
        (0.0..0.15f64, 1.0..6.0f64).prop_map(|(loss_rate, mean_burst)| LossModel::GilbertElliott {
            loss_rate,
            mean_burst
        }),
    ]
}

fn outage() -> impl Strategy<Value = OutageSchedule> {
    prop_oneof![
        Just(OutageSchedule::None),
        (1_000..40_000u64, 0.05..0.6f64, 0.0..0.3f64, 0.0..1.0f64).prop_map(
            |(period, down, jitter, phase)| {
                let down_ms = ((period as f64 * down) as u64).max(1);
                let jitter_ms = ((period - down_ms) as f64 * jitter) as u64;
                OutageSchedule::DutyCycle {
                    period: Dur::ms(period),
                    down: Dur::ms(down_ms),
                    phase: Dur::ms((period as f64 * phase) as u64 % period),
                    jitter: Dur::ms(jitter_ms.min(period - down_ms - 1)),
                }
            }
        ),
        prop::collection::vec((0..50_000u64, 1..20_000u64), 1..4).prop_map(|mut w| {
            w.sort();
            let mut end = 0;
            let mut windows = Vec::new();
            for (at, len) in w {
                let at = at.max(end);
                windows.push(Window {
                    at: Dur::ms(at),
                    len: Dur::ms(len),
                });
                end = at + len;
            }
            OutageSchedule::Windows { windows }
        }),
    ]
}

fn app() -> impl Strategy<Value = AppModel> {
    prop_oneof![
        (
            1..200u64,
            prop::collection::vec(1..3000usize, 1..6),
            any::<bool>()
        )
            .prop_map(|(ms, sizes, wait)| {
                AppModel::Periodic {
                    interval: Dur::ms(ms),
                    sizes,
                    when_full: if wait { WhenFull::Wait } else { WhenFull::Skip },
                    start: Dur::zero(),
                    count: None,
                }
            }),
        (1..300_000u64).prop_map(|bytes| AppModel::Bulk {
            bytes,
            start: Dur::zero()
        }),
    ]
}

prop_compose! {
    fn scenario()(
        seed in any::<u64>(),
        up_loss in loss(), down_loss in loss(), outage in outage(),
        affects in prop_oneof![Just(Affects::Both), Just(Affects::Uplink), Just(Affects::Downlink)],
        hold in any::<bool>(), hold_limit in 1..100usize,
        delay_ms in 0..60u64, bw in prop::option::of(100_000..50_000_000u64),
        app in app(), nagle in any::<bool>(),
        congestion in prop_oneof![Just(Congestion::None), Just(Congestion::Reno), Just(Congestion::Cubic)],
        tx in 600..70_000usize, rx in 600..70_000usize, mss in 536..1461usize,
    ) -> Scenario {
        let mut s = model("esp32-wifi-telemetry.toml");
        s.seed = seed;
        s.duration = Dur::secs(60);
        s.link.uplink.loss = up_loss;
        s.link.downlink.loss = down_loss;
        s.link.uplink.delay = Dur::ms(delay_ms);
        s.link.uplink.bandwidth_bps = bw;
        s.link.outage = outage;
        s.link.outage_affects = affects;
        s.link.on_outage = if hold { OutagePolicy::Hold } else { OutagePolicy::Drop };
        s.link.hold_limit = hold_limit;
        s.client.app = app;
        s.client.tcp.nagle = nagle;
        s.client.tcp.congestion = congestion;
        s.client.tcp.tx_buffer = tx;
        s.client.tcp.mss = mss;
        s.server.tcp.rx_buffer = rx;
        s
    }
}

proptest! {
    #![proptest_config(config(24))]

    // Proves byte-stream integrity for any loss and outage: every byte the server application read
    // equals the byte the client application wrote at that stream offset (checked on every read by
    // the application; a mismatch would appear as a ReadMismatch event), and it read no more than
    // was written. Also: no panic, no livelock, events in time order with increasing seq.
    #[test]
    fn server_reads_a_prefix_of_what_the_client_wrote(s in scenario()) {
        let (trace, report) = run_trace(&s).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mismatches = trace.events.iter().filter(|e| matches!(e.kind, EventKind::App { event: AppEvent::ReadMismatch { .. }, .. })).count();
        prop_assert_eq!(mismatches, 0);
        let up = &report.summary.uplink;
        prop_assert!(up.bytes_delivered <= up.bytes_written, "read {} > written {}", up.bytes_delivered, up.bytes_written);
        let read: u64 = trace.app_events(Side::Server).map(|(_, e)| if let AppEvent::Read { len } = e { len as u64 } else { 0 }).sum();
        prop_assert_eq!(read, up.bytes_delivered);
        for w in trace.events.windows(2) {
            prop_assert!(w[0].t <= w[1].t && w[0].seq < w[1].seq);
        }
    }
}
