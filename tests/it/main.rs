//! The one integration-test binary (one link of smoltcp + proptest instead of one per file).

mod behaviour;
mod cli;
mod determinism;
mod expect;
mod fidelity;
mod field;
mod importers;
mod observed;
mod plots;
mod props;
mod reliability;
mod search;
mod search_field;
mod text_formats;
mod time_base;

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

/// Whether an external tool (tshark, editcap) can be run. When it cannot, the test that needs it
/// says so loudly on stderr and skips, unless `TCPSIM_REQUIRE_TSHARK=1` (set by `.ci/run`, which
/// installs the tools), where a missing tool fails the test.
pub fn have_tool(tool: &str, test: &str) -> bool {
    let found = std::process::Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        if std::env::var("TCPSIM_REQUIRE_TSHARK").is_ok_and(|v| v == "1") {
            panic!("{tool} is required (TCPSIM_REQUIRE_TSHARK=1) but cannot be run");
        }
        // Written to the real stderr, not through `eprintln!`, which the test harness captures
        // for passing tests: the skip must be visible in a plain `cargo test`.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED {test}: {tool} is not installed (apt-get install {tool}); \
             .ci/run installs it and sets TCPSIM_REQUIRE_TSHARK=1 ***\n"
        );
    }
    found
}
