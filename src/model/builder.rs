//! Models written in Rust: [`ScenarioBuilder`], the counterpart of a model file.
//!
//! Guarantees: a built scenario is resolved (addresses and ports filled in) and validated exactly as
//! a loaded file is, so whatever builds also runs; an invalid one is a [`ModelError`] naming the
//! field, with `<scenario>` as its path.

use super::{
    AppModel, CapturePoint, Dur, EndpointModel, FORMAT_VERSION, LinkModel, ModelError,
    ModelErrorKind, Scenario, SearchSpace,
};
use crate::profile::Profile;

impl EndpointModel {
    /// An endpoint on stack profile `stack` running `app`, every other setting the profile's or
    /// the format's default (address and port are filled in when the scenario is resolved).
    pub fn new(stack: Profile, app: AppModel) -> EndpointModel {
        EndpointModel {
            stack,
            address: None,
            port: None,
            tcp: stack.tcp(),
            app,
            greeting: 0,
            idle_timeout: Default::default(),
            on_peer_close: Default::default(),
            close_policy: stack.close_policy(),
        }
    }
}

impl Scenario {
    /// A builder for a scenario named `name` with `seed`: a `smoltcp` client with no application
    /// and a `smoltcp` server reading everything, over the default link, for 60 s.
    pub fn builder(name: &str, seed: u64) -> ScenarioBuilder {
        ScenarioBuilder {
            scenario: Scenario {
                version: FORMAT_VERSION,
                name: name.to_string(),
                description: String::new(),
                seed,
                duration: Dur::secs(60),
                capture: CapturePoint::default(),
                link: LinkModel::default(),
                client: EndpointModel::new(Profile::default(), AppModel::default()),
                server: EndpointModel::new(Profile::default(), AppModel::Sink),
                search: None,
                expect: Vec::new(),
            },
        }
    }
}

/// Builds a [`Scenario`] in code; see [`Scenario::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ScenarioBuilder {
    scenario: Scenario,
}

impl ScenarioBuilder {
    /// Free text: what the model is for.
    pub fn description(mut self, text: &str) -> Self {
        self.scenario.description = text.to_string();
        self
    }

    /// Simulated time at most.
    pub fn duration(mut self, d: Dur) -> Self {
        self.scenario.duration = d;
        self
    }

    /// Where `trace.txt` and `trace.pcap` are captured.
    pub fn capture(mut self, point: CapturePoint) -> Self {
        self.scenario.capture = point;
        self
    }

    /// The path between the endpoints.
    pub fn link(mut self, link: LinkModel) -> Self {
        self.scenario.link = link;
        self
    }

    /// The client (the device; it connects at time zero).
    pub fn client(mut self, client: EndpointModel) -> Self {
        self.scenario.client = client;
        self
    }

    /// The client's application, keeping its stack settings.
    pub fn client_app(mut self, app: AppModel) -> Self {
        self.scenario.client.app = app;
        self
    }

    /// The server (it listens).
    pub fn server(mut self, server: EndpointModel) -> Self {
        self.scenario.server = server;
        self
    }

    /// The server's application, keeping its stack settings.
    pub fn server_app(mut self, app: AppModel) -> Self {
        self.scenario.server.app = app;
        self
    }

    /// The parameter space `tcpsim search` explores around this scenario.
    pub fn search(mut self, space: SearchSpace) -> Self {
        self.scenario.search = Some(space);
        self
    }

    /// The scenario, resolved and validated.
    ///
    /// # Errors
    /// The first invalid setting, as a [`ModelError`] with path `<scenario>`.
    pub fn build(mut self) -> Result<Scenario, ModelError> {
        self.scenario.resolve();
        self.scenario.check()?;
        Ok(self.scenario)
    }
}

impl Scenario {
    /// Validates a scenario built or changed in code, as loading a file does.
    ///
    /// # Errors
    /// The first invalid setting, as a [`ModelError`] with path `<scenario>`.
    pub fn check(&self) -> Result<(), ModelError> {
        self.validate().map_err(|inv| ModelError {
            path: "<scenario>".into(),
            line: 0,
            col: 0,
            field: inv.field,
            kind: ModelErrorKind::Invalid(inv.message),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves a built scenario equals the same model loaded from a file, and that an invalid one is
    // refused with the field named.
    #[test]
    fn built_equals_loaded() {
        let built = Scenario::builder("b", 7)
            .duration(Dur::secs(10))
            .client_app(AppModel::Bulk {
                bytes: 1000,
                start: Dur::zero(),
            })
            .build()
            .unwrap();
        let text = "version = 1\nname = \"b\"\nseed = 7\nduration = \"10s\"\n[client.app]\nkind = \"bulk\"\nbytes = 1000\n";
        let loaded = Scenario::from_toml(text, std::path::Path::new("b.toml")).unwrap();
        assert_eq!(built, loaded);
        let err = Scenario::builder("b", 7)
            .duration(Dur::zero())
            .build()
            .unwrap_err();
        assert_eq!(err.field, "duration", "{err}");
    }
}
