//! Allocation-free formatting of the values trace writers print most (integers, virtual times, IPv4
//! addresses), appending to a reused `String`. `core::fmt` costs several times more per call, and
//! writers print millions of these per simulated hour.
//!
//! Guarantees: output is identical to the `Display` forms (checked by the tests below).

use std::net::Ipv4Addr;

use crate::clock::Instant;

/// Appends an integer.
pub fn push_int<I: itoa::Integer>(out: &mut String, v: I) {
    out.push_str(itoa::Buffer::new().format(v));
}

/// Appends seconds with six decimals, as [`crate::clock::fmt_secs`].
pub fn push_secs(out: &mut String, t: Instant) {
    let us = t.total_micros();
    if us < 0 {
        out.push_str(&crate::clock::fmt_secs(t));
        return;
    }
    push_int(out, us / 1_000_000);
    out.push('.');
    let frac = (us % 1_000_000) as u32;
    let mut digits = [b'0'; 6];
    let mut f = frac;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (f % 10) as u8;
        f /= 10;
    }
    out.push_str(std::str::from_utf8(&digits).expect("ascii digits"));
}

/// Appends a dotted-quad address.
pub fn push_ipv4(out: &mut String, a: Ipv4Addr) {
    let o = a.octets();
    for (i, b) in o.iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        push_int(out, *b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::fmt_secs;

    // Proves the fast forms equal the Display forms on edge values.
    #[test]
    fn matches_display() {
        for us in [0i64, 1, 999_999, 1_000_000, 12_000_345, 3_600_000_000_000] {
            let mut s = String::new();
            push_secs(&mut s, Instant::from_micros(us));
            assert_eq!(s, fmt_secs(Instant::from_micros(us)));
        }
        for a in [
            Ipv4Addr::new(0, 0, 0, 0),
            Ipv4Addr::new(192, 168, 31, 204),
            Ipv4Addr::new(255, 9, 10, 100),
        ] {
            let mut s = String::new();
            push_ipv4(&mut s, a);
            assert_eq!(s, a.to_string());
        }
        let mut s = String::new();
        push_int(&mut s, u32::MAX);
        assert_eq!(s, u32::MAX.to_string());
    }
}
