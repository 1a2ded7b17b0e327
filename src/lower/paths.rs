//! Lower stage pass: paths, timeouts and characters that would take a build outside its place.
//! `general.build_dir` is normalised before the IR is built (inference looks there) and refused
//! outside the checkout.
//! `cache_directories` and `general.artifacts` are normalised (`.`, empty parts and `..` resolved
//! lexically) and refused when they climb out of their base (build directory, `~`, `/`);
//! a literal relative `pwd` that climbs out of the checkout is warned about (and refused at run
//! time, as one with `$` is); a `timeout` above a day is refused (bash's integers and a local
//! build's patience end well before u64's); a NUL anywhere, or a control character in data, is refused: bash cannot carry a
//! NUL (it would cut a branch name short), and a terminal would obey an escape sequence.

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::ir::{EnvVar, Ir, Pattern};
use crate::parse::Config;
use crate::source::Span;

/// The longest no-output timeout accepted, in seconds: a day.
pub const MAX_TIMEOUT: u64 = 86_400;

/// `path` with `.`, empty parts and `..` resolved lexically, relative to its base; `None` when a
/// `..` would climb above the base. The base keeps its marker: `~`, `~/rest`, `/rest` or `rest`.
pub fn normalise(path: &str) -> Option<String> {
    let (base, rest) = if path == "~" {
        ("~", "")
    } else if let Some(rest) = path.strip_prefix("~/") {
        ("~/", rest)
    } else if let Some(rest) = path.strip_prefix('/') {
        ("/", rest)
    } else {
        ("", path)
    };
    let mut parts: Vec<&str> = vec![];
    for part in rest.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    Some(match base {
        "~" => "~".to_string(),
        "~/" if joined.is_empty() => "~".to_string(),
        "" if joined.is_empty() => ".".to_string(),
        b => format!("{b}{joined}"),
    })
}

/// Where the build runs (spec §3.8: commands, inference and relative paths start there):
/// `general.build_dir` normalised, relative to the checkout; `None` when it is the checkout
/// itself (`.`, `./`, empty). Decided here once for inference and every back-end. One outside
/// the checkout (absolute, `~/…`, climbing out) is refused: CircleCI 1.0 ran the build there,
/// and a local build or a workflow has nothing of its there.
pub(crate) fn build_dir(config: &Config, diags: &mut Diagnostics) -> Option<String> {
    let t = config.general.build_dir.as_ref()?;
    let inside = Some(t.value.as_str())
        .filter(|d| !d.starts_with('/') && !d.starts_with('~'))
        .and_then(normalise);
    match inside {
        Some(d) if d == "." => None,
        Some(d) => Some(d),
        None if t.value.is_empty() => None,
        None => {
            diags.push(
                Diagnostic::error(
                    Code::PathOutside,
                    t.span,
                    format!("`general.build_dir: {}` is outside the checkout", t.value),
                )
                .with_label("the build directory must be the checkout or below it")
                .with_help("name a directory of the checkout, relative to it; to run a command elsewhere, give it `pwd:`"),
            );
            None
        }
    }
}

/// How many directories a relative path climbs above its start at most (`../../x` → 2).
fn climbs(path: &str) -> usize {
    let (mut depth, mut most) = (0i64, 0i64);
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                depth -= 1;
                most = most.max(-depth);
            }
            _ => depth += 1,
        }
    }
    most as usize
}

pub(crate) fn run(config: &Config, ir: &mut Ir, diags: &mut Diagnostics) {
    // The config's lists as build left them, each entry located at its config text.
    let cache = config
        .dependencies
        .as_ref()
        .map_or(&[][..], |d| &d.cache_directories[..]);
    let span_of =
        |texts: &[crate::parse::Text], v: &str| texts.iter().find(|t| t.value == v).map(|t| t.span);
    let dirs = std::mem::take(&mut ir.cache_directories);
    for d in dirs {
        let at = span_of(cache, &d);
        if let Some(p) = place(&d, at, "dependencies.cache_directories", "the cache", diags) {
            if !ir.cache_directories.contains(&p) {
                ir.cache_directories.push(p);
            }
        }
    }
    // Inference's directories after the config's, only those it does not already name once
    // normalised: a listed `node_modules/` is listed (its absence is a warning), not inferred.
    let inferred = std::mem::take(&mut ir.cache_inferred);
    for d in inferred.iter().filter_map(|d| normalise(d)) {
        if !ir.cache_directories.contains(&d) {
            ir.cache_directories.push(d.clone());
            ir.cache_inferred.push(d);
        }
    }
    let artifacts = std::mem::take(&mut ir.artifacts);
    for a in artifacts {
        let at = span_of(&config.general.artifacts, &a);
        if let Some(p) = place(&a, at, "general.artifacts", "the artifacts", diags) {
            ir.artifacts.push(p);
        }
    }

    // A relative pwd starts in the build directory, `general.build_dir` below the checkout.
    let build_depth = ir.build_dir.as_deref().map_or(0, |b| b.split('/').count());
    let build = ir.build_dir.clone().unwrap_or_else(|| ".".into());
    for c in ir.commands_mut() {
        let m = &mut c.modifiers;
        if m.timeout > MAX_TIMEOUT {
            diags.push(
                Diagnostic::error(
                    Code::TimeoutTooLarge,
                    c.span,
                    format!(
                        "`timeout: {}` is longer than a day ({MAX_TIMEOUT} seconds)",
                        m.timeout
                    ),
                )
                .with_label("this command's no-output timeout"),
            );
        }
        if let Some(dir) = &m.pwd {
            let relative = !dir.starts_with('/') && !dir.starts_with('~') && !dir.contains('$');
            // A warning, not an error: on CircleCI 1.0 the checkout was ~/<repo>, and real configs
            // reach ~/x as `../x`. The command itself is refused at run time (y2s_prelude).
            if relative && climbs(dir) > build_depth {
                m.pwd_outside = true;
                let home = normalise(&format!("~/REPO/{build}/{dir}"))
                    .filter(|p| p.starts_with("~/") && !p.starts_with("~/REPO"));
                diags.push(
                    Diagnostic::warning(
                        Code::PathOutside,
                        c.span,
                        format!("`pwd: {dir}` climbs out of the checkout; the command will refuse to run"),
                    )
                    .with_label("this command's pwd")
                    .with_help(match home {
                        Some(h) => format!("CircleCI 1.0's checkout was ~/<repo>, so this was `{h}` there: write `pwd: {h}`"),
                        None => "a relative pwd starts in the build directory; write an absolute or `~/…` path for a place outside the checkout".to_string(),
                    }),
                );
            }
        }
    }
    characters(config, ir, diags);
}

