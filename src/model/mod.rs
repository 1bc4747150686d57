//! The model file format (`models/*.toml`): the project's contract with its users.
//!
//! This is the only module that knows the format. It guarantees:
//! - unknown keys are rejected, every field has a documented default, and `seed` is required;
//! - every error (syntax, type, or a value that makes no sense) names the file, line, column and the
//!   dotted field path (`models/x.toml:12:9: link.outage.down: ...`);
//! - [`Scenario::to_toml`] writes the resolved model with every default filled in, and loading that
//!   text gives back an equal [`Scenario`] (so `run.toml` reproduces a run).
//!
//! Durations are strings with units (`"250ms"`, `"15s"`, `"1h"`); optional durations also accept
//! `"off"` ([`Dur`], [`OptDur`], defined in [`crate::clock`]). The stack settings an endpoint
//! resolves to ([`TcpModel`], [`Congestion`], [`ClosePolicy`]) belong to [`crate::profile`], which
//! fills them; they are re-exported here, so the whole format is reachable from this module.
//!
//! Layout: the types of the format live in `link` (`[link]`), `endpoint` (`[client]`, `[server]`),
//! `space` (`[search]`) and `expect` (`[[expect]]`); `load` reads text into a [`Scenario`], `set`
//! applies `--set KEY=VALUE` overrides to the document, `validate` checks that values make sense together, `locate` turns an
//! error into `file:line:col: field`, and `error` holds [`ModelError`].

use serde::{Deserialize, Serialize};

mod builder;
mod endpoint;
mod error;
mod expect;
mod link;
mod load;
mod locate;
mod set;
mod space;
#[cfg(test)]
mod tests;
mod validate;

pub use crate::clock::{Dur, OptDur, Phase};
pub use crate::profile::{ClosePolicy, Congestion, Emulate, TcpModel};
pub use crate::trace::CapturePoint;
pub use builder::ScenarioBuilder;
pub use endpoint::{
    AppModel, CLIENT_DEFAULT, EndpointModel, OnPeerClose, SERVER_DEFAULT, WhenFull,
};
pub use error::{Invalid, ModelError, ModelErrorKind};
pub use expect::{Direction, EndpointName, Expect, FinalState, Property, slug, tcp_state_names};
pub use link::{
    Affects, AfterExpiry, DirectionModel, LinkModel, LossModel, Middlebox, Notify, OutagePolicy,
    OutageSchedule, PowerSave, Window,
};
pub use load::{MODEL_FILE_LIMIT, read_model};
pub use space::SearchSpace;

/// The format version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// A seed: a TOML integer, or a string of decimal digits (for values above `i64::MAX`).
fn de_seed<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    struct Seed;
    impl serde::de::Visitor<'_> for Seed {
        type Value = u64;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "an integer from 0 to {}", u64::MAX)
        }
        fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<u64, E> {
            Ok(n)
        }
        fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<u64, E> {
            u64::try_from(n).map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(n), &self))
        }
        fn visit_str<E: serde::de::Error>(self, t: &str) -> Result<u64, E> {
            t.trim().parse().map_err(|_| {
                E::custom(format!(
                    "expected an integer from 0 to {}, found {:?}",
                    u64::MAX,
                    crate::clip_text(t)
                ))
            })
        }
    }
    d.deserialize_any(Seed)
}

/// A whole simulation experiment: link, two endpoints, seed and duration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Format version; must be [`FORMAT_VERSION`].
    pub version: u32,
    /// Short name; the default output directory is `runs/<name>`.
    pub name: String,
    /// Free text: what the model is for.
    #[serde(default)]
    pub description: String,
    /// The seed every random stream is derived from. Required: an integer from 0 to 2^64−1. A
    /// string of decimal digits is taken too, because `--set seed=N` above 2^63−1 is not a TOML
    /// integer.
    #[serde(deserialize_with = "de_seed")]
    pub seed: u64,
    /// How much virtual time to simulate at most (default `"60s"`).
    #[serde(default = "default_duration")]
    pub duration: Dur,
    /// Where `trace.txt` and `trace.pcap` are captured.
    #[serde(default)]
    pub capture: CapturePoint,
    /// The path between the endpoints.
    #[serde(default)]
    pub link: LinkModel,
    /// The device: it opens the connection.
    pub client: EndpointModel,
    /// The server: it listens.
    #[serde(default = "EndpointModel::default_server")]
    pub server: EndpointModel,
    /// The parameter space `tcpsim search` explores around this model; absent means the defaults
    /// of [`SearchSpace`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<SearchSpace>,
    /// Properties every run of the model (across its `[search]` space) must have: the
    /// `[[expect]]` tables `tcpsim test` checks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expect: Vec<Expect>,
}

fn default_duration() -> Dur {
    Dur::secs(60)
}
