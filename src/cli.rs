//! CLI stage: command-line arguments → a compilation, its output file and an exit code.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::diagnostic::{Code, Diagnostic, Diagnostics, Severity};
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
    // Report flags are global (`yml2sh --message-format json check x.yml`), which clap's
    // `args_conflicts_with_subcommands` would refuse: compile flags are refused in `run`.
    subcommand_precedence_over_arg = true
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    compile: CompileArgs,
    #[command(flatten)]
    infer: InferArgs,
    #[command(flatten)]
    report: ReportArgs,
}

/// Inference (spec §9): CircleCI 1.0's commands for phases without `override`; accepted before
/// or after a subcommand.
#[derive(Args, Debug)]
struct InferArgs {
    /// The checkout to infer CircleCI's commands from (default: the circle.yml's directory).
    #[arg(long, value_name = "DIR", global = true)]
    project_dir: Option<PathBuf>,
    /// Infer nothing: phases without `override` run only their `pre` and `post`.
    #[arg(long, global = true)]
    no_infer: bool,
}

impl InferArgs {
    fn options(&self, file: &Path, verbatim: bool) -> LowerOptions {
        let project_dir = self
            .project_dir
            .clone()
            .or_else(|| (file != Path::new("-")).then(|| crate::checkout_of(file)));
        LowerOptions {
            verbatim,
            project_dir,
            no_infer: self.no_infer,
            ..LowerOptions::default()
        }
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Report every problem any back-end would find in one or more circle.yml; write nothing else.
    Check(CheckArgs),
    /// Report what migrating many circle.yml involves (Markdown; --json or --csv).
    Audit(AuditArgs),
    /// Print a shell completion script: `yml2sh completions bash > /etc/bash_completion.d/yml2sh`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `yml2sh man > ~/.local/share/man/man1/yml2sh.1`.
    Man,
}

#[derive(Args, Debug)]
struct AuditArgs {
    /// Files, and directories searched recursively for circle.yml and circle.yaml.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Print the report as JSON (one document) instead of Markdown.
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Print one CSV row per configuration instead of Markdown.
    #[arg(long)]
    csv: bool,
}

impl Command {
    fn name(&self) -> &'static str {
        match self {
            Command::Check(_) => "check",
            Command::Audit(_) => "audit",
            Command::Completions { .. } => "completions",
            Command::Man => "man",
        }
    }
}

#[derive(Args, Debug)]
struct CheckArgs {
    /// Also run shellcheck (when it is on PATH) over every command, located in the circle.yml.
    #[arg(long)]
    shellcheck: bool,
    /// The files to check (`-` for standard input); default: ./circle.yml, else ./circle.yaml.
    files: Vec<PathBuf>,
}

#[derive(Args, Debug)]
struct CompileArgs {
    /// The circle.yml to read (`-` for standard input); default: ./circle.yml, else ./circle.yaml.
    file: Option<PathBuf>,
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
    /// Write nothing: exit 0 when the file of `-o` is what yml2sh would write now, 1 (with a
    /// short diff) when it is stale or missing. For CI and pre-commit hooks.
    #[arg(long, requires = "output")]
    check: bool,
    /// GitHub workflow: emit a deployment even though no test command runs before it.
    #[arg(long)]
    allow_untested_deploy: bool,
}

/// How findings are reported; accepted before or after a subcommand.
#[derive(Args, Debug)]
struct ReportArgs {
    /// How diagnostics are printed.
    #[arg(long, value_enum, default_value_t = MessageFormat::Human, global = true)]
    message_format: MessageFormat,
    /// Colour in human diagnostics (auto: only on a terminal, and never with NO_COLOR set).
    #[arg(long, value_enum, default_value_t = Color::Auto, global = true)]
    color: Color,
    /// Treat these as errors: `warnings` (every warning), `notes`, or a code such as `secrets`.
    #[arg(short = 'D', long = "deny", value_name = "LINT", value_parser = parse_lint, global = true)]
    deny: Vec<Lint>,
}

