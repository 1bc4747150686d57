//! Locating errors in model text: from a byte span to `line:col` and the dotted field path, and
//! from a dotted field path back to a span.
//!
//! Everything here works on structure, not on message text, with one exception:
//! - [`toml::de::Error::span`] gives the byte range toml found the error at, and
//!   [`toml::de::Error::message`] the message without toml's rendering;
//! - [`SpanIndex`] holds, for every key of the document as `toml_edit` parses it, its dotted path
//!   and the spans of its key and value; the field at an error's span, and the span of a field
//!   named by [`Scenario::validate`](super::Scenario::validate), are looked up there;
//! - the exception: inside an internally tagged table (`kind = "..."`, e.g. `[client.app]`,
//!   `[link.outage]`), serde buffers the table before choosing the variant, so toml can only report
//!   the span of the whole table, and the `toml::de::Error` keeps the offending key in a private
//!   field. There, and only when the error's field is a table or array (has keys below it), the key
//!   is found from the *message text* ([`SpanIndex::refine`]): an unknown field by its name, a
//!   wrong value by its literal.
//!
//! Guarantees: lines and columns are 1-based, columns count characters (not bytes); a text that
//! `toml_edit` cannot parse locates nothing (no field), never panics.

use std::ops::Range;

/// 1-based line and column (in characters) of a byte offset.
pub(super) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// One key of a document: its dotted path (array elements by index) and where it is.
#[derive(Debug)]
struct Entry {
    /// Dotted path: `link.outage.windows.0.at`.
    path: String,
    /// The key as written; `None` for array elements and for keys without a position.
    key: Option<Range<usize>>,
    /// The value (or the table, header included).
    item: Option<Range<usize>>,
}

/// Every key of a TOML document with its spans, in document-walk order.
#[derive(Debug)]
pub(super) struct SpanIndex<'t> {
    text: &'t str,
    entries: Vec<Entry>,
}

