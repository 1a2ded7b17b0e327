//! yml2sh: compile a CircleCI 1.0 `circle.yml` into a bash script, a Makefile or a GitHub
//! Actions workflow. `compile` runs the whole pipeline: parse → lower → emit.

#![forbid(unsafe_code)]

pub mod audit;
pub mod cli;
pub mod diagnostic;
pub mod emit;
pub mod ir;
pub mod lower;
pub mod output;
pub mod parse;
pub mod render;
pub mod shellcheck;
pub mod source;
pub mod text;

pub use diagnostic::{Code, Diagnostic, Diagnostics, Severity};
pub use emit::{EmitOptions, Target};
pub use ir::Ir;
pub use source::{Source, Span};
pub use text::Text;

/// Everything that shapes one compilation.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub target: Target,
    pub lower: lower::LowerOptions,
    pub emit: EmitOptions,
}

/// A successful compilation: the text, and the warnings met on the way.
#[derive(Debug)]
pub struct Output {
    pub text: String,
    pub diagnostics: Diagnostics,
}

/// Parses and lowers; `Err` holds the diagnostics when any of them is an error.
pub fn lower(source: &Source, options: &Options) -> Result<(Ir, Diagnostics), Diagnostics> {
    let mut diags = Diagnostics::default();
    let Some(config) = parse::parse(source, &mut diags) else {
        return Err(diags);
    };
    let ir = lower::lower(source, &config, &options.lower, &mut diags);
    if diags.has_errors() {
        return Err(diags);
    }
    Ok((ir, diags))
}

/// The whole pipeline. Never panics on any input; errors come back as diagnostics.
pub fn compile(source: &Source, options: &Options) -> Result<Output, Diagnostics> {
    compile_text(source, options).map(|(text, diagnostics)| Output {
        text: text.to_string(),
        diagnostics,
    })
}

/// [`compile`], with the text as the [`Text`] the CLI writes: build.sh's runtime is referred
/// to, not copied into one string.
pub fn compile_text(
    source: &Source,
    options: &Options,
) -> Result<(Text, Diagnostics), Diagnostics> {
    let (ir, mut diags) = lower(source, options)?;
    if matches!(options.target, Target::Bash | Target::Make) {
        diags.retain(|d| !d.code.only_github());
    }
    let text = emit::emit(&ir, options.target, &options.emit, &mut diags);
    match text {
        Some(text) if !diags.has_errors() => Ok((text, diags)),
        _ => Err(diags),
    }
}

/// What `yml2sh check` reports: every diagnostic lowering and any back-end would give, and
/// notes on commands that change the host, without writing anything.
pub fn check(source: &Source, options: &Options) -> Diagnostics {
    check_with(source, options, false)
}

/// [`check`], and with `shellcheck` the findings of `shellcheck` on every command, located.
pub fn check_with(source: &Source, options: &Options, shellcheck: bool) -> Diagnostics {
    checked(source, options, shellcheck).1
}

/// What [`check_with`] decides, and the IR it decided it from (`None` when lowering failed):
/// `yml2sh check` and `yml2sh audit` both go through here, so they cannot disagree.
pub fn checked(source: &Source, options: &Options, shellcheck: bool) -> (Option<Ir>, Diagnostics) {
    let mut options = options.clone();
    options.lower.host_changes = true;
    // An untested deployment is a warning here: only writing the workflow refuses it.
    options.emit.allow_untested_deploy = true;
    let (ir, mut diags) = match lower(source, &options) {
        Ok(done) => done,
        Err(diags) => return (None, diags),
    };
    if shellcheck {
        shellcheck::run(source, &ir, &mut diags);
    }
    for target in [Target::Bash, Target::Make, Target::Github] {
        let mut emitted = Diagnostics::default();
        emit::findings(&ir, target, &options.emit, &mut emitted);
        diags.extend(emitted);
    }
    diags.dedup();
    (Some(ir), diags)
}

