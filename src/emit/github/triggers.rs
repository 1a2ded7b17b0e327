//! GitHub back-end, triggers: `on:` filters and the conditions that select what an event builds
//! and deploys, from the IR's patterns and matching rules (see [`crate::ir::Deployment`]).
//!
//! A pattern becomes a GitHub filter glob or an `if:` expression only where that says exactly
//! what the pattern says; every other pattern is matched by the one selection step in bash.

use serde::Serialize;

use crate::ir::{Ir, Pattern};

use super::Kv;

#[derive(Serialize)]
pub(super) struct On {
    branches: Vec<String>,
    branches_ignore: Vec<String>,
    /// Tag globs: exactly the deployments' tag patterns, or the narrowest glob that holds a regex.
    tags: Vec<String>,
    /// The globs that only approximate a regex (the selection step decides).
    tags_approximate: bool,
}

pub(super) fn on(ir: &Ir) -> On {
    let b = &ir.branches;
    let only: Option<Vec<String>> = b.only.iter().map(glob).collect();
    let ignore: Option<Vec<String>> = b.ignore.iter().map(glob).collect();
    let (branches, branches_ignore) = match (only, ignore) {
        (Some(only), Some(ignore)) if !only.is_empty() => (
            only.into_iter()
                .chain(ignore.into_iter().map(|g| format!("!{g}")))
                .collect(),
            vec![],
        ),
        (Some(_), Some(ignore)) if !ignore.is_empty() => (vec![], ignore),
        // `branches:` is always given: without it, every tag push would run the workflow too.
        _ => (vec!["**".to_string()], vec![]),
    };
    let mut tags: Vec<String> = vec![];
    let mut tags_approximate = false;
    for p in ir.deployments.iter().flat_map(|d| &d.tag) {
        let g = glob(p).unwrap_or_else(|| {
            tags_approximate = true;
            superset_glob(p)
        });
        if !tags.contains(&g) {
            tags.push(g);
        }
    }
    On {
        branches,
        branches_ignore,
        tags,
        tags_approximate,
    }
}

/// A GitHub expression string literal.
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Names GitHub expressions and filter globs take literally (and that cannot end an expression).
fn safe_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_/.".contains(c))
}

/// What a pattern says as a GitHub expression over `subject`, if it says it exactly: a name
/// (`==`), `prefix.*` (`startsWith`), `.*suffix` (`endsWith`), `.*middle.*` (`contains`), `.*`.
/// GitHub compares strings ignoring case (README: what differs from 1.0).
pub(super) fn expression(p: &Pattern, subject: &str) -> Option<String> {
    Form::of(p).map(|f| f.expr(subject))
}

/// A regex's source without the `^` and `$` that anchor it (matching is of whole names).
fn unanchored(source: &str) -> &str {
    let src = source.strip_prefix('^').unwrap_or(source);
    src.strip_suffix('$')
        .filter(|s| !s.ends_with('\\'))
        .unwrap_or(src)
}

/// The text a regex without metacharacters matches (`\.` and `\/` are literal).
fn literal_regex(src: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = src.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n) if "./-_".contains(n) => out.push(n),
                _ => return None,
            },
            c if c.is_ascii_alphanumeric() || "-_/".contains(c) => out.push(c),
            _ => return None,
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The GitHub filter glob that matches exactly the names `p` matches, if there is one: literal
/// names of safe characters, and regexes made of such characters and `.*` (→ `**`).
pub(super) fn glob(p: &Pattern) -> Option<String> {
    match p {
        Pattern::Exact { name } => safe_name(name).then(|| name.clone()),
        Pattern::Regex { source, .. } => {
            let chars: Vec<char> = unanchored(source).chars().collect();
            let mut out = String::new();
            let mut i = 0;
            while i < chars.len() {
                match (chars[i], chars.get(i + 1)) {
                    ('.', Some('*')) => {
                        if !out.ends_with("**") {
                            out.push_str("**");
                        }
                        i += 2;
                        // A lazy `.*?` matches the same whole names.
                        if chars.get(i) == Some(&'?') {
                            i += 1;
                        }
                    }
                    // `\.` and `\/` are literal; `\d` and other classes have no glob.
                    ('\\', Some(&n)) if "./-_".contains(n) => {
                        out.push(n);
                        i += 2;
                    }
                    (c, _) if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '/' => {
                        out.push(c);
                        i += 1;
                    }
                    _ => return None,
                }
            }
            (!out.is_empty()).then_some(out)
        }
    }
}

