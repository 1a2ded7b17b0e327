//! Emit stage, Makefile back-end: [`Ir`] → a Makefile with one target per phase (view model +
//! templates/Makefile.j2). It drives the runtime build.sh carries (templates/runtime.sh, its calls
//! from emit/runtime.rs), written out at the start of a build, one recipe line per runtime call:
//! one runtime, two drivers.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::escape;
use super::runtime::{build_data, builtin_calls, environment_file, phase_call, run_call, RUNTIME};
use crate::ir::{Command, Deployment, Ir, OnFailure, PhaseKind, Step};

pub(crate) const TEMPLATE: &str = include_str!("../../templates/Makefile.j2");
pub(crate) const TEMPLATE_NAME: &str = "Makefile.j2";

/// One recipe line: `. "$Y2S_STATE/line.sh" [--text TAG] WORD...` (y2s_make_entry), with text
/// block TAG (a command's text, verbatim) shown just above it in the Makefile.
#[derive(Serialize)]
struct Line {
    /// What the block is, for the comment above it (yml2sh's own words and line numbers).
    title: String,
    /// Empty: no text block.
    tag: String,
    text: String,
    /// The runtime function and its arguments, one word each (the template quotes them).
    words: Vec<String>,
    /// What `make -n` says beside the text: its modifiers (`timeout 30s, pwd sub`).
    notes: String,
}

impl Line {
    fn call(words: Vec<String>) -> Line {
        Line {
            title: String::new(),
            tag: String::new(),
            text: String::new(),
            words,
            notes: String::new(),
        }
    }

    /// `y2s_run LINE ARGS…` with the command's text as a block tagged with its line.
    fn run(c: &Command, prefix: &[String], tags: &mut Tags) -> Line {
        let view = run_call(c);
        let mut words = prefix.to_vec();
        words.push("y2s_run".into());
        words.push(view.line.to_string());
        words.extend(view.args);
        let title = match &view.inferred_from {
            Some(from) => format!("{}, inferred from {from}", view.section),
            None => format!("{}, circle.yml line {}", view.section, view.line),
        };
        Line {
            title,
            tag: tags.next(view.line),
            text: view.code,
            words,
            notes: notes(c),
        }
    }
}

/// A command's modifiers in words, for `make -n`.
fn notes(c: &Command) -> String {
    let m = &c.modifiers;
    let mut out = vec![];
    if m.timeout != crate::ir::DEFAULT_TIMEOUT {
        out.push(format!("timeout {}s", m.timeout));
    }
    if let Some(dir) = &m.pwd {
        out.push(format!("pwd {dir}"));
    }
    if !m.environment.is_empty() {
        let names: Vec<&str> = m.environment.iter().map(|e| e.name.as_str()).collect();
        out.push(format!("environment {}", names.join(" ")));
    }
    if !m.files.is_empty() {
        out.push(format!("files {}", m.files.join(" ")));
    }
    if m.background {
        out.push("background".into());
    }
    if m.parallel != c.phase.parallel_default() {
        out.push(
            if m.parallel {
                "every node"
            } else {
                "node 0 only"
            }
            .into(),
        );
    }
    out.join(", ")
}

/// What `make TARGET -n` prints for a part of the build instead of the runtime calls: a
/// `# ==> HEADER` line, then each command's title and its text (the same text the runtime runs;
/// control characters shown as `?` by escape::make_text, the template's `mktext`). Empty when
/// no line carries text.
fn dry_view<'a>(header: &str, lines: impl IntoIterator<Item = &'a Line>) -> String {
    let mut out = vec![];
    for l in lines {
        if l.tag.is_empty() {
            continue;
        }
        let notes = if l.notes.is_empty() {
            String::new()
        } else {
            format!("  [{}]", l.notes)
        };
        out.push(format!("# {}{notes}", l.title));
        out.push(l.text.clone());
    }
    if out.is_empty() {
        return String::new();
    }
    out.insert(0, format!("# ==> {header}"));
    out.join("\n")
}

/// Block tags: the command's circle.yml line, so `#12|` sits beside `y2s_run 12`, and `12-2`
/// when a line holds two commands (a flow list, an anchor used twice).
/// Counted per line, so numbering costs the same for the thousandth command of a line as for
/// the first (a tag `12-2` never equals another line's tag).
#[derive(Default)]
struct Tags(HashMap<usize, usize>);

impl Tags {
    fn next(&mut self, line: usize) -> String {
        let n = self.0.entry(line).or_insert(0);
        *n += 1;
        match *n {
            1 => line.to_string(),
            n => format!("{line}-{n}"),
        }
    }
}

#[derive(Serialize)]
struct PhaseView {
    name: &'static str,
    /// How it runs, for the comment above its target.
    note: String,
    /// The target it depends on.
    after: &'static str,
    lines: Vec<Line>,
    /// `make -n`'s view of its commands (dry_view).
    dry: String,
}