/// The checkout a config file sits in, where inference looks by default: its directory, or
/// `.` for a bare file name.
pub fn checkout_of(file: &std::path::Path) -> std::path::PathBuf {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    }
}

/// A path as text, as `Path::display` writes it (a name that is not UTF-8 gets U+FFFD): a
/// UTF-8 path, nearly every one, is copied as it is rather than formatted.
pub fn path_text(path: &std::path::Path) -> String {
    match path.to_str() {
        Some(text) => text.to_owned(),
        None => path.display().to_string(),
    }
}

/// The room [`read_file`] starts with, and the most std reads at first: more than nearly every
/// config of the corpus holds.
const FIRST_READ: usize = 8 * 1024;

/// Reads the file at `path` (never standard input) into a [`Source`]: at most
/// [`parse::MAX_INPUT_BYTES`] bytes are read, a larger file is refused with a `too-large`
/// error, and a directory or unreadable file with an `io` error naming it.
pub fn read_file(path: &std::path::Path) -> Result<Source, Box<(Source, Diagnostic)>> {
    use std::io::Read;
    let name = path_text(path);
    let mut bytes = Vec::new();
    let limit = parse::MAX_INPUT_BYTES as u64 + 1;
    // No `stat` first (a system call per config in `audit`): a directory says what it is on
    // its first read, and a config is small, so the buffer starts with room for nearly all of
    // them: one read for the text, one to see its end (a larger file doubles the buffer).
    let read = std::fs::File::open(path)
        .and_then(|file| {
            bytes.reserve_exact(FIRST_READ);
            file.take(limit).read_to_end(&mut bytes)
        })
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::IsADirectory => std::io::Error::other("it is a directory"),
            _ => e,
        });
    if let Err(e) = read {
        let d = Diagnostic::error(Code::Io, None, format!("cannot read `{name}`: {e}"));
        return Err(Box::new((Source::new(name, ""), d)));
    }
    source_from_bounded(&name, bytes)
}

/// Bytes read with a limit of one more than [`parse::MAX_INPUT_BYTES`] into a [`Source`]:
/// refused as too large when the limit was reached, else as [`source_from_bytes`].
pub fn source_from_bounded(
    name: &str,
    bytes: Vec<u8>,
) -> Result<Source, Box<(Source, Diagnostic)>> {
    use parse::MAX_INPUT_BYTES;
    if bytes.len() > MAX_INPUT_BYTES {
        let d = Diagnostic::error(
            Code::TooLarge,
            None,
            format!("`{name}` is larger than {MAX_INPUT_BYTES} bytes; yml2sh reads files up to that size"),
        );
        return Err(Box::new((Source::new(name, ""), d)));
    }
    source_from_bytes(name, bytes)
}

/// Reads input bytes into a [`Source`], refusing non-UTF-8 text with a located error.
pub fn source_from_bytes(name: &str, bytes: Vec<u8>) -> Result<Source, Box<(Source, Diagnostic)>> {
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Source::new(name, text)),
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let bytes = e.into_bytes();
            // Keep the valid prefix so the error can point at the line and column.
            let prefix = String::from_utf8_lossy(&bytes[..valid]).into_owned();
            let src = Source::new(name, prefix);
            let d = Diagnostic::error(
                Code::NotUtf8,
                Span::new(valid, valid),
                format!(
                    "`{name}` is not UTF-8 text: byte {valid} ({:#04x}) is not valid UTF-8",
                    bytes[valid]
                ),
            )
            .with_help("save the file as UTF-8");
            Err(Box::new((src, d)))
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn path_text_is_what_display_writes() {
        let utf8 = std::path::Path::new("org/répo/circle.yml");
        assert_eq!(super::path_text(utf8), utf8.display().to_string());
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let raw = std::path::Path::new(std::ffi::OsStr::from_bytes(b"a\xffb/circle.yml"));
            assert_eq!(super::path_text(raw), "a\u{fffd}b/circle.yml");
            assert_eq!(super::path_text(raw), raw.display().to_string());
        }
    }
}
