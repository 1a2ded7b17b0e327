//! CLI stage: command-line arguments → a compilation, its output file and an exit code.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::emit::{EmitOptions, Target};
use crate::lower::LowerOptions;
use crate::parse::MAX_INPUT_BYTES;
use crate::source::Source;
use crate::{render, Options};

const EXAMPLES: &str = "\
Examples:
  yml2sh circle.yml > build.sh            compile to a bash script (the default)
  yml2sh -o build.sh                      read ./circle.yml, write build.sh atomically (executable)
  yml2sh -f make circle.yml -o Makefile   one make target per phase
  yml2sh -f github circle.yml -o .github/workflows/ci.yml
  yml2sh -f ir circle.yml                 show the phases and commands yml2sh understood
  cat circle.yml | yml2sh -               read standard input
  yml2sh check circle.yml                 only report problems (exit 1 on errors)

Exit status: 0 success (warnings go to stderr), 1 errors in the input, 2 usage errors.";

#[derive(Parser, Debug)]
#[command(
    name = "yml2sh",
    version,
    about = "Compile a CircleCI 1.0 circle.yml into a bash script, a Makefile or a GitHub Actions workflow",
    after_help = EXAMPLES,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    compile: CompileArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check a circle.yml and print its diagnostics; write nothing else.
    Check(CheckArgs),
}

#[derive(Args, Debug)]
struct CheckArgs {
    /// The circle.yml to read (`-` for standard input).
    #[arg(default_value = "circle.yml")]
    file: PathBuf,
    #[command(flatten)]
    report: ReportArgs,
}

#[derive(Args, Debug)]
struct CompileArgs {
    /// The circle.yml to read (`-` for standard input).
    #[arg(default_value = "circle.yml")]
    file: PathBuf,
    /// What to write.
    #[arg(short = 'f', long, value_enum, default_value_t = Target::Bash)]
    format: Target,
    /// Write to PATH atomically instead of standard output (never a half-written file).
    #[arg(short = 'o', long, value_name = "PATH")]
    output: Option<PathBuf>,
    /// Keep every command exactly as written (no modernization of docker commands).
    #[arg(long)]
    verbatim: bool,
    /// Parallel nodes (CircleCI set this in its web UI); the GitHub workflow runs a matrix of this size.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
    nodes: u32,
    #[command(flatten)]
    report: ReportArgs,
}

#[derive(Args, Debug)]
struct ReportArgs {
    /// How diagnostics are printed on standard error.
    #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
    message_format: MessageFormat,
    /// Colour in human diagnostics (auto: only on a terminal, and never with NO_COLOR set).
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum MessageFormat {
    Human,
    Github,
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

/// Runs the CLI on the process's arguments; returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    run(cli)
}

fn run(cli: Cli) -> i32 {
    match cli.command {
        Some(Command::Check(args)) => check(&args),
        None => compile(&cli.compile),
    }
}

fn check(args: &CheckArgs) -> i32 {
    let source = match read_source(&args.file) {
        Ok(s) => s,
        Err(e) => return report_failure(&e.0, e.1, &args.report),
    };
    let diags = crate::check(&source, &Options::default());
    let failed = diags.has_errors();
    print_diagnostics(&source, &diags, &args.report);
    if diags.is_empty() {
        eprintln!("{}: no problems found", source.name);
    }
    i32::from(failed)
}

fn compile(args: &CompileArgs) -> i32 {
    let source = match read_source(&args.file) {
        Ok(s) => s,
        Err(e) => return report_failure(&e.0, e.1, &args.report),
    };
    if let Some(out) = &args.output {
        if crate::output::is_same_file(&args.file, out) {
            eprintln!(
                "error: refusing to write the output over the input `{}`",
                out.display()
            );
            return 2;
        }
    }
    let options = Options {
        target: args.format,
        lower: LowerOptions {
            verbatim: args.verbatim,
            ..LowerOptions::default()
        },
        emit: EmitOptions {
            nodes: args.nodes,
            ..EmitOptions::default()
        },
    };
    match crate::compile(&source, &options) {
        Ok(output) => {
            print_diagnostics(&source, &output.diagnostics, &args.report);
            let executable = args.format == Target::Bash;
            match crate::output::write(args.output.as_deref(), &output.text, executable) {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("error: {e}");
                    1
                }
            }
        }
        Err(diags) => {
            print_diagnostics(&source, &diags, &args.report);
            1
        }
    }
}

fn report_failure(source: &Source, d: Diagnostic, report: &ReportArgs) -> i32 {
    let mut diags = Diagnostics::default();
    diags.push(d);
    print_diagnostics(source, &diags, report);
    1
}

fn print_diagnostics(source: &Source, diags: &Diagnostics, report: &ReportArgs) {
    if diags.is_empty() {
        return;
    }
    let sorted = diags.sorted();
    let text = match report.message_format {
        MessageFormat::Human => {
            let color = match report.color {
                Color::Always => true,
                Color::Never => false,
                Color::Auto => {
                    std::io::stderr().is_terminal()
                        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                }
            };
            render::human(source, &sorted, color)
        }
        MessageFormat::Github => render::github(source, &sorted),
        MessageFormat::Json => render::json(source, &sorted),
    };
    eprint!("{text}");
}

/// Reads the input (or stdin for `-`), bounded in size, as UTF-8.
fn read_source(path: &Path) -> Result<Source, Box<(Source, Diagnostic)>> {
    let name = if path == Path::new("-") {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    };
    let io_error = |e: std::io::Error| {
        let d = Diagnostic::error(Code::Io, None, format!("cannot read `{name}`: {e}"));
        Box::new((Source::new(name.clone(), ""), d))
    };
    let mut bytes = Vec::new();
    let limit = MAX_INPUT_BYTES as u64 + 1;
    if path == Path::new("-") {
        std::io::stdin()
            .lock()
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(io_error)?;
    } else {
        let file = std::fs::File::open(path).map_err(io_error)?;
        if file.metadata().is_ok_and(|m| m.is_dir()) {
            return Err(io_error(std::io::Error::other("it is a directory")));
        }
        file.take(limit).read_to_end(&mut bytes).map_err(io_error)?;
    }
    if bytes.len() > MAX_INPUT_BYTES {
        let d = Diagnostic::error(
            Code::TooLarge,
            None,
            format!("`{name}` is larger than {MAX_INPUT_BYTES} bytes; yml2sh reads files up to that size"),
        );
        return Err(Box::new((Source::new(name, ""), d)));
    }
    crate::source_from_bytes(&name, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_valid() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
