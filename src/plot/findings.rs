//! The texts with which the timeline annotates the analysis findings.
//!
//! Guarantees: a pure function of the findings, sorted by time; the stale-FIN finding is spelled
//! out as its four steps (FIN, its ACK, the stale data, the RST) with the measured delays, any
//! other finding as its signature and its first two delays.

use crate::detect::Finding;

/// Annotations for the findings: (time, label), by time.
pub(super) fn annotations(findings: &[Finding]) -> Vec<(f64, String)> {
    let mut out = Vec::new();
    for f in findings {
        if f.signature == "stale-seq-after-fin" {
            stale_fin(f, &mut out);
        } else {
            let main: Vec<String> = f
                .features
                .iter()
                .filter(|(k, _)| k.ends_with("_s") && !k.starts_with("interval_"))
                .take(2)
                .map(|(k, v)| format!("{}={v:.2}", k.trim_end_matches("_s")))
                .collect();
            out.push((f.at_s, format!("{} {}", f.signature, main.join(" "))));
        }
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

/// The four steps of a stale-FIN finding, each where it happened.
fn stale_fin(f: &Finding, out: &mut Vec<(f64, String)>) {
    let g = |k: &str| f.features.get(k).copied().unwrap_or_default();
    let (ack_to_stale, fin_to_ack) = (g("ack_to_stale_s"), g("fin_to_ack_s"));
    let ack_t = f.at_s - ack_to_stale;
    let fin_t = ack_t - fin_to_ack;
    let at_least = if g("idle_before_fin_is_lower_bound") == 1.0 {
        "≥"
    } else {
        ""
    };
    out.push((
        fin_t,
        format!(
            "server FIN after {at_least}{:.2} s idle",
            g("idle_before_fin_s")
        ),
    ));
    if g("fin_retransmitted") == 1.0 {
        out.push((
            ack_t,
            format!(
                "FIN (resent) ACKed +{fin_to_ack:.3} s, +{:.3} s after the last",
                g("last_fin_to_ack_s")
            ),
        ));
    } else {
        out.push((ack_t, format!("FIN ACKed +{fin_to_ack:.3} s")));
    }
    out.push((f.at_s, format!("stale data +{ack_to_stale:.2} s")));
    out.push((
        f.at_s + g("stale_to_rst_s"),
        format!("RST +{:.3} s", g("stale_to_rst_s")),
    ));
}