/// What `--deny` makes an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lint {
    Warnings,
    Notes,
    Code(Code),
}

fn parse_lint(s: &str) -> Result<Lint, String> {
    match s {
        "warnings" => Ok(Lint::Warnings),
        "notes" => Ok(Lint::Notes),
        _ => Code::from_name(s).map(Lint::Code).ok_or_else(|| {
            format!(
                "`{s}` is neither `warnings`, `notes` nor a diagnostic code (such as `secrets`)"
            )
        }),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum MessageFormat {
    /// rustc-style, with the source line and a caret.
    Human,
    /// One line each: `file:line:col: severity[code]: message`.
    Short,
    /// GitHub Actions workflow commands (annotations on the pull request's diff).
    Github,
    /// A JSON array of objects.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
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
    if let Some(why) = cli.command.as_ref().and_then(|c| refused_flag(&cli, c)) {
        eprintln!("error: {why}\n\nFor more information, try '--help'.");
        return 2;
    }
    match &cli.command {
        Some(Command::Check(args)) => check(args, &cli.infer, &cli.report),
        Some(Command::Audit(args)) => audit(args, &cli.infer),
        Some(Command::Completions { shell }) => {
            use clap::CommandFactory;
            let mut command = Cli::command();
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut command, "yml2sh", &mut out);
            print_bytes(&out)
        }
        Some(Command::Man) => {
            use clap::CommandFactory;
            let mut out = Vec::new();
            match clap_mangen::Man::new(Cli::command()).render(&mut out) {
                Ok(()) => print_bytes(&out),
                Err(e) => {
                    eprintln!("error: could not render the man page: {e}");
                    1
                }
            }
        }
        None => compile(&cli.compile, &cli.infer, &cli.report),
    }
}

/// Writes generated text or a report to standard output: 0, or 1 with a message when it cannot
/// be written (a full disk); a closed pipe (`| head`) is not an error and says nothing.
fn print_bytes(bytes: &[u8]) -> i32 {
    print_with(|out| out.write_all(bytes))
}

/// [`print_bytes`] for output written as it is made, by `write`.
fn print_with(write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>) -> i32 {
    let mut stdout = std::io::stdout().lock();
    let written = write(&mut stdout).and_then(|()| std::io::Write::flush(&mut stdout));
    match written {
        Ok(()) => 0,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("error: could not write standard output: {e}");
            1
        }
    }
}

/// `circle.yml` in the current directory, else `circle.yaml` when only that exists.
fn default_input() -> PathBuf {
    let yml = PathBuf::from("circle.yml");
    let yaml = PathBuf::from("circle.yaml");
    if !yml.exists() && yaml.exists() {
        yaml
    } else {
        yml
    }
}

/// Every file's diagnostics, each file once, in the order given; stdout is the report.
fn check(args: &CheckArgs, infer: &InferArgs, report: &ReportArgs) -> i32 {
    let paths = if args.files.is_empty() {
        vec![default_input()]
    } else {
        args.files.clone()
    };
    let shellcheck = args.shellcheck && crate::shellcheck::available();
    if args.shellcheck && !shellcheck {
        eprintln!("note: shellcheck is not on PATH; --shellcheck checks nothing");
    }
    let mut checked: Vec<(Source, Vec<Diagnostic>)> = vec![];
    for path in &paths {
        let (source, diags) = match read_source(path) {
            Ok(source) => {
                let options = Options {
                    lower: infer.options(path, false),
                    ..Options::default()
                };
                let diags = crate::check_with(&source, &options, shellcheck);
                (source, diags)
            }
            Err(e) => {
                let mut diags = Diagnostics::default();
                diags.push(e.1);
                (e.0, diags)
            }
        };
        let diags = deny(diags.into_sorted(), &report.deny);
        checked.push((source, diags));
    }
    let failed = checked
        .iter()
        .any(|(_, ds)| ds.iter().any(Diagnostic::is_error));
    let terminal = std::io::stdout().is_terminal();
    let text = match report.message_format {
        // People read each file's findings, or that it has none, in the order given.
        MessageFormat::Human => checked
            .iter()
            .map(|(source, diags)| {
                if diags.is_empty() {
                    format!("{}: no problems found\n", source.name)
                } else {
                    render_files(&[(source, diags.as_slice())], report, terminal)
                }
            })
            .collect(),
        _ => {
            let refs: Vec<(&Source, &[Diagnostic])> =
                checked.iter().map(|(s, d)| (s, d.as_slice())).collect();
            render_files(&refs, report, terminal)
        }
    };
    print_bytes(text.as_bytes()).max(i32::from(failed))
}

