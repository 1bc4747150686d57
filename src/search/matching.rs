//! How a finding is compared with a target capture's, feature by feature: timing and other
//! measured features within a tolerance, yes/no features and counts exactly, and a feature the
//! capture only bounds as the bound it is.
//!
//! Guarantees: a pure function of the two feature sets and the tolerance; every target feature is
//! compared and reported ([`Compared`]), none is skipped: a feature the finding lacks is a mismatch
//! at infinite distance. The distance of a feature is its difference divided by what the tolerance
//! allows (so at most 1 is a match), 0 or infinity for exact ones; a case's distance is the largest.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::detect::Finding;

/// How a feature is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A measured time (`_s`): within max(tolerance × target, floor).
    Timing,
    /// A yes/no feature (1/0): equal.
    Flag,
    /// A count of packets or events: equal.
    Count,
    /// Any other measured value (a ratio, a window): within tolerance × target.
    Measure,
    /// A time the capture only bounds from below (its `NAME_is_lower_bound` flag is 1): at least
    /// the target less the tolerance.
    LowerBound,
}

/// The suffix of a feature's bound flag: `idle_before_fin_is_lower_bound` bounds
/// `idle_before_fin_s`.
const LOWER_BOUND: &str = "_is_lower_bound";

/// What kind of feature `name` is (a bound is decided by the target, see [`compare`]).
pub fn kind(name: &str) -> Kind {
    const FLAGS: [&str; 4] = [
        "stale_is_retransmission",
        "stale_seq_equals_fin_ack",
        "fin_retransmitted",
        "still_open",
    ];
    const COUNTS: [&str; 3] = [
        "retransmissions",
        "device_data_between_last_ack_and_fin",
        "acks_without_data",
    ];
    if FLAGS.contains(&name) || name.ends_with(LOWER_BOUND) {
        Kind::Flag
    } else if COUNTS.contains(&name) {
        Kind::Count
    } else if name.ends_with("_s") {
        Kind::Timing
    } else {
        Kind::Measure
    }
}

/// One target feature against a finding's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Compared {
    /// The feature.
    pub feature: String,
    /// How it was compared.
    pub kind: Kind,
    /// The capture's value.
    pub target: f64,
    /// The finding's value (`None`: the finding does not have it).
    pub value: Option<f64>,
    /// What the tolerance allows (0 for exact features).
    pub allowed: f64,
    /// Difference over what is allowed: at most 1 matches (`f64::INFINITY` when absent or an
    /// exact feature differs; serialised as `null`).
    pub distance: f64,
    /// Whether it matches.
    pub matches: bool,
}

/// Compares every feature of `target` (bound flags excepted: they decide how their feature is
/// compared) with `finding`'s, at relative tolerance `tol` and absolute floor `floor` (seconds, for
/// timing features).
pub fn compare(
    finding: &Finding,
    target: &BTreeMap<String, f64>,
    tol: f64,
    floor: f64,
) -> Vec<Compared> {
    let mut out = Vec::new();
    for (name, &want) in target {
        if name.ends_with(LOWER_BOUND) {
            continue;
        }
        let stem = name.strip_suffix("_s").unwrap_or(name);
        let bounded = target.get(&format!("{stem}{LOWER_BOUND}")) == Some(&1.0);
        let kind = if bounded {
            Kind::LowerBound
        } else {
            kind(name)
        };
        let allowed = match kind {
            Kind::Flag | Kind::Count => 0.0,
            Kind::Timing | Kind::LowerBound => (tol * want.abs()).max(floor),
            Kind::Measure => tol * want.abs(),
        };
        let got = finding.features.get(name).copied();
        let distance = match (got, kind) {
            (None, _) => f64::INFINITY,
            (Some(v), Kind::LowerBound) => (want - v).max(0.0) / allowed.max(f64::MIN_POSITIVE),
            (Some(v), _) if allowed == 0.0 => {
                if v == want {
                    0.0
                } else {
                    f64::INFINITY
                }
            }
            (Some(v), _) => (v - want).abs() / allowed,
        };
        out.push(Compared {
            feature: name.clone(),
            kind,
            target: want,
            value: got,
            allowed,
            distance,
            matches: distance <= 1.0,
        });
    }
    out
}