/// The narrowest glob of the form `<literal prefix>**` that holds every name a regex matches.
fn superset_glob(p: &Pattern) -> String {
    let Pattern::Regex { source, .. } = p else {
        return "**".into();
    };
    let src = source.strip_prefix('^').unwrap_or(source);
    let chars: Vec<char> = src.chars().collect();
    let mut prefix = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        // A character that a quantifier or alternation after it could make optional ends it.
        let next = chars.get(i + 1).copied();
        if matches!(next, Some('*' | '?' | '{' | '|')) {
            break;
        }
        match c {
            '\\' if next.is_some_and(|n| "./-_".contains(n)) => {
                if matches!(chars.get(i + 2), Some('*' | '?' | '{' | '|')) {
                    break;
                }
                prefix.push(chars[i + 1]);
                i += 2;
            }
            c if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '/' => {
                prefix.push(c);
                i += 1;
            }
            _ => break,
        }
    }
    if chars.contains(&'|') {
        // An alternation may leave the prefix out.
        prefix.clear();
    }
    format!("{prefix}**")
}

/// How the build job decides which deployment subsection runs (the first that matches, on a
/// push only; README: deployments).
pub(super) enum Selection {
    /// Each subsection's condition as a GitHub expression, earlier matches excluded.
    Expressions(Vec<String>),
    /// A selection step (id `select`) writes the index of the subsection to run; its data.
    Step(Vec<Kv>),
}

/// What a pattern matches, in the forms GitHub expressions can test.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Form {
    Eq(String),
    Prefix(String),
    Suffix(String),
    Contains(String),
    Any,
}

impl Form {
    /// The form of a pattern, if it has one: a safe name, or a regex that is `.*`, or a literal
    /// with `.*` at either end.
    fn of(p: &Pattern) -> Option<Form> {
        let source = match p {
            Pattern::Exact { name } => return safe_name(name).then(|| Form::Eq(name.clone())),
            Pattern::Regex { source, .. } => source,
        };
        let src = unanchored(source);
        let any = |s: &str| s == ".*" || s == ".*?";
        if any(src) {
            return Some(Form::Any);
        }
        let (lead, rest) = match src.strip_prefix(".*?").or_else(|| src.strip_prefix(".*")) {
            Some(r) => (true, r),
            None => (false, src),
        };
        let (trail, middle) = match rest.strip_suffix(".*?").or_else(|| rest.strip_suffix(".*")) {
            Some(m) => (true, m),
            None => (false, rest),
        };
        let text = literal_regex(middle)?;
        if !safe_name(&text) {
            return None;
        }
        Some(match (lead, trail) {
            (false, false) => Form::Eq(text),
            (false, true) => Form::Prefix(text),
            (true, false) => Form::Suffix(text),
            (true, true) => Form::Contains(text),
        })
    }

    fn expr(&self, subject: &str) -> String {
        match self {
            Form::Eq(n) => format!("{subject} == {}", lit(n)),
            Form::Prefix(n) => format!("startsWith({subject}, {})", lit(n)),
            Form::Suffix(n) => format!("endsWith({subject}, {})", lit(n)),
            Form::Contains(n) => format!("contains({subject}, {})", lit(n)),
            Form::Any => "true".into(),
        }
    }

    /// True when no name matches both (ignoring case, as GitHub compares).
    fn disjoint(&self, other: &Form) -> bool {
        let low = |s: &str| s.to_ascii_lowercase();
        match (self, other) {
            (Form::Eq(a), Form::Eq(b)) => low(a) != low(b),
            (Form::Eq(a), Form::Prefix(p)) | (Form::Prefix(p), Form::Eq(a)) => {
                !low(a).starts_with(&low(p))
            }
            (Form::Eq(a), Form::Suffix(p)) | (Form::Suffix(p), Form::Eq(a)) => {
                !low(a).ends_with(&low(p))
            }
            (Form::Eq(a), Form::Contains(p)) | (Form::Contains(p), Form::Eq(a)) => {
                !low(a).contains(&low(p))
            }
            (Form::Prefix(a), Form::Prefix(b)) => {
                !low(a).starts_with(&low(b)) && !low(b).starts_with(&low(a))
            }
            _ => false,
        }
    }
}

/// A deployment's patterns as forms: `(branch, tag)`, `None` where an expression cannot say one.
type Forms = (Vec<Form>, Vec<Form>);

fn forms(d: &crate::ir::Deployment) -> Option<Forms> {
    let b: Option<Vec<Form>> = d.branch.iter().map(Form::of).collect();
    let t: Option<Vec<Form>> = d.tag.iter().map(Form::of).collect();
    Some((b?, t?))
}

/// One list of patterns over `github.ref_name` for one ref type.
fn any_of(forms: &[Form], ref_type: &str) -> Option<String> {
    if forms.is_empty() {
        return None;
    }
    let kind = format!("github.ref_type == '{ref_type}'");
    if forms.contains(&Form::Any) {
        return Some(kind);
    }
    let parts: Vec<String> = forms.iter().map(|f| f.expr("github.ref_name")).collect();
    Some(if parts.len() == 1 {
        format!("{kind} && {}", parts[0])
    } else {
        format!("{kind} && ({})", parts.join(" || "))
    })
}

