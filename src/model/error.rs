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
