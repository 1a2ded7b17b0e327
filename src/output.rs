//! Output stage: writes the compiled text to standard output or to `-o PATH`.
//!
//! What `-o PATH` does depends on what is at PATH, looked at without following symbolic links:
//! - nothing: the file is created (and its missing parent directories), `0755` for build.sh,
//!   `0644` otherwise, less the umask;
//! - a regular file: it is replaced whole, keeping its permission bits: readers see the old
//!   file or the new one, never half of either;
//! - a FIFO or a character device (`/dev/null`, a terminal): written through, the way a shell's
//!   `>` does; nothing is replaced;
//! - anything else (a symbolic link, a directory, a socket, a block device): refused, so `-o`
//!   never replaces what is not its file. `-o -` is standard output.
//!
//! The new text goes first to a temporary file beside the target, created with `O_EXCL` under a
//! random name (the `tempfile` crate), then renamed over the target: no name an attacker could
//! plant a link at in advance, and no half-written target if the write fails.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::text::Text;

/// Why the output could not be written, said the way the CLI prints it.
#[derive(Debug)]
pub struct OutputError {
    /// What was being written: "standard output" or "`PATH`".
    pub target: String,
    pub error: std::io::Error,
}

impl std::fmt::Display for OutputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "could not write {}: {}", self.target, self.error)
    }
}

/// Whether `-o` names standard output.
pub fn is_stdout(path: Option<&Path>) -> bool {
    path.is_none_or(|p| p == Path::new("-"))
}

/// Writes `text` to `path` (standard output when `None` or `-`); `executable` makes a new file
/// executable. A closed pipe on standard output (`yml2sh | head`) is not an error.
pub fn write(path: Option<&Path>, text: &Text, executable: bool) -> Result<(), OutputError> {
    let path = path.filter(|_| !is_stdout(path));
    let written = match path {
        Some(path) => write_file(path, text, executable),
        None => {
            let mut stdout = std::io::stdout().lock();
            text.write_to(&mut stdout).and_then(|()| stdout.flush())
        }
    };
    match written {
        Ok(()) => Ok(()),
        Err(e) if path.is_none() && e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(error) => Err(OutputError {
            target: path.map_or("standard output".to_string(), |p| {
                format!("`{}`", p.display())
            }),
            error,
        }),
    }
}

/// Whether `output` names the same file as `input` (so writing it would destroy the input).
pub fn is_same_file(input: &Path, output: &Path) -> bool {
    if input == Path::new("-") || is_stdout(Some(output)) {
        return false;
    }
    match (std::fs::canonicalize(input), std::fs::canonicalize(output)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// What `-o` found at its path.
enum Existing {
    Nothing,
    Regular(std::fs::Permissions),
    /// A FIFO or character device, with its (device, inode) to check the opened one against.
    WriteThrough(u64, u64),
}

fn refuse(what: &str) -> std::io::Error {
    std::io::Error::other(format!(
        "it is {what}; yml2sh replaces only regular files (use `-o -` for standard output)"
    ))
}

fn existing(path: &Path) -> std::io::Result<Existing> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Existing::Nothing),
        Err(e) => return Err(e),
    };
    let kind = meta.file_type();
    if kind.is_file() {
        return Ok(Existing::Regular(meta.permissions()));
    }
    if kind.is_symlink() {
        return Err(refuse("a symbolic link"));
    }
    if kind.is_dir() {
        return Err(refuse("a directory"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        use std::os::unix::fs::MetadataExt;
        if kind.is_fifo() || kind.is_char_device() {
            return Ok(Existing::WriteThrough(meta.dev(), meta.ino()));
        }
        if kind.is_block_device() {
            return Err(refuse("a block device"));
        }
        if kind.is_socket() {
            return Err(refuse("a socket"));
        }
    }
    Err(refuse("not a regular file"))
}

fn write_file(path: &Path, text: &Text, executable: bool) -> std::io::Result<()> {
    let file_name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("the output path names no file"))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    match existing(path)? {
        Existing::WriteThrough(dev, ino) => write_through(path, text, (dev, ino)),
        found => {
            std::fs::create_dir_all(&dir)?;
            let mut prefix = std::ffi::OsString::from(".");
            prefix.push(file_name);
            prefix.push(".");
            let mut builder = tempfile::Builder::new();
            builder.prefix(&prefix).suffix(".yml2sh-tmp");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                // Given to open(2), so the umask applies, as it does to a shell's `>`.
                let mode = if executable { 0o755 } else { 0o644 };
                builder.permissions(std::fs::Permissions::from_mode(mode));
            }
            let mut tmp = builder.tempfile_in(&dir)?;
            text.write_to(&mut tmp)?;
            if let Existing::Regular(permissions) = &found {
                let permissions = permissions.clone();
                #[cfg(unix)]
                let permissions = {
                    use std::os::unix::fs::PermissionsExt;
                    // The permission bits; set-user-ID, set-group-ID and sticky are not carried
                    // over to a file yml2sh wrote.
                    std::fs::Permissions::from_mode(permissions.mode() & 0o777)
                };
                tmp.as_file().set_permissions(permissions)?;
            }
            tmp.as_file().sync_all()?;
            match found {
                // Nothing was there: never replace what appeared since (persist_noclobber).
                Existing::Nothing => tmp.persist_noclobber(path).map_err(|e| e.error)?,
                _ => tmp.persist(path).map_err(|e| e.error)?,
            };
            Ok(())
        }
    }
}

/// Writes into an existing FIFO or character device, without creating or truncating anything.
/// Opening a FIFO waits for its reader, as a shell's `>` does.
fn write_through(path: &Path, text: &Text, looked_at: (u64, u64)) -> std::io::Result<()> {
    let mut file: File = OpenOptions::new().write(true).open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = file.metadata()?;
        if (meta.dev(), meta.ino()) != looked_at {
            // Swapped (for a link, or a file) since it was looked at: write nothing.
            return Err(std::io::Error::other(
                "it was replaced while yml2sh was writing to it",
            ));
        }
    }
    text.write_to(&mut file)?;
    file.flush()
}