/// The first flag given that `command` would accept and ignore (clap takes the compile and
/// report flags with any subcommand), said as a usage error says it.
fn refused_flag(cli: &Cli, command: &Command) -> Option<String> {
    let first = |given: &[(bool, &'static str)]| given.iter().find(|(set, _)| *set).map(|g| g.1);
    let c = &cli.compile;
    let compiles = first(&[
        (c.file.is_some(), "FILE"),
        (c.format != Target::Bash, "--format"),
        (c.output.is_some(), "--output"),
        (c.verbatim, "--verbatim"),
        (c.nodes != 1, "--nodes"),
        (c.check, "--check"),
        (c.allow_untested_deploy, "--allow-untested-deploy"),
    ]);
    if let Some(flag) = compiles {
        return Some(format!(
            "`{flag}` compiles a file and cannot be used with the `{}` subcommand",
            command.name()
        ));
    }
    // The report says every finding in its own format and exits 0: flags about how findings
    // are printed or which fail the run would do nothing there.
    let r = &cli.report;
    let reports = first(&[
        (r.message_format != MessageFormat::Human, "--message-format"),
        (!r.deny.is_empty(), "--deny"),
    ]);
    match (command, reports) {
        (Command::Audit(_), Some(flag)) => Some(format!(
            "`{flag}` is for `check` and compilations; `audit` reports every finding in its own report (--json or --csv for other formats)"
        )),
        _ => None,
    }
}

/// The migration report on standard output; 1 when a path cannot be read or holds no config,
/// 2 for `--project-dir` with more than one config.
fn audit(args: &AuditArgs, infer: &InferArgs) -> i32 {
    let options = crate::audit::AuditOptions {
        no_infer: infer.no_infer,
        project_dir: infer.project_dir.clone(),
    };
    let crate::audit::Audited {
        configs,
        unread,
        other_yaml,
    } = match crate::audit::audit_paths(&args.paths, &options) {
        Ok(audited) => audited,
        Err(crate::audit::Error::Usage(e)) => {
            eprintln!("error: {e}\n\nFor more information, try '--help'.");
            return 2;
        }
        Err(crate::audit::Error::Read(e)) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    // The report is written whatever could not be read; the exit status says it is partial.
    let unread_said = || {
        for e in &unread {
            eprintln!("warning: {e}; no config below it is in the report");
        }
    };
    if configs.is_empty() {
        unread_said();
        eprintln!("error: no circle.yml or circle.yaml found under the paths given");
        if let Some((count, example)) = other_yaml {
            eprintln!("{}", other_yaml_note(count, &example));
        }
        return 1;
    }
    let status = if args.json {
        // Written as it is made: 20,000 configs make 20 MB.
        print_with(|out| crate::audit::write_json(&configs, out))
    } else if args.csv {
        print_bytes(crate::audit::csv(&configs).as_bytes())
    } else {
        print_bytes(crate::audit::markdown(&configs).as_bytes())
    };
    unread_said();
    match (status, unread.is_empty()) {
        (0, false) => 1,
        (status, _) => status,
    }
}

/// Raises what `--deny` names to errors.
fn deny(mut diags: Vec<Diagnostic>, lints: &[Lint]) -> Vec<Diagnostic> {
    for d in &mut diags {
        let denied = lints.iter().any(|l| match l {
            Lint::Warnings => d.severity == Severity::Warning,
            Lint::Notes => d.severity == Severity::Note,
            Lint::Code(c) => d.code == *c,
        });
        if denied && d.severity != Severity::Error {
            let by = if lints.contains(&Lint::Code(d.code)) {
                format!("`--deny {}`", d.code.as_str())
            } else {
                format!("`--deny {}s`", d.severity.as_str())
            };
            d.severity = Severity::Error;
            let note = format!("an error because of {by}");
            d.help = Some(match d.help.take() {
                Some(h) => format!("{h} ({note})"),
                None => note,
            });
        }
    }
    diags
}

fn compile(args: &CompileArgs, infer: &InferArgs, report: &ReportArgs) -> i32 {
    let file = args.file.clone().unwrap_or_else(default_input);
    let source = match read_source(&file) {
        Ok(s) => s,
        Err(e) => return report_failure(&e.0, e.1, report),
    };
    if let Some(out) = &args.output {
        if crate::output::is_same_file(&file, out) {
            eprintln!(
                "error: refusing to write the output over the input `{}`",
                out.display()
            );
            return 2;
        }
    }
    let options = Options {
        target: args.format,
        lower: infer.options(&file, args.verbatim),
        emit: EmitOptions {
            nodes: args.nodes,
            allow_untested_deploy: args.allow_untested_deploy,
            ..EmitOptions::default()
        },
    };
    match crate::compile_text(&source, &options) {
        Ok((text, diagnostics)) => {
            let diags = deny(diagnostics.into_sorted(), &report.deny);
            print_diagnostics(&source, &diags, report);
            if diags.iter().any(Diagnostic::is_error) {
                return 1;
            }
            if args.check {
                return check_output(args.output.as_deref(), &text);
            }
            let executable = args.format == Target::Bash;
            match crate::output::write(args.output.as_deref(), &text, executable) {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("error: {e}");
                    1
                }
            }
        }
        Err(diags) => {
            let diags = deny(diags.into_sorted(), &report.deny);
            print_diagnostics(&source, &diags, report);
            1
        }
    }
}

/// `--check`: compares the committed output with what would be written; writes nothing.
fn check_output(path: Option<&Path>, expected: &crate::Text) -> i32 {
    let Some(path) = path.filter(|p| *p != Path::new("-")) else {
        eprintln!("error: `--check` compares with a file: give it with `-o PATH`");
        return 2;
    };
    let name = path.display();
    match std::fs::read(path) {
        Ok(bytes) if expected.is(&bytes) => {
            eprintln!("{name} is up to date");
            0
        }
        Ok(bytes) => {
            let old = String::from_utf8_lossy(&bytes);
            eprintln!("{name} is stale: yml2sh would write it differently now (run the same command without --check)");
            eprint!(
                "{}",
                short_diff(&name.to_string(), &old, &expected.to_string())
            );
            1
        }
        Err(e) => {
            eprintln!(
                "{name} is stale: it cannot be read ({e}); run the same command without --check"
            );
            1
        }
    }
}

/// The lines that differ between the common head and tail of two texts, as a unified-diff
/// hunk cut to a few lines each way: enough to see what changed, short enough for a CI log.
fn short_diff(name: &str, old: &str, new: &str) -> String {
    const MAX: usize = 12;
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let head = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let tail = a[head..]
        .iter()
        .rev()
        .zip(b[head..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let removed = &a[head..a.len() - tail];
    let added = &b[head..b.len() - tail];
    let mut out = format!(
        "--- {name} (committed)\n+++ {name} (yml2sh now)\n@@ -{},{} +{},{} @@\n",
        head + 1,
        removed.len(),
        head + 1,
        added.len()
    );
    let mut side = |sign: char, lines: &[&str]| {
        for l in lines.iter().take(MAX) {
            out.push(sign);
            out.push_str(l);
            out.push('\n');
        }
        if lines.len() > MAX {
            out.push_str(&format!("{sign}… {} more lines\n", lines.len() - MAX));
        }
    };
    side('-', removed);
    side('+', added);
    if removed.is_empty() && added.is_empty() {
        // Same lines: only line endings or the final newline differ.
        out.push_str("(line endings or the final newline differ)\n");
    }
    out
}

fn report_failure(source: &Source, d: Diagnostic, report: &ReportArgs) -> i32 {
    print_diagnostics(source, &[d], report);
    1
}

/// Diagnostics of a compilation, on standard error (standard output holds the compiled text).
fn print_diagnostics(source: &Source, diags: &[Diagnostic], report: &ReportArgs) {
    if diags.is_empty() {
        return;
    }
    let text = render_files(&[(source, diags)], report, std::io::stderr().is_terminal());
    let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), text.as_bytes());
}

/// Renders several files' diagnostics in the chosen format: one document for JSON and SARIF.
fn render_files(files: &[(&Source, &[Diagnostic])], report: &ReportArgs, terminal: bool) -> String {
    match report.message_format {
        MessageFormat::Json => render::json_files(files),
        MessageFormat::Sarif => render::sarif(files),
        format => {
            let color = match report.color {
                Color::Always => true,
                Color::Never => false,
                Color::Auto => {
                    terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                }
            };
            let mut out = String::new();
            for &(source, diags) in files {
                out.push_str(&match format {
                    MessageFormat::Short => render::short(source, diags),
                    MessageFormat::Github => render::github(source, diags),
                    _ => render::human(source, diags, color),
                });
            }
            out
        }
    }
}

/// Reads the input (or stdin for `-`), bounded in size, as UTF-8.
fn read_source(path: &Path) -> Result<Source, Box<(Source, Diagnostic)>> {
    if path != Path::new("-") {
        return crate::read_file(path);
    }
    let name = "<stdin>";
    let mut bytes = Vec::new();
    if let Err(e) = std::io::stdin()
        .lock()
        .take(MAX_INPUT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
    {
        let d = Diagnostic::error(Code::Io, None, format!("cannot read `{name}`: {e}"));
        return Err(Box::new((Source::new(name, ""), d)));
    }
    crate::source_from_bounded(name, bytes)
}

/// What an audit that found no config says of the YAML files it passed over: a directory is
/// searched for `circle.yml` and `circle.yaml` only, so a folder of `owner__repo.yml` files is
/// audited by naming them, and the note writes that command.
fn other_yaml_note(count: usize, example: &std::path::Path) -> String {
    use crate::emit::escape::sh_quote;
    let shown = crate::path_text(example);
    let names = "a directory is searched for configs named circle.yml or circle.yaml only";
    if count == 1 {
        return format!(
            "note: `{shown}` is YAML, but {names}: give it by name (`yml2sh audit {}`)",
            sh_quote(&shown)
        );
    }
    let ext = example
        .extension()
        .map_or_else(String::new, |e| e.to_string_lossy().into_owned());
    let glob = match example.parent().map(crate::path_text) {
        Some(dir) if !dir.is_empty() => format!("{}/*.{ext}", sh_quote(&dir)),
        _ => format!("*.{ext}"),
    };
    format!(
        "note: {count} other YAML files are there, such as `{shown}`, but {names}: give them by \
         name (`yml2sh audit {glob}`)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_valid() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn the_note_on_other_yaml_files_gives_a_command_that_names_them() {
        use std::path::Path;
        let one = other_yaml_note(1, Path::new("it's here/x.yml"));
        assert!(
            one.ends_with(r"give it by name (`yml2sh audit $'it\'s here/x.yml'`)"),
            "{one}"
        );
        let many = other_yaml_note(3, Path::new("a.yaml"));
        assert!(
            many.starts_with("note: 3 other YAML files are there, such as `a.yaml`"),
            "{many}"
        );
        assert!(many.ends_with("(`yml2sh audit *.yaml`)"), "{many}");
    }
}
