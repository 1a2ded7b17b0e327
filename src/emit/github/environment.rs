//! GitHub back-end, environment: CircleCI 1.0's variables from GitHub's context, secrets,
//! `~/.circlerc` and a command's own `environment`, as `env:` entries and `export` lines.

use crate::emit::escape;
use crate::ir::{Command, EnvVar, Ir};

use super::Kv;

/// The file that stands in for 1.0's `~/.circlerc`: `BASH_ENV` names it, so every step's bash
/// (and every bash a command starts) reads it first. bash expands `$HOME` in `BASH_ENV`.
pub(super) const CIRCLERC: &str = "$HOME/.circlerc";

/// Where `$CIRCLE_ARTIFACTS` and `$CIRCLE_TEST_REPORTS` point.
pub(super) const ARTIFACTS: &str = "/tmp/circle-artifacts";
pub(super) const TEST_REPORTS: &str = "/tmp/circle-junit";

/// A spec §7.1 variable as a GitHub expression; `None` for the one that needs arithmetic
/// ([`PREVIOUS_BUILD_NUM`]).
pub(super) fn circle_value(name: &str, node_index: &str, nodes: u32) -> Option<String> {
    Some(match name {
        "CI" | "CIRCLECI" => "true".into(),
        // 1.0 built the pushed commit of a pull request's branch, not GitHub's merge commit.
        "CIRCLE_BRANCH" => "${{ github.head_ref || (github.ref_type == 'branch' && github.ref_name) || '' }}".into(),
        "CIRCLE_TAG" => "${{ github.ref_type == 'tag' && github.ref_name || '' }}".into(),
        "CIRCLE_SHA1" => "${{ github.event.pull_request.head.sha || github.sha }}".into(),
        "CIRCLE_BUILD_NUM" => "${{ github.run_number }}".into(),
        "CIRCLE_PROJECT_USERNAME" => "${{ github.repository_owner }}".into(),
        "CIRCLE_PROJECT_REPONAME" => "${{ github.event.repository.name }}".into(),
        "CIRCLE_REPOSITORY_URL" => "${{ github.server_url }}/${{ github.repository }}".into(),
        "CIRCLE_COMPARE_URL" => "${{ github.event.compare }}".into(),
        "CIRCLE_BUILD_URL" => {
            "${{ github.server_url }}/${{ github.repository }}/actions/runs/${{ github.run_id }}".into()
        }
        "CIRCLE_USERNAME" => "${{ github.actor }}".into(),
        "CI_PULL_REQUEST" | "CI_PULL_REQUESTS" => "${{ github.event.pull_request.html_url }}".into(),
        // Set for pull requests from forks only, as on 1.0.
        "CIRCLE_PR_NUMBER" => "${{ github.event.pull_request.head.repo.fork && github.event.pull_request.number || '' }}".into(),
        "CIRCLE_PR_USERNAME" => "${{ github.event.pull_request.head.repo.fork && github.event.pull_request.head.repo.owner.login || '' }}".into(),
        "CIRCLE_PR_REPONAME" => "${{ github.event.pull_request.head.repo.fork && github.event.pull_request.head.repo.name || '' }}".into(),
        "CIRCLE_ARTIFACTS" => ARTIFACTS.into(),
        "CIRCLE_TEST_REPORTS" | "CI_REPORTS" => TEST_REPORTS.into(),
        "CIRCLE_NODE_TOTAL" => nodes.to_string(),
        "CIRCLE_NODE_INDEX" => node_index.into(),
        _ => return None,
    })
}

/// The run-line that sets `CIRCLE_PREVIOUS_BUILD_NUM` (expressions have no arithmetic).
pub(super) const PREVIOUS_BUILD_NUM: &str =
    "export CIRCLE_PREVIOUS_BUILD_NUM=$((GITHUB_RUN_NUMBER - 1))";

/// `export NAME="VALUE"` with `$` and `$(…)` live, as 1.0 exported environment values (spec §7.2).
pub(super) fn export_line(e: &EnvVar) -> String {
    format!("export {}=\"{}\"", e.name, escape::sh_dquote_live(&e.value))
}

/// `export NAME=VALUE` of a literal value.
pub(super) fn export_literal(name: &str, value: &str) -> String {
    format!("export {name}={}", escape::sh_quote(value))
}

/// Lines that append `lines` to `~/.circlerc`.
pub(super) fn append_to_circlerc(lines: &[String]) -> String {
    let body = lines.join("\n");
    let tag = escape::heredoc_tag(&body, "EOF");
    format!("cat >> ~/.circlerc <<'{tag}'\n{body}\n{tag}\n")
}

/// The `env:` a command's step needs: the CircleCI variables it reads (unless the job sets them)
/// and its secrets, under the names GitHub stores them.
pub(super) fn step_env(
    ir: &Ir,
    c: &Command,
    job_vars: &[String],
    node_index: &str,
    nodes: u32,
    extra: &[&str],
) -> Vec<Kv> {
    let mut env = vec![];
    let Some(vars) = ir.vars.of(c.id) else {
        return env;
    };
    let mut circle: Vec<&str> = vars.circle.iter().map(String::as_str).collect();
    for e in extra {
        if !circle.contains(e) {
            circle.push(e);
        }
    }
    for name in circle {
        if job_vars.iter().any(|j| j == name) {
            continue;
        }
        if let Some(v) = circle_value(name, node_index, nodes) {
            env.push(Kv::expr(name, v));
        }
    }
    for name in &vars.secrets {
        let stored = ir.vars.secret(name).map_or(name.as_str(), |s| &s.stored_as);
        env.push(Kv::expr(name, format!("${{{{ secrets.{stored} }}}}")));
    }
    env
}