#[derive(Serialize)]
struct DeploymentView {
    /// 1-based, as the runtime's `y2s_deployment_N` and `Y2S_DEPLOYMENT_NAMES` count.
    index: usize,
    name: String,
    /// `deploy-<slug>`, unique in the Makefile.
    target: String,
    /// For comments and help: name, line and conditions, quoted.
    summary: String,
    lines: Vec<Line>,
    /// `make -n deploy-NAME`'s view of its commands.
    dry: String,
}

#[derive(Serialize)]
struct View {
    version: String,
    source: String,
    runtime: &'static str,
    /// The runtime data block shared with build.sh (runtime::build_data).
    data: String,
    phases: Vec<PhaseView>,
    deployments: Vec<DeploymentView>,
    teardown: Vec<Line>,
    help: Vec<String>,
    /// `make -n deploy`'s view of every subsection, and the end's (teardown).
    deploy_dry: String,
    teardown_dry: String,
}

fn step_lines(step: &Step, phase: PhaseKind, ir: &Ir, tags: &mut Tags) -> Vec<Line> {
    match step {
        Step::Run(c) => vec![Line::run(c, &[], tags)],
        Step::ExportEnv => {
            let text = environment_file(ir);
            if text.is_empty() {
                vec![Line::call(vec!["y2s_export_env".into()])]
            } else {
                vec![Line {
                    title: "machine.environment, exported to every later command".into(),
                    tag: "env".into(),
                    text,
                    words: vec!["y2s_export_env".into()],
                    notes: String::new(),
                }]
            }
        }
        _ => builtin_calls(step, phase, ir)
            .into_iter()
            .map(Line::call)
            .collect(),
    }
}

