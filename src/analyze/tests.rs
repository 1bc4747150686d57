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
