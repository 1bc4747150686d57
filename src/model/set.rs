//! `--set KEY=VALUE` overrides, applied to the model's TOML document before it is deserialised.
//!
//! A key is dotted (`client.tcp.nagle`; numbers index arrays: `link.outage.windows.0.for`); a value
//! is TOML, or taken as a string when it is not valid TOML (so `client.tcp.keep_alive=70s` works).
//! Missing tables are created; arrays are never grown.
//!
//! Guarantees: an override that cannot be applied is a [`SetError`] naming the key component at
//! fault; an error the model then has at or around an overridden key is blamed on that override
//! ([`blame`]), not on a position in the file.

use super::ModelError;

/// Why an override could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(super) enum SetError {
    /// No `=`.
    #[error("expected KEY=VALUE")]
    NoEquals,
    /// An empty key or an empty component (`a..b`).
    #[error("expected a dotted key such as client.tcp.nagle")]
    BadKey,
    /// A component under an array is not a number.
    #[error("{part}: expected an array index")]
    NotAnIndex {
        /// The component.
        part: String,
    },
    /// An array index past the end.
    #[error("{part}: no element {index} (the array has {len})")]
    NoElement {
        /// The component.
        part: String,
        /// Its value.
        index: usize,
        /// The array's length.
        len: usize,
    },
    /// The key names a whole element of an array of tables.
    #[error("{part}: cannot replace a whole [[table]]; set its fields")]
    WholeArrayOfTables {
        /// The component.
        part: String,
    },
    /// The key goes below a value that is not a table.
    #[error("{part}: the key above it is not a table")]
    NotATable {
        /// The component.
        part: String,
    },
}

/// One `KEY=VALUE` override, parsed.
#[derive(Debug)]
pub(super) struct Override<'a> {
    /// The override as given on the command line.
    given: &'a str,
    /// The dotted key, trimmed.
    key: &'a str,
    /// The value, as TOML.
    value: toml_edit::Value,
}

impl<'a> Override<'a> {
    /// Parses `KEY=VALUE`.
    ///
    /// # Errors
    /// [`SetError::NoEquals`] or [`SetError::BadKey`].
    pub(super) fn parse(given: &'a str) -> Result<Override<'a>, SetError> {
        let (key, value) = given.split_once('=').ok_or(SetError::NoEquals)?;
        let key = key.trim();
        if key.is_empty() || key.split('.').any(str::is_empty) {
            return Err(SetError::BadKey);
        }
        let value = value
            .trim()
            .parse()
            .unwrap_or_else(|_| toml_edit::Value::from(value.trim()));
        Ok(Override { given, key, value })
    }

    /// Sets the key in `doc`, creating missing tables.
    ///
    /// # Errors
    /// [`SetError`] naming the key component that cannot be followed.
    pub(super) fn apply(&self, doc: &mut toml_edit::DocumentMut) -> Result<(), SetError> {
        let parts: Vec<&str> = self.key.split('.').collect();
        set_path(Node::Item(doc.as_item_mut()), &parts, self.value.clone())
    }

    /// Whether an error about `field` is about this override: the same key, a field below it, or
    /// a table above it.
    fn covers(&self, field: &str) -> bool {
        let below = |outer: &str, inner: &str| {
            inner
                .strip_prefix(outer)
                .is_some_and(|rest| rest.starts_with('.'))
        };
        field == self.key || below(self.key, field) || below(field, self.key)
    }
}

/// Blames `e` on the first override that covers its field: the field becomes
/// `--set KEY=VALUE: field` and the position (in the edited text, not the file) is dropped.
pub(super) fn blame(applied: &[Override<'_>], mut e: ModelError) -> ModelError {
    if let Some(o) = applied.iter().find(|o| o.covers(&e.field)) {
        e.field = format!("--set {}: {}", o.given, e.field);
        e.line = 0;
        e.col = 0;
    }
    e
}

/// A place in a TOML document being edited.
enum Node<'a> {
    Item(&'a mut toml_edit::Item),
    Value(&'a mut toml_edit::Value),
    Table(&'a mut toml_edit::Table),
}

/// Sets `parts` (dotted key components; numbers index arrays) under `node` to `value`, creating
/// missing tables.
fn set_path(node: Node<'_>, parts: &[&str], value: toml_edit::Value) -> Result<(), SetError> {
    let (part, rest) = parts.split_first().expect("non-empty path");
    let index = || {
        part.parse::<usize>().map_err(|_| SetError::NotAnIndex {
            part: part.to_string(),
        })
    };
    let no_element = |index: usize, len: usize| SetError::NoElement {
        part: part.to_string(),
        index,
        len,
    };
    match node {
        Node::Item(toml_edit::Item::ArrayOfTables(a)) => {
            let i = index()?;
            let len = a.len();
            let t = a.get_mut(i).ok_or_else(|| no_element(i, len))?;
            if rest.is_empty() {
                return Err(SetError::WholeArrayOfTables {
                    part: part.to_string(),
                });
            }
            set_path(Node::Table(t), rest, value)
        }
        Node::Item(toml_edit::Item::Value(v)) => set_path(Node::Value(v), parts, value),
        Node::Item(item) => {
            let t = item
                .as_table_like_mut()
                .ok_or_else(|| SetError::NotATable {
                    part: part.to_string(),
                })?;
            table_step(t, part, rest, value)
        }
        Node::Table(t) => table_step(t, part, rest, value),
        Node::Value(toml_edit::Value::Array(a)) => {
            let i = index()?;
            let len = a.len();
            let slot = a.get_mut(i).ok_or_else(|| no_element(i, len))?;
            if rest.is_empty() {
                *slot = value;
                return Ok(());
            }
            set_path(Node::Value(slot), rest, value)
        }
        Node::Value(toml_edit::Value::InlineTable(t)) => table_step(t, part, rest, value),
        Node::Value(_) => Err(SetError::NotATable {
            part: part.to_string(),
        }),
    }
}

/// Sets `part` (then `rest` below it) in a table, creating it as a table if it is missing.
fn table_step(
    t: &mut dyn toml_edit::TableLike,
    part: &str,
    rest: &[&str],
    value: toml_edit::Value,
) -> Result<(), SetError> {
    if rest.is_empty() {
        t.insert(part, toml_edit::Item::Value(value));
        return Ok(());
    }
    if t.get(part).is_none() {
        t.insert(part, toml_edit::Item::Table(toml_edit::Table::new()));
    }
    set_path(
        Node::Item(t.get_mut(part).expect("just inserted")),
        rest,
        value,
    )
}