/// The condition under which a deployment subsection matches (spec §3.7): a branch build
/// through `branch`, a tag build through `tag`, and then only for its `owner`.
fn deployment_expression(d: &crate::ir::Deployment, f: &Forms) -> Option<String> {
    let alternatives: Vec<String> = [any_of(&f.0, "branch"), any_of(&f.1, "tag")]
        .into_iter()
        .flatten()
        .collect();
    let cond = match alternatives.len() {
        0 => return Some("false".into()),
        1 => alternatives[0].clone(),
        _ => format!("({}) || ({})", alternatives[0], alternatives[1]),
    };
    match &d.owner {
        // GitHub logins ignore case, and so does `==`.
        Some(owner) if !safe_name(owner) => None,
        Some(owner) if alternatives.len() > 1 => Some(format!(
            "github.repository_owner == {} && ({cond})",
            lit(owner)
        )),
        Some(owner) => Some(format!(
            "github.repository_owner == {} && {cond}",
            lit(owner)
        )),
        None => Some(cond),
    }
}

/// True when no build can match both subsections.
fn disjoint(a: &Forms, b: &Forms) -> bool {
    let all = |x: &[Form], y: &[Form]| x.iter().all(|f| y.iter().all(|g| f.disjoint(g)));
    all(&a.0, &b.0) && all(&a.1, &b.1)
}

/// Expressions select a deployment only while they stay short: at most this many patterns over
/// all subsections (the pairs compared for overlap stay few)…
const MAX_EXPRESSION_PATTERNS: usize = 64;
/// …and no condition longer than this (each of a subsection's steps repeats it). Beyond, the
/// selection step decides, and each condition is one comparison: the workflow grows linearly
/// with the config (n subsections on one branch once gave conditions of n(n-1)/2 terms).
const MAX_CONDITION_BYTES: usize = 1024;

pub(super) fn selection(ir: &Ir) -> Option<Selection> {
    if ir.deployments.is_empty() {
        return None;
    }
    let patterns: usize = ir
        .deployments
        .iter()
        .map(|d| d.branch.len() + d.tag.len())
        .sum();
    if patterns <= MAX_EXPRESSION_PATTERNS {
        if let Some(out) = expressions(ir) {
            return Some(Selection::Expressions(out));
        }
    }
    let mut env = vec![Kv::data("DEPLOYMENTS", ir.deployments.len().to_string())];
    for (i, d) in ir.deployments.iter().enumerate() {
        patterns_env(&mut env, &format!("D{i}_BRANCH_"), &d.branch);
        patterns_env(&mut env, &format!("D{i}_TAG_"), &d.tag);
        if let Some(owner) = &d.owner {
            env.push(Kv::data(format!("D{i}_OWNER"), owner));
        }
    }
    Some(Selection::Step(env))
}

/// Each subsection's condition as an expression, if every pattern has one and no condition
/// is longer than [`MAX_CONDITION_BYTES`].
fn expressions(ir: &Ir) -> Option<Vec<String>> {
    let all: Vec<(Forms, String)> = ir
        .deployments
        .iter()
        .map(|d| {
            let f = forms(d)?;
            let e = deployment_expression(d, &f)?;
            Some((f, e))
        })
        .collect::<Option<_>>()?;
    let mut out = vec![];
    for (i, (f, e)) in all.iter().enumerate() {
        let mut parts = vec!["github.event_name == 'push'".to_string()];
        // First match in file order: a later subsection runs only when no earlier one
        // matched (left out where the two can never match the same build).
        for (g, x) in &all[..i] {
            if x != "false" && !disjoint(f, g) {
                parts.push(format!("!({x})"));
            }
        }
        parts.push(if e.contains(" || ") {
            format!("({e})")
        } else {
            e.clone()
        });
        let cond = parts.join(" && ");
        if cond.len() > MAX_CONDITION_BYTES {
            return None;
        }
        out.push(cond);
    }
    Some(out)
}

fn patterns_env(env: &mut Vec<Kv>, prefix: &str, patterns: &[Pattern]) {
    for (i, p) in patterns.iter().enumerate() {
        match p {
            Pattern::Exact { name } => env.push(Kv::data(format!("{prefix}EQ_{i}"), name)),
            Pattern::Regex { ere, .. } => env.push(Kv::data(format!("{prefix}RE_{i}"), ere)),
        }
    }
}

