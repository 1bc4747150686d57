//! File helpers shared by the command line and the library: atomic file writes, bounded input
//! reads (with `-` for standard input), and locating the capture inside a `tcpsim run` output
//! directory.
//!
//! Guarantees:
//! - inputs are read as streams, never by seeking, so pipes, FIFOs and `/dev/stdin` work; a whole
//!   file is read only through [`read_limited`], which stops one byte past its limit;
//! - [`write_atomic`] never leaves half a file at the destination: the bytes go to a uniquely named
//!   temporary file in the destination's own directory (so the final rename stays on one file
//!   system), which is renamed over the destination only once complete, and removed on any error;
//! - a file written by [`write_atomic`] gets the permissions a plain [`std::fs::write`] would give
//!   it (`0o666` minus the umask on Unix), not the private mode of a temporary file;
//! - an output never replaces one of the command's inputs ([`ensure_not_input`]: by canonical
//!   path or inode, including the file standard input reads from and the files of an input run
//!   directory) nor anything but a regular file ([`ensure_regular_or_absent`]: a directory,
//!   device, FIFO or socket), even with `--force`;
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
    /// The output file exists and `--force` was not given.
    #[error("{} exists: give --force to replace it", path.display())]
    Exists {
        /// The output.
        path: PathBuf,
    },
    /// An output is one of the command's inputs.
    #[error("refusing to write {}: it is the input {}", path.display(), input.display())]
    OverInput {
        /// The output.
        path: PathBuf,
        /// The input it would replace.
        input: PathBuf,
    },
    /// An output path names something other than a regular file (a directory, device, FIFO or
    /// socket): tcpsim writes only regular files, and never replaces anything else, even with
    /// `--force`.
    #[error("refusing to write {}: it is {kind}, not a regular file", path.display())]
    NotAFile {
        /// The output.
        path: PathBuf,
        /// What it is.
        kind: &'static str,
    },
    /// The directory an output goes in is a file.
    #[error("refusing to write {}: its parent is not a directory", path.display())]
    ParentNotADirectory {
        /// The output.
        path: PathBuf,
    },
    /// Reading an input failed.
    #[error("reading {}", path.display())]
    Read {
        /// The input.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// An input is larger than the command reads.
    #[error("{}: larger than {} MB, which is more than a {what} can be", path.display(), limit >> 20)]
    TooLarge {
        /// The input.
        path: PathBuf,
        /// The limit, in bytes.
        limit: u64,
        /// What the input was expected to be.
        what: &'static str,
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

/// The name standard input goes by in messages when a command is given `-`.
pub const STDIN_NAME: &str = "<standard input>";

/// Whether `path` means standard input (`-`).
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// How an input path is shown in messages: `-` is [`STDIN_NAME`].
pub fn display_name(path: &Path) -> PathBuf {
    if is_stdin(path) {
        PathBuf::from(STDIN_NAME)
    } else {
        path.to_owned()
    }
}

/// Opens an input for streaming: `-` is standard input; anything else is opened as a file (a FIFO
/// or character device streams like one).
///
/// # Errors
/// [`FsError::Read`] naming the input.
pub fn open_input(path: &Path) -> Result<Box<dyn std::io::Read + Send>, FsError> {
    if is_stdin(path) {
        return Ok(Box::new(std::io::stdin()));
    }
    match std::fs::File::open(path) {
        Ok(f) => Ok(Box::new(f)),
        Err(source) => Err(FsError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Reads a whole input (`-` for standard input) of at most `limit` bytes; `what` names what it
/// should be, for the error.
///
/// # Errors
/// [`FsError::Read`], or [`FsError::TooLarge`] once more than `limit` bytes arrive (reading stops
/// there, so `/dev/zero` is refused, not read).
pub fn read_limited(path: &Path, limit: u64, what: &'static str) -> Result<Vec<u8>, FsError> {
    read_limited_from(open_input(path)?, &display_name(path), limit, what)
}

/// As [`read_limited`], from a stream already open; `name` names it in errors.
///
/// # Errors
/// As [`read_limited`].
pub fn read_limited_from(
    reader: impl std::io::Read,
    name: &Path,
    limit: u64,
    what: &'static str,
) -> Result<Vec<u8>, FsError> {
    use std::io::Read;
    let mut bytes = Vec::new();
    reader
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| FsError::Read {
            path: name.to_owned(),
            source,
        })?;
    if bytes.len() as u64 > limit {
        return Err(FsError::TooLarge {
            path: name.to_owned(),
            limit,
            what,
        });
    }
    Ok(bytes)
}

/// Where a plot of the file `input` goes by default: `x.svg` beside it, or `x.timeline.svg` when
/// the input is itself named `.svg` (a plot never replaces its input).
pub fn svg_beside(input: &Path) -> PathBuf {
    if is_stdin(input) {
        return PathBuf::from("timeline.svg");
    }
    let beside = input.with_extension("svg");
    if beside == input {
        input.with_extension("timeline.svg")
    } else {
        beside
    }
}

/// Where `tcpsim plot` writes by default: for a comparison (`--with`), `x.compare.svg` beside the
/// input (`compare.svg` for standard input); for a run directory, its `timeline.svg`; otherwise
/// [`svg_beside`]. Never the input itself.
pub fn plot_path(input: &Path, compare: bool) -> PathBuf {
    match (compare, is_stdin(input)) {
        (true, true) => PathBuf::from("compare.svg"),
        (true, false) => input.with_extension("compare.svg"),
        (false, _) if input.is_dir() => input.join("timeline.svg"),
        (false, _) => svg_beside(input),
    }
}

/// Refuses an output file `path` that exists, unless `force` (issue 10: `search` and `sweep` never
/// replace a file unasked), and always one that is one of `inputs` ([`ensure_not_input`]).
///
/// # Errors
/// [`FsError::Exists`] or [`FsError::OverInput`].
pub fn ensure_output_file<P: AsRef<Path>>(
    path: &Path,
    inputs: &[P],
    force: bool,
) -> Result<(), FsError> {
    ensure_not_input(path, inputs)?;
    if !force && std::fs::symlink_metadata(path).is_ok() {
        return Err(FsError::Exists {
            path: path.to_owned(),
        });
    }
    Ok(())
}

/// Refuses an output `path` that is one of `inputs`: the same file by canonical path, or (on Unix)
/// the same device and inode, so no spelling or hard link of an input can be overwritten by a
/// command's output (issue 12). An input `-` is whatever standard input reads from; an input
/// directory stands for the files tcpsim reads from a run directory (`run.toml`, `trace.pcap`,
/// `trace.txt`). An output that exists and is not a regular file is refused too
/// ([`ensure_regular_or_absent`]). A `path` that does not exist yet is never an input.
///
/// # Errors
/// [`FsError::OverInput`] naming the output and the input, or [`FsError::NotAFile`].
pub fn ensure_not_input<P: AsRef<Path>>(path: &Path, inputs: &[P]) -> Result<(), FsError> {
    ensure_regular_or_absent(path)?;
    let Ok(out) = std::fs::metadata(path) else {
        return Ok(());
    };
    let canonical = std::fs::canonicalize(path).ok();
    let over = |input: &Path| FsError::OverInput {
        path: path.to_owned(),
        input: display_name(input),
    };
    for input in inputs.iter().map(AsRef::as_ref) {
        if is_stdin(input) {
            if stdin_metadata().is_some_and(|m| same_inode(&out, &m)) {
                return Err(over(input));
            }
            continue;
        }
        let Ok(meta) = std::fs::metadata(input) else {
            continue;
        };
        let read = if meta.is_dir() {
            RUN_DIR_INPUTS.iter().map(|f| input.join(f)).collect()
        } else {
            vec![input.to_owned()]
        };
        for file in read {
            let Ok(meta) = std::fs::metadata(&file) else {
                continue;
            };
            let same_path = canonical.is_some() && canonical == std::fs::canonicalize(&file).ok();
            if same_path || same_inode(&out, &meta) {
                return Err(over(&file));
            }
        }
    }
    Ok(())
}

/// Refuses replacing the directory `dir` when one of the files in it is one of `inputs` (a run
/// of `R/run.toml` into `R` would replace its own model).
///
/// # Errors
/// As [`ensure_not_input`].
pub fn ensure_dir_not_input<P: AsRef<Path>>(dir: &Path, inputs: &[P]) -> Result<(), FsError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for path in entries.flatten().map(|e| e.path()).filter(|p| p.is_file()) {
        ensure_not_input(&path, inputs)?;
    }
    Ok(())
}

/// The files tcpsim reads from a run directory given as an input.
const RUN_DIR_INPUTS: [&str; 3] = ["run.toml", "trace.pcap", "trace.txt"];

/// Refuses an output `path` that exists (following symbolic links) and is not a regular file: a
/// directory, device, FIFO or socket is never replaced by an output, even with `--force` (as root,
/// replacing `/dev/null` with a plot would break the machine).
///
/// # Errors
/// [`FsError::NotAFile`] saying what `path` is.
pub fn ensure_regular_or_absent(path: &Path) -> Result<(), FsError> {
    let not_a_file = |kind| {
        Err(FsError::NotAFile {
            path: path.to_owned(),
            kind,
        })
    };
    // `x/` names a directory, existing or not; a parent that is a file cannot hold the output.
    if path
        .as_os_str()
        .to_string_lossy()
        .ends_with(std::path::MAIN_SEPARATOR)
    {
        return not_a_file("a directory path (it ends in a separator)");
    }
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(meta) = parent.and_then(|p| std::fs::metadata(p).ok())
        && !meta.is_dir()
    {
        return Err(FsError::ParentNotADirectory {
            path: path.to_owned(),
        });
    }
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => not_a_file(file_kind(&meta)),
        _ => Ok(()),
    }
}

/// What a non-regular file is, in words.
fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a FIFO";
        } else if t.is_char_device() || t.is_block_device() {
            return "a device";
        } else if t.is_socket() {
            return "a socket";
        }
    }
    if meta.is_dir() {
        "a directory"
    } else {
        "not a plain file"
    }
}

