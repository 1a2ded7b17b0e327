//! Lower stage pass: checks on the whole IR that no single key shows (deployment overlaps,
//! deployments that can never act, builds without tests).

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::ir::{Ir, Pattern};

pub(crate) fn run(ir: &mut Ir, diags: &mut Diagnostics) {
    for (i, d) in ir.deployments.iter().enumerate() {
        let swallowed = d.branch.iter().chain(&d.tag).any(|p| match p {
            Pattern::Exact { name } => name.contains(" - ") || name.contains('\n'),
            Pattern::Regex { .. } => false,
        });
        if d.commands.is_empty() && swallowed {
            diags.push(
                Diagnostic::warning(
                    "deployment-swallowed-commands",
                    d.span,
                    format!(
                        "`deployment.{}` has no commands, and its branch or tag holds ` - `",
                        d.name
                    ),
                )
                .with_label("the command list was read as part of the branch name")
                .with_help(
                    "put the commands under `commands:`, at the same indentation as `branch:`",
                ),
            );
        } else if d.commands.is_empty() {
            diags.push(
                Diagnostic::warning(
                    "deployment-no-commands",
                    d.span,
                    format!("`deployment.{}` has no commands; when it matches, nothing is deployed (and no later subsection runs)", d.name),
                )
                .with_label("does nothing"),
            );
        }
        if d.branch.is_empty() && d.tag.is_empty() {
            diags.push(
                Diagnostic::warning(
                    "deployment-no-condition",
                    d.span,
                    format!(
                        "`deployment.{}` has neither `branch` nor `tag`, so it never runs",
                        d.name
                    ),
                )
                .with_help("add `branch: master` (or `/.*/` for every branch)"),
            );
        }
        for earlier in &ir.deployments[..i] {
            if earlier.owner != d.owner && earlier.owner.is_some() && d.owner.is_some() {
                continue;
            }
            let shadowed = d
                .branch
                .iter()
                .find(|p| earlier.branch.contains(p))
                .or_else(|| d.tag.iter().find(|p| earlier.tag.contains(p)));
            if let Some(p) = shadowed {
                diags.push(
                    Diagnostic::warning(
                        "deployment-overlap",
                        d.span,
                        format!(
                            "`deployment.{}` never runs for {p}: `deployment.{}` above matches it first",
                            d.name, earlier.name
                        ),
                    )
                    .with_label("shadowed")
                    .with_help("CircleCI ran only the first matching subsection; merge their commands into one"),
                );
            }
        }
    }
    let test_runs_something = ir.has_tests();
    if !test_runs_something {
        diags.push(
            Diagnostic::note(
                "no-tests",
                None,
                "the build runs no test command; CircleCI reported such builds as \"No Tests\"",
            )
            .with_help(
                "yml2sh treats a build without test failures as green, so deployment still runs",
            ),
        );
    }
}
