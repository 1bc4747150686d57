//! The one integration-test binary (one link of smoltcp + proptest instead of one per file).

mod behaviour;
mod cli;
mod determinism;
mod field;
mod importers;
mod observed;
mod plots;
mod props;
mod search;

use std::path::{Path, PathBuf};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A model from `models/`.
pub fn model(name: &str) -> tcpsim::Scenario {
    tcpsim::Scenario::load(&root().join("models").join(name)).expect("committed models load")
}

/// A fresh, empty scratch directory for one test.
pub fn scratch(test: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(test);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
