//! The `[[expect]]` tables of the model format: properties a model's runs must have, checked by
//! `tcpsim test` over the model's `[search]` space (or on the model alone).
//!
//! ```toml
//! [[expect]]
//! name = "no stale data after the server's FIN"
//! never = "stale-seq-after-fin"        # or: always = "SIG"
//!
//! [[expect]]
//! name = "with keep-alive at 60 s the response arrives"
//! set = ["client.tcp.keep_alive=60s"]  # optional: --set overrides for this property only
//! delivered_at_least = 17              # or delivered_at_most; direction = "uplink" (default) | "downlink"
//! direction = "downlink"
//! ```
//!
//! The checks (exactly one per table): `never = SIG`, `always = SIG`, `outcome = "survived" |
//! "reset" | "aborted" | "closed"` ([`crate::outcome`]), `feature = "SIG.FEATURE"` with `min` and/or
//! `max` (every finding of SIG has the feature within the bounds; no finding, no constraint),
//! `delivered_at_least` / `delivered_at_most = BYTES` (bytes the receiving application read, with
//! `direction`), `final_state = { side = "client" | "server", state = "ESTABLISHED" }`.
//!
//! Guarantees: unknown keys, a table with no check or two, a key that belongs to another check
//! (`min` without `feature`), an unknown signature or TCP state, bounds that cannot hold, and two
//! properties of one model with the same file name are errors naming `expect.N.field`, located
//! by the loader like every other model error.

use serde::{Deserialize, Serialize};

use super::Invalid;
use crate::outcome::Outcome;
use crate::trace::TcpState;

/// One `[[expect]]` table: a named property of the model's runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// What the property says, in the user's words; it names the test case and the
    /// counterexample file.
    pub name: String,
    /// `--set KEY=VALUE` overrides applied to the model for this property only (e.g. the fixed
    /// setting the property is about).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set: Vec<String>,
    /// A signature that must not occur.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub never: Option<String>,
    /// A signature that must occur.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub always: Option<String>,
    /// The connection's outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// `SIGNATURE.FEATURE` bounded by `min` and/or `max` in every finding of the signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature: Option<String>,
    /// Lower bound of `feature` (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Upper bound of `feature` (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Bytes the receiving application must read at least.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at_least: Option<u64>,
    /// Bytes the receiving application may read at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at_most: Option<u64>,
    /// The direction of `delivered_*` (default uplink: client to server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// An endpoint's TCP state at the end of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_state: Option<FinalState>,
}

/// A direction of the connection, as `[[expect]]` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// Client to server.
    #[default]
    Uplink,
    /// Server to client.
    Downlink,
}

/// An endpoint, as `[[expect]]` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndpointName {
    /// The client.
    Client,
    /// The server.
    Server,
}

/// `final_state = { side = "server", state = "CLOSE-WAIT" }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinalState {
    /// Which endpoint.
    pub side: EndpointName,
    /// Its TCP state at the end of the run, as the summary writes it (`ESTABLISHED`,
    /// `CLOSE-WAIT`, `TIME-WAIT`, ...).
    pub state: String,
}

/// The one check of an `[[expect]]` table, validated.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Property {
    /// The signature does not occur.
    Never(String),
    /// The signature occurs.
    Always(String),
    /// The outcome is this one.
    Outcome(Outcome),
    /// Every finding of `signature` has `feature` within `[min, max]`.
    Feature {
        /// The signature.
        signature: String,
        /// The feature's name.
        feature: String,
        /// Lower bound, if any.
        min: Option<f64>,
        /// Upper bound, if any.
        max: Option<f64>,
    },
    /// Bytes delivered in `direction` within `[min, max]`.
    Delivered {
        /// The direction.
        direction: Direction,
        /// At least this many bytes, if given.
        min: Option<u64>,
        /// At most this many bytes, if given.
        max: Option<u64>,
    },
    /// An endpoint's final TCP state.
    FinalState(FinalState),
}

