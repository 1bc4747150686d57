//! The `tcpsim test` report: one line per property (with what a failure showed and where its
//! counterexample went), the closing `N passed, M failed` line, and the JUnit XML document that
//! GitHub Actions (test reporters), GitLab CI (`artifacts:reports:junit`) and Jenkins (`junit`) read.
//!
//! Guarantees: pure functions of the results (no times, so the same results give the same bytes);
//! the XML is escaped (`&`, `<`, `>`, `"`, `'` and control characters) and has one `testsuite`
//! per model file, one `testcase` per property, a `failure` element for each that fails.

use std::fmt::Write as _;

use crate::expect::PropertyResult;

/// `N case(s)` and, for a failure, the shrinking.
fn cases_text(r: &PropertyResult) -> String {
    let plural = if r.cases == 1 { "" } else { "s" };
    match &r.failure {
        Some(f) if f.saved => "saved counterexample".to_string(),
        Some(_) if r.shrink_runs > 0 => format!(
            "after {} case{plural}, shrunk in {} runs",
            r.cases, r.shrink_runs
        ),
        Some(_) => format!("after {} case{plural}", r.cases),
        None => format!("{} case{plural}", r.cases),
    }
}

/// The lines of one property: `PASS  MODEL: NAME (N cases)`, or `FAIL  ...` followed by what the
/// counterexample showed, how it differs from the model, and its file.
pub fn test_result(r: &PropertyResult) -> String {
    if let Some(why) = &r.not_checked {
        return format!(
            "ERROR {}: {} (not checked: {why})\n",
            r.path.display(),
            r.name
        );
    }
    let status = if r.failure.is_some() { "FAIL" } else { "PASS" };
    let mut text = format!(
        "{status}  {}: {} ({})\n",
        r.path.display(),
        r.name,
        cases_text(r)
    );
    if let Some(f) = &r.failure {
        for line in &f.observed {
            let _ = writeln!(text, "      {line}");
        }
        if f.conditions.is_empty() {
            text.push_str("      conditions: the model as it is\n");
        } else {
            let _ = writeln!(text, "      conditions: {}", f.conditions.join("; "));
        }
        let _ = writeln!(text, "      counterexample: {}", f.file.display());
    }
    text
}

/// The closing line: `N passed, M failed`, and `, K not checked` when some could not be.
pub fn test_totals(results: &[PropertyResult]) -> String {
    let failed = results.iter().filter(|r| r.failure.is_some()).count();
    let errors = results.iter().filter(|r| r.not_checked.is_some()).count();
    let passed = results.len() - failed - errors;
    match errors {
        0 => format!("{passed} passed, {failed} failed\n"),
        _ => format!("{passed} passed, {failed} failed, {errors} not checked\n"),
    }
}

/// `s` escaped for XML text and attribute values.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' => out.push(c),
            '\r' => out.push_str("&#13;"),
            // XML 1.0 allows no other C0 control, not even as a reference, nor U+FFFE and U+FFFF:
            // written as text.
            c if u32::from(c) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c if c.is_control() => {
                let _ = write!(out, "&#{};", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// The JUnit XML document: `testsuites` (name `tcpsim test`), a `testsuite` per model file (in
/// the order of the results), a `testcase` per property (`classname` the model's name), and for a
/// failure a `failure` element whose `message` is the first observation and whose text is the
/// whole failure report; for a property that could not be checked, an `error` element.
pub fn junit(results: &[PropertyResult]) -> String {
    let failed = |rs: &[&PropertyResult]| rs.iter().filter(|r| r.failure.is_some()).count();
    let errors = |rs: &[&PropertyResult]| rs.iter().filter(|r| r.not_checked.is_some()).count();
    let all: Vec<&PropertyResult> = results.iter().collect();
    let mut doc = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"tcpsim test\" tests=\"{}\" failures=\"{}\" errors=\"{}\">\n",
        all.len(),
        failed(&all),
        errors(&all)
    );
    let mut i = 0;
    while i < results.len() {
        let path = &results[i].path;
        let suite: Vec<&PropertyResult> = results[i..]
            .iter()
            .take_while(|r| &r.path == path)
            .collect();
        i += suite.len();
        let _ = writeln!(
            doc,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"0\">",
            xml(&path.display().to_string()),
            suite.len(),
            failed(&suite),
            errors(&suite)
        );
        for r in suite {
            let case = format!(
                "    <testcase name=\"{}\" classname=\"{}\"",
                xml(&r.name),
                xml(&r.model)
            );
            match (&r.failure, &r.not_checked) {
                (_, Some(why)) => {
                    let _ = writeln!(
                        doc,
                        "{case}>\n      <error message=\"{}\" type=\"not-checked\"/>\n    </testcase>",
                        xml(why)
                    );
                }
                (None, None) => {
                    let _ = writeln!(doc, "{case}/>");
                }
                (Some(f), None) => {
                    let message = f.observed.first().map_or("", String::as_str);
                    let _ = writeln!(
                        doc,
                        "{case}>\n      <failure message=\"{}\" type=\"property\">{}</failure>\n    </testcase>",
                        xml(message),
                        xml(&test_result(r))
                    );
                }
            }
        }
        doc.push_str("  </testsuite>\n");
    }
    doc.push_str("</testsuites>\n");
    doc
}

#[cfg(test)]
mod xml_tests {
    // Proves text in the JUnit report is well-formed XML 1.0 whatever it holds: markup characters
    // are escaped, and C0 controls (not allowed in XML 1.0 even as `&#27;`) are written as text.
    #[test]
    fn xml_escapes_controls_as_text() {
        assert_eq!(super::xml("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
        assert_eq!(super::xml("x\u{1b}[2J\ty\nz\r"), "x\\u{1b}[2J\ty\nz&#13;");
        assert_eq!(super::xml("\u{85}"), "&#133;");
        assert_eq!(super::xml("a\u{fffe}\u{ffff}"), "a\\u{fffe}\\u{ffff}");
    }

    // Proves a property proptest gave up on (too many drawn models that do not validate) is
    // reported as not checked, never as passed: an ERROR line, its own count in the closing line,
    // and a JUnit `error` element counted in `errors`.
    #[test]
    fn not_checked_is_neither_pass_nor_fail() {
        let r = crate::expect::PropertyResult {
            path: "m.toml".into(),
            model: "m".into(),
            name: "p".into(),
            cases: 3,
            shrink_runs: 0,
            failure: None,
            not_checked: Some("only 3 of 20 drawn cases were valid models".into()),
        };
        assert_eq!(
            super::test_result(&r),
            "ERROR m.toml: p (not checked: only 3 of 20 drawn cases were valid models)\n"
        );
        assert_eq!(
            super::test_totals(std::slice::from_ref(&r)),
            "0 passed, 0 failed, 1 not checked\n"
        );
        let junit = super::junit(&[r]);
        assert!(
            junit.contains("tests=\"1\" failures=\"0\" errors=\"1\">"),
            "{junit}"
        );
        assert!(junit.contains("<error message=\"only 3 of 20 drawn cases were valid models\" type=\"not-checked\"/>"), "{junit}");
    }
}
