//! Property tests over generated models (fixed proptest seed, few cases: each case is a whole
//! simulation).

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use tcpsim::model::{
    Affects, AppModel, Congestion, Dur, LossModel, OutagePolicy, OutageSchedule, Scenario,
    WhenFull, Window,
};
use tcpsim::run_trace;
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
        let mismatches = trace.events().filter(|e| matches!(e.kind, EventKind::App { event: AppEvent::ReadMismatch { .. }, .. })).count();
        prop_assert_eq!(mismatches, 0);
        let up = &report.summary.uplink;
        prop_assert!(up.bytes_delivered <= up.bytes_written, "read {} > written {}", up.bytes_delivered, up.bytes_written);
        let read: u64 = trace.app_events(Side::Server).map(|(_, e)| if let AppEvent::Read { len } = e { len as u64 } else { 0 }).sum();
        prop_assert_eq!(read, up.bytes_delivered);
        let events: Vec<_> = trace.events().collect();
        for w in events.windows(2) {
            prop_assert!(w[0].t <= w[1].t && w[0].seq < w[1].seq);
        }
    }
}

prop_compose! {
    /// A device streaming to a Linux server whose application closes after an idle timeout, through
    /// one uplink fade: data often arrives after the server closed.
    fn closing_server()(
        seed in any::<u64>(),
        idle_s in 1..12u64,
        fade_at in 2_000..20_000u64,
        fade_len in 100..15_000u64,
        lwip in any::<bool>(),
        interval in 20..400u64,
    ) -> Scenario {
        let mut s = model("esp32-wifi-telemetry.toml");
        s.seed = seed;
        s.duration = Dur::secs(60);
        s.link.outage = OutageSchedule::Windows { windows: vec![Window { at: Dur::ms(fade_at), len: Dur::ms(fade_len) }] };
        s.link.outage_affects = Affects::Uplink;
        if !lwip {
            s.client.stack = tcpsim::profile::Profile::Smoltcp;
            s.client.tcp = tcpsim::profile::Profile::Smoltcp.tcp();
        }
        if let AppModel::Periodic { interval: i, .. } = &mut s.client.app {
            *i = Dur::ms(interval);
        }
        s.server.idle_timeout = tcpsim::model::OptDur(Some(tcpsim::clock::Duration::from_secs(idle_s)));
        s.server.close_policy = tcpsim::model::ClosePolicy::Linux;
        s
    }
}

prop_compose! {
    /// A device streaming through one total outage (drop or hold), with either profile.
    fn one_outage()(
        seed in any::<u64>(),
        at in 2_000..20_000u64,
        len in 100..15_000u64,
        hold in any::<bool>(),
        lwip in any::<bool>(),
    ) -> (Scenario, f64, f64, f64) {
        let mut s = model("esp32-wifi-telemetry.toml");
        s.seed = seed;
        s.duration = Dur::secs(120);
        s.link.outage = OutageSchedule::Windows { windows: vec![Window { at: Dur::ms(at), len: Dur::ms(len) }] };
        s.link.on_outage = if hold { OutagePolicy::Hold } else { OutagePolicy::Drop };
        if !lwip {
            s.client.stack = tcpsim::profile::Profile::Smoltcp;
            s.client.tcp = tcpsim::profile::Profile::Smoltcp.tcp();
        }
        let scale = s.client.tcp.timer_scale;
        (s, at as f64 / 1e3, (at + len) as f64 / 1e3, scale)
    }
}

proptest! {
    #![proptest_config(config(12))]

    // Proves determinism over generated models: the same scenario run twice gives the same trace,
    // event for event.
    #[test]
    fn generated_models_are_deterministic(s in scenario()) {
        let (a, _) = run_trace(&s).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let (b, _) = run_trace(&s).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(a == b, "two runs of the same scenario differ");
    }

    // Proves the linux close policy's contract: every RST the server sends answers client data that
    // arrived after the server application closed — at that very instant — and carries that
    // segment's ack as its seq (Linux's reply); and such data never goes unanswered.
    #[test]
    fn linux_close_policy_rsts_answer_late_data(s in closing_server()) {
        use tcpsim::trace::packet::{Ipv4Segment, Segment, TcpFlags};
        let (trace, _) = run_trace(&s).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let closed_at = trace.app_events(Side::Server).find(|(_, e)| *e == AppEvent::Close).map(|(t, _)| t);
        let mut last_delivered: Option<(tcpsim::clock::Instant, Segment)> = None;
        let mut rsts = 0;
        for e in trace.events() {
            match e.kind {
                EventKind::Delivered { dir: tcpsim::trace::Dir::Uplink, bytes, .. } => {
                    last_delivered = Some((e.t, Ipv4Segment::parse(bytes).unwrap().tcp));
                }
                EventKind::Offered { dir: tcpsim::trace::Dir::Downlink, bytes, by_middlebox: false, .. } => {
                    let g = Ipv4Segment::parse(bytes).unwrap().tcp;
                    if g.has(TcpFlags::RST) {
                        rsts += 1;
                        let closed = closed_at.ok_or_else(|| TestCaseError::fail("RST without a close"))?;
                        let (t, data) = last_delivered.ok_or_else(|| TestCaseError::fail("RST without data"))?;
                        prop_assert!(t == e.t && t >= closed && data.len > 0, "RST at {:?} does not answer data after the close at {:?}", e.t, closed);
                        prop_assert_eq!(g.seq, data.ack);
                        prop_assert_eq!(g.flags.tcpdump(), "R");
                    }
                }
                _ => {}
            }
        }
        prop_assert!(rsts <= 1, "one RST per connection");
    }

    // Proves recovery after an outage: the device, which always has data to send and faces an open
    // window, sends again after the outage ends no later than its next retransmission slot. With
    // the timer started around the outage's start S and doubling from 1 s (× timer_scale), the next
    // slot after the end E is at most S + 2(E − S) + scale, and never more than the 60 s cap (×
    // scale) after E; 0.5 s is allowed for delayed ACKs and DTIM waits.
    #[test]
    fn sender_resumes_by_next_retransmission_slot((s, start, end, scale) in one_outage()) {
        let (trace, _) = run_trace(&s).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let bound = (start + 2.0 * (end - start) + scale).min(end + 60.0 * scale) + 0.5;
        let resumed = trace.frames().find_map(|(e, dir, bytes, _)| {
            let t = tcpsim::clock::secs(e.t);
            let data = tcpsim::trace::packet::Ipv4Segment::parse(bytes).is_some_and(|g| g.tcp.len > 0);
            (dir == tcpsim::trace::Dir::Uplink && data && t >= end).then_some(t)
        });
        let resumed = resumed.ok_or_else(|| TestCaseError::fail("never sent again"))?;
        prop_assert!(resumed <= bound, "outage {start}..{end} s: resumed at {resumed} s, bound {bound} s");
    }
}
