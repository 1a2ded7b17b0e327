//! Lower stage pass: [`Ir`] → [`Ir::vars`]. Which variables each command reads and defines, and
//! from that, once for every back-end: the secrets (read, never defined by the config, not
//! provided by CircleCI, not the system's or the runner's), the CircleCI variables nothing can
//! provide (`no-equivalent`), and the secret names GitHub refuses.
//!
//! A command reads what its shell expands: its text, its `environment` values and `pwd`, and,
//! since `machine.environment` is re-evaluated in every command's shell (spec §7.2), the variables
//! of every `machine.environment` value it uses, transitively.

use std::collections::BTreeMap;

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::ir::{CommandVars, Ir, Secret, Variables};
use crate::source::Span;

use super::shell;

/// Spec §7.1 variables CircleCI 1.0 provided that every back-end can provide too (from git, the
/// runner or the CI service's own context).
pub const CIRCLE_PROVIDED: &[&str] = &[
    "CI",
    "CIRCLECI",
    "CIRCLE_BRANCH",
    "CIRCLE_TAG",
    "CIRCLE_SHA1",
    "CIRCLE_BUILD_NUM",
    "CIRCLE_PREVIOUS_BUILD_NUM",
    "CIRCLE_PROJECT_USERNAME",
    "CIRCLE_PROJECT_REPONAME",
    "CIRCLE_REPOSITORY_URL",
    "CIRCLE_COMPARE_URL",
    "CIRCLE_BUILD_URL",
    "CIRCLE_USERNAME",
    "CI_PULL_REQUESTS",
    "CI_PULL_REQUEST",
    "CIRCLE_PR_NUMBER",
    "CIRCLE_PR_USERNAME",
    "CIRCLE_PR_REPONAME",
    "CIRCLE_ARTIFACTS",
    "CIRCLE_TEST_REPORTS",
    "CI_REPORTS",
    "CIRCLE_NODE_TOTAL",
    "CIRCLE_NODE_INDEX",
];

/// Spec §7.1 variables of CircleCI 1.0's image or service that no back-end provides: left unset.
pub const NO_EQUIVALENT: &[&str] = &[
    "CIRCLE_BUILD_IMAGE",
    "DISPLAY",
    "CIRCLECI_PKG_DIR",
    "NVM_DIR",
    "PYENV_ROOT",
    "PHPENV_ROOT",
    "M2_HOME",
    "GOPATH",
    "GOROOT",
    "RAILS_ENV",
    "RACK_ENV",
];

/// Set by bash, the OS, the 1.0 image (and its successors) or a hosted runner: never a secret,
/// and never overwritten by one.
const SYSTEM: &[&str] = &[
    "HOME",
    "PATH",
    "LANG",
    "LANGUAGE",
    "GIT_ASKPASS",
    "SSH_ASKPASS",
    "GIT_LFS_SKIP_SMUDGE",
    "DBUS_SESSION_BUS_ADDRESS",
    "MAVEN_OPTS",
    "USER",
    "LOGNAME",
    "SHELL",
    "PWD",
    "OLDPWD",
    "TERM",
    "TMPDIR",
    "HOSTNAME",
    "HOSTTYPE",
    "OSTYPE",
    "MACHTYPE",
    "UID",
    "EUID",
    "PPID",
    "RANDOM",
    "SECONDS",
    "LINENO",
    "IFS",
    "PS1",
    "PS2",
    "PS4",
    "BASH",
    "BASHPID",
    "FUNCNAME",
    "PIPESTATUS",
    "REPLY",
    "OPTARG",
    "OPTIND",
    "COLUMNS",
    "LINES",
    "SHLVL",
    "EDITOR",
    "PAGER",
    "JAVA_HOME",
    "TZ",
    "EPOCHSECONDS",
    "EPOCHREALTIME",
    "SRANDOM",
    "HISTFILE",
    "MAIL",
    "DEBIAN_FRONTEND",
    // GitHub's hosted runner images.
    "CI_PIPELINE_ID",
    "CONDA",
    "CHROME_BIN",
    "CHROMEWEBDRIVER",
    "EDGEWEBDRIVER",
    "GECKOWEBDRIVER",
    "SELENIUM_JAR_PATH",
    "VCPKG_INSTALLATION_ROOT",
    "AGENT_TOOLSDIRECTORY",
    "RUNNER_TOOL_CACHE",
    "ImageOS",
    "ImageVersion",
    "LEIN_HOME",
    "LEIN_JAR",
    "GRADLE_HOME",
    "SWIFT_PATH",
    "BOOTSTRAP_HASKELL_NONINTERACTIVE",
    "GHCUP_INSTALL_BASE_PREFIX",
    "ACCEPT_EULA",
    "DEVELOPER_DIR",
    "XCODE_SELECT",
];

