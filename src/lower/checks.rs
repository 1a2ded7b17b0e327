//! Lower stage pass: checks on the whole IR that no single key shows (deployment overlaps,
//! deployments that can never act, builds without tests).

use foldhash::HashMap;
use memchr::memmem::Finder;
use std::sync::LazyLock;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::ir::{Deployment, Ir, Pattern};

/// A pattern as a key: (is a tag pattern, is a regex, its text).
type PatternKey<'a> = (bool, bool, &'a str);

fn key(is_tag: bool, p: &Pattern) -> PatternKey<'_> {
    match p {
        Pattern::Exact { name } => (is_tag, false, name),
        Pattern::Regex { source, .. } => (is_tag, true, source),
    }
}

/// The first deployment subsection written with each pattern, so that finding which earlier
/// subsection shadows a later one costs a lookup per pattern, not a pass over all earlier ones
/// (n subsections on one branch gave n(n-1)/2 warnings). Subsections of different owners
/// never shadow each other; one without an owner shadows, and is shadowed by, any.
#[derive(Default)]
struct FirstMatch<'a> {
    /// Per pattern: the first subsection of no owner, of each owner, and of any owner.
    by_owner: HashMap<(PatternKey<'a>, Option<&'a str>), usize>,
    any: HashMap<PatternKey<'a>, usize>,
}

impl<'a> FirstMatch<'a> {
    fn patterns(d: &'a Deployment) -> impl Iterator<Item = (PatternKey<'a>, &'a Pattern)> {
        let branch = d.branch.iter().map(|p| (key(false, p), p));
        branch.chain(d.tag.iter().map(|p| (key(true, p), p)))
    }

    /// The earliest subsection before `i` that matches a build `d` matches, and the pattern.
    fn shadower(&self, i: usize, d: &'a Deployment) -> Option<(usize, &'a Pattern)> {
        let mut best: Option<(usize, &Pattern)> = None;
        for (k, p) in Self::patterns(d) {
            let found = match d.owner.as_deref() {
                None => self.any.get(&k).copied(),
                Some(owner) => [
                    self.by_owner.get(&(k, None)),
                    self.by_owner.get(&(k, Some(owner))),
                ]
                .into_iter()
                .flatten()
                .copied()
                .min(),
            };
            if let Some(e) = found.filter(|&e| e < i) {
                if best.is_none_or(|(b, _)| e < b) {
                    best = Some((e, p));
                }
            }
        }
        best
    }

    fn add(&mut self, i: usize, d: &'a Deployment) {
        for (k, _) in Self::patterns(d) {
            self.any.entry(k).or_insert(i);
            self.by_owner.entry((k, d.owner.as_deref())).or_insert(i);
        }
    }
}

pub(crate) fn run(ir: &mut Ir, diags: &mut Diagnostics) {
    let mut first_match = FirstMatch::default();
    for (i, d) in ir.deployments.iter().enumerate() {
        let swallowed = d.branch.iter().chain(&d.tag).any(|p| match p {
            Pattern::Exact { name } => name.contains(" - ") || name.contains('\n'),
            Pattern::Regex { .. } => false,
        });
        if d.commands.is_empty() && swallowed {
            diags.push(
                Diagnostic::warning(
                    Code::DeploymentSwallowedCommands,
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
                    Code::DeploymentNoCommands,
                    d.span,
                    format!("`deployment.{}` has no commands; when it matches, nothing is deployed (and no later subsection runs)", d.name),
                )
                .with_label("does nothing"),
            );
        }
        if d.branch.is_empty() && d.tag.is_empty() {
            diags.push(
                Diagnostic::warning(
                    Code::DeploymentNoCondition,
                    d.span,
                    format!(
                        "`deployment.{}` has neither `branch` nor `tag`, so it never runs",
                        d.name
                    ),
                )
                .with_help("add `branch: master` (or `/.*/` for every branch)"),
            );
        }
        if let Some((earlier, p)) = first_match.shadower(i, d) {
            let earlier = &ir.deployments[earlier];
            diags.push(
                Diagnostic::warning(
                    Code::DeploymentOverlap,
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
        first_match.add(i, d);
    }
    circleci_paths(ir, diags);
    // Where inference could not say (the `inferred-commands` warning), that warning tells it.
    let unknown = ir
        .phase(crate::ir::PhaseKind::Test)
        .is_some_and(|p| p.steps.contains(&crate::ir::Step::Inferred));
    if !ir.has_tests() && !unknown {
        diags.push(
            Diagnostic::warning(
                Code::NoTests,
                None,
                "the test phase runs no command, so this build tests nothing; CircleCI reported such builds as \"No Tests\"",
            )
            .with_help(
                "write the tests under `test.override`; yml2sh treats a build without test failures as green, so deployment still runs",
            ),
        );
    }
}

/// CircleCI 1.0 cloned into `/home/ubuntu/<repo>`, and configs wrote that path out; a local
/// build or a GitHub runner has the checkout elsewhere (spec §13).
fn circleci_paths(ir: &Ir, diags: &mut Diagnostics) {
    let env = ir.environment.iter().map(|e| (e.span, e.value.as_str()));
    let commands = ir.commands().map(|c| (c.span, c.code.as_str()));
    for (span, text) in env.chain(commands) {
        let Some(found) = hard_coded_path(text) else {
            continue;
        };
        diags.push(
            Diagnostic::warning(
                Code::CircleciPaths,
                span,
                format!("`{found}` is a path on CircleCI 1.0's machine (home `/home/ubuntu`, checkout `/home/ubuntu/<repo>`)"),
            )
            .with_label("a CircleCI-specific path")
            .with_help("elsewhere home and checkout differ: write `$HOME/…` for home, and paths relative to the build directory for the checkout"),
        );
    }
}

fn hard_coded_path(text: &str) -> Option<&str> {
    // Searchers built once per process: this runs on every command text of every config.
    static HOME: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("/home/ubuntu"));
    static REPO: LazyLock<Finder<'static>> =
        LazyLock::new(|| Finder::new("CIRCLE_PROJECT_REPONAME"));
    if let Some(i) = HOME.find(text.as_bytes()) {
        let end = text[i..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ':' | ';' | ')'))
            .map_or(text.len(), |e| i + e);
        return Some(&text[i..end]);
    }
    // Every spelling below names the repository variable: one search rules them all out.
    REPO.find(text.as_bytes())?;
    [
        "$HOME/$CIRCLE_PROJECT_REPONAME",
        "${HOME}/${CIRCLE_PROJECT_REPONAME}",
        "~/$CIRCLE_PROJECT_REPONAME",
        "$HOME/${CIRCLE_PROJECT_REPONAME}",
        "~/${CIRCLE_PROJECT_REPONAME}",
    ]
    .into_iter()
    .find_map(|p| text.find(p).map(|i| &text[i..i + p.len()]))
}

#[cfg(test)]
mod tests {
    use super::hard_coded_path;

    #[test]
    fn finds_circleci_checkout_paths() {
        assert_eq!(
            hard_coded_path("cd /home/ubuntu/app && make"),
            Some("/home/ubuntu/app")
        );
        assert_eq!(
            hard_coded_path("export PATH=/home/ubuntu/bin:$PATH"),
            Some("/home/ubuntu/bin")
        );
        assert_eq!(
            hard_coded_path("ln -s ${HOME}/${CIRCLE_PROJECT_REPONAME} x"),
            Some("${HOME}/${CIRCLE_PROJECT_REPONAME}")
        );
        assert_eq!(hard_coded_path("cd $HOME/go && make"), None);
    }
}
