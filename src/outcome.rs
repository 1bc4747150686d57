//! A connection's outcome — survived, reset, aborted or closed — as a function of a run's summary.
//!
//! This is the one definition: `tcpsim test`'s `outcome = "..."` properties use it, and anything else
//! that classifies runs should too. It reads only the endpoints' application milestones (see
//! [`crate::summary::EndpointSummary::milestones`]), in this order of precedence:
//!
//! 1. **reset**: an endpoint saw a `reset` (a RST from its peer or from a middlebox that forgot the
//!    flow), or aborted with `abort (new data after close)` (the `linux` close policy answering late
//!    data with a bare RST);
//! 2. **aborted**: an endpoint gave up with `abort (timeout)` (user timeout or retry limit);
//! 3. **closed**: both applications closed (`close` on each side: the FIN exchange of an orderly
//!    shutdown);
//! 4. **survived**: none of the above — the connection is still open when the run ends
//!    (established, or half-closed as in a CLOSE-WAIT leak, or a handshake still pending).
//!
//! Guarantees: total (every summary has exactly one outcome) and deterministic (a function of the
//! milestones only).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::summary::{EndpointSummary, Summary};

/// How a connection ended up; see the module documentation for the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Still open at the end of the run.
    Survived,
    /// Reset by the peer or a middlebox (or a bare RST answering late data).
    Reset,
    /// Aborted by a timeout (user timeout, retry limit).
    Aborted,
    /// Both applications closed.
    Closed,
}

impl Outcome {
    /// Every outcome, in the order the documentation lists them.
    pub const ALL: [Outcome; 4] = [
        Outcome::Survived,
        Outcome::Reset,
        Outcome::Aborted,
        Outcome::Closed,
    ];

    /// The outcome of a run's summary (the rule of the module documentation).
    pub fn of_summary(summary: &Summary) -> Outcome {
        let ends = [&summary.client, &summary.server];
        let any = |event: &str| ends.iter().any(|e| has(e, event));
        if any("reset") || any("abort (new data after close)") {
            Outcome::Reset
        } else if any("abort (timeout)") {
            Outcome::Aborted
        } else if ends.iter().all(|e| has(e, "close")) {
            Outcome::Closed
        } else {
            Outcome::Survived
        }
    }

    /// The name used in model files and reports (`survived`, `reset`, `aborted`, `closed`).
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Survived => "survived",
            Outcome::Reset => "reset",
            Outcome::Aborted => "aborted",
            Outcome::Closed => "closed",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether an endpoint's milestones include `event`.
fn has(e: &EndpointSummary, event: &str) -> bool {
    e.milestones.iter().any(|m| m.event == event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::{Milestone, SummaryBuilder};

    /// A summary whose client and server saw these milestones (at 1 s, 2 s, ...).
    fn summary(client: &[&str], server: &[&str]) -> Summary {
        let mut s = SummaryBuilder::new("m", 1).summary(
            crate::clock::Instant::from_secs(10),
            "duration",
            Vec::new(),
        );
        let ms = |events: &[&str]| {
            (events.iter().enumerate())
                .map(|(i, e)| Milestone {
                    at_s: i as f64 + 1.0,
                    event: e.to_string(),
                })
                .collect()
        };
        s.client.milestones = ms(client);
        s.server.milestones = ms(server);
        s
    }

    // Proves the rule on hand-built summaries: each outcome, and the precedence reset > aborted >
    // closed > survived.
    #[test]
    fn outcome_rule() {
        let cases: [(&[&str], &[&str], Outcome); 9] = [
            (&["connected"], &["connected"], Outcome::Survived),
            (&[], &[], Outcome::Survived),
            // A CLOSE-WAIT leak: only the client closed.
            (
                &["connected", "close"],
                &["connected", "peer-closed"],
                Outcome::Survived,
            ),
            (
                &["connected", "close", "peer-closed"],
                &["connected", "peer-closed", "close"],
                Outcome::Closed,
            ),
            // The middlebox (or the peer) reset the client.
            (&["connected", "reset"], &["connected"], Outcome::Reset),
            // The linux close policy's bare RST: the server aborts, the client is reset.
            (
                &["connected", "peer-closed"],
                &[
                    "connected",
                    "idle-timeout",
                    "close",
                    "abort (new data after close)",
                ],
                Outcome::Reset,
            ),
            (
                &["connected", "abort (timeout)"],
                &["connected"],
                Outcome::Aborted,
            ),
            (
                &["connected", "abort (timeout)"],
                &["connected", "reset"],
                Outcome::Reset,
            ),
            (
                &["connected", "close", "abort (timeout)"],
                &["connected", "close"],
                Outcome::Aborted,
            ),
        ];
        for (client, server, want) in cases {
            assert_eq!(
                Outcome::of_summary(&summary(client, server)),
                want,
                "client {client:?}, server {server:?}"
            );
        }
    }

    // Proves the names are the model file's spelling and round-trip through serde.
    #[test]
    fn names() {
        for o in Outcome::ALL {
            let text = toml::to_string(&std::collections::BTreeMap::from([("o", o)])).unwrap();
            assert_eq!(text.trim(), format!("o = \"{o}\""));
        }
    }
}