impl<'t> SpanIndex<'t> {
    /// Indexes `text`; `None` if `toml_edit` cannot parse it.
    pub(super) fn parse(text: &'t str) -> Option<SpanIndex<'t>> {
        let doc = toml_edit::Document::parse(text).ok()?;
        let mut entries = Vec::new();
        index_table(doc.as_table(), "", &mut entries);
        Some(SpanIndex { text, entries })
    }

    /// The dotted path of the innermost key whose key or value contains `offset` (the narrowest
    /// value; among equally narrow ones the longest path, then the first).
    pub(super) fn field_at(&self, offset: usize) -> Option<&str> {
        let inside = |s: &Option<Range<usize>>| {
            s.as_ref()
                .is_some_and(|s| s.contains(&offset) || s.start == offset)
        };
        let mut best: Option<(usize, &str)> = None;
        for e in &self.entries {
            if inside(&e.key) || inside(&e.item) {
                let width = e.item.as_ref().map_or(usize::MAX, |s| s.len());
                if best.is_none_or(|(w, p)| width < w || (width == w && e.path.len() > p.len())) {
                    best = Some((width, &e.path));
                }
            }
        }
        best.map(|(_, p)| p)
    }

    /// The span of a dotted field's value, or of the nearest enclosing key that exists.
    pub(super) fn span_of_field(&self, field: &str) -> Option<Range<usize>> {
        let mut found: Option<(usize, Range<usize>)> = None;
        for e in &self.entries {
            let matches = field == e.path
                || field
                    .strip_prefix(e.path.as_str())
                    .is_some_and(|rest| rest.starts_with('.'));
            if matches && !e.path.is_empty() {
                let depth = e.path.len();
                if let Some(span) = e.item.clone().or(e.key.clone())
                    && found.as_ref().is_none_or(|(d, _)| depth > *d)
                {
                    found = Some((depth, span));
                }
            }
        }
        found.map(|(_, s)| s)
    }

    /// Whether `field` has keys (or array elements) below it.
    fn has_children(&self, field: &str) -> bool {
        self.children(field).next().is_some()
    }

    /// The entries directly below `table`, with their key relative to it.
    fn children<'a>(&'a self, table: &'a str) -> impl Iterator<Item = (&'a str, &'a Entry)> + 'a {
        self.entries.iter().filter_map(move |e| {
            let key = e.path.strip_prefix(table)?.strip_prefix('.')?;
            (!key.contains('.')).then_some((key, e))
        })
    }

    /// Where to point for an error toml reported on the whole of `table` (the case of internally
    /// tagged tables): the key the message names. **Reads the message text**, because that is the
    /// only place the key is: an unknown field by its name (``unknown field `x` ``), a wrong value
    /// by its literal (`invalid type: string "x"`, ``integer `5` ``, ``floating point `1.5` ``,
    /// ``boolean `true` ``), matched against the value as written. The first match in document
    /// order wins; `None` if the message names nothing found directly in `table`.
    pub(super) fn refine(&self, table: &str, message: &str) -> Option<(Range<usize>, String)> {
        if !self.has_children(table) {
            return None;
        }
        let between = |open: &str, close: char| {
            let start = message.find(open)? + open.len();
            let len = message[start..].find(close)?;
            Some(message[start..start + len].to_string())
        };
        let unknown = between("unknown field `", '`');
        let literal = between("string \"", '"')
            .map(|v| format!("{v:?}"))
            .or_else(|| between("integer `", '`'))
            .or_else(|| between("floating point `", '`'))
            .or_else(|| between("boolean `", '`'));
        for (key, e) in self.children(table) {
            let value_text = e
                .item
                .as_ref()
                .and_then(|s| self.text.get(s.clone()))
                .map(str::trim);
            let span = if unknown.as_deref() == Some(key) {
                &e.key
            } else if literal.is_some() && value_text == literal.as_deref() {
                &e.item
            } else {
                continue;
            };
            if let Some(span) = span {
                return Some((span.clone(), e.path.clone()));
            }
        }
        None
    }
}

/// `prefix.k`, or `k` at the top.
fn join(prefix: &str, k: &str) -> String {
    if prefix.is_empty() {
        k.to_string()
    } else {
        format!("{prefix}.{k}")
    }
}

/// Indexes the keys of a `[table]` (or the document root) and everything below them.
fn index_table(t: &toml_edit::Table, prefix: &str, out: &mut Vec<Entry>) {
    for (k, item) in t.iter() {
        let path = join(prefix, k);
        out.push(Entry {
            path: path.clone(),
            key: t.key(k).and_then(|k| k.span()),
            item: item.span(),
        });
        index_item(item, &path, out);
    }
}

/// Indexes what is below an item: the keys of a table, the elements of an array of tables, or
/// what is below a value.
fn index_item(item: &toml_edit::Item, path: &str, out: &mut Vec<Entry>) {
    match item {
        toml_edit::Item::Table(t) => index_table(t, path, out),
        toml_edit::Item::ArrayOfTables(a) => {
            for (i, t) in a.iter().enumerate() {
                let p = join(path, &i.to_string());
                out.push(Entry {
                    path: p.clone(),
                    key: None,
                    item: t.span(),
                });
                index_table(t, &p, out);
            }
        }
        toml_edit::Item::Value(v) => index_value(v, path, out),
        toml_edit::Item::None => {}
    }
}

/// Indexes what is below a value: the keys of an inline table or the elements of an array.
fn index_value(v: &toml_edit::Value, path: &str, out: &mut Vec<Entry>) {
    match v {
        toml_edit::Value::InlineTable(t) => {
            for (k, v) in t.iter() {
                let p = join(path, k);
                out.push(Entry {
                    path: p.clone(),
                    key: t.key(k).and_then(|k| k.span()),
                    item: v.span(),
                });
                index_value(v, &p, out);
            }
        }
        toml_edit::Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                let p = join(path, &i.to_string());
                out.push(Entry {
                    path: p.clone(),
                    key: None,
                    item: v.span(),
                });
                index_value(v, &p, out);
            }
        }
        _ => {}
    }
}
