//! The `search` reports: nothing found, or the reproducer found (where it was written, the model
//! text) followed by a table of its finding's features against the target's.
//!
//! Guarantees: features are listed in key order, with six decimals; a feature the target does not
//! have shows `-`; elapsed wall time is a parameter (measured by the caller), printed to 0.1 s.

use std::fmt::Write as _;
use std::path::Path;

use crate::search::{Found, Outcome, SearchOptions, Target};

/// The report of a search that found no reproducer of `target` in `outcome`'s cases, after
/// `wall_s` seconds.
pub fn search_not_found(target: &str, outcome: &Outcome, wall_s: f64) -> String {
    let mut report = format!(
        "no {target} reproducer in {} case(s){} ({wall_s:.1} s); widen the model's [search] ranges or try more --cases\n",
        outcome.cases,
        refined(outcome),
    );
    if let Some(n) = &outcome.nearest {
        let _ = write!(
            report,
            "\nnearest miss: a case showed {target} at {:.3} s, its features against the target's:\n",
            n.finding.at_s
        );
        report += &compared_table(&n.compared);
        report += &bounds(outcome);
        let _ = write!(
            report,
            "\nthe nearest case (run it with `tcpsim run` to see the episode):\n\n{}",
            n.scenario.to_toml()
        );
    }
    report
}

/// What `tcpsim search` prints: [`search_json`] with `json`, else [`search_found`] and the
/// [`robustness_line`] when a reproducer was found (`written`: where, and its text; `None` when it
/// fell below `--min-rate` and was not written), else [`search_not_found`].
pub fn search_report(
    outcome: &Outcome,
    opts: &SearchOptions,
    written: Option<(&Path, &str)>,
    json: bool,
    wall_s: f64,
) -> String {
    if json {
        return search_json(outcome, opts, written.map(|w| w.0));
    }
    let Some(found) = &outcome.found else {
        return search_not_found(&opts.target, outcome, wall_s);
    };
    let matching = (opts.matching.as_ref()).map(|t| (t, opts.tolerance, opts.min_tolerance));
    let (path, text) = written.unwrap_or((Path::new("(not written)"), ""));
    search_found(&opts.target, outcome, found, matching, path, text, wall_s)
        + &robustness_line(outcome, opts.min_rate)
}

/// The ranges at their ends ([`crate::search::verdict::at_bounds`]), one line each, after a
/// heading; nothing when there are none.
fn bounds(outcome: &Outcome) -> String {
    if outcome.at_bounds.is_empty() {
        return String::new();
    }
    let mut t = String::from(
        "\nat the edge of the model's [search] space (widen these to look further):\n",
    );
    for b in &outcome.at_bounds {
        let _ = writeln!(t, "  {b}");
    }
    t
}

/// "robustness: matches on N of K seeds (...)" when measured, else nothing.
pub fn robustness_line(outcome: &Outcome, min_rate: f64) -> String {
    let Some(r) = outcome.robustness else {
        return String::new();
    };
    let below = if outcome.meets(min_rate) {
        String::new()
    } else {
        format!("; below --min-rate {min_rate}, so no reproducer was written")
    };
    format!(
        "\nrobustness: matches the capture on {} of {} seed(s) from its own, shows the signature on {}{below}\n",
        r.matched, r.seeds, r.shown
    )
}

