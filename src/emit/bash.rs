//! Emit stage, bash back-end: [`Ir`] → a standalone build.sh (view model + templates/build.sh.j2,
//! with the shared runtime in templates/runtime.sh).

use serde::Serialize;

use super::escape;
use crate::ir::{Command, Ir, OnFailure, Pattern, PhaseKind, Step};

/// The runtime every generated script carries: our own bash, not user data.
pub(crate) const RUNTIME: &str = include_str!("../../templates/runtime.sh");
pub(crate) const TEMPLATE: &str = include_str!("../../templates/build.sh.j2");

#[derive(Serialize)]
pub(crate) struct CommandView {
    pub id: usize,
    pub line: usize,
    /// Where it came from, e.g. `test.override`.
    pub section: String,
    /// Options of `y2s_run`, one word each (the template quotes them).
    pub args: Vec<String>,
    pub code: String,
    /// A heredoc delimiter that is not a line of the command.
    pub tag: String,
}

#[derive(Serialize)]
struct StepView {
    kind: &'static str,
    command: Option<CommandView>,
    name: String,
    value: String,
}

#[derive(Serialize)]
struct PhaseView {
    name: &'static str,
    on_failure: &'static str,
    nodes: &'static str,
    dir: &'static str,
    steps: Vec<StepView>,
}

#[derive(Serialize)]
struct DeploymentView {
    name: String,
    line: usize,
    owner: String,
    branch: Vec<String>,
    tag: Vec<String>,
    summary: String,
    commands: Vec<CommandView>,
}

#[derive(Serialize)]
struct HostView {
    name: String,
    address: String,
}

#[derive(Serialize)]
struct View {
    version: String,
    source: String,
    build_dir: String,
    runtime: &'static str,
    branches_only: Vec<String>,
    branches_ignore: Vec<String>,
    cache_directories: Vec<String>,
    artifacts: Vec<String>,
    environment: String,
    env_tag: String,
    hosts: Vec<HostView>,
    docker: bool,
    services: Vec<crate::ir::Service>,
    phases: Vec<PhaseView>,
    deployments: Vec<DeploymentView>,
    teardown: Vec<CommandView>,
}

/// The runtime's pattern word: `exact:NAME` or `re:ERE`.
pub(crate) fn pattern_word(p: &Pattern) -> String {
    match p {
        Pattern::Exact { name } => format!("exact:{name}"),
        Pattern::Regex { ere, .. } => format!("re:{ere}"),
    }
}

/// `export NAME="value"` lines: values stay live for `$VAR` and `$(…)` as in CircleCI 1.0.
pub(crate) fn environment_file(ir: &Ir) -> String {
    ir.environment
        .iter()
        .map(|e| format!("export {}=\"{}\"", e.name, escape::sh_dquote_live(&e.value)))
        .collect::<Vec<_>>()
        .join("\n")
}

pub(crate) fn command_view(c: &Command) -> CommandView {
    let m = &c.modifiers;
    let mut args = vec![];
    let mut flag = |name: &str, value: Option<String>| {
        args.push(name.to_string());
        args.extend(value);
    };
    if m.timeout != crate::ir::DEFAULT_TIMEOUT {
        flag("--timeout", Some(m.timeout.to_string()));
    }
    if let Some(dir) = &m.pwd {
        flag("--pwd", Some(escape::sh_dquote_live(dir)));
    }
    for e in &m.environment {
        flag(
            "--env",
            Some(format!(
                "{}=\"{}\"",
                e.name,
                escape::sh_dquote_live(&e.value)
            )),
        );
    }
    for g in &m.files {
        flag("--files", Some(g.clone()));
    }
    if m.background {
        flag("--background", None);
    }
    // Only where the command differs from its phase's default (given to y2s_phase).
    if m.parallel != c.phase.parallel_default() {
        flag(
            if m.parallel {
                "--all-nodes"
            } else {
                "--node-0"
            },
            None,
        );
    }
    let code = c.code.as_str().to_string();
    CommandView {
        id: c.id,
        line: c.line,
        section: format!("{}.{}", c.phase, c.section.name()),
        args,
        tag: escape::heredoc_tag(&code, "YML2SH"),
        code,
    }
}

fn step_view(s: &Step) -> Option<StepView> {
    let plain = |kind: &'static str| StepView {
        kind,
        command: None,
        name: String::new(),
        value: String::new(),
    };
    Some(match s {
        Step::Run(c) => StepView {
            command: Some(command_view(c)),
            ..plain("run")
        },
        Step::Inferred => plain("inferred"),
        Step::ExportEnv => plain("export-env"),
        Step::Timezone { zone } => StepView {
            value: zone.clone(),
            ..plain("timezone")
        },
        Step::Hosts => plain("hosts"),
        Step::Language { name, version } => StepView {
            name: name.clone(),
            value: version.clone(),
            ..plain("language")
        },
        Step::StartServices => plain("start-services"),
        Step::Checkout => plain("checkout"),
        Step::RestoreCache => plain("restore-cache"),
        Step::SaveCache => plain("save-cache"),
    })
}

fn on_failure(kind: PhaseKind) -> &'static str {
    match kind.on_failure() {
        OnFailure::Stop => "stop",
        OnFailure::Continue => "continue",
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

pub(crate) fn emit(ir: &Ir, options: &super::EmitOptions) -> Result<String, minijinja::Error> {
    let environment = environment_file(ir);
    let branches_only: Vec<String> = ir.branches.only.iter().map(pattern_word).collect();
    let branches_ignore: Vec<String> = ir.branches.ignore.iter().map(pattern_word).collect();
    let view = View {
        version: options.version.clone(),
        source: ir.source_name.clone(),
        build_dir: ir.build_dir.clone().unwrap_or_default(),
        runtime: RUNTIME,
        branches_only,
        branches_ignore,
        cache_directories: ir.cache_directories.clone(),
        artifacts: ir.artifacts.clone(),
        env_tag: escape::heredoc_tag(&environment, "YML2SH_ENV"),
        environment,
        hosts: ir
            .hosts
            .iter()
            .map(|h| HostView {
                name: h.name.clone(),
                address: h.address.clone(),
            })
            .collect(),
        docker: ir.docker,
        services: ir.services.clone(),
        phases: ir
            .phases
            .iter()
            .map(|p| PhaseView {
                name: p.kind.name(),
                on_failure: on_failure(p.kind),
                nodes: if p.kind.parallel_default() {
                    "all-nodes"
                } else {
                    "node-0"
                },
                dir: match p.kind.default_dir() {
                    crate::ir::WorkDir::Home => "home",
                    crate::ir::WorkDir::Build => "build",
                },
                steps: p.steps.iter().filter_map(step_view).collect(),
            })
            .collect(),
        deployments: ir
            .deployments
            .iter()
            .map(|d| DeploymentView {
                name: d.name.clone(),
                line: d.line,
                owner: d.owner.clone().unwrap_or_default(),
                branch: d.branch.iter().map(pattern_word).collect(),
                tag: d.tag.iter().map(pattern_word).collect(),
                summary: deployment_summary(d),
                commands: d.commands.iter().map(command_view).collect(),
            })
            .collect(),
        teardown: ir.teardown.iter().map(command_view).collect(),
    };
    let mut env = super::environment();
    env.add_template("build.sh.j2", TEMPLATE)?;
    env.get_template("build.sh.j2")?.render(view)
}
