//! End-to-end behaviours of the engine, checked on the wire (the trace's frames) and in the
//! summary, as an analyst would check a capture.

use tcpsim::Scenario;
use tcpsim::model::{ClosePolicy, Dur, OptDur, OutagePolicy, OutageSchedule, Window};
use tcpsim::trace::packet::{Ipv4Segment, TcpFlags};
use tcpsim::trace::{AppEvent, Dir, EventKind, Fate, Side, captured};
use tcpsim::{run_trace, sim::Ended};

use crate::model;

fn parse(text: &str) -> Scenario {
    Scenario::from_toml(text, std::path::Path::new("test.toml")).unwrap()
}

/// Segments seen at the model's capture point, with their times.
fn captured_segments<'t>(s: &Scenario, trace: &'t tcpsim::Trace) -> Vec<(f64, Ipv4Segment<'t>)> {
    trace
        .events()
        .filter(|e| captured(s.capture, &e.kind))
        .filter_map(|e| match &e.kind {
            EventKind::Offered { bytes, .. } | EventKind::Delivered { bytes, .. } => {
                Some((tcpsim::clock::secs(e.t), Ipv4Segment::parse(bytes).unwrap()))
            }
            _ => None,
        })
        .collect()
}

// Proves the stale-fin model shows the field pattern at the server: FIN after >= 15 s without
// data, a pure ACK of it from the device, then device data starting exactly at the FIN's ack,
// answered by a bare RST (no ACK flag, window 0) whose seq is that segment's ack.
#[test]
fn stale_fin_pattern_on_the_wire() {
    let s = model("esp32-wifi-stale-fin.toml");
    let (trace, report) = run_trace(&s).unwrap();
    let segs = captured_segments(&s, &trace);
    let server = s.server.addr();
    let fin = segs
        .iter()
        .position(|(_, g)| g.src == server && g.tcp.has(TcpFlags::FIN))
        .expect("server FIN");
    let (fin_t, fin_seg) = &segs[fin];
    let last_data = segs[..fin]
        .iter()
        .rev()
        .find(|(_, g)| g.dst == server && g.tcp.len > 0)
        .unwrap();
    assert!(
        fin_t - last_data.0 >= 15.0,
        "FIN {fin_t} only {} s after data",
        fin_t - last_data.0
    );
    let (_, ack) = &segs[fin + 1];
    assert!(
        ack.dst == server && ack.tcp.len == 0 && ack.tcp.ack == fin_seg.tcp.seq.wrapping_add(1),
        "pure ACK of FIN: {ack:?}"
    );
    let (_, stale) = &segs[fin + 2];
    assert!(
        stale.tcp.len > 0 && stale.tcp.seq == fin_seg.tcp.ack,
        "stale data at the FIN's ack: {stale:?} vs {fin_seg:?}"
    );
    let (_, rst) = &segs[fin + 3];
    assert_eq!(rst.tcp.flags.tcpdump(), "R");
    assert_eq!(
        (rst.tcp.seq, rst.tcp.win, rst.tcp.len),
        (stale.tcp.ack, 0, 0)
    );
    assert_eq!(report.summary.server.final_state, "CLOSED");
}

// Proves the close policy matters: with smoltcp's own policy the same stale data is accepted
// and ACKed, and no RST is ever sent.
#[test]
fn smoltcp_close_policy_accepts_late_data() {
    let mut s = model("esp32-wifi-stale-fin.toml");
    s.server.close_policy = ClosePolicy::Smoltcp;
    let (trace, _) = run_trace(&s).unwrap();
    let rsts = trace
        .frames()
        .filter(|(_, _, b, _)| Ipv4Segment::parse(b).unwrap().tcp.has(TcpFlags::RST))
        .count();
    assert_eq!(rsts, 0);
    assert!(
        trace
            .app_events(Side::Server)
            .any(|(_, e)| matches!(e, AppEvent::Read { .. })),
        "server kept reading"
    );
}