/// Prefixes of system and runner families (`ANDROID_NDK`, `JAVA_HOME_17_X64`, `GITHUB_SHA`, …).
const SYSTEM_PREFIXES: &[&str] = &[
    "ANDROID_",
    "JAVA_HOME_",
    "GOROOT_",
    "DOTNET_",
    "POWERSHELL_",
    "PIPX_",
    "HOMEBREW_",
    "XDG_",
    "RUNNER_",
    "ACTIONS_",
    "YML2SH_",
    "Y2S_",
    "LC_",
    "BASH_",
    "SSH_",
    "SUDO_",
];

/// The variables GitHub's runner sets itself (docs: "Default environment variables"). A config
/// that reads another `GITHUB_*` name had it from CircleCI's project settings.
const GITHUB_DEFAULT: &[&str] = &[
    "GITHUB_ACTION",
    "GITHUB_ACTION_PATH",
    "GITHUB_ACTION_REPOSITORY",
    "GITHUB_ACTIONS",
    "GITHUB_ACTOR",
    "GITHUB_ACTOR_ID",
    "GITHUB_API_URL",
    "GITHUB_BASE_REF",
    "GITHUB_ENV",
    "GITHUB_EVENT_NAME",
    "GITHUB_EVENT_PATH",
    "GITHUB_GRAPHQL_URL",
    "GITHUB_HEAD_REF",
    "GITHUB_JOB",
    "GITHUB_OUTPUT",
    "GITHUB_PATH",
    "GITHUB_REF",
    "GITHUB_REF_NAME",
    "GITHUB_REF_PROTECTED",
    "GITHUB_REF_TYPE",
    "GITHUB_REPOSITORY",
    "GITHUB_REPOSITORY_ID",
    "GITHUB_REPOSITORY_OWNER",
    "GITHUB_REPOSITORY_OWNER_ID",
    "GITHUB_RETENTION_DAYS",
    "GITHUB_RUN_ATTEMPT",
    "GITHUB_RUN_ID",
    "GITHUB_RUN_NUMBER",
    "GITHUB_SERVER_URL",
    "GITHUB_SHA",
    "GITHUB_STATE",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_TRIGGERING_ACTOR",
    "GITHUB_WORKFLOW",
    "GITHUB_WORKFLOW_REF",
    "GITHUB_WORKFLOW_SHA",
    "GITHUB_WORKSPACE",
];

/// The prefix a secret GitHub would refuse is stored under (`GITHUB_TOKEN` →
/// `CIRCLE_GITHUB_TOKEN`): GitHub reserves secret names starting with `GITHUB_`.
pub const RENAMED_SECRET_PREFIX: &str = "CIRCLE_";

/// How a name a command reads is provided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The config defines it (`machine.environment`, a command's `environment`, an assignment in
    /// a command, a service's client variables).
    Config,
    /// CircleCI provided it, and every back-end does too.
    Circle,
    /// CircleCI provided it; nothing else can.
    NoEquivalent,
    /// The shell, the OS or the runner sets it.
    System,
    /// None of the above: CircleCI's project settings held it.
    Secret,
}

