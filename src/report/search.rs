//! The `search` reports: nothing found, or the reproducer found (where it was written, the model
//! text) followed by a table of its finding's features against the target's.
//!
//! Guarantees: features are listed in key order, with six decimals; a feature the target does not
//! have shows `-`; elapsed wall time is a parameter (measured by the caller), printed to 0.1 s.

use std::fmt::Write as _;
use std::path::Path;

use crate::search::{Found, Outcome, Target};

/// The report of a search that found no reproducer of `target` in `outcome`'s cases, after
/// `wall_s` seconds.
pub fn search_not_found(target: &str, outcome: &Outcome, wall_s: f64) -> String {
    format!(
        "no {target} reproducer in {} case(s) ({wall_s:.1} s); widen the model's [search] ranges or try more --cases\n",
        outcome.cases
    )
}

/// The report of a search that found `found`: how long it took, where the reproducer `model_text`
/// was written (`path`), the text itself, then the [`feature_table`] against `matching`.
pub fn search_found(
    target: &str,
    outcome: &Outcome,
    found: &Found,
    matching: Option<&Target>,
    path: &Path,
    model_text: &str,
    wall_s: f64,
) -> String {
    let mut report = format!(
        "found {target} after {} case(s), shrunk in {} run(s), {wall_s:.1} s; reproducer: {}\n\n{}\n",
        outcome.cases,
        outcome.shrink_runs,
        path.display(),
        model_text
    );
    report += &feature_table(found, matching);
    report
}

/// A table of the reproducer's finding's features (one row each), beside the target's value of the
/// same feature, if any.
pub fn feature_table(found: &Found, matching: Option<&Target>) -> String {
    let mut t = format!("{:<40} {:>14} {:>14}\n", "feature", "reproducer", "target");
    for (k, v) in &found.finding.features {
        let want = matching
            .and_then(|t| t.features.get(k))
            .map_or("-".to_string(), |w| format!("{w:.6}"));
        let _ = writeln!(t, "{k:<40} {v:>14.6} {want:>14}");
    }
    t
}