/// The largest distance of a comparison (0 for an empty one).
pub fn distance(compared: &[Compared]) -> f64 {
    compared.iter().map(|c| c.distance).fold(0.0, f64::max)
}

/// How far a comparison is from a match, for ranking near misses and for the refinement: the sum
/// of the features' distances, a measured one capped at 10 and an exact one that differs (or a
/// feature the finding lacks) counted 100. So the shape of the episode comes first (a yes/no
/// feature is what a local change of timings cannot fix), then fewer timings off, then smaller
/// differences.
pub fn score(compared: &[Compared]) -> f64 {
    let each = |c: &Compared| {
        if c.distance.is_infinite() {
            100.0
        } else {
            c.distance.min(10.0)
        }
    };
    compared.iter().map(each).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(features: &[(&str, f64)]) -> Finding {
        Finding {
            signature: "stale-seq-after-fin".into(),
            at_s: 0.0,
            features: features.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        }
    }

    fn target(features: &[(&str, f64)]) -> BTreeMap<String, f64> {
        features.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    // Proves the three complaints are gone: a yes/no feature 0 against 1 and ACK→stale 7.55
    // against 31.03 s no longer match at any tolerance below 100 %, while 6.852 against 6.860 s
    // matches at 5 % / 0.1 s (the tighter default issue 10 asks for); every feature is reported
    // with its distance.
    #[test]
    fn flags_exact_timings_within_tolerance() {
        let t = target(&[("stale_is_retransmission", 1.0), ("ack_to_stale_s", 31.03)]);
        let f = finding(&[("stale_is_retransmission", 0.0), ("ack_to_stale_s", 7.55)]);
        let c = compare(&f, &t, 0.5, 0.1);
        assert_eq!(c.len(), 2);
        assert!(c.iter().all(|c| !c.matches), "{c:?}");
        assert_eq!(c[1].kind, Kind::Flag);
        assert_eq!(c[1].distance, f64::INFINITY);
        let near = finding(&[("stale_is_retransmission", 1.0), ("ack_to_stale_s", 6.852)]);
        let t = target(&[("stale_is_retransmission", 1.0), ("ack_to_stale_s", 6.860)]);
        let c = compare(&near, &t, 0.05, 0.1);
        assert!(c.iter().all(|c| c.matches), "{c:?}");
        assert!((c[0].allowed - 0.343).abs() < 1e-9, "5 % of 6.86 s");
        assert!((distance(&c) - 0.008 / 0.343).abs() < 1e-9);
    }

    // Proves a bounded feature matches as a bound: the capture saw at least 12 s of idle time, so
    // 15 s matches and 10 s does not; the bound flag itself is not compared; a missing feature is
    // a mismatch.
    #[test]
    fn bounds_and_missing_features() {
        let t = target(&[
            ("idle_before_fin_s", 12.0),
            ("idle_before_fin_is_lower_bound", 1.0),
            ("stale_since_hole_s", 46.0),
        ]);
        let c = compare(
            &finding(&[
                ("idle_before_fin_s", 15.0),
                ("idle_before_fin_is_lower_bound", 0.0),
            ]),
            &t,
            0.05,
            0.1,
        );
        assert_eq!(c.len(), 2, "{c:?}");
        assert_eq!(
            (c[0].kind, c[0].matches, c[0].distance),
            (Kind::LowerBound, true, 0.0)
        );
        assert!(!c[1].matches && c[1].value.is_none());
        let c = compare(&finding(&[("idle_before_fin_s", 10.0)]), &t, 0.05, 0.1);
        assert!(!c[0].matches);
        assert!((c[0].distance - 2.0 / 0.6).abs() < 1e-9);
    }
}