/// A cache or artifact path, normalised; `None` (and an error) when it climbs out of its base.
fn place(
    value: &str,
    span: Option<Span>,
    key: &str,
    what: &str,
    diags: &mut Diagnostics,
) -> Option<String> {
    match normalise(value) {
        Some(p) if p != "." => Some(p),
        _ => {
            diags.push(
                Diagnostic::error(
                    Code::PathOutside,
                    span,
                    format!("`{key}` entry `{value}` climbs out of the place it is relative to"),
                )
                .with_label(format!(
                    "{what} would reach outside the build directory, ~ or /"
                ))
                .with_help("name a directory inside the build directory (relative), the home directory (`~/…`) or an absolute path without `..`"),
            );
            None
        }
    }
}

fn check_text(text: &str, span: Span, what: &str, data: bool, diags: &mut Diagnostics) {
    let bad = text
        .chars()
        // Newline and tab are text (a name may hold them and stays data); the others are
        // escapes a terminal would obey.
        .find(|&c| c == '\0' || (data && c.is_control() && c != '\n' && c != '\t'));
    if let Some(c) = bad {
        let name = if c == '\0' {
            "a NUL character".to_string()
        } else {
            format!("the control character U+{:04X}", c as u32)
        };
        diags.push(
            Diagnostic::error(Code::ControlCharacter, span, format!("{what} holds {name}"))
                .with_label(if c == '\0' {
                    "bash cannot carry a NUL: the text would be cut short there"
                } else {
                    "a terminal would obey it as an escape"
                }),
        );
    }
}

/// An environment entry's name is data; its value is shell text, where only NUL is refused.
fn check_env_var(e: &EnvVar, diags: &mut Diagnostics) {
    check_text(
        &e.name,
        e.span,
        "an environment variable's name",
        true,
        diags,
    );
    check_text(
        &e.value,
        e.span,
        "an environment variable's value",
        false,
        diags,
    );
}

fn characters(config: &Config, ir: &Ir, diags: &mut Diagnostics) {
    for e in &ir.environment {
        check_env_var(e, diags);
    }
    for c in ir.commands() {
        check_text(c.code.as_str(), c.span, "a command", false, diags);
        let m = &c.modifiers;
        for e in &m.environment {
            check_env_var(e, diags);
        }
        if let Some(p) = &m.pwd {
            check_text(p, c.span, "a pwd", true, diags);
        }
        for f in &m.files {
            check_text(f, c.span, "a files pattern", true, diags);
        }
    }
    let g = &config.general;
    for t in g
        .branches_only
        .iter()
        .chain(&g.branches_ignore)
        .chain(&g.artifacts)
        .chain(g.build_dir.iter())
        .chain(&config.webhooks)
        .chain(
            config
                .dependencies
                .iter()
                .flat_map(|d| d.cache_directories.iter()),
        )
    {
        check_text(&t.value, t.span, "a name or path", true, diags);
    }
    for d in &ir.deployments {
        check_text(&d.name, d.span, "a deployment's name", true, diags);
        for p in d.branch.iter().chain(&d.tag) {
            let text = match p {
                Pattern::Exact { name } => name.as_str(),
                Pattern::Regex { ere, .. } => ere.as_str(),
            };
            check_text(text, d.span, "a branch or tag pattern", true, diags);
        }
        for o in d.owner.iter().chain(d.heroku_app.iter()) {
            check_text(o, d.span, "a deployment's owner or app", true, diags);
        }
    }
    if let Some(m) = &config.machine {
        let hosts = m.hosts.iter().flat_map(|(a, b)| [a, b]);
        let langs = m.languages.iter().flat_map(|(a, b)| [a, b]);
        for t in m
            .services
            .iter()
            .chain(m.timezone.iter())
            .chain(hosts)
            .chain(langs)
        {
            check_text(&t.value, t.span, "a name", true, diags);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_resolves_and_refuses_climbing_out() {
        assert_eq!(normalise("vendor/").as_deref(), Some("vendor"));
        assert_eq!(normalise("./a//b/../c").as_deref(), Some("a/c"));
        assert_eq!(normalise("~/.m2/./repo").as_deref(), Some("~/.m2/repo"));
        assert_eq!(normalise("~/").as_deref(), Some("~"));
        assert_eq!(normalise("/var//cache/").as_deref(), Some("/var/cache"));
        assert_eq!(normalise("a/.."), Some(".".to_string()));
        assert_eq!(normalise("../../../../tmp/victim"), None);
        assert_eq!(normalise("~/../other"), None);
        assert_eq!(normalise("/../etc"), None);
        assert_eq!(normalise("a/../../b"), None);
        assert_eq!(climbs("../x"), 1);
        assert_eq!(climbs("a/../../b"), 1);
        assert_eq!(climbs("sub/dir"), 0);
    }
}