/// The TCP state names the summary writes.
pub fn tcp_state_names() -> impl Iterator<Item = String> {
    [
        TcpState::Closed,
        TcpState::Listen,
        TcpState::SynSent,
        TcpState::SynReceived,
        TcpState::Established,
        TcpState::FinWait1,
        TcpState::FinWait2,
        TcpState::CloseWait,
        TcpState::Closing,
        TcpState::LastAck,
        TcpState::TimeWait,
    ]
    .into_iter()
    .map(|s| s.to_string())
}

/// The keys naming a check, in the order they are reported.
const CHECKS: [&str; 7] = [
    "never",
    "always",
    "outcome",
    "feature",
    "delivered_at_least",
    "delivered_at_most",
    "final_state",
];

/// The file-name form of a property name: lowercase letters and digits, runs of anything else as
/// one `-`, at most 60 characters.
pub fn slug(name: &str) -> String {
    let mut s = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
        } else if !s.is_empty() && !s.ends_with('-') {
            s.push('-');
        }
    }
    let mut s: String = s.trim_end_matches('-').chars().take(60).collect();
    while s.ends_with('-') {
        s.pop();
    }
    s
}

/// An [`Invalid`] about `expect.i.key`.
fn invalid(i: usize, key: &str, message: String) -> Invalid {
    Invalid {
        field: format!("expect.{i}.{key}"),
        message,
    }
}

/// `sig` if the detectors know it.
fn known_signature(i: usize, key: &str, sig: &str) -> Result<String, Invalid> {
    if crate::detect::signatures().any(|s| s == sig) {
        return Ok(sig.to_string());
    }
    let known: Vec<_> = crate::detect::signatures().collect();
    Err(invalid(
        i,
        key,
        format!("unknown signature {sig:?} (known: {})", known.join(", ")),
    ))
}

impl Expect {
    /// The table's one check, validated; `i` is the table's index (for the field path).
    ///
    /// # Errors
    /// [`Invalid`] naming `expect.i.<field>`.
    pub fn property(&self, i: usize) -> Result<Property, Invalid> {
        let check = self.the_check(i)?;
        Ok(match check {
            "never" => Property::Never(known_signature(
                i,
                check,
                self.never.as_deref().unwrap_or(""),
            )?),
            "always" => Property::Always(known_signature(
                i,
                check,
                self.always.as_deref().unwrap_or(""),
            )?),
            "outcome" => Property::Outcome(self.outcome.expect("checked")),
            "feature" => {
                let text = self.feature.as_deref().unwrap_or("");
                let Some((sig, feature)) = text.split_once('.').filter(|(_, f)| !f.is_empty())
                else {
                    return Err(invalid(
                        i,
                        check,
                        format!("{text:?} must be SIGNATURE.FEATURE"),
                    ));
                };
                let signature = known_signature(i, check, sig)?;
                let known = crate::detect::features(&signature).unwrap_or_default();
                if !known.contains(&feature) {
                    // A misspelt feature would never be measured, so the property would always hold.
                    return Err(invalid(
                        i,
                        check,
                        format!(
                            "{sig} has no feature {feature:?} (its features: {})",
                            known.join(", ")
                        ),
                    ));
                }
                self.check_bounds(i)?;
                Property::Feature {
                    signature,
                    feature: feature.to_string(),
                    min: self.min,
                    max: self.max,
                }
            }
            "final_state" => {
                let fs = self.final_state.clone().expect("checked");
                if !tcp_state_names().any(|s| s == fs.state) {
                    let known: Vec<String> = tcp_state_names().collect();
                    return Err(invalid(
                        i,
                        "final_state.state",
                        format!(
                            "unknown TCP state {:?} (known: {})",
                            fs.state,
                            known.join(", ")
                        ),
                    ));
                }
                Property::FinalState(fs)
            }
            _ => {
                if let (Some(lo), Some(hi)) = (self.delivered_at_least, self.delivered_at_most)
                    && lo > hi
                {
                    return Err(invalid(
                        i,
                        "delivered_at_most",
                        format!("{hi} is below delivered_at_least ({lo})"),
                    ));
                }
                Property::Delivered {
                    direction: self.direction.unwrap_or_default(),
                    min: self.delivered_at_least,
                    max: self.delivered_at_most,
                }
            }
        })
    }