// Proves the hold policy: frames offered during a downlink outage are held (none dropped) and
// delivered in offer order right after the window ends; the client still receives every byte.
#[test]
fn hold_policy_delays_instead_of_dropping() {
    let mut s = parse(
        r#"
version = 1
name = "hold"
seed = 3
duration = "60s"
[client.app]
kind = "sink"
[server.app]
kind = "periodic"
interval = "50ms"
sizes = [200]
count = 200
"#,
    );
    s.link.outage = OutageSchedule::Windows {
        windows: vec![Window {
            at: Dur::secs(2),
            len: Dur::ms(1500),
        }],
    };
    s.link.outage_affects = tcpsim::model::Affects::Downlink;
    s.link.on_outage = OutagePolicy::Hold;
    // Without Nagle every message is a segment, so the outage holds one frame per message.
    s.server.tcp.nagle = false;
    let (trace, report) = run_trace(&s).unwrap();
    let held: Vec<(u64, Fate)> = trace
        .events()
        .filter_map(|e| match e.kind {
            EventKind::Offered {
                id,
                dir: Dir::Downlink,
                fate: f @ Fate::Held { .. },
                ..
            } => Some((id, f)),
            _ => None,
        })
        .collect();
    // 30 messages fall in the outage; the congestion window caps how many are sent meanwhile.
    assert!(
        held.len() >= 15,
        "expected many held frames, got {}",
        held.len()
    );
    for (_, f) in &held {
        let Fate::Held { until, at } = f else {
            unreachable!()
        };
        assert_eq!(until.total_millis(), 3500);
        assert_eq!(at.total_micros(), until.total_micros() + 5_000);
    }
    let delivered_ids: Vec<u64> = trace
        .events()
        .filter_map(|e| match e.kind {
            EventKind::Delivered {
                id,
                dir: Dir::Downlink,
                ..
            } => Some(id),
            _ => None,
        })
        .filter(|id| held.iter().any(|(h, _)| h == id))
        .collect();
    assert_eq!(
        delivered_ids,
        held.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        "released in order"
    );
    let d = &report.summary.downlink;
    assert_eq!(d.frames.outage_dropped, 0);
    assert_eq!(d.bytes_written, 200 * 200);
    assert_eq!(d.bytes_delivered, 200 * 200);
}

// Proves next-event time advance: a simulated day of an idle connection with 75 s keep-alives
// takes a number of steps proportional to the probes, not to the time, and the probes are there.
#[test]
fn idle_day_costs_steps_per_event_not_per_tick() {
    let mut s = parse(
        r#"
version = 1
name = "idle"
seed = 5
duration = "24h"
[client.app]
kind = "request-response"
request = 76
response = 17
count = 1
[server.app]
kind = "sink"
"#,
    );
    s.client.tcp.keep_alive = OptDur(Some(tcpsim::clock::Duration::from_secs(75)));
    s.server.on_peer_close = tcpsim::model::OnPeerClose::KeepOpen;
    let (trace, report) = run_trace(&s).unwrap();
    let probes = trace
        .frames()
        .filter(|(_, d, b, _)| *d == Dir::Uplink && Ipv4Segment::parse(b).unwrap().tcp.len <= 1)
        .count();
    assert!(
        probes >= 24 * 3600 / 75 - 2,
        "expected a probe every 75 s, got {probes}"
    );
    assert_eq!(report.ended, Ended::Duration);
    assert!(
        report.steps < 20 * probes as u64,
        "{} steps for {probes} probes",
        report.steps
    );
}

// Proves request/response on both sides: the server answers each request after its delay, and the
// client closes after `count` exchanges, ending the run early with both connections closed.
#[test]
fn request_response_completes() {
    let s = parse(
        r#"
version = 1
name = "rr"
seed = 9
duration = "10m"
[client.app]
kind = "request-response"
request = 76
response = 17
delay = "1s"
count = 3
[server.app]
kind = "request-response"
request = 76
response = 17
delay = "2s"
"#,
    );
    let (trace, report) = run_trace(&s).unwrap();
    assert_eq!(report.ended, Ended::AppsDone);
    assert_eq!(report.summary.uplink.bytes_delivered, 3 * 76);
    assert_eq!(report.summary.downlink.bytes_delivered, 3 * 17);
    let writes: Vec<f64> = trace
        .app_events(Side::Server)
        .filter(|(_, e)| matches!(e, AppEvent::Write { .. }))
        .map(|(t, _)| tcpsim::clock::secs(t))
        .collect();
    assert_eq!(writes.len(), 3);
    // Each answer comes 2 s after its request; requests follow answers by 1 s think time + RTT.
    assert!(
        writes[1] - writes[0] > 3.0 && writes[1] - writes[0] < 3.1,
        "{writes:?}"
    );
}

// Proves a periodic writer with `when_full = "wait"` blocks instead of dropping messages: every
// message is eventually written whole and waits are counted; with "skip" messages are dropped.
#[test]
fn periodic_wait_versus_skip() {
    let mut s = model("esp32-wifi-telemetry.toml");
    s.duration = Dur::secs(60);
    let (_, skip) = run_trace(&s).unwrap();
    assert!(skip.summary.client.messages_skipped > 0);
    assert_eq!(skip.summary.client.messages_waited, 0);
    if let tcpsim::model::AppModel::Periodic { when_full, .. } = &mut s.client.app {
        *when_full = tcpsim::model::WhenFull::Wait;
    }
    let (_, wait) = run_trace(&s).unwrap();
    assert_eq!(wait.summary.client.messages_skipped, 0);
    assert!(wait.summary.client.messages_waited > 0);
}

