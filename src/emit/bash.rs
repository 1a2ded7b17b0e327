//! Emit stage, bash back-end: [`Ir`] → a standalone build.sh (view model + templates/build.sh.j2,
//! with the shared runtime in templates/runtime.sh).

use serde::Serialize;

use super::escape;
use crate::ir::{Command, Ir, OnFailure, Pattern, PhaseKind, Step};

/// The runtime every generated script carries: our own bash, not user data.
pub(crate) const RUNTIME: &str = include_str!("../../templates/runtime.sh");
pub(crate) const TEMPLATE: &str = include_str!("../../templates/build.sh.j2");
/// The build's data and deployment choice, which build.sh and the Makefile both give the runtime.
const DATA_TEMPLATE: &str = include_str!("../../templates/build-data.sh.j2");

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
    runtime: &'static str,
    environment: String,
    env_tag: String,
    phases: Vec<PhaseView>,
    deployments: Vec<DeploymentView>,
    teardown: Vec<CommandView>,
    teardown_call: Vec<String>,
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

/// The runtime calls (function, then its words) for a step that is neither a user command nor
/// the environment export: CircleCI's own steps, said once for build.sh and the Makefile.
pub(crate) fn builtin_calls(step: &Step, phase: PhaseKind, ir: &Ir) -> Vec<Vec<String>> {
    let words = |ws: &[&str]| ws.iter().map(ToString::to_string).collect::<Vec<_>>();
    let one = |ws: Vec<String>| vec![ws];
    match step {
        // User commands and the export carry text blocks: each back-end places those.
        Step::Run(_) | Step::ExportEnv => vec![],
        Step::Timezone { zone } => one(vec!["y2s_timezone".into(), zone.clone()]),
        Step::Hosts => {
            let mut ws = words(&["y2s_hosts"]);
            for h in &ir.hosts {
                ws.push(h.name.clone());
                ws.push(h.address.clone());
            }
            one(ws)
        }
        Step::Language { name, version } => {
            one(vec!["y2s_language".into(), name.clone(), version.clone()])
        }
        Step::StartServices => {
            let mut lines = vec![];
            if ir.docker {
                lines.push(words(&[
                    "y2s_builtin",
                    "service docker: the Docker daemon of this machine",
                ]));
            }
            for s in &ir.services {
                let Some(c) = &s.container else {
                    lines.push(vec![
                        "y2s_builtin".into(),
                        format!(
                            "service {}: no container stands in for it; start it yourself",
                            s.name
                        ),
                    ]);
                    continue;
                };
                let mut ws = vec![
                    "y2s_service".into(),
                    s.line.to_string(),
                    c.name.clone(),
                    c.image.clone(),
                    c.ready_timeout.to_string(),
                ];
                for p in &c.ports {
                    ws.extend(["--port".into(), p.to_string()]);
                }
                for (k, v) in &c.env {
                    ws.extend(["--env".into(), format!("{k}={v}")]);
                }
                ws.extend(["--ready".into(), c.ready.clone()]);
                if let Some(init) = &c.init {
                    ws.extend(["--init".into(), init.clone()]);
                }
                for (k, v) in &c.client_env {
                    ws.extend(["--client".into(), format!("{k}={v}")]);
                }
                lines.push(ws);
            }
            lines
        }
        Step::Checkout => one(words(&[
            "y2s_builtin",
            "checkout: building the working tree as it is",
        ])),
        // Nothing to restore or save: no call (the functions take the directories).
        Step::RestoreCache | Step::SaveCache if ir.cache_directories.is_empty() => vec![],
        Step::RestoreCache | Step::SaveCache => {
            let f = if matches!(step, Step::RestoreCache) {
                "y2s_restore_cache"
            } else {
                "y2s_save_cache"
            };
            let mut ws = words(&[f]);
            ws.extend(ir.cache_directories.iter().cloned());
            one(ws)
        }
        Step::Inferred => one(vec!["y2s_inferred".into(), phase.name().into()]),
    }
}

/// `y2s_phase NAME ON-FAILURE NODES DIR`: what a phase's commands default to.
pub(crate) fn phase_call(kind: PhaseKind) -> Vec<String> {
    let on_failure = match kind.on_failure() {
        OnFailure::Stop => "stop",
        OnFailure::Continue => "continue",
    };
    let nodes = if kind.parallel_default() {
        "all-nodes"
    } else {
        "node-0"
    };
    let dir = match kind.default_dir() {
        crate::ir::WorkDir::Home => "home",
        crate::ir::WorkDir::Build => "build",
    };
    ["y2s_phase", kind.name(), on_failure, nodes, dir]
        .map(String::from)
        .to_vec()
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

/// One deployment subsection's condition, as `y2s_deployment_matches` takes it.
#[derive(Serialize)]
struct ConditionView {
    name: String,
    owner: String,
    branch: Vec<String>,
    tag: Vec<String>,
}

#[derive(Serialize)]
struct DataView {
    source: String,
    build_dir: String,
    branches_only: Vec<String>,
    branches_ignore: Vec<String>,
    artifacts: Vec<String>,
    docker: bool,
    containers: bool,
    service_names: String,
    deployments: Vec<ConditionView>,
}

/// The build's data block for the runtime (`Y2S_*` settings and `y2s_pick_deployment`),
/// the same text in build.sh and, as `#|` lines, in the Makefile.
pub(crate) fn build_data(ir: &Ir) -> Result<String, minijinja::Error> {
    let view = DataView {
        source: ir.source_name.clone(),
        build_dir: ir.build_dir.clone().unwrap_or_default(),
        branches_only: ir.branches.only.iter().map(pattern_word).collect(),
        branches_ignore: ir.branches.ignore.iter().map(pattern_word).collect(),
        artifacts: ir.artifacts.clone(),
        docker: ir.docker,
        containers: ir.services.iter().any(|s| s.container.is_some()),
        service_names: ir
            .services
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        deployments: ir
            .deployments
            .iter()
            .map(|d| ConditionView {
                name: d.name.clone(),
                owner: d.owner.clone().unwrap_or_default(),
                branch: d.branch.iter().map(pattern_word).collect(),
                tag: d.tag.iter().map(pattern_word).collect(),
            })
            .collect(),
    };
    let mut env = super::environment();
    env.add_template("build-data.sh.j2", DATA_TEMPLATE)?;
    let text = env.get_template("build-data.sh.j2")?.render(view)?;
    Ok(text.trim_end_matches('\n').to_string())
}

pub(crate) fn emit(ir: &Ir, options: &super::EmitOptions) -> Result<String, minijinja::Error> {
    let environment = environment_file(ir);
    let view = View {
        data: build_data(ir)?,
        version: options.version.clone(),
        source: ir.source_name.clone(),
        runtime: RUNTIME,
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
    let mut env = super::environment();
    env.add_template("build.sh.j2", TEMPLATE)?;
    env.get_template("build.sh.j2")?.render(view)
}