    /// The name of the table's one check (`delivered_at_least` and `delivered_at_most` together
    /// are one), after checking the name and that the other keys go with it.
    fn the_check(&self, i: usize) -> Result<&'static str, Invalid> {
        if slug(&self.name).is_empty() {
            return Err(invalid(
                i,
                "name",
                format!(
                    "{:?} must contain an ASCII letter or digit (it names the counterexample file)",
                    self.name
                ),
            ));
        }
        if self.name.chars().any(char::is_control) {
            // A name is printed on terminals and in JUnit XML: no escape sequences, no line breaks.
            return Err(invalid(
                i,
                "name",
                format!("{:?} holds a control character", self.name),
            ));
        }
        let given: Vec<&str> = CHECKS.into_iter().filter(|k| self.has(k)).collect();
        let both_delivered =
            given.contains(&"delivered_at_least") && given.contains(&"delivered_at_most");
        if given.len() > 1 + usize::from(both_delivered) {
            let second = given
                .iter()
                .skip(1)
                .find(|k| **k != "delivered_at_most" || !both_delivered)
                .unwrap_or(&given[1]);
            return Err(invalid(
                i,
                second,
                format!(
                    "one check per [[expect]] table: {} and {second} given",
                    given[0]
                ),
            ));
        }
        let Some(&check) = given.first() else {
            return Err(invalid(
                i,
                "name",
                format!("no check: give one of {}", CHECKS.join(", ")),
            ));
        };
        for (k, set, belongs) in [
            ("min", self.min.is_some(), "feature"),
            ("max", self.max.is_some(), "feature"),
            ("direction", self.direction.is_some(), "delivered"),
        ] {
            if set && !check.starts_with(belongs) {
                return Err(invalid(i, k, format!("only goes with {belongs}")));
            }
        }
        Ok(check)
    }

    /// Whether the check `key` is given.
    fn has(&self, key: &str) -> bool {
        match key {
            "never" => self.never.is_some(),
            "always" => self.always.is_some(),
            "outcome" => self.outcome.is_some(),
            "feature" => self.feature.is_some(),
            "delivered_at_least" => self.delivered_at_least.is_some(),
            "delivered_at_most" => self.delivered_at_most.is_some(),
            _ => self.final_state.is_some(),
        }
    }

    /// A feature's bounds: at least one, finite, in order.
    fn check_bounds(&self, i: usize) -> Result<(), Invalid> {
        match (self.min, self.max) {
            (None, None) => Err(invalid(i, "feature", "give min, max or both".to_string())),
            (Some(v), _) if !v.is_finite() => {
                Err(invalid(i, "min", format!("{v} must be a finite number")))
            }
            (_, Some(v)) if !v.is_finite() => {
                Err(invalid(i, "max", format!("{v} must be a finite number")))
            }
            (Some(lo), Some(hi)) if lo > hi => {
                Err(invalid(i, "max", format!("{hi} is below min ({lo})")))
            }
            _ => Ok(()),
        }
    }
}

/// Every table's check, and no two names with the same file name.
pub(super) fn validate_expects(expects: &[Expect]) -> Result<(), Invalid> {
    for (i, e) in expects.iter().enumerate() {
        e.property(i)?;
        if let Some(j) = expects[..i]
            .iter()
            .position(|o| slug(&o.name) == slug(&e.name))
        {
            return Err(Invalid {
                field: format!("expect.{i}.name"),
                message: format!(
                    "{:?} has the same file name ({}) as expect.{j}'s {:?}: rename one",
                    e.name,
                    slug(&e.name),
                    expects[j].name
                ),
            });
        }
        for (k, s) in e.set.iter().enumerate() {
            if let Err(err) = super::set::Override::parse(s) {
                return Err(Invalid {
                    field: format!("expect.{i}.set.{k}"),
                    message: err.to_string(),
                });
            }
        }
    }
    Ok(())
}