pub(crate) fn run(ir: &mut Ir, diags: &mut Diagnostics) {
    // What each command assigns, read once: the names defined anywhere, and each command's own.
    let assigned: Vec<Vec<String>> = ir
        .commands()
        .map(|c| assignments(c.code.as_str()))
        .collect();
    let defined = defined_names(ir, &assigned);
    let kind = |name: &str| classify(name, &defined);

    let mut commands = vec![];
    // (first place read, name) for the diagnostics, in source order.
    let mut secret_at: BTreeMap<String, Span> = BTreeMap::new();
    let mut missing_at: BTreeMap<String, Span> = BTreeMap::new();
    let mut note = |name: &str, span: Span, kind: Kind| {
        let map = match kind {
            Kind::Secret => &mut secret_at,
            Kind::NoEquivalent => &mut missing_at,
            _ => return,
        };
        let at = map.entry(name.to_string()).or_insert(span);
        if span.start < at.start {
            *at = span;
        }
    };
    // What each machine.environment value reads (noted, and kept for the commands): its names,
    // each with the entry it refers to (file order: an entry sees only those above it, and the
    // variables of the environment).
    // Expanded per command by a walk that visits each entry once, rather than a list of
    // everything each entry reads transitively, which a chain of n entries made O(n^2) in
    // memory and O(n^3) in time (4,000 chained variables: 129 s, 450 MB).
    let mut latest: HashMap<&str, usize> = HashMap::new();
    let mut env_refs: Vec<Vec<(String, Option<usize>)>> = Vec::with_capacity(ir.environment.len());
    let mut environment_circle = vec![];
    for (i, e) in ir.environment.iter().enumerate() {
        let mut refs = vec![];
        for name in references(&e.value) {
            let k = kind(&name);
            note(&name, e.span, k);
            if k == Kind::Circle {
                environment_circle.push(name.clone());
            }
            let entry = latest.get(name.as_str()).copied();
            refs.push((name, entry));
        }
        env_refs.push(refs);
        latest.insert(e.name.as_str(), i);
    }
    for (c, assigned) in ir.commands().zip(assigned) {
        let mut direct = references(c.code.as_str());
        for e in &c.modifiers.environment {
            direct.extend(references(&e.value));
        }
        if let Some(p) = &c.modifiers.pwd {
            direct.extend(references(p));
        }
        let own: HashSet<&str> = c
            .modifiers
            .environment
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        let mut reads = Reads::default();
        let mut visited = HashSet::new();
        for name in direct {
            // A name the command's own `environment` sets is not machine.environment's.
            if !own.contains(name.as_str()) {
                if let Some(&entry) = latest.get(name.as_str()) {
                    reads.expand(entry, &env_refs, &mut visited);
                }
            }
            reads.push(name);
        }
        let reads = reads.names;
        for name in &reads {
            note(name, c.span, kind(name));
        }
        let mut defines = Reads::default();
        for e in &c.modifiers.environment {
            defines.push(e.name.clone());
        }
        for n in assigned {
            defines.push(n);
        }
        let defines = defines.names;
        commands.push(CommandVars {
            id: c.id,
            circle: reads
                .iter()
                .filter(|n| kind(n) == Kind::Circle)
                .cloned()
                .collect(),
            secrets: reads
                .iter()
                .filter(|n| kind(n) == Kind::Secret)
                .cloned()
                .collect(),
            reads,
            defines,
        });
    }

    let secrets: Vec<Secret> = secret_at
        .iter()
        .map(|(name, span)| Secret {
            name: name.clone(),
            stored_as: if name.starts_with("GITHUB_") {
                format!("{RENAMED_SECRET_PREFIX}{name}")
            } else {
                name.clone()
            },
            span: *span,
        })
        .collect();
    diagnostics(&secrets, &missing_at, diags);
    ir.vars = Variables {
        commands,
        secrets,
        no_equivalent: missing_at.into_keys().collect(),
        environment_circle: unique(environment_circle),
    };
}

/// How `name` is provided, given the names the config defines.
pub fn classify(name: &str, defined: &HashSet<String>) -> Kind {
    if defined.contains(name) {
        Kind::Config
    } else if CIRCLE_PROVIDED.contains(&name) {
        Kind::Circle
    } else if NO_EQUIVALENT.contains(&name) {
        Kind::NoEquivalent
    } else if SYSTEM.contains(&name)
        || SYSTEM_PREFIXES.iter().any(|p| name.starts_with(p))
        || GITHUB_DEFAULT.contains(&name)
    {
        Kind::System
    } else {
        Kind::Secret
    }
}

