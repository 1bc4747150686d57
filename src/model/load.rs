//! Reading model text into a [`Scenario`] and writing it back: [`Scenario::load`],
//! [`Scenario::load_with`] (with `--set` overrides), [`Scenario::from_toml`], [`Scenario::resolve`],
//! [`Scenario::to_toml`].
//!
//! Guarantees: a loaded scenario is resolved and valid; every error is a [`ModelError`] naming the
//! file and, when it can be placed, the line, column and field; [`Scenario::to_toml`] of a loaded
//! scenario loads back to an equal one.

use std::ops::Range;
use std::path::Path;

use super::locate::{SpanIndex, line_col};
use super::set::{self, Override};
use super::{CLIENT_DEFAULT, ModelError, ModelErrorKind, SERVER_DEFAULT, Scenario};

impl Scenario {
    /// Reads and validates a model file.
    ///
    /// # Errors
    /// [`ModelError`] naming the file, line, column and field.
    pub fn load(path: &Path) -> Result<Scenario, ModelError> {
        Scenario::from_toml(&read_model(path)?, path)
    }

    /// Reads a model file, applies `KEY=VALUE` overrides (dotted keys, TOML values; a value that is
    /// not valid TOML is taken as a string, so `client.tcp.keep_alive=70s` works), then validates.
    ///
    /// # Errors
    /// [`ModelError`]: for a problem in an override, the field is reported as `--set KEY`.
    pub fn load_with(path: &Path, overrides: &[String]) -> Result<Scenario, ModelError> {
        let text = read_model(path)?;
        if overrides.is_empty() {
            return Scenario::from_toml(&text, path);
        }
        Scenario::from_toml_with(&text, path, overrides)
    }

    /// As [`Scenario::load_with`], from text already read.
    ///
    /// # Errors
    /// As [`Scenario::load_with`].
    pub fn from_toml_with(
        text: &str,
        path: &Path,
        overrides: &[String],
    ) -> Result<Scenario, ModelError> {
        // Syntax errors in the file itself are reported against the file.
        let mut doc: toml_edit::DocumentMut = match text.parse() {
            Ok(d) => d,
            Err(_) => return Scenario::from_toml(text, path),
        };
        let mut applied = Vec::with_capacity(overrides.len());
        for given in overrides {
            let o = Override::parse(given)
                .and_then(|o| o.apply(&mut doc).map(|()| o))
                .map_err(|e| {
                    ModelError::unlocated(
                        path,
                        format!("--set {given}"),
                        ModelErrorKind::Invalid(e.to_string()),
                    )
                })?;
            applied.push(o);
        }
        Scenario::from_toml(&doc.to_string(), path).map_err(|e| set::blame(&applied, e))
    }

    /// Loads a model file and also returns its text (for runs that apply overrides to it).
    ///
    /// # Errors
    /// As [`Scenario::load`].
    pub fn load_text(path: &Path) -> Result<(Scenario, String), ModelError> {
        let text = read_model(path)?;
        Ok((Scenario::from_toml(&text, path)?, text))
    }

    /// Parses and validates model text; `path` is only used in errors.
    ///
    /// # Errors
    /// [`ModelError`] naming the file, line, column and field.
    pub fn from_toml(text: &str, path: &Path) -> Result<Scenario, ModelError> {
        let mut scenario: Scenario = toml::from_str(text).map_err(|e| {
            let (span, field) = locate_parse_error(text, &e);
            let key = span.clone().and_then(|s| text.get(s));
            let message = super::error::in_user_terms(e.message(), key);
            error_at(text, path, span, field, ModelErrorKind::Parse(message))
        })?;
        scenario.resolve();
        if let Err(inv) = scenario.validate() {
            return Err(error_at_field(
                text,
                path,
                inv.field,
                ModelErrorKind::Invalid(inv.message),
            ));
        }
        Ok(scenario)
    }