/// The selection step's script: the first subsection whose patterns match the pushed branch or
/// tag (anchored EREs, exact names), and whose owner, if any, is the repository's.
pub(super) const SELECT_SCRIPT: &str = r#"# D<i>_<BRANCH|TAG>_EQ_<n> / _RE_<n>: the patterns of deployment <i> (exact, anchored ERE).
matches() {
  local v
  for v in $(compgen -v "$1EQ_"); do [[ $2 == "${!v}" ]] && return 0; done
  for v in $(compgen -v "$1RE_"); do [[ $2 =~ ${!v} ]] && return 0; done
  return 1
}
for ((i = 0; i < DEPLOYMENTS; i++)); do
  owner=D${i}_OWNER
  [[ -z ${!owner-} || ${!owner,,} == "${GITHUB_REPOSITORY_OWNER,,}" ]] || continue
  if matches "D${i}_${GITHUB_REF_TYPE^^}_" "$GITHUB_REF_NAME"; then
    echo "deployment=$i" >> "$GITHUB_OUTPUT"
    break
  fi
done
"#;

/// The job-level condition for pull requests: 1.0 built a pull request from the same repository
/// as the branch build it is (the push event here), and one from a fork as its own build.
pub(super) fn build_condition(ir: &Ir) -> String {
    let mut cond = "github.event_name == 'push' || github.event.pull_request.head.repo.full_name != github.repository".to_string();
    // general.branches applies to the pull request's branch too.
    let expressions = |ps: &[Pattern]| -> Option<Vec<String>> {
        ps.iter()
            .map(|p| expression(p, "github.head_ref"))
            .collect()
    };
    let only = expressions(&ir.branches.only);
    let ignore = expressions(&ir.branches.ignore);
    let mut pr = vec![];
    if let Some(only) = only.filter(|o| !o.is_empty()) {
        pr.push(format!("({})", only.join(" || ")));
    }
    if let Some(ignore) = ignore {
        pr.extend(ignore.iter().map(|i| format!("!({i})")));
    }
    if !pr.is_empty() {
        cond = format!(
            "github.event_name == 'push' || (github.event.pull_request.head.repo.full_name != github.repository && {})",
            pr.join(" && ")
        );
    }
    cond
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regex(source: &str) -> Pattern {
        match crate::lower::pattern::parse(&format!("/{source}/")) {
            Ok(p) => p,
            Err(e) => panic!("{source}: {e}"),
        }
    }

    #[test]
    fn globs_only_where_exact() {
        for (source, want) in [
            ("release\\/.*", Some("release/**")),
            ("feature-.*", Some("feature-**")),
            (".*?", Some("**")),
            ("master", Some("master")),
            ("^master$", Some("master")),
            ("v\\d+", None),
            ("a|b", None),
            ("rel.ase", None),
            (".*-stable", Some("**-stable")),
            ("[ab]", None),
            ("a+", None),
            ("a\\.b", Some("a.b")),
        ] {
            assert_eq!(glob(&regex(source)).as_deref(), want, "{source}");
        }
        let exact = |n: &str| glob(&Pattern::Exact { name: n.into() });
        assert_eq!(exact("gh-pages").as_deref(), Some("gh-pages"));
        assert_eq!(exact("a*b"), None);
        assert_eq!(exact("!x"), None);
    }

    #[test]
    fn supersets_hold_the_regex() {
        for (source, want) in [
            ("v[0-9]+(\\.[0-9]+)*", "v**"),
            ("^\\d+\\.\\d+", "**"),
            ("release-v?1", "release-**"),
            ("(v)?[0-9]+", "**"),
            ("a|b", "**"),
        ] {
            assert_eq!(superset_glob(&regex(source)), want, "{source}");
        }
    }

    #[test]
    fn expressions_only_where_exact() {
        let s = "github.ref_name";
        for (source, want) in [
            ("master", Some("github.ref_name == 'master'")),
            ("^master$", Some("github.ref_name == 'master'")),
            (
                "feature-.*",
                Some("startsWith(github.ref_name, 'feature-')"),
            ),
            (".*-stable", Some("endsWith(github.ref_name, '-stable')")),
            (".*hot.*", Some("contains(github.ref_name, 'hot')")),
            (".*?", Some("true")),
            (
                "^ultron\\/.*",
                Some("startsWith(github.ref_name, 'ultron/')"),
            ),
            ("v\\d+", None),
            ("a|b", None),
        ] {
            assert_eq!(expression(&regex(source), s).as_deref(), want, "{source}");
        }
        let exact = |n: &str| expression(&Pattern::Exact { name: n.into() }, s);
        assert_eq!(
            exact("gh-pages").as_deref(),
            Some("github.ref_name == 'gh-pages'")
        );
        assert_eq!(exact("it's"), None);
        assert_eq!(exact("${{ x }}"), None);
    }
}