// Proves a user timeout aborts a connection whose peer has vanished, and the app sees it.
#[test]
fn user_timeout_aborts() {
    let mut s = model("esp32-wifi-telemetry.toml");
    s.duration = Dur::secs(120);
    s.link.outage = OutageSchedule::Windows {
        windows: vec![Window {
            at: Dur::secs(10),
            len: Dur::secs(100),
        }],
    };
    s.client.tcp.user_timeout = OptDur(Some(tcpsim::clock::Duration::from_secs(20)));
    let (trace, _) = run_trace(&s).unwrap();
    let abort = trace
        .app_events(Side::Client)
        .find(|(_, e)| matches!(e, AppEvent::Abort { .. }))
        .expect("client aborts");
    let t = tcpsim::clock::secs(abort.0);
    assert!((29.0..32.0).contains(&t), "aborted at {t}");
}

// Proves the capture point chooses the view: at the client the SYN is seen when sent (t = 0) and
// frames dropped on the uplink are in the capture; at the server they are not; at `link` every
// frame is there with its fate in the text.
#[test]
fn capture_points() {
    use tcpsim::model::CapturePoint;
    use tcpsim::trace::text::TextWriter;
    let text = |point| {
        let mut s = model("esp32-wifi-stale-fin.toml");
        s.capture = point;
        let (trace, _) = run_trace(&s).unwrap();
        let mut w = TextWriter::new(Vec::new(), point);
        trace.replay(&mut w).unwrap();
        String::from_utf8(w.into_inner()).unwrap()
    };
    let client = text(CapturePoint::Client);
    let server = text(CapturePoint::Server);
    let link = text(CapturePoint::Link);
    assert!(
        client.starts_with("0.000000 IP 192.168.31.204.54680 > 192.168.31.10.20271: Flags [S]"),
        "{}",
        &client[..120]
    );
    assert!(
        server.starts_with("0.003000 IP 192.168.31.204.54680 > 192.168.31.10.20271: Flags [S]"),
        "{}",
        &server[..120]
    );
    // The 12 s uplink outage (20–32 s) drops the device's frames: the client sees them leave, the
    // server not.
    let in_outage = |t: &str| {
        t.lines()
            .filter(|l| {
                l.starts_with("2") && l[..2].parse::<u32>().is_ok_and(|s| (20..28).contains(&s))
            })
            .count()
    };
    assert!(in_outage(&client) >= 3, "client sends during the outage");
    assert_eq!(
        in_outage(&server),
        0,
        "server hears nothing during the outage"
    );
    assert!(
        link.lines()
            .filter(|l| l.ends_with("(outage-dropped)"))
            .count()
            >= 3
    );
    assert!(
        link.lines().all(|l| l.ends_with(')')),
        "every link line has its fate"
    );
}

// Proves the lwip-esp32 profile's retransmission schedule: a segment lost at the start of a long
// uplink outage is retransmitted 1.5, 4.5, 10.5 and 22.5 s (±0.5 s) after it was first sent (the
// timer start), as lwIP does from its 1.5 s base (docs/FIELD-NOTES.md).
#[test]
fn lwip_profile_retransmission_schedule() {
    let mut s = model("esp32-wifi-telemetry.toml");
    s.client.stack = tcpsim::profile::Profile::LwipEsp32;
    s.client.tcp = tcpsim::profile::Profile::LwipEsp32.tcp();
    s.duration = Dur::secs(60);
    s.link.outage = OutageSchedule::Windows {
        windows: vec![Window {
            at: Dur::secs(10),
            len: Dur::secs(40),
        }],
    };
    s.link.outage_affects = tcpsim::model::Affects::Uplink;
    s.capture = tcpsim::model::CapturePoint::Client;
    let (trace, _) = run_trace(&s).unwrap();
    // Client data segments sent during the outage, by sequence number.
    let sent: Vec<(f64, Ipv4Segment<'_>)> = captured_segments(&s, &trace)
        .into_iter()
        .filter(|(t, g)| *t >= 10.0 && g.src == s.client.addr() && g.tcp.len > 0)
        .collect();
    let first = &sent[0];
    let times: Vec<f64> = sent
        .iter()
        .filter(|(_, g)| g.tcp.seq == first.1.tcp.seq)
        .map(|(t, _)| t - first.0)
        .collect();
    assert!(times.len() >= 5, "{times:?}");
    for (got, want) in times[1..5].iter().zip([1.5, 4.5, 10.5, 22.5]) {
        assert!(
            (got - want).abs() <= 0.5,
            "retransmissions after timer start: {times:?}, expected 1.5, 4.5, 10.5, 22.5"
        );
    }
}