    /// The model `text` (from `path`) as property `i` of its `[[expect]]` tables sees it: with the
    /// property's `set` overrides applied. Without overrides, the model itself.
    ///
    /// # Errors
    /// The model's own errors; an override that does not apply, located at `expect.i.set`.
    pub fn for_expect(text: &str, path: &Path, i: usize) -> Result<Scenario, ModelError> {
        let base = Scenario::from_toml(text, path)?;
        let Some(e) = base.expect.get(i) else {
            return Ok(base);
        };
        if e.set.is_empty() {
            return Ok(base);
        }
        Scenario::from_toml_with(text, path, &e.set).map_err(|err| {
            let message = if err.field.is_empty() {
                err.kind.to_string()
            } else {
                format!("{}: {}", err.field, err.kind)
            };
            error_at_field(
                text,
                path,
                format!("expect.{i}.set"),
                ModelErrorKind::Invalid(message),
            )
        })
    }

    /// Fills in the defaults that depend on the endpoint's role (addresses and ports).
    pub fn resolve(&mut self) {
        for (e, (addr, port)) in [
            (&mut self.client, CLIENT_DEFAULT),
            (&mut self.server, SERVER_DEFAULT),
        ] {
            e.address.get_or_insert(addr);
            e.port.get_or_insert(port);
        }
    }

    /// The resolved model as TOML, every default filled in. Loading it gives an equal scenario.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a validated scenario always serialises")
    }
}

/// Where a deserialisation error is and which field it is about: toml's span and the field whose key
/// or value holds it. When that field is a table (an internally tagged table, whose errors toml can
/// only place on the whole table), the key the message names, if it is found in the table.
fn locate_parse_error(text: &str, e: &toml::de::Error) -> (Option<Range<usize>>, String) {
    let Some(index) = SpanIndex::parse(text) else {
        let field = e
            .span()
            .map(|s| key_of_line(text, s.start))
            .unwrap_or_default();
        return (e.span(), field);
    };
    let field = e
        .span()
        .and_then(|s| index.field_at(s.start))
        .unwrap_or_default()
        .to_string();
    match index.refine(&field, e.message().trim()) {
        Some((span, key)) => (Some(span), key),
        None => (e.span(), field),
    }
}

/// The dotted key of the `key = value` line holding `offset`, for an error in a value the TOML
/// parser itself refused (so no parsed document can name its field): the key before `=`, under the
/// nearest `[table]` or `[[table]]` header above it. Empty when `offset` is not in a value.
fn key_of_line(text: &str, offset: usize) -> String {
    let start = text[..offset.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let line = text[start..].lines().next().unwrap_or("");
    let Some(eq) = line.find('=').filter(|&eq| start + eq < offset) else {
        return String::new();
    };
    let key = line[..eq].trim();
    let table = text[..start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|h| h.trim_matches(|c| c == '[' || c == ']').trim());
    match table {
        Some(t) if !t.is_empty() => format!("{t}.{key}"),
        _ => key.to_string(),
    }
}

/// The largest model file read (1 MB; the shipped models are under 4 KB).
pub const MODEL_FILE_LIMIT: u64 = 1 << 20;

/// Reads a model file's text (`-` for standard input), at most [`MODEL_FILE_LIMIT`] bytes.
///
/// # Errors
/// [`ModelErrorKind::Io`]: unreadable, too large, or not UTF-8 (naming the byte offset).
pub fn read_model(path: &Path) -> Result<String, ModelError> {
    let io = |m: String| ModelError::unlocated(path, String::new(), ModelErrorKind::Io(m));
    let bytes = crate::fsio::read_limited(path, MODEL_FILE_LIMIT, "model file").map_err(|e| {
        io(match e {
            crate::fsio::FsError::Read { source, .. } => source.to_string(),
            crate::fsio::FsError::TooLarge { .. } => "larger than 1 MB: not a model file".into(),
            other => other.to_string(),
        })
    })?;
    String::from_utf8(bytes).map_err(|e| {
        io(format!(
            "not UTF-8 text (byte {}): not a model file",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// An error in `path` at `span` of its `text` (line and column 0 without a span).
fn error_at(
    text: &str,
    path: &Path,
    span: Option<Range<usize>>,
    field: String,
    kind: ModelErrorKind,
) -> ModelError {
    let (line, col) = span.map(|s| line_col(text, s.start)).unwrap_or((0, 0));
    ModelError {
        path: path.to_owned(),
        line,
        col,
        field,
        kind,
    }
}

/// An error in `path` located at the dotted `field` of its `text`.
fn error_at_field(text: &str, path: &Path, field: String, kind: ModelErrorKind) -> ModelError {
    let span = SpanIndex::parse(text).and_then(|index| index.span_of_field(&field));
    error_at(text, path, span, field, kind)
}