fn diagnostics(secrets: &[Secret], missing: &BTreeMap<String, Span>, diags: &mut Diagnostics) {
    if let Some(first) = secrets.iter().min_by_key(|s| s.span.start) {
        let names: Vec<&str> = secrets.iter().map(|s| s.stored_as.as_str()).collect();
        diags.push(
            Diagnostic::warning(
                Code::Secrets,
                first.span,
                format!(
                    "create {} GitHub secret{} before the workflow runs: {}",
                    names.len(),
                    if names.len() == 1 { "" } else { "s" },
                    list(names.iter().copied())
                ),
            )
            .with_label("read here, defined nowhere in the circle.yml")
            .with_help("CircleCI kept these in the project settings; add them under Settings → Secrets and variables → Actions (an absent secret reads as an empty string)"),
        );
    }
    for s in secrets.iter().filter(|s| s.stored_as != s.name) {
        diags.push(
            Diagnostic::warning(
                Code::Secrets,
                s.span,
                format!(
                    "GitHub refuses secret names that start with `GITHUB_`: create `{}` for `{}`; the workflow passes it to the commands as `{}`",
                    s.stored_as, s.name, s.name
                ),
            )
            .with_label(format!("`{}` is read here", s.name))
            .with_help("if the commands only talk to this repository, the workflow's own token (`secrets.GITHUB_TOKEN`) may do instead"),
        );
    }
    if let Some(span) = missing.values().min_by_key(|s| s.start) {
        let n = missing.len();
        diags.push(
            Diagnostic::warning(
                Code::NoEquivalent,
                *span,
                format!(
                    "{} {} no GitHub Actions equivalent; the workflow leaves {} unset",
                    list(missing.keys().map(String::as_str)),
                    if n == 1 { "has" } else { "have" },
                    if n == 1 { "it" } else { "them" },
                ),
            )
            .with_label("read here")
            .with_help("define a value under `machine.environment` if the build needs one"),
        );
    }
}

fn list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Names the config defines: `machine.environment`, command environments, services' client
/// variables, and variables its commands assign.
fn defined_names(ir: &Ir, assigned: &[Vec<String>]) -> HashSet<String> {
    let mut out: HashSet<String> = ir.environment.iter().map(|e| e.name.clone()).collect();
    for (c, names) in ir.commands().zip(assigned) {
        out.extend(c.modifiers.environment.iter().map(|e| e.name.clone()));
        out.extend(names.iter().cloned());
    }
    for s in &ir.services {
        if let Some(c) = &s.container {
            out.extend(c.client_env.iter().map(|(k, _)| k.clone()));
        }
    }
    out
}

/// Names in the order first read, each once.
#[derive(Default)]
struct Reads {
    names: Vec<String>,
    seen: HashSet<String>,
}

impl Reads {
    fn push(&mut self, name: String) {
        if self.seen.insert(name.clone()) {
            self.names.push(name);
        }
    }

    /// What environment entry `start` reads, transitively: for each of its names, what the
    /// entry it refers to reads, then the name. Iterative (a chain may be long); each entry is
    /// walked once per command (`visited`), which yields the same order as walking it again.
    fn expand(
        &mut self,
        start: usize,
        refs: &[Vec<(String, Option<usize>)>],
        visited: &mut HashSet<usize>,
    ) {
        if !visited.insert(start) {
            return;
        }
        // (entry, index of its next name, whether that name's entry is already walked)
        let mut stack = vec![(start, 0, false)];
        while let Some((entry, k, walked)) = stack.pop() {
            let Some((name, target)) = refs[entry].get(k) else {
                continue;
            };
            if !walked {
                if let Some(t) = *target {
                    if visited.insert(t) {
                        stack.push((entry, k, true));
                        stack.push((t, 0, false));
                        continue;
                    }
                }
            }
            self.push(name.clone());
            stack.push((entry, k + 1, false));
        }
    }
}

