//! Emit stage, GitHub Actions back-end: [`Ir`] → a workflow view model → `templates/workflow.yml.j2`.
//!
//! The workflow carries no runtime: it says CircleCI 1.0's semantics with GitHub's own means, as
//! a GitHub Actions expert would write them by hand (README, "Migrating to GitHub Actions"):
//! - every command is a plain step of `bash --noprofile --norc {0}` (no `-e`, no `pipefail`),
//!   set once in `defaults.run`; each step is already a fresh shell;
//! - `~/.circlerc` is emulated by `BASH_ENV` pointing at `$HOME/.circlerc`, created empty; the
//!   `machine.environment` lines are appended to it, so later steps re-evaluate them;
//! - deployment steps come last in the build job (same runner, same files), guarded by the
//!   selected subsection and `success()`.
//!
//! The CircleCI facts (which variables a command reads, secrets, languages, matching rules) come
//! from the IR; this module and its parts only decide how GitHub says them:
//! [`triggers`] (`on:` and which deployment runs), [`jobs`] (jobs and steps), [`actions`] (the
//! actions and images used) and [`environment`] (variables and `~/.circlerc`).

mod actions;
mod environment;
mod jobs;
mod triggers;

use serde::Serialize;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::ir::{Ir, DEFAULT_TIMEOUT};

use super::EmitOptions;

pub(crate) const TEMPLATE_NAME: &str = "workflow.yml.j2";
pub(crate) const TEMPLATE: &str = include_str!("../../../templates/workflow.yml.j2");

#[derive(Serialize)]
struct View {
    version: String,
    source: String,
    on: triggers::On,
    jobs: Vec<jobs::JobView>,
}

/// A key and value for `env:` or `with:`. `expr` values are GitHub expressions yml2sh wrote;
/// all others are data and have `${{` made inert. `block` values print as a literal block.
/// `raw` values are YAML yml2sh wrote (a boolean), printed as they are.
#[derive(Clone, Debug, Serialize)]
pub(super) struct Kv {
    key: String,
    value: String,
    expr: bool,
    raw: bool,
}

impl Kv {
    pub(super) fn data(key: impl Into<String>, value: impl Into<String>) -> Kv {
        Kv {
            key: key.into(),
            value: value.into(),
            expr: false,
            raw: false,
        }
    }

    pub(super) fn expr(key: impl Into<String>, value: impl Into<String>) -> Kv {
        Kv {
            key: key.into(),
            value: value.into(),
            expr: true,
            raw: false,
        }
    }

    /// A YAML boolean, as an action's input says it.
    pub(super) fn flag(key: impl Into<String>, value: bool) -> Kv {
        Kv {
            key: key.into(),
            value: value.to_string(),
            expr: false,
            raw: true,
        }
    }
}

pub(crate) fn emit(
    ir: &Ir,
    options: &EmitOptions,
    diags: &mut Diagnostics,
) -> Result<String, minijinja::Error> {
    if !capabilities(ir, options, diags) {
        return Ok(String::new());
    }
    let view = View {
        version: options.version.clone(),
        source: ir.source_name.clone(),
        on: triggers::on(ir),
        jobs: jobs::jobs(ir, options),
    };
    let template = super::template(TEMPLATE_NAME)?;
    template.render(&view)
}

/// What the workflow cannot say as 1.0 did, said before anything is emitted; `false` when it
/// refuses to emit (an error was pushed).
pub(super) fn capabilities(ir: &Ir, options: &EmitOptions, diags: &mut Diagnostics) -> bool {
    if let (Some(d), false) = (ir.deployments.first(), ir.has_tests()) {
        let allowed = options.allow_untested_deploy;
        let message = format!(
            "the workflow {} `deployment.{}` with no test command before it",
            if allowed { "runs" } else { "would run" },
            d.name
        );
        let diag = if allowed {
            Diagnostic::warning(Code::UntestedDeploy, d.span, message)
        } else {
            Diagnostic::error(Code::UntestedDeploy, d.span, message)
        };
        diags.push(
            diag.with_label("nothing tests what this deploys")
                .with_help("add commands under `test:`, or pass `--allow-untested-deploy` to deploy untested as CircleCI 1.0 did"),
        );
        if !allowed {
            return false;
        }
    }
    for p in ir.branches.only.iter().chain(&ir.branches.ignore) {
        if triggers::glob(p).is_none() {
            diags.push(Diagnostic::warning(
                Code::WorkflowDifference,
                None,
                format!("`general.branches` pattern {p} has no GitHub branch filter: the workflow builds every branch"),
            ).with_help("write the branches as names or as `/prefix.*/`"));
        }
    }
    if let Some(c) = ir
        .commands()
        .find(|c| c.modifiers.timeout != DEFAULT_TIMEOUT)
    {
        diags.push(
            Diagnostic::warning(
                Code::WorkflowDifference,
                c.span,
                "GitHub Actions has no no-output timeout: the workflow ignores `timeout`",
            )
            .with_label("not kept")
            .with_help("GitHub stops a job after 6 hours; a silent command runs until then"),
        );
    }
    if options.nodes > 1 && !ir.deployments.is_empty() {
        diags.push(
            Diagnostic::warning(
                Code::WorkflowDifference,
                ir.deployments[0].span,
                format!("with {} nodes the deployment is a job of its own on a fresh runner: it re-runs the setup phases before deploying", options.nodes),
            )
            .with_label("runs after every node passed")
            .with_help("CircleCI 1.0 deployed on node 0 after every node passed; make sure the setup phases rebuild what the deployment needs"),
        );
    }
    if ir.macos && ir.services.iter().any(|s| s.container.is_some()) {
        diags.push(Diagnostic::warning(
            Code::WorkflowDifference,
            ir.services[0].span,
            "GitHub's macOS runners cannot run service containers: the workflow starts none",
        ));
    }
    for s in &ir.services {
        if let Some(c) = &s.container {
            if actions::floating(&c.image) {
                diags.push(
                    Diagnostic::warning(
                        Code::WorkflowDifference,
                        s.span,
                        format!("`{}` has only a floating image (`{}`): the workflow does not start it", s.name, c.image),
                    )
                    .with_label("not started on GitHub")
                    .with_help("start it in a command (e.g. `sudo apt-get install -y` its package), or pin an image you trust in `services:`"),
                );
            } else if let Some((image, why)) = actions::maintained_image(&c.image) {
                diags.push(
                    Diagnostic::warning(
                        Code::WorkflowDifference,
                        s.span,
                        format!(
                            "`{}` is no longer maintained: the workflow runs `{image}` ({why})",
                            c.image
                        ),
                    )
                    .with_label("a newer version")
                    .with_help("test the build against the newer version"),
                );
            }
        }
    }
    true
}
