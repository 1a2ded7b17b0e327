//! Emit stage, bash back-end: [`Ir`] → a standalone build.sh (view model + templates/build.sh.j2,
//! with the shared runtime in templates/runtime.sh, whose calls come from emit/runtime.rs).

use serde::Serialize;

use super::escape;
use super::runtime::{build_data, builtin_calls, environment_file, phase_call, run_call, RUNTIME};
use crate::ir::{Command, Ir, PhaseKind, Step};
use crate::text::Text;

pub(crate) const TEMPLATE: &str = include_str!("../../templates/build.sh.j2");
pub(crate) const TEMPLATE_NAME: &str = "build.sh.j2";

/// A `y2s_run` call (emit/runtime.rs) with its text as a heredoc.
#[derive(Serialize)]
struct CommandView {
    line: usize,
    section: String,
    args: Vec<String>,
    code: String,
    /// A heredoc delimiter that is not a line of the command.
    tag: String,
    /// For inferred commands: the file that caused it (`package.json (scripts.test)`).
    inferred_from: Option<String>,
}

fn command_view(c: &Command) -> CommandView {
    let call = run_call(c);
    CommandView {
        line: call.line,
        section: call.section,
        args: call.args,
        tag: escape::heredoc_tag(&call.code, "YML2SH"),
        inferred_from: call.inferred_from,
        code: call.code,
    }
}

#[derive(Serialize)]
struct StepView {
    kind: &'static str,
    command: Option<CommandView>,
    /// For CircleCI's own steps: the runtime calls, one word list each.
    calls: Vec<Vec<String>>,
}

#[derive(Serialize)]
struct PhaseView {
    /// `y2s_phase …`, one word each.
    call: Vec<String>,
    steps: Vec<StepView>,
}

#[derive(Serialize)]
struct DeploymentView {
    name: String,
    line: usize,
    summary: String,
    commands: Vec<CommandView>,
}

#[derive(Serialize)]
struct View {
    /// The runtime data block (templates/build-data.sh.j2), rendered.
    data: String,
    version: String,
    source: String,
    /// Where the runtime goes, printed as it is ([`super::Verbatim`]).
    runtime: minijinja::Value,
    environment: String,
    env_tag: String,
    phases: Vec<PhaseView>,
    deployments: Vec<DeploymentView>,
    teardown: Vec<CommandView>,
    teardown_call: Vec<String>,
    /// `(line, first line of the command as written)` for each command a pass rewrote.
    rewritten: Vec<(usize, String)>,
}

fn step_view(s: &Step, phase: PhaseKind, ir: &Ir) -> StepView {
    let kind = match s {
        Step::Run(_) => "run",
        Step::ExportEnv => "export-env",
        _ => "builtin",
    };
    StepView {
        kind,
        command: match s {
            Step::Run(c) => Some(command_view(c)),
            _ => None,
        },
        calls: builtin_calls(s, phase, ir),
    }
}

fn deployment_summary(d: &crate::ir::Deployment) -> String {
    let mut parts = vec![format!("  {} (circle.yml:{})", d.name, d.line)];
    if !d.branch.is_empty() {
        let v: Vec<_> = d.branch.iter().map(ToString::to_string).collect();
        parts.push(format!("branch {}", v.join(", ")));
    }
    if !d.tag.is_empty() {
        let v: Vec<_> = d.tag.iter().map(ToString::to_string).collect();
        parts.push(format!("tag {}", v.join(", ")));
    }
    if let Some(o) = &d.owner {
        parts.push(format!("owner {o}"));
    }
    parts.join(" ")
}

pub(crate) fn emit(ir: &Ir, options: &super::EmitOptions) -> Result<Text, minijinja::Error> {
    let environment = environment_file(ir);
    let view = View {
        rewritten: ir
            .commands()
            .filter_map(|c| Some((c.line, super::title_line(c.original.as_ref()?))))
            .collect(),
        data: build_data(ir, options.nodes)?,
        version: options.version.clone(),
        source: ir.source_name.clone(),
        runtime: super::Verbatim::value(),
        env_tag: escape::heredoc_tag(&environment, "YML2SH_ENV"),
        environment,
        phases: ir
            .phases
            .iter()
            .map(|p| PhaseView {
                call: phase_call(p.kind),
                steps: p.steps.iter().map(|s| step_view(s, p.kind, ir)).collect(),
            })
            .collect(),
        deployments: ir
            .deployments
            .iter()
            .map(|d| DeploymentView {
                name: d.name.clone(),
                line: d.line,
                summary: deployment_summary(d),
                commands: d.commands.iter().map(command_view).collect(),
            })
            .collect(),
        teardown: ir.teardown.iter().map(command_view).collect(),
        teardown_call: phase_call(PhaseKind::Teardown),
    };
    // Each command's text with its call and comments around it (the runtime is not copied).
    let capacity = 4096
        + view.data.len()
        + view.environment.len()
        + ir.commands()
            .map(|c| c.code.as_str().len() + 256)
            .sum::<usize>();
    super::render(TEMPLATE_NAME, view, capacity, &[RUNTIME])
}
