//! File helpers shared by the command line and the library: atomic file writes and locating the
//! capture inside a `tcpsim run` output directory.
//!
//! Guarantees:
//! - [`write_atomic`] never leaves half a file at the destination: the bytes go to a uniquely named
//!   temporary file in the destination's own directory (so the final rename stays on one file
//!   system), which is renamed over the destination only once complete, and removed on any error;
//! - a file written by [`write_atomic`] gets the permissions a plain [`std::fs::write`] would give
//!   it (`0o666` minus the umask on Unix), not the private mode of a temporary file;
//! - every error names the path it concerns.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A file operation that failed, naming its path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FsError {
    /// Writing (or renaming into place) the file failed.
    #[error("writing {}", path.display())]
    Write {
        /// The destination.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// Creating a directory failed.
    #[error("creating {}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// The output would replace one of the command's inputs.
    #[error("refusing to write {}: it is the input {}", path.display(), input.display())]
    OverInput {
        /// The output.
        path: PathBuf,
        /// The input it would replace.
        input: PathBuf,
    },
    /// A directory given as a capture holds no capture.
    #[error(
        "{}: a directory without trace.pcap or trace.txt (run with --outputs including pcap or text)",
        path.display()
    )]
    NoCapture {
        /// The directory.
        path: PathBuf,
    },
}

/// Where a plot of the file `input` goes by default: `x.svg` beside it, or `x.timeline.svg` when
/// the input is itself named `.svg` (a plot never replaces its input).
pub fn svg_beside(input: &Path) -> PathBuf {
    let beside = input.with_extension("svg");
    if beside == input {
        input.with_extension("timeline.svg")
    } else {
        beside
    }
}

/// Refuses an output `path` that is one of `inputs`: the same file by canonical path, or (on Unix)
/// the same device and inode, so no spelling or hard link of an input can be overwritten by a
/// command's output (issue 12). A `path` that does not exist yet is never an input.
///
/// # Errors
/// [`FsError::OverInput`] naming the output and the input.
pub fn ensure_not_input<P: AsRef<Path>>(path: &Path, inputs: &[P]) -> Result<(), FsError> {
    let Ok(out) = std::fs::metadata(path) else {
        return Ok(());
    };
    let canonical = std::fs::canonicalize(path).ok();
    for input in inputs.iter().map(AsRef::as_ref) {
        let Ok(meta) = std::fs::metadata(input) else {
            continue;
        };
        let same_path = canonical.is_some() && canonical == std::fs::canonicalize(input).ok();
        if same_path || same_inode(&out, &meta) {
            return Err(FsError::OverInput {
                path: path.to_owned(),
                input: input.to_path_buf(),
            });
        }
    }
    Ok(())
}

#[cfg(unix)]
fn same_inode(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_inode(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    false
}

/// Writes `bytes` to `path` through a temporary file in the same directory, renamed into place
/// once complete, so a failure never leaves half a file at `path` (an existing file is replaced
/// whole or not at all).
///
/// # Errors
/// [`FsError::Write`] naming `path` when the temporary file cannot be created or written, or the
/// rename fails; the temporary file is removed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FsError> {
    let err = |source| FsError::Write {
        path: path.to_owned(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // `make_in` (not `tempfile_in`) so the file gets a plain file's mode and its errors are the
    // system's own, not wrapped with the temporary name.
    let mut tmp = tempfile::Builder::new()
        .make_in(dir, |p| {
            let mut o = std::fs::OpenOptions::new();
            o.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o666);
            o.open(p)
        })
        .map_err(err)?;
    let file = tmp.as_file_mut();
    file.write_all(bytes)
        .and_then(|()| file.flush())
        .map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

/// Creates the directory `path` would be written in (and its parents), if `path` names one.
///
/// # Errors
/// [`FsError::CreateDir`] naming the directory.
pub fn create_parent_dir(path: &Path) -> Result<(), FsError> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => std::fs::create_dir_all(dir).map_err(|source| FsError::CreateDir {
            path: dir.to_owned(),
            source,
        }),
        None => Ok(()),
    }
}

/// The capture to read for `input`: inside a `tcpsim run` output directory its `trace.pcap`, or
/// else its `trace.txt`; any other path is returned as it is.
///
/// # Errors
/// [`FsError::NoCapture`] for a directory holding neither.
pub fn capture_in(input: &Path) -> Result<PathBuf, FsError> {
    if !input.is_dir() {
        return Ok(input.to_owned());
    }
    ["trace.pcap", "trace.txt"]
        .into_iter()
        .map(|name| input.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| FsError::NoCapture {
            path: input.to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves write_atomic creates and then replaces a file whole, leaves no temporary file behind,
    // and on a failure names the destination and leaves nothing.
    #[test]
    fn write_atomic_replaces_whole_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "only the destination remains");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_ne!(mode & 0o044, 0, "not the private temp-file mode: {mode:o}");
        }
        let missing = dir.path().join("no/such/dir/x.svg");
        let e = write_atomic(&missing, b"x").unwrap_err();
        assert_eq!(e.to_string(), format!("writing {}", missing.display()));
        assert!(!missing.exists());
    }

    // Proves the capture inside a run directory is found (pcap first), other paths pass through,
    // and a directory without one is an error naming it.
    #[test]
    fn capture_in_run_directory() {
        let dir = tempfile::tempdir().unwrap();
        let e = capture_in(dir.path()).unwrap_err();
        assert!(e.to_string().starts_with(&dir.path().display().to_string()));
        std::fs::write(dir.path().join("trace.txt"), "").unwrap();
        assert_eq!(
            capture_in(dir.path()).unwrap(),
            dir.path().join("trace.txt")
        );
        std::fs::write(dir.path().join("trace.pcap"), "").unwrap();
        assert_eq!(
            capture_in(dir.path()).unwrap(),
            dir.path().join("trace.pcap")
        );
        let file = dir.path().join("x.txt");
        assert_eq!(capture_in(&file).unwrap(), file);
    }

    // Proves create_parent_dir makes nested parents and accepts a bare file name.
    #[test]
    fn create_parent_dir_nested() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/c.toml");
        create_parent_dir(&path).unwrap();
        assert!(dir.path().join("a/b").is_dir());
        create_parent_dir(Path::new("c.toml")).unwrap();
    }
}
