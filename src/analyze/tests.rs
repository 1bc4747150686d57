//! Unit tests of the segment classification on small hand-built connections.

use crate::detect::testkit::*;

fn classes(packets: &[crate::trace::packet::Packet]) -> std::collections::BTreeMap<String, u64> {
    analyze(packets).remove(0).classes
}

// Proves fast retransmission: two duplicate ACKs for 101, then 101 resent.
#[test]
fn fast_retransmission() {
    let c = classes(&[
        data_a(0, 1, 100),
        data_a(1, 101, 100),
        data_a(2, 201, 100),
        ack_b(10, 101),
        ack_b(11, 101),
        ack_b(12, 101),
        data_a(13, 101, 100),
    ]);
    assert_eq!(c.get("duplicate-ack"), Some(&2), "{c:?}");
    assert_eq!(c.get("fast-retransmission"), Some(&1), "{c:?}");
    assert_eq!(c.get("retransmission"), None);
}

// Proves a retransmission of data already acknowledged is spurious.
#[test]
fn spurious_retransmission() {
    let c = classes(&[data_a(0, 1, 100), ack_b(10, 101), data_a(1_000, 1, 100)]);
    assert_eq!(c.get("spurious-retransmission"), Some(&1), "{c:?}");
}

// Proves zero window, a one-byte zero-window probe, then a window update (same ACK, new window).
#[test]
fn zero_window_probe_and_update() {
    let c = classes(&[
        data_a(0, 1, 100),
        seg(10, false, ACK, 1, 101, 0, 0),
        data_a(500, 101, 1),
        seg(510, false, ACK, 1, 101, 4000, 0),
    ]);
    assert_eq!(c.get("zero-window"), Some(&1), "{c:?}");
    assert_eq!(c.get("zero-window-probe"), Some(&1), "{c:?}");
    assert_eq!(c.get("window-update"), Some(&1), "{c:?}");
}

// Proves a keep-alive with a known seq (one below the next byte) and its ACK, and that a
// capture starting with a gap the receiver already acknowledged is "previous segment not
// captured", not out-of-order.
#[test]
fn keepalive_and_not_captured() {
    let c = classes(&[
        data_a(0, 1, 100),
        ack_b(10, 101),
        seg(60_000, true, ACK, 100, 1, 5744, 0),
        ack_b(60_010, 101),
    ]);
    assert_eq!(
        (c.get("keep-alive"), c.get("keep-alive-ack")),
        (Some(&1), Some(&1)),
        "{c:?}"
    );
    let c = classes(&[data_a(0, 1, 100), ack_b(10, 301), data_a(20, 301, 100)]);
    assert_eq!(c.get("previous-segment-not-captured"), Some(&1), "{c:?}");
    assert_eq!(c.get("out-of-order"), None);
}

// Proves tcpdump's relative numbering is undone: a handshake with absolute ISNs followed by
// relative data and ACKs is one consistent stream (no gaps, no retransmissions).
#[test]
fn relative_numbers_undone() {
    let c = classes(&[
        seg(0, true, SYN, 4_000_000_000, 0, 5744, 0),
        seg(5, false, SYN | ACK, 3_000_000_000, 4_000_000_001, 64000, 0),
        seg(10, true, ACK, 1, 1, 5744, 0),
        seg(11, true, PSH | ACK, 1, 1, 5744, 100),
        seg(20, false, ACK, 1, 101, 64000, 0),
        seg(21, true, PSH | ACK, 101, 1, 5744, 100),
    ]);
    assert_eq!(c.get("new-data"), Some(&2), "{c:?}");
    assert!(
        c.keys()
            .all(|k| !k.contains("retransmission") && k != "out-of-order"),
        "{c:?}"
    );
}

// Proves the analysis counts a re-cut segment (starting below the highest sequence seen, carrying
// new bytes past it) as a retransmission, as the summary and the timeline do (one rule).
#[test]
fn recut_segment_is_a_retransmission() {
    let c = classes(&[
        data_a(0, 1, 100),
        data_a(1, 101, 50),
        data_a(1_500, 1, 200),
        data_a(1_501, 201, 100),
    ]);
    assert_eq!(c.get("retransmission"), Some(&1), "{c:?}");
    assert_eq!(c.get("new-data"), Some(&3), "{c:?}");
}

// Proves the fast/timeout split follows the duplicate ACKs actually seen and when: two dup ACKs
// for 101 and a resend 46 s later is a timeout's retransmission (the old rule called it fast);
// where the capture measured a round trip through the sender (b's data ACKed by a after 80 ms),
// a resend 150 ms after the last dup ACK is fast, 400 ms after it is a timeout's.
#[test]
fn fast_retransmission_needs_recent_dup_acks() {
    let dup_acks = [
        data_a(0, 1, 100),
        data_a(1, 101, 100),
        data_a(2, 201, 100),
        ack_b(10, 101),
        ack_b(11, 101),
        ack_b(12, 101),
    ];
    let mut late = dup_acks.to_vec();
    late.push(data_a(46_012, 101, 100));
    let c = classes(&late);
    assert_eq!(c.get("retransmission"), Some(&1), "{c:?}");
    assert_eq!(c.get("fast-retransmission"), None, "{c:?}");

    let far = |resend_ms: i64| {
        classes(&[
            seg(0, false, PSH | ACK, 1, 1, 64000, 10),
            seg(80, true, ACK, 1, 11, 5744, 0),
            seg(100, true, PSH | ACK, 1, 11, 5744, 100),
            seg(101, true, PSH | ACK, 101, 11, 5744, 100),
            seg(102, true, PSH | ACK, 201, 11, 5744, 100),
            seg(103, false, ACK, 11, 101, 64000, 0),
            seg(104, false, ACK, 11, 101, 64000, 0),
            seg(105, false, ACK, 11, 101, 64000, 0),
            seg(105 + resend_ms, true, PSH | ACK, 101, 11, 5744, 100),
        ])
    };
    assert_eq!(far(150).get("fast-retransmission"), Some(&1));
    let c = far(400);
    assert_eq!(c.get("fast-retransmission"), None, "{c:?}");
    assert_eq!(c.get("retransmission"), Some(&1), "{c:?}");
}

// Proves a capture that starts after a lost segment (the receiver's ACK is below the first data
// seen) records the hole, so the later filler reports how long after the hole it came, as in
// capture b (97420:98860 filled 9.53 s later).
#[test]
fn hole_before_the_first_segment_seen() {
    let r = analyze(&[
        ack_b(0, 1),
        data_a(500, 101, 100),
        ack_b(501, 1),
        data_a(10_030, 1, 100),
        ack_b(10_031, 201),
    ])
    .remove(0);
    assert_eq!(r.classes.get("out-of-order"), Some(&1), "{:?}", r.classes);
    assert_eq!(r.retransmissions.len(), 1);
    let since = r.retransmissions[0].since_hole_s.expect("a hole filler");
    assert!((since - 9.53).abs() < 1e-9, "{since}");
}

// Proves every silence is counted and the first MAX_LISTED are listed: data every 2 s for 1,005
// packets gives 1,004 silences of the sender (its peer sends nothing, so has none).
#[test]
fn silences_are_counted_beyond_the_list() {
    let packets: Vec<_> = (0..1005u32)
        .map(|i| data_a(i64::from(i) * 2_000, 1 + i * 10, 10))
        .collect();
    let r = analyze(&packets).remove(0);
    assert_eq!(r.silence_count, 1004);
    assert_eq!(r.silences.len(), crate::analyze::MAX_LISTED);
}
