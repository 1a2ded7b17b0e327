//! Emit stage, the runtime's contract: [`Ir`] → the calls build.sh and the Makefile make into
//! the shared bash runtime (templates/runtime.sh), and the data block both give it. The two
//! drivers only place these calls (build.sh in functions and heredocs, the Makefile one recipe
//! line each); what a call says is decided here, once.

use serde::Serialize;

use super::escape;
use crate::ir::{Command, Ir, OnFailure, Pattern, PhaseKind, Step};

/// The runtime every generated script carries: our own bash, not user data.
pub(crate) const RUNTIME: &str = include_str!("../../templates/runtime.sh");
/// The build's data and deployment choice, which build.sh and the Makefile both give the runtime.
pub(crate) const DATA_TEMPLATE: &str = include_str!("../../templates/build-data.sh.j2");
pub(crate) const DATA_TEMPLATE_NAME: &str = "build-data.sh.j2";

/// `y2s_run LINE ARGS...` with the command's text on standard input.
pub(crate) struct RunCall {
    pub line: usize,
    /// Where it came from, e.g. `test.override`.
    pub section: String,
    /// Options of `y2s_run`, one word each (the drivers quote them).
    pub args: Vec<String>,
    /// The command's text, verbatim.
    pub code: String,
    /// For inferred commands: the file that caused it (`package.json (scripts.test)`).
    pub inferred_from: Option<String>,
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

pub(crate) fn run_call(c: &Command) -> RunCall {
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
        // Data with `$VAR` and `~` expanded, never a command substitution.
        flag("--pwd", Some(escape::sh_dquote_vars(dir)));
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
    if let Some(from) = &c.inferred_from {
        flag("--inferred", Some(from.clone()));
    }
    RunCall {
        inferred_from: c.inferred_from.clone(),
        line: c.line,
        section: format!("{}.{}", c.phase, c.section.name()),
        args,
        code: c.code.as_str().to_string(),
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
                if let Some(why) = &s.started_because {
                    lines.push(vec![
                        "y2s_builtin".into(),
                        format!(
                            "service {}: not listed, but CircleCI 1.0 ran it by default and the config uses it ({why})",
                            s.name
                        ),
                    ]);
                }
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
            // Those only inference named come after `--inferred`: saved when present, and
            // no warning when absent (1.0 cached them only if the build made them).
            let (listed, inferred): (Vec<&String>, Vec<&String>) = ir
                .cache_directories
                .iter()
                .partition(|d| !ir.cache_inferred.contains(d));
            ws.extend(listed.into_iter().cloned());
            if !inferred.is_empty() {
                ws.push("--inferred".into());
                ws.extend(inferred.into_iter().cloned());
            }
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

/// What the data block says: each list is the words of an array or a call, as given.
#[derive(Serialize)]
struct DataView {
    source: String,
    build_dir: String,
    branches_only: Vec<String>,
    branches_ignore: Vec<String>,
    artifacts: Vec<String>,
    /// 1 or 0, as the runtime tests it.
    docker: u8,
    containers: u8,
    service_names: String,
    /// Indexed from 1, as `y2s_pick_deployment` answers: the first word is empty.
    deployment_names: Vec<String>,
    /// The secrets each subsection's commands read (lower/vars.rs), space-separated, warned
    /// about before it runs when unset; indexed from 1 as the names.
    deployment_secrets: Vec<String>,
    /// Per subsection, the words of its `y2s_deployment_matches` call: owner, the number of
    /// branch patterns, the branch patterns, the tag patterns.
    deployments: Vec<Vec<String>>,
    /// `--nodes`: the default of `CIRCLE_NODE_TOTAL` (CircleCI set it in its web UI).
    nodes: u32,
}

/// The build's data block for the runtime (`Y2S_*` settings and `y2s_pick_deployment`),
/// the same text in build.sh and, as `#|` lines, in the Makefile.
pub(crate) fn build_data(ir: &Ir, nodes: u32) -> Result<String, minijinja::Error> {
    let secrets = |d: &crate::ir::Deployment| {
        let mut names: Vec<&str> = vec![];
        for c in &d.commands {
            for n in ir
                .vars
                .of(c.id)
                .map(|v| v.secrets.as_slice())
                .unwrap_or(&[])
            {
                if !names.contains(&n.as_str()) {
                    names.push(n);
                }
            }
        }
        names.join(" ")
    };
    let first = std::iter::once(String::new());
    let view = DataView {
        nodes,
        source: ir.source_name.clone(),
        build_dir: ir.build_dir.clone().unwrap_or_default(),
        branches_only: ir.branches.only.iter().map(pattern_word).collect(),
        branches_ignore: ir.branches.ignore.iter().map(pattern_word).collect(),
        artifacts: ir.artifacts.clone(),
        docker: u8::from(ir.docker),
        containers: u8::from(ir.services.iter().any(|s| s.container.is_some())),
        service_names: ir
            .services
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        deployment_names: first
            .clone()
            .chain(ir.deployments.iter().map(|d| d.name.clone()))
            .collect(),
        deployment_secrets: first.chain(ir.deployments.iter().map(secrets)).collect(),
        deployments: ir
            .deployments
            .iter()
            .map(|d| {
                let mut words = vec![
                    d.owner.clone().unwrap_or_default(),
                    d.branch.len().to_string(),
                ];
                words.extend(d.branch.iter().chain(&d.tag).map(pattern_word));
                words
            })
            .collect(),
    };
    let text = super::template(DATA_TEMPLATE_NAME)?.render(view)?;
    Ok(text.trim_end_matches('\n').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The names in `text` that look like `PREFIX…` (upper or lower case words).
    fn names(text: &str, prefix: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut rest = text;
        while let Some(i) = rest.find(prefix) {
            let before = rest[..i].chars().last();
            let tail = &rest[i..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            if !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                out.insert(tail[..end].to_string());
            }
            rest = &tail[end..];
        }
        out
    }

    fn contract() -> String {
        let start = RUNTIME
            .find("# The contract:")
            .expect("runtime.sh states its contract");
        RUNTIME[start..]
            .lines()
            .skip(1)
            .take_while(|l| l.starts_with("#   "))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Code only: comments name functions and variables in prose.
    fn code(text: &str) -> String {
        text.lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn runtime_uses_no_global_it_does_not_define_or_name_in_its_contract() {
        let contract = contract();
        let body = code(RUNTIME);
        let named = names(&contract, "Y2S_");
        for var in names(&body, "Y2S_") {
            // Prefixes in `${!Y2S_@}`-style loops and `compgen -v Y2S_` are not variables.
            if var == "Y2S_" {
                continue;
            }
            let assigned = [format!("{var}="), format!("{var}+="), format!("{var}=(")]
                .iter()
                .any(|a| body.contains(a.as_str()))
                || body.contains(&format!("local {var}"))
                // `exec {NAME}<>file` assigns NAME the descriptor it opens.
                || body.contains(&format!("exec {{{var}}}<"))
                || body.contains(&format!("-v {var}"));
            assert!(
                assigned || named.contains(&var),
                "runtime.sh uses ${var}, which it neither sets nor names in its contract"
            );
        }
        let defined: BTreeSet<String> = body
            .lines()
            .filter_map(|l| l.split_once("() {"))
            .map(|(name, _)| name.trim().to_string())
            .collect();
        let named = names(&contract, "y2s_");
        for f in names(&body, "y2s_") {
            // `y2s_?*)`: the Makefile entry's check that it is given a runtime function.
            if f == "y2s_" {
                continue;
            }
            let dynamic = f == "y2s_deployment_" && named.contains("y2s_deployment_N");
            assert!(
                defined.contains(&f) || named.contains(&f) || dynamic,
                "runtime.sh calls {f}, which it neither defines nor names in its contract"
            );
        }
    }

    #[test]
    fn the_data_block_sets_what_the_contract_says_it_sets() {
        let contract = contract();
        let data = contract
            .split("defined by the driver")
            .next()
            .expect("the contract has sections");
        for name in names(data, "Y2S_").into_iter().chain(names(data, "y2s_")) {
            let set = DATA_TEMPLATE.contains(&format!("{name}="))
                || DATA_TEMPLATE.contains(&format!("{name}() {{"));
            assert!(set, "build-data.sh.j2 does not set {name}");
        }
    }
}
