//! `tcpsim analyze`'s output over any number of captures, streamed: each connection's report is
//! rendered (text, or a JSON object and its findings' objects) as soon as its connection closes
//! ([`crate::analyze::analyze_file_each`]) and spooled to an anonymous temporary file; memory keeps
//! only where each rendering lies (56 bytes per connection), and the report is put together in
//! order of first packet at the end. 300,000 connections: see the README's figures.
//!
//! Guarantees: the bytes are those of [`crate::report::analyze_text`] per capture and, for JSON, a
//! document equal (as JSON) to [`crate::report::analyze_json`] over the same captures (connections
//! and findings in the same order); nothing reaches the caller's writer until every capture has
//! been read ([`AnalyzeOutput::finish`]), so a capture that fails to import leaves no half-written
//! report; the temporary files are unlinked at creation and vanish with the process.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::analyze::{AnalyzeOptions, ConnReport, analyze_file_each};
use crate::capture::{ImportError, ImportOptions, ImportStats, TimeBase};
use crate::report::analyze::{analyze_header, connection_json, connection_text, finding_json};

/// What can go wrong producing the report.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeOutputError {
    /// A capture could not be imported.
    #[error(transparent)]
    Import(#[from] ImportError),
    /// The temporary files could not be written or read back.
    #[error("spooling the report to a temporary file: {0}")]
    Io(#[from] io::Error),
    /// A report could not be serialised (not expected: plain data).
    #[error("serialising the report: {0}")]
    Json(#[from] serde_json::Error),
}

/// Where one connection's rendering lies in the spools.
#[derive(Debug, Clone, Copy)]
struct Span {
    /// (capture number, connection index): the report's order.
    key: (u32, u64),
    /// The connection's text or JSON object in `body`.
    body: (u64, u32),
    /// Its findings' JSON objects in `side`, joined by `,\n`.
    side: (u64, u32),
    /// How many findings.
    findings: u32,
}

/// The report of `analyze`, built capture by capture.
pub struct AnalyzeOutput {
    json: bool,
    body: Spool,
    side: Spool,
    spans: Vec<Span>,
    /// Text: per capture, its header line and its number of connections.
    headers: Vec<String>,
    found: BTreeSet<String>,
}

/// An anonymous temporary file written at its end, read back by position.
struct Spool {
    w: BufWriter<File>,
    len: u64,
}

impl Spool {
    fn new() -> io::Result<Spool> {
        Ok(Spool {
            w: BufWriter::new(tempfile::tempfile()?),
            len: 0,
        })
    }

    /// Appends `bytes`; returns where they lie.
    fn push(&mut self, bytes: &[u8]) -> io::Result<(u64, u32)> {
        let at = self.len;
        self.w.write_all(bytes)?;
        self.len += bytes.len() as u64;
        let n = u32::try_from(bytes.len()).map_err(io::Error::other)?;
        Ok((at, n))
    }

    /// Copies the bytes at `span` to `out`.
    fn copy(&mut self, span: (u64, u32), out: &mut dyn Write) -> io::Result<()> {
        let f = self.w.get_mut();
        f.seek(SeekFrom::Start(span.0))?;
        io::copy(&mut f.take(u64::from(span.1)), out)?;
        Ok(())
    }
}

impl AnalyzeOutput {
    /// An empty report, text or JSON.
    ///
    /// # Errors
    /// The temporary files cannot be created.
    pub fn new(json: bool) -> io::Result<AnalyzeOutput> {
        Ok(AnalyzeOutput {
            json,
            body: Spool::new()?,
            side: Spool::new()?,
            spans: Vec::new(),
            headers: Vec::new(),
            found: BTreeSet::new(),
        })
    }

    /// Imports and analyses `path` (named `name` in the report) and adds its connections.
    ///
    /// # Errors
    /// The capture cannot be imported, or the spool cannot be written.
    pub fn add_capture(
        &mut self,
        path: &Path,
        name: &str,
        import: ImportOptions,
        opts: AnalyzeOptions,
    ) -> Result<ImportStats, AnalyzeOutputError> {
        let capture = u32::try_from(self.headers.len()).map_err(io::Error::other)?;
        let mut failed: Option<AnalyzeOutputError> = None;
        let mut count = 0u64;
        let stats = analyze_file_each(path, import, opts, &mut |c, time| {
            if failed.is_none() {
                count += 1;
                failed = self.add_connection(capture, name, &c, time).err();
            }
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        self.headers.push(analyze_header(name, &stats, count));
        Ok(stats)
    }

    /// Renders one connection (and, for JSON, its findings) into the spools.
    fn add_connection(
        &mut self,
        capture: u32,
        name: &str,
        c: &ConnReport,
        time: &TimeBase,
    ) -> Result<(), AnalyzeOutputError> {
        for f in &c.findings {
            self.found.insert(f.signature.clone());
        }
        let mut span = Span {
            key: (capture, c.index as u64),
            body: (self.body.len, 0),
            side: (self.side.len, 0),
            findings: 0,
        };
        if self.json {
            span.body = self
                .body
                .push(&indented(&connection_json(name, c, time)?)?)?;
            let mut findings = Vec::new();
            for (i, f) in c.findings.iter().enumerate() {
                if i > 0 {
                    findings.extend_from_slice(b",\n");
                }
                findings.extend(indented(&finding_json(name, f, time)?)?);
            }
            span.side = self.side.push(&findings)?;
            span.findings = u32::try_from(c.findings.len()).map_err(io::Error::other)?;
        } else {
            let mut text = String::new();
            connection_text(&mut text, c, time);
            span.body = self.body.push(text.as_bytes())?;
        }
        self.spans.push(span);
        Ok(())
    }

    /// Whether any capture so far showed this signature.
    pub fn has(&self, signature: &str) -> bool {
        self.found.contains(signature)
    }

    /// Writes the whole report to `out`: per capture, connections in order of first packet.
    ///
    /// # Errors
    /// Reading the spools back or writing `out`.
    pub fn finish(mut self, out: &mut dyn Write) -> io::Result<()> {
        self.body.w.flush()?;
        self.side.w.flush()?;
        self.spans.sort_by_key(|s| s.key);
        if !self.json {
            let mut spans = self.spans.iter().peekable();
            for (capture, header) in self.headers.iter().enumerate() {
                out.write_all(header.as_bytes())?;
                while let Some(s) = spans.next_if(|s| s.key.0 as usize == capture) {
                    self.body.copy(s.body, out)?;
                }
            }
            return Ok(());
        }
        out.write_all(b"{\n  \"connections\": ")?;
        let all: Vec<(u64, u32)> = self.spans.iter().map(|s| s.body).collect();
        array(&mut self.body, &all, out)?;
        out.write_all(b",\n  \"findings\": ")?;
        let some: Vec<(u64, u32)> = self
            .spans
            .iter()
            .filter(|s| s.findings > 0)
            .map(|s| s.side)
            .collect();
        array(&mut self.side, &some, out)?;
        out.write_all(b"\n}\n")
    }
}

/// JSON value `v` pretty-printed as an element of an array nested one level in a pretty document.
fn indented(v: &serde_json::Value) -> Result<Vec<u8>, serde_json::Error> {
    let pretty = serde_json::to_string_pretty(v)?;
    let mut out = Vec::with_capacity(pretty.len() + 64);
    for (i, line) in pretty.lines().enumerate() {
        if i > 0 {
            out.push(b'\n');
        }
        // JSON strings hold no raw line breaks, so every line is the document's own.
        out.extend_from_slice(b"    ");
        out.extend_from_slice(line.as_bytes());
    }
    Ok(out)
}

/// Writes the spooled elements at `spans` as a pretty array (`[]` when empty).
fn array(spool: &mut Spool, spans: &[(u64, u32)], out: &mut dyn Write) -> io::Result<()> {
    if spans.is_empty() {
        return out.write_all(b"[]");
    }
    out.write_all(b"[\n")?;
    for (i, s) in spans.iter().enumerate() {
        if i > 0 {
            out.write_all(b",\n")?;
        }
        spool.copy(*s, out)?;
    }
    out.write_all(b"\n  ]")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analyze_file;
    use crate::report::{analyze_json, analyze_text};

    /// Every field capture in the repository, and a capture whose first connection stays open
    /// while the next ones open and close (so connections close out of order).
    fn captures() -> Vec<std::path::PathBuf> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/observed");
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        paths.sort();
        let nested = std::env::temp_dir().join(format!("tcpsim-nested-{}.txt", std::process::id()));
        let mut text = String::from(
            "00:00:00.000000 IP 10.0.0.9.50000 > 10.0.0.1.443: Flags [S], seq 1, win 100, length 0\n",
        );
        for i in 0..5 {
            let c = format!("10.0.0.{}.4000{i} > 10.0.0.1.443", i + 2);
            let s = format!("10.0.0.1.443 > 10.0.0.{}.4000{i}", i + 2);
            text += &format!(
                "00:00:0{i}.100000 IP {c}: Flags [S], seq 1, win 100, length 0\n\
                 00:00:0{i}.200000 IP {c}: Flags [P.], seq 2:12, ack 1, win 100, length 10\n\
                 00:00:0{i}.300000 IP {s}: Flags [R], seq 1, win 0, length 0\n"
            );
        }
        text +=
            "00:00:09.000000 IP 10.0.0.9.50000 > 10.0.0.1.443: Flags [R], seq 2, win 0, length 0\n";
        std::fs::write(&nested, text).unwrap();
        paths.push(nested);
        paths
    }

    // Proves the streamed report is byte for byte the report built in memory, text and JSON, over
    // several captures (connections numbered per capture) and with connections closing out of
    // order: the spool's reassembly by first packet is exact.
    #[test]
    fn streamed_equals_in_memory() {
        let paths = captures();
        let (import, opts) = (ImportOptions::default(), AnalyzeOptions::default());
        let whole: Vec<_> = paths
            .iter()
            .map(|p| {
                (
                    p.display().to_string(),
                    analyze_file(p, import, opts).unwrap(),
                )
            })
            .collect();
        let want_json = analyze_json(whole.iter().map(|(n, (a, _))| (n.as_str(), a))).unwrap();
        let want_text: String = whole
            .iter()
            .map(|(n, (a, st))| analyze_text(n, st, a))
            .collect();
        for json in [true, false] {
            let mut out = AnalyzeOutput::new(json).unwrap();
            for p in &paths {
                out.add_capture(p, &p.display().to_string(), import, opts)
                    .unwrap();
            }
            let mut bytes = Vec::new();
            out.finish(&mut bytes).unwrap();
            let got = String::from_utf8(bytes).unwrap();
            let want = if json { &want_json } else { &want_text };
            assert_eq!(&got, want, "json: {json}");
        }
        assert!(
            want_text.contains("connection 0: 10.0.0.9.50000"),
            "{want_text}"
        );
        let _ = std::fs::remove_file(paths.last().unwrap());
    }
}
