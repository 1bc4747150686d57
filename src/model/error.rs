//! Errors of the model format: [`ModelError`] (located: `file:line:col: field: message`) and
//! [`Invalid`] (a semantic problem found by [`Scenario::validate`], before it is located).
//!
//! Guarantees: the text of a [`ModelError`] is the whole message a user sees, with any word longer
//! than 60 characters (a pasted value, a runaway key) cut to its first 40 and last 10 and its length, and
//! control characters escaped; it has no
//! [`source`](std::error::Error::source), so printing the error chain (`{:#}` with `anyhow`) does not
//! repeat it. The I/O and TOML causes are kept as their messages, which keeps the error `Clone` and
//! `PartialEq`.
//!
//! [`Scenario::validate`]: super::Scenario::validate

use std::fmt;
use std::path::{Path, PathBuf};

/// What went wrong with a model file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelErrorKind {
    /// The file could not be read.
    #[error("cannot read: {0}")]
    Io(String),
    /// TOML syntax, a wrong type, an unknown key or a missing field.
    #[error("{0}")]
    Parse(String),
    /// A value that parses but makes no sense (e.g. an outage longer than its period).
    #[error("{0}")]
    Invalid(String),
}

/// A model file error, located: `file:line:col: field: message`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}{}: {}", .path.display(), Place(.line, .col, .field), crate::clip_words(&.kind.to_string()))]
pub struct ModelError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line, when known.
    pub line: usize,
    /// 1-based column, when known.
    pub col: usize,
    /// Dotted field path (`link.outage.down`), when known.
    pub field: String,
    /// What is wrong.
    pub kind: ModelErrorKind,
}

/// `[:line:col][: field]` of a [`ModelError`]: the position only when known, the field only when
/// named.
struct Place<'a>(&'a usize, &'a usize, &'a String);

impl fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Place(line, col, field) = *self;
        if *line > 0 {
            write!(f, ":{line}:{col}")?;
        }
        if !field.is_empty() {
            write!(f, ": {}", crate::clip_words(field))?;
        }
        Ok(())
    }
}

impl ModelError {
    /// An error about the file as a whole or a field not in it (no line or column).
    pub(super) fn unlocated(path: &Path, field: String, kind: ModelErrorKind) -> ModelError {
        ModelError {
            path: path.to_owned(),
            line: 0,
            col: 0,
            field,
            kind,
        }
    }
}

/// A semantic problem found by [`Scenario::validate`]: the dotted field and what is wrong.
///
/// [`Scenario::validate`]: super::Scenario::validate
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    /// Dotted field path.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// A TOML or serde message in the user's terms: Rust's type names become what they mean
/// (`expected usize` → `expected a whole number from 0 to 18446744073709551615`), an integer too
/// large for TOML is not called a type error "as i128", and a duplicate key is named (`key` is the
/// text the error points at, when known).
pub(super) fn in_user_terms(message: &str, key: Option<&str>) -> String {
    const TYPES: [(&str, &str); 10] = [
        ("usize", "a whole number from 0 to 18446744073709551615"),
        ("u64", "a whole number from 0 to 18446744073709551615"),
        ("u32", "a whole number from 0 to 4294967295"),
        ("u16", "a whole number from 0 to 65535"),
        ("u8", "a whole number from 0 to 255"),
        ("i64", "a whole number"),
        ("i32", "a whole number from -2147483648 to 2147483647"),
        ("i128", "a whole number"),
        ("f64", "a number"),
        ("f32", "a number"),
    ];
    let mut m = message.trim().to_string();
    if m.contains("` as i128") {
        m = m
            .replace("invalid type: ", "invalid value: ")
            .replace("` as i128", "` (too large)");
    }
    for (rust, words) in TYPES {
        for end in ["", ",", ")"] {
            let from = format!("expected {rust}{end}");
            if m.ends_with(&from) || m.contains(&format!("{from} ")) {
                m = m.replace(&from, &format!("expected {words}{end}"));
            }
        }
    }
    // serde names the Rust type a table deserialises into: say what the user writes instead.
    for (rust, words) in [
        (
            "expected internally tagged enum ",
            "expected a table with a `kind`",
        ),
        ("expected struct ", "expected a table"),
    ] {
        if let Some(at) = m.find(rust) {
            let name_end = m[at + rust.len()..]
                .find(|c: char| !c.is_alphanumeric())
                .map_or(m.len(), |e| at + rust.len() + e);
            m.replace_range(at..name_end, words);
        }
    }
    if let Some(stripped) = m.strip_suffix(", expected any value") {
        m = stripped.to_string();
    }
    match key.map(str::trim).filter(|k| !k.is_empty()) {
        Some(k) if m == "duplicate key" => {
            format!("duplicate key `{k}`: a key is given once per table")
        }
        _ => m,
    }
}

#[cfg(test)]
mod tests {
    use super::in_user_terms;

    // Proves the stress review's messages read in the user's terms: no `usize`, `u64`, `f64` or
    // `as i128` reaches the user, and a duplicate key is named.
    #[test]
    fn messages_in_user_terms() {
        let cases = [
            (
                "invalid type: integer `99999999999999999999` as i128, expected usize",
                "invalid value: integer `99999999999999999999` (too large), expected a whole number from 0 to 18446744073709551615",
            ),
            (
                "invalid value: integer `-1`, expected usize",
                "invalid value: integer `-1`, expected a whole number from 0 to 18446744073709551615",
            ),
            (
                "invalid type: floating point `1.5`, expected u64",
                "invalid type: floating point `1.5`, expected a whole number from 0 to 18446744073709551615",
            ),
            (
                "invalid type: string \"x\", expected f64",
                "invalid type: string \"x\", expected a number",
            ),
            (
                "invalid value: integer `70000`, expected u16",
                "invalid value: integer `70000`, expected a whole number from 0 to 65535",
            ),
            (
                "unknown field `u64x`, expected one of `a`",
                "unknown field `u64x`, expected one of `a`",
            ),
            (
                "invalid type: floating point `0.5`, expected internally tagged enum LossModel",
                "invalid type: floating point `0.5`, expected a table with a `kind`",
            ),
            (
                "invalid type: integer `5`, expected struct FinalState",
                "invalid type: integer `5`, expected a table",
            ),
            (
                "invalid value: integer `99999999999999999999` as i128, expected any value",
                "invalid value: integer `99999999999999999999` (too large)",
            ),
        ];
        for (toml, user) in cases {
            assert_eq!(in_user_terms(toml, None), user);
        }
        assert_eq!(
            in_user_terms("duplicate key", Some("seed ")),
            "duplicate key `seed`: a key is given once per table"
        );
        assert_eq!(in_user_terms("duplicate key", None), "duplicate key");
    }
}