/// The whole search result as one JSON document: `status` (`found`, `no-match` or
/// `below-min-rate`), where the reproducer was written (or `null`), the budget spent, the score
/// before and after refining, the finding and every compared feature of the reproducer (or of the
/// nearest miss, with its model), the robustness and the ranges at their ends.
pub fn search_json(outcome: &Outcome, opts: &SearchOptions, written: Option<&Path>) -> String {
    use serde_json::{Value, json};
    let compare = |f: &crate::detect::Finding| match &opts.matching {
        Some(t) => json!(crate::search::matching::compare(
            f,
            &t.features,
            opts.tolerance,
            opts.min_tolerance
        )),
        None => Value::Null,
    };
    let status = match &outcome.found {
        None => "no-match",
        Some(_) if !outcome.meets(opts.min_rate) => "below-min-rate",
        Some(_) => "found",
    };
    let doc = json!({
        "signature": opts.target,
        "target": opts.matching.as_ref().map(|t| &t.source),
        "tolerance": opts.tolerance,
        "floor_s": opts.min_tolerance,
        "status": status,
        "reproducer": written.map(|p| p.display().to_string()),
        "cases": outcome.cases,
        "shrink_runs": outcome.shrink_runs,
        "refine_runs": outcome.refine_runs,
        "score": outcome.refined.map(|(from, to)| json!({"start": from, "end": to})),
        "finding": outcome.found.as_ref().map(|f| &f.finding),
        "compared": outcome.found.as_ref().map(|f| compare(&f.finding)),
        "robustness": outcome.robustness.map(|r| json!({
            "seeds": r.seeds, "matched": r.matched, "shown": r.shown, "rate": r.rate()
        })),
        "at_bounds": outcome.at_bounds,
        "nearest": outcome.nearest.as_ref().map(|n| json!({
            "finding": n.finding,
            "compared": n.compared,
            "model": n.scenario.to_toml(),
        })),
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

/// ", refined in N run(s) (score A → B)" when the search refined, else nothing.
fn refined(outcome: &Outcome) -> String {
    match outcome.refined {
        Some((from, to)) => format!(
            ", refined in {} run(s) (score {from:.3} → {to:.3}, the sum of the feature distances)",
            outcome.refine_runs
        ),
        None => String::new(),
    }
}

/// The report of a search that found `found`: how long it took, where the reproducer `model_text`
/// was written (`path`), the text itself, then the [`feature_table`] against `matching` (the target
/// features, the relative tolerance and the floor).
pub fn search_found(
    target: &str,
    outcome: &Outcome,
    found: &Found,
    matching: Option<(&Target, f64, f64)>,
    path: &Path,
    model_text: &str,
    wall_s: f64,
) -> String {
    let mut report = format!(
        "found {target} after {} case(s), shrunk in {} run(s){}, {wall_s:.1} s; reproducer: {}\n\n{}\n",
        outcome.cases,
        outcome.shrink_runs,
        refined(outcome),
        path.display(),
        model_text
    );
    report += &match matching {
        Some((t, tol, floor)) => feature_table(found, Some(t), tol, floor),
        None => feature_table(found, None, 0.0, 0.0),
    };
    report
}

/// A table of the reproducer's finding's features (one row each) and, with a target, each target
/// feature compared ([`crate::search::matching::compare`] at `tol` and `floor`): target, value,
/// what the tolerance allows, the distance (difference over allowed; at most 1 matches) and how it
/// was compared.
pub fn feature_table(found: &Found, matching: Option<&Target>, tol: f64, floor: f64) -> String {
    let Some(target) = matching else {
        let mut t = format!("{:<40} {:>14}\n", "feature", "reproducer");
        for (k, v) in &found.finding.features {
            let _ = writeln!(t, "{k:<40} {v:>14.6}");
        }
        return t;
    };
    compared_table(&crate::search::matching::compare(
        &found.finding,
        &target.features,
        tol,
        floor,
    ))
}

/// A table of compared features: value, target, allowed, distance, how compared, and MISMATCH
/// where it does not match.
fn compared_table(compared: &[crate::search::matching::Compared]) -> String {
    let mut t = format!(
        "{:<40} {:>14} {:>14} {:>10} {:>9}  {}\n",
        "feature", "reproducer", "target", "allowed", "distance", "compared as"
    );
    for c in compared {
        let value = c.value.map_or("-".to_string(), |v| format!("{v:.6}"));
        let kind = match c.kind {
            crate::search::matching::Kind::Timing => "time, within tolerance",
            crate::search::matching::Kind::Measure => "value, within tolerance",
            crate::search::matching::Kind::Flag => "yes/no, exactly",
            crate::search::matching::Kind::Count => "count, exactly",
            crate::search::matching::Kind::LowerBound => "at least (the capture bounds it)",
        };
        let _ = writeln!(
            t,
            "{:<40} {value:>14} {:>14.6} {:>10.6} {:>9.3}  {kind}{}",
            c.feature,
            c.target,
            c.allowed,
            c.distance,
            if c.matches { "" } else { "  MISMATCH" }
        );
    }
    t
}