/// Keeps the first of each name, in order: [`references`] and [`assignments`] collect every
/// name, then drop the repeats once (checking each push against the list was quadratic in a
/// long command).
fn unique(mut out: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::with_capacity(out.len());
    out.retain(|n| seen.insert(n.clone()));
    out
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn is_name(n: &str) -> bool {
    n.chars().next().is_some_and(is_name_start) && n.chars().all(is_name_char)
}

/// Upper-case variables a shell text expands (`$NAME`, `${NAME}`), outside single quotes and
/// comments, in order of first appearance. `${NAME:-default}` and friends are skipped: the text
/// works without them.
pub fn references(text: &str) -> Vec<String> {
    // Bytes, not chars: every character the scan acts on is ASCII, and a byte of a multi-byte
    // character is none of them (no copy of the text as a `Vec<char>` for every command).
    let b = text.as_bytes();
    let name_char = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut out = vec![];
    let (mut single, mut double) = (false, false);
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if single {
            if c == b'\'' {
                single = false;
            }
            i += 1;
            continue;
        }
        match c {
            b'\\' => i += 2,
            b'\'' if !double => {
                single = true;
                i += 1;
            }
            b'"' => {
                double = !double;
                i += 1;
            }
            b'#' if !double
                && text[..i]
                    .chars()
                    .next_back()
                    .is_none_or(char::is_whitespace) =>
            {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'$' => {
                i += 1;
                match b.get(i) {
                    Some(b'$') => i += 1,
                    Some(b'{') => {
                        let mut j = i + 1;
                        while j < b.len() && matches!(b[j], b'!' | b'#') {
                            j += 1;
                        }
                        let start = j;
                        while j < b.len() && name_char(b[j]) {
                            j += 1;
                        }
                        let defaulted = matches!(b.get(j), Some(b':' | b'-' | b'=' | b'+'));
                        if !defaulted {
                            push_upper(&mut out, &text[start..j]);
                        }
                        i = j;
                    }
                    Some(&n) if n.is_ascii_alphabetic() || n == b'_' => {
                        let start = i;
                        while i < b.len() && name_char(b[i]) {
                            i += 1;
                        }
                        push_upper(&mut out, &text[start..i]);
                    }
                    _ => {}
                }
            }
            _ => i += 1,
        }
    }
    unique(out)
}

fn push_upper(out: &mut Vec<String>, name: &str) {
    let upper = name.chars().next().is_some_and(is_name_start)
        && name.chars().any(|c| c.is_ascii_uppercase())
        && !name.chars().any(|c| c.is_ascii_lowercase());
    if upper {
        out.push(name.to_string());
    }
}

/// Names a shell text assigns: `NAME=…` before a command, `export`/`declare`/… `NAME`,
/// `for NAME in`, `read … NAME`. Uses the quote-aware scanner; where it refuses the text
/// (heredocs), a plain word split of each line.
pub fn assignments(text: &str) -> Vec<String> {
    let mut out = vec![];
    match shell::simple_commands(text) {
        Some(commands) => {
            for c in commands {
                let words: Vec<&str> = c.words.iter().map(|w| w.raw).collect();
                assignments_in(&words, &mut out);
            }
        }
        None => {
            for command in text.split(|c: char| "\n;&|()".contains(c)) {
                let words: Vec<&str> = command.split_whitespace().collect();
                assignments_in(&words, &mut out);
            }
        }
    }
    unique(out)
}

fn assignments_in(words: &[&str], out: &mut Vec<String>) {
    let mut i = 0;
    // Leading `NAME=value` words (for this command, or for the shell when alone).
    while let Some((name, _)) = words.get(i).and_then(|w| w.split_once('=')) {
        if !is_name(name) {
            break;
        }
        out.push(name.to_string());
        i += 1;
    }
    let Some(&cmd) = words.get(i) else { return };
    let args = &words[i + 1..];
    match cmd {
        "for" | "select" => {
            if let Some(n) = args.first().filter(|n| is_name(n)) {
                out.push(n.to_string());
            }
        }
        "read" => {
            let mut skip_value = false;
            for a in args {
                if skip_value {
                    skip_value = false;
                } else if let Some(opt) = a.strip_prefix('-') {
                    // Options taking a value: -a -d -i -n -N -p -t -u.
                    skip_value = opt.len() == 1 && "adinNptu".contains(opt);
                } else if is_name(a) {
                    out.push(a.to_string());
                }
            }
        }
        "export" | "local" | "declare" | "readonly" | "typeset" => {
            for a in args.iter().filter(|a| !a.starts_with('-')) {
                let name = a.split_once('=').map_or(*a, |(n, _)| n);
                if is_name(name) {
                    out.push(name.to_string());
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Diagnostic;

    #[test]
    fn references_skip_quotes_comments_and_defaults() {
        let text = "docker login -e $DOCKER_EMAIL -p \"${DOCKER_PASS}\" # $IN_COMMENT\n\
                    awk '{print $NF}' $$ ${OPTIONAL:-x} $lower ${#ARR} \\$ESCAPED";
        assert_eq!(references(text), ["DOCKER_EMAIL", "DOCKER_PASS", "ARR"]);
    }

    #[test]
    fn assignments_are_found() {
        let got = assignments(
            "FOO=1 make; for X in a b; do echo $X; done\nread -r -p 'p' Y Z\nexport W=1 V\necho 'A=1'",
        );
        assert_eq!(got, ["FOO", "X", "Y", "Z", "W", "V"]);
        // A heredoc: the scanner refuses, the line split still sees the assignment.
        assert_eq!(assignments("cat <<EOF\nx\nEOF\nQ=1 b"), ["Q"]);
    }

    fn lowered(text: &str) -> (Ir, Vec<Diagnostic>) {
        let source = crate::Source::new("circle.yml", text.to_string());
        match crate::lower(&source, &crate::Options::default()) {
            Ok((ir, d)) => (ir, d.sorted()),
            Err(d) => panic!("{:?}", d.sorted()),
        }
    }

    #[test]
    fn reads_defines_and_secrets_per_command() {
        let (ir, diags) = lowered(
            "machine:\n  environment:\n    AUTH: $API_KEY:x\n    URL: https://$AUTH@h\n\
             test:\n  override:\n    - curl \"$URL\" $ANDROID_NDK/x $HOME\n    - echo $CIRCLE_SHA1 $CIRCLE_BUILD_IMAGE\n\
             \x20   - OUT=1 make\n    - echo $GITHUB_TOKEN $GITHUB_SHA\n",
        );
        let c = |i: usize| &ir.vars.commands[i];
        // Through machine.environment, transitively: URL → AUTH → API_KEY.
        assert_eq!(
            c(0).reads,
            ["API_KEY", "AUTH", "URL", "ANDROID_NDK", "HOME"]
        );
        assert_eq!(c(0).secrets, ["API_KEY"]);
        assert_eq!(c(1).circle, ["CIRCLE_SHA1"]);
        assert!(c(1).secrets.is_empty());
        assert_eq!(c(2).defines, ["OUT"]);
        assert_eq!(c(3).secrets, ["GITHUB_TOKEN"]);
        assert_eq!(ir.vars.no_equivalent, ["CIRCLE_BUILD_IMAGE"]);
        let renamed = ir.vars.secret("GITHUB_TOKEN").unwrap();
        assert_eq!(renamed.stored_as, "CIRCLE_GITHUB_TOKEN");
        let codes: Vec<Code> = diags.iter().map(|d| d.code).collect();
        assert_eq!(
            codes.iter().filter(|c| **c == Code::Secrets).count(),
            2,
            "{diags:#?}"
        );
        assert!(codes.contains(&Code::NoEquivalent));
        // The list names what to create, the rename is its own warning.
        assert!(diags
            .iter()
            .any(|d| d.message.contains("`API_KEY`, `CIRCLE_GITHUB_TOKEN`")));
        assert!(diags
            .iter()
            .any(|d| d.message.contains("refuses secret names")));
    }

    #[test]
    fn circle_variables_of_the_environment_are_listed_once() {
        let (ir, _) = lowered(
            "machine:\n  environment:\n    A: x:$CIRCLE_BRANCH\n    B: y:$CIRCLE_BRANCH:$CIRCLE_SHA1\n\
             test:\n  override:\n    - echo $A $B\n",
        );
        assert_eq!(ir.vars.environment_circle, ["CIRCLE_BRANCH", "CIRCLE_SHA1"]);
    }

    #[test]
    fn classification() {
        let defined: HashSet<String> = ["MINE".to_string()].into_iter().collect();
        assert_eq!(classify("MINE", &defined), Kind::Config);
        assert_eq!(classify("CIRCLE_SHA1", &defined), Kind::Circle);
        assert_eq!(classify("CIRCLE_BUILD_IMAGE", &defined), Kind::NoEquivalent);
        for n in [
            "HOME",
            "PATH",
            "ANDROID_NDK",
            "GITHUB_SHA",
            "JAVA_HOME_17_X64",
        ] {
            assert_eq!(classify(n, &defined), Kind::System, "{n}");
        }
        assert_eq!(classify("GITHUB_TOKEN", &defined), Kind::Secret);
        assert_eq!(classify("DOCKER_PASS", &defined), Kind::Secret);
    }
}