/// What standard input is open on, when that can be told.
#[cfg(unix)]
fn stdin_metadata() -> Option<std::fs::Metadata> {
    use std::os::fd::AsFd;
    let fd = std::io::stdin().as_fd().try_clone_to_owned().ok()?;
    std::fs::File::from(fd).metadata().ok()
}

#[cfg(not(unix))]
fn stdin_metadata() -> Option<std::fs::Metadata> {
    None
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
    write_atomic_with(path, |w| w.write_all(bytes)).map_err(|e| match e {
        AtomicWriteError::Fs(e) => e,
        AtomicWriteError::Producer(source) => FsError::Write {
            path: path.to_owned(),
            source,
        },
    })
}

/// Why [`write_atomic_with`] failed: the file system, or the function producing the bytes.
#[derive(Debug)]
pub enum AtomicWriteError<E> {
    /// Creating, writing or renaming the file.
    Fs(FsError),
    /// The producer's own error.
    Producer(E),
}

/// As [`write_atomic`], with the bytes streamed by `produce` into a buffered writer (so a large
/// output is never held in memory). If `produce` fails, the temporary file is removed and `path`
/// is untouched.
///
/// # Errors
/// [`AtomicWriteError::Producer`] with `produce`'s error, or [`AtomicWriteError::Fs`].
pub fn write_atomic_with<E>(
    path: &Path,
    produce: impl FnOnce(&mut dyn Write) -> Result<(), E>,
) -> Result<(), AtomicWriteError<E>> {
    let err = |source| {
        AtomicWriteError::Fs(FsError::Write {
            path: path.to_owned(),
            source,
        })
    };
    ensure_regular_or_absent(path).map_err(AtomicWriteError::Fs)?;
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
    let mut w = std::io::BufWriter::with_capacity(1 << 16, tmp.as_file_mut());
    produce(&mut w).map_err(AtomicWriteError::Producer)?;
    w.flush().map_err(err)?;
    drop(w);
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

/// An exclusive claim on an output destination while tcpsim writes it: an advisory lock
/// (`flock`) on a hidden `.NAME.lock` file beside it. The lock is the operating system's, so a
/// killed process releases it; the file is removed when the claim is dropped.
#[derive(Debug)]
pub struct OutputLock {
    path: PathBuf,
    _file: std::fs::File,
}

/// Lock files held by this process, for [`remove_lock_files`] at a signal.
static LOCKS: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

impl OutputLock {
    /// Claims `parent/NAME` for writing. `Ok(None)` when another process holds the claim.
    ///
    /// # Errors
    /// Creating or locking the lock file failed.
    pub fn try_acquire(parent: &Path, name: &str) -> std::io::Result<Option<OutputLock>> {
        let path = parent.join(format!(".{name}.lock"));
        loop {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
                Err(std::fs::TryLockError::Error(e)) => return Err(e),
            }
            // The holder before us may have removed the file between our open and our lock: the
            // claim counts only if the path still names the file we locked.
            let (Ok(ours), Ok(now)) = (file.metadata(), std::fs::metadata(&path)) else {
                continue;
            };
            // (Without inodes to compare, the lock alone decides.)
            if cfg!(not(unix)) || same_inode(&ours, &now) {
                if let Ok(mut l) = LOCKS.lock() {
                    l.push(path.clone());
                }
                return Ok(Some(OutputLock { path, _file: file }));
            }
        }
    }
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        // Removed while still locked, so no other process can hold a claim on this file.
        let _ = std::fs::remove_file(&self.path);
        if let Ok(mut l) = LOCKS.lock() {
            l.retain(|p| *p != self.path);
        }
    }
}

/// Removes the lock files of this process's claims: what a signal handler calls before exiting.
pub fn remove_lock_files() {
    let paths = LOCKS.lock().map(|mut l| std::mem::take(&mut *l));
    for p in paths.unwrap_or_default() {
        let _ = std::fs::remove_file(p);
    }
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
