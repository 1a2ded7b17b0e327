//! Output stage: writes the compiled text to standard output or, for `-o PATH`, to a file
//! that readers only ever see whole (a temporary file beside it, then a rename).

use std::io::Write;
use std::path::{Path, PathBuf};

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

/// Writes `text` to `path` (standard output when `None`); `executable` makes a new file
/// executable. A closed pipe on standard output (`yml2sh | head`) is not an error.
pub fn write(path: Option<&Path>, text: &str, executable: bool) -> Result<(), OutputError> {
    let written = match path {
        Some(path) => write_atomically(path, text, executable),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
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
    if input == Path::new("-") {
        return false;
    }
    match (std::fs::canonicalize(input), std::fs::canonicalize(output)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Temp file in the same directory, then rename: readers see the old file or the whole new one.
fn write_atomically(path: &Path, text: &str, executable: bool) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("the output path names no file"))?;
    let tmp = dir.join(format!(
        ".{}.yml2sh-{}.tmp",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        drop(f);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = if executable { 0o755 } else { 0o644 };
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))?;
        }
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