fn summary(d: &Deployment) -> String {
    let mut parts = vec![format!(
        "{} (circle.yml line {})",
        escape::sh_quote(&d.name),
        d.line
    )];
    let list = |ps: &[crate::ir::Pattern]| {
        ps.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !d.branch.is_empty() {
        parts.push(format!("branch {}", list(&d.branch)));
    }
    if !d.tag.is_empty() {
        parts.push(format!("tag {}", list(&d.tag)));
    }
    if let Some(o) = &d.owner {
        parts.push(format!("owner {o}"));
    }
    parts.join(", ")
}

/// `deploy-<slug>` per deployment, numbered when two names slug alike.
fn deployment_targets(ir: &Ir) -> Vec<String> {
    let mut seen = HashSet::new();
    // The last number given to each base: a search for a free name resumes there.
    let mut last: HashMap<String, usize> = HashMap::new();
    ir.deployments
        .iter()
        .map(|d| {
            let base = format!("deploy-{}", escape::slug(&d.name));
            let n = last.entry(base.clone()).or_insert(1);
            let mut name = if *n == 1 {
                base.clone()
            } else {
                format!("{base}-{n}")
            };
            while !seen.insert(name.clone()) {
                *n += 1;
                name = format!("{base}-{n}");
            }
            name
        })
        .collect()
}

/// `make help`: the targets and the commands they run, one line each.
fn help(ir: &Ir, options: &super::EmitOptions, deployments: &[DeploymentView]) -> Vec<String> {
    // One column for every target's description, as wide as the longest name needs.
    let width = deployments
        .iter()
        .map(|v| v.target.chars().count())
        .chain(ir.phases.iter().map(|p| p.kind.name().len()))
        .max()
        .unwrap_or(0)
        .max(14);
    // Where each command comes from: its line, or `inferred` and the file (an inferred command's
    // line is its phase's, where diagnostics point, not where it is written). Its text starts in
    // the targets' description column.
    let command = |c: &Command| {
        let title = shortened(super::title_line(&c.code));
        let (place, from) = match (&c.inferred_from, c.line) {
            (Some(f), _) => ("inferred".to_string(), format!("   # from {f}")),
            (None, 0) => ("-".to_string(), String::new()),
            (None, n) => (format!("line {n}"), String::new()),
        };
        let w = width - 3;
        format!("      {place:<w$} {title}{from}")
    };
    let target =
        |name: &str, what: &str| format!("  {name:<width$}  {what}").trim_end().to_string();
    let mut out = vec![
        "Usage: make [TARGET] [NAME=VALUE]...   (one target at a time)".to_string(),
        format!(
            "Runs the build of {} as CircleCI 1.0 did (generated by yml2sh {}).",
            ir.source_name, options.version
        ),
        String::new(),
        "Targets; each phase runs the phases before it, and every target ends with teardown,"
            .into(),
        "artifacts and a summary of what failed. Under each, the commands it runs, each with"
            .into(),
        "its circle.yml line, or the file CircleCI 1.0 inferred it from:".into(),
        target("all", "the whole build without deployment (the default)"),
    ];
    for p in &ir.phases {
        out.push(target(
            p.kind.name(),
            &format!("the build up to {}", p.kind.name()),
        ));
        out.extend(p.commands().map(command));
    }
    out.push(target(
        "deploy",
        "the build, then the first deployment subsection that matches",
    ));
    for (d, view) in ir.deployments.iter().zip(deployments) {
        out.push(target(
            &view.target,
            &format!("the build, then {}, if it is the first match", view.summary),
        ));
        out.extend(d.commands.iter().map(command));
    }
    if !ir.teardown.is_empty() {
        out.push("  (teardown, after every target)".into());
        out.extend(ir.teardown.iter().map(command));
    }
    out.push(target("help", "this list"));
    out.extend([
        String::new(),
        "CircleCI's variables come from git; set any of them to override it, e.g.".into(),
        "  make deploy CIRCLE_BRANCH=release".into(),
        "  make test CIRCLE_NODE_TOTAL=3 CIRCLE_NODE_INDEX=1".into(),
        "NO_COLOR=1 turns colour off.".into(),
    ]);
    out
}

/// The longest command title `make help` shows, in characters: one line of help stays one
/// line of a terminal (`make -n TARGET` prints the whole text).
const HELP_TITLE: usize = 72;

/// `title` cut to [`HELP_TITLE`] characters, at a space when one is in its second half,
/// ending in ` …` when cut.
fn shortened(title: String) -> String {
    match title.char_indices().nth(HELP_TITLE - 2) {
        Some((end, _)) if title.chars().count() > HELP_TITLE => {
            let head = &title[..end];
            let half = head
                .char_indices()
                .nth(HELP_TITLE / 2)
                .map_or(0, |(i, _)| i);
            let head = match head.rfind(' ') {
                Some(space) if space > half => &head[..space],
                _ => head,
            };
            format!("{} …", head.trim_end())
        }
        _ => title,
    }
}

fn phase_note(kind: PhaseKind) -> String {
    let failure = match kind.on_failure() {
        OnFailure::Stop => "the first failing command stops the build (the rest are skipped)",
        OnFailure::Continue => "every command runs; the build fails at the end if one failed",
    };
    let dir = match kind.default_dir() {
        crate::ir::WorkDir::Home => "commands start in $HOME; ",
        crate::ir::WorkDir::Build => "",
    };
    let nodes = if kind.parallel_default() {
        ""
    } else {
        "; on node 0 unless parallel"
    };
    format!("{}: {dir}{failure}{nodes}", kind.name())
}

pub(crate) fn emit(ir: &Ir, options: &super::EmitOptions) -> Result<String, minijinja::Error> {
    let mut tags = Tags::default();
    let phases = ir
        .phases
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut lines = vec![Line::call(phase_call(p.kind))];
            for s in &p.steps {
                lines.extend(step_lines(s, p.kind, ir, &mut tags));
            }
            PhaseView {
                dry: dry_view(p.kind.name(), &lines),
                name: p.kind.name(),
                note: phase_note(p.kind),
                after: if i == 0 {
                    "y2s-start"
                } else {
                    ir.phases[i - 1].kind.name()
                },
                lines,
            }
        })
        .collect();
    let targets = deployment_targets(ir);
    let deployments: Vec<DeploymentView> = ir
        .deployments
        .iter()
        .zip(targets)
        .enumerate()
        .map(|(i, (d, target))| {
            let index = i + 1;
            let guard = ["y2s_make_deployment".to_string(), index.to_string()];
            let summary = summary(d);
            let lines: Vec<Line> = d
                .commands
                .iter()
                .map(|c| Line::run(c, &guard, &mut tags))
                .collect();
            DeploymentView {
                index,
                name: d.name.clone(),
                target,
                dry: dry_view(
                    &format!("deployment {summary}, if it is the first match"),
                    &lines,
                ),
                summary,
                lines,
            }
        })
        .collect();
    let mut teardown = vec![];
    if !ir.teardown.is_empty() {
        teardown.push(Line::call(phase_call(PhaseKind::Teardown)));
        teardown.extend(ir.teardown.iter().map(|c| Line::run(c, &[], &mut tags)));
    }
    // `make -n deploy`: each subsection under its own header (the first match runs).
    let deploy_dry = deployments
        .iter()
        .map(|d| {
            dry_view(
                &format!(
                    "deployment {} (the first subsection that matches runs)",
                    d.summary
                ),
                &d.lines,
            )
        })
        .filter(|v| !v.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    let view = View {
        deploy_dry,
        teardown_dry: dry_view("teardown", &teardown),
        version: options.version.clone(),
        source: ir.source_name.clone(),
        runtime: RUNTIME,
        data: build_data(ir, options.nodes)?,
        help: help(ir, options, &deployments),
        phases,
        deployments,
        teardown,
    };
    super::template(TEMPLATE_NAME)?.render(view)
}
