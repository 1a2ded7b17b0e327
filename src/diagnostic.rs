//! Diagnostics as data: collected by every stage, sorted by position, rendered at the end.

use crate::source::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// One finding about the input, located when it can be.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// What kind of finding it is; serializes as its kebab-case name.
    pub code: Code,
    pub span: Option<Span>,
    pub message: String,
    /// Short text shown under the caret.
    pub label: Option<String>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: Code, span: impl Into<Option<Span>>, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, code, span.into(), message.into())
    }

    pub fn warning(code: Code, span: impl Into<Option<Span>>, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, code, span.into(), message.into())
    }

    pub fn note(code: Code, span: impl Into<Option<Span>>, message: impl Into<String>) -> Self {
        Self::new(Severity::Note, code, span.into(), message.into())
    }

    fn new(severity: Severity, code: Code, span: Option<Span>, message: String) -> Self {
        Diagnostic {
            severity,
            code,
            span,
            message,
            label: None,
            help: None,
        }
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Diagnostics collected across the stages of one compilation.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    /// In source order (unlocated last), errors before warnings at the same place; stable.
    pub fn sorted(&self) -> Vec<Diagnostic> {
        self.clone().into_sorted()
    }

    /// [`Diagnostics::sorted`] without a copy of every diagnostic.
    pub fn into_sorted(self) -> Vec<Diagnostic> {
        let mut v = self.items;
        v.sort_by_key(|d| (d.span.map_or(usize::MAX, |s| s.start), d.severity));
        v.dedup();
        v
    }

    /// Drops repeats (the same finding from two back-ends), keeping the first.
    pub fn dedup(&mut self) {
        use std::hash::BuildHasher;
        // Hashes, not a list: 100,000 warnings compared pairwise took minutes; and not a set of
        // copies, which held every diagnostic twice. Equal hashes are compared in full.
        let hasher = foldhash::fast::RandomState::default();
        let mut seen: foldhash::HashMap<u64, Vec<usize>> =
            foldhash::HashMapExt::with_capacity(self.items.len());
        let mut keep = vec![true; self.items.len()];
        for (i, d) in self.items.iter().enumerate() {
            let same = seen.entry(hasher.hash_one(d)).or_default();
            if same.iter().any(|&j| self.items[j] == *d) {
                keep[i] = false;
            } else {
                same.push(i);
            }
        }
        let mut keep = keep.into_iter();
        self.items.retain(|_| keep.next().unwrap_or(true));
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    /// Keeps the diagnostics `keep` accepts.
    pub fn retain(&mut self, keep: impl FnMut(&Diagnostic) -> bool) {
        self.items.retain(keep);
    }
}

/// Defines [`Code`]: each variant with its stable kebab-case name, its one-line meaning and a
/// general help. A typo in a code is a compile error; a new code is a new line here.
macro_rules! codes {
    ($($variant:ident = $name:literal, $meaning:literal, $help:literal;)*) => {
        /// Every diagnostic code yml2sh emits.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $(#[doc = $meaning] $variant,)*
        }

        impl Code {
            /// Every code, in definition order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The stable kebab-case name (`unknown-key`), as JSON and `--explain` show it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $name,)*
                }
            }

            /// One line on what the code means.
            pub fn meaning(self) -> &'static str {
                match self {
                    $(Code::$variant => $meaning,)*
                }
            }

            /// One line on what to do about it in general (a diagnostic may say more).
            pub fn help(self) -> &'static str {
                match self {
                    $(Code::$variant => $help,)*
                }
            }

            /// The code of a kebab-case name.
            pub fn from_name(name: &str) -> Option<Code> {
                Code::ALL.iter().copied().find(|c| c.as_str() == name)
            }
        }
    };
}

codes! {
    Io = "io",
        "the input could not be read",
        "check the path and its permissions";
    NotUtf8 = "not-utf8",
        "the input is not UTF-8 text",
        "save the file as UTF-8";
    TooLarge = "too-large",
        "the input is larger than yml2sh accepts",
        "a circle.yml is a few kilobytes; split or trim the file";
    YamlSyntax = "yaml-syntax",
        "the input is not valid YAML",
        "fix the YAML at the place shown";
    YamlTooDeep = "yaml-too-deep",
        "the YAML nests deeper than yml2sh accepts",
        "flatten the nesting; no CircleCI setting nests this deep";
    YamlAliasBomb = "yaml-alias-bomb",
        "YAML aliases expand to more nodes than yml2sh accepts",
        "write the repeated parts out, or alias smaller pieces";
    YamlUnknownAnchor = "yaml-unknown-anchor",
        "an alias names an anchor that was never defined",
        "define the anchor (`&name`) before the alias (`*name`)";
    MultipleDocuments = "multiple-documents",
        "the file holds more than one YAML document",
        "keep one document per file; remove the `---` separator";
    EmptyFile = "empty-file",
        "the file holds no configuration",
        "write at least one section, e.g. `test: {override: [make test]}`";
    ExpectedMap = "expected-map",
        "a mapping was expected here",
        "write `key: value` pairs, indented under this key";
    ExpectedList = "expected-list",
        "a list was expected here",
        "write a list, one `- item` per line";
    ExpectedString = "expected-string",
        "a string was expected here",
        "quote the value to make it a string";
    ExpectedBool = "expected-bool",
        "a boolean was expected here",
        "write `true` or `false`";
    StringAsList = "string-as-list",
        "a string was given where CircleCI expects a list of commands",
        "write the command as a one-item list: `- command`";
    UnknownSection = "unknown-section",
        "a top-level key that is not a CircleCI 1.0 section",
        "CircleCI 1.0 sections are machine, checkout, dependencies, database, compile, test, deployment, general, experimental";
    UnknownKey = "unknown-key",
        "a key that CircleCI 1.0 does not know in this place",
        "check the spelling against the CircleCI 1.0 documentation of this section";
    UnknownModifier = "unknown-modifier",
        "a command modifier that CircleCI 1.0 does not know",
        "CircleCI 1.0 modifiers are timeout, pwd, environment, parallel, files, background";
    DuplicateKey = "duplicate-key",
        "a key appears twice in one mapping; the last one wins",
        "remove one of the two keys";
    UnsupportedOverride = "unsupported-override",
        "`override` in a section where CircleCI ignored it",
        "move the commands to `pre` or `post`";
    UnsupportedPre = "unsupported-pre",
        "`pre` in a section where CircleCI ignored it",
        "move the commands to `override` or `post`";
    EmptyOverride = "empty-override",
        "an empty `override` runs nothing and turns inference off",
        "remove `override: []` to keep inference, or add commands";
    EmptyCommand = "empty-command",
        "a command with no text",
        "remove the empty list item or write the command";
    CommandMap = "command-map",
        "a command written as a map with more than one key, or a map with no command",
        "write `- command: {modifier: value}` with one command as the key";
    BadTimeout = "bad-timeout",
        "a `timeout` that is not a positive whole number of seconds",
        "write the timeout in whole seconds, e.g. `timeout: 600`";
    TimeoutTooLarge = "timeout-too-large",
        "a `timeout` longer than a day, which a local build cannot honour",
        "write a timeout of at most 86400 seconds";
    PathOutside = "path-outside",
        "a path that climbs out of the place it belongs to (the build directory, the checkout, the home directory)",
        "remove the `..` that climbs out, or write the absolute path you mean";
    ControlCharacter = "control-character",
        "a NUL anywhere, or a control character but newline and tab in circle.yml data, which bash cannot carry or a terminal would obey",
        "remove the character, or write it as an escape the command itself interprets (`printf '\\033'`)";
    ParallelInDeployment = "parallel-in-deployment",
        "`parallel: true` on a deployment command",
        "remove `parallel: true`; deployments run on one node";
    BadEnvName = "bad-env-name",
        "an environment variable name that is not a POSIX name",
        "use letters, digits and `_`, not starting with a digit";
    BadRegex = "bad-regex",
        "a `/regex/` that cannot be compiled",
        "fix the regular expression between the slashes";
    UndocumentedSection = "undocumented-section",
        "a section CircleCI ran but never documented",
        "move its commands to a documented section";
    UnsupportedMachineKey = "unsupported-machine-key",
        "a `machine` key CircleCI did not support",
        "remove the key; CircleCI 1.0 ignored it";
    DeploymentNoCommands = "deployment-no-commands",
        "a deployment subsection that does nothing",
        "add `commands:` or remove the subsection";
    DeploymentSwallowedCommands = "deployment-swallowed-commands",
        "a `branch:` value that swallowed mis-indented commands",
        "indent `commands:` at the level of `branch:`, not under it";
    DeploymentNoCondition = "deployment-no-condition",
        "a deployment subsection with no `branch` or `tag`",
        "add `branch:` or `tag:` to say when it deploys";
    DeploymentOverlap = "deployment-overlap",
        "two deployment subsections can match the same build; only the first runs",
        "make the branch patterns disjoint, or merge the subsections";
    PhaseUnderMachine = "phase-under-machine",
        "a phase nested under `machine:` by mistake",
        "move the phase to the top level";
    InferredCommands = "inferred-commands",
        "CircleCI would have inferred commands here that yml2sh does not run",
        "run yml2sh inside the checkout (or pass --project-dir), or write the commands out, or `override: []` to run none";
    Inference = "inference",
        "what inference found in the project and how many commands it added",
        "read them with `-f ir`; --no-infer turns inference off";
    InferredTests = "inferred-tests",
        "the test commands inference runs",
        "write `test.override` to run others";
    DefaultService = "default-service",
        "a database CircleCI 1.0 ran without being listed, started because the config uses it",
        "list it under `machine.services` to say so";
    BadHosts = "bad-hosts",
        "a `machine.hosts` entry that is not a hostname and an address",
        "write `hostname: address`";
    NoTests = "no-tests",
        "the build runs no test command",
        "add `test: {override: [...]}`";
    CircleciPaths = "circleci-paths",
        "a path that only existed on CircleCI 1.0's machine (`/home/ubuntu/<repo>`)",
        "use `$HOME/$CIRCLE_PROJECT_REPONAME` or a relative path";
    UnknownService = "unknown-service",
        "a `machine.services` name that no container stands in for",
        "start the service in a command, or remove it";
    DockerLoginEmail = "docker-login-email",
        "`docker login -e/--email`, removed from Docker, was rewritten",
        "drop `-e`/`--email` from the command";
    DockerLxcAttach = "docker-lxc-attach",
        "the `lxc-attach` workaround for 1.0's missing `docker exec` was rewritten",
        "use `docker exec`";
    Docker0Bridge = "docker0-bridge",
        "a `docker0` address lookup in `--add-host` was rewritten to `host-gateway`",
        "use `--add-host=NAME:host-gateway`";
    UnsupportedLanguage = "unsupported-language",
        "a `machine.<language>` version the GitHub setup action cannot provide",
        "pin a version the setup action provides";
    NoEquivalent = "no-equivalent",
        "CircleCI variables the config reads that GitHub Actions has no equivalent for",
        "set the variables in the workflow's `env:`";
    Shellcheck = "shellcheck",
        "a finding of shellcheck on a command (`yml2sh check --shellcheck`)",
        "follow the link to shellcheck's wiki; the command ran as written on CircleCI";
    HostChange = "host-change",
        "a command that changes the machine it runs on (sudo, packages, /etc, ~/.circlerc)",
        "CircleCI ran builds in a throwaway container; run build.sh in a container or VM to keep this machine as it is";
    Secrets = "secrets",
        "variables the config reads but never defines: GitHub secrets to create",
        "create the secrets in the repository's settings";
    UntestedDeploy = "untested-deploy",
        "the workflow would deploy with no test command gating it",
        "add test commands, or pass `--allow-untested-deploy` to deploy untested";
    WorkflowDifference = "workflow-difference",
        "something CircleCI 1.0 did that the GitHub workflow does differently",
        "read the README's list of what differs from 1.0, and check the build on GitHub";
}

impl Code {
    /// Findings about the GitHub workflow only (secrets to create, runner languages, what GitHub
    /// does differently). Lowering decides them once, so `check` and the workflow see them; a
    /// build.sh or Makefile user is not told to create GitHub secrets.
    pub fn only_github(self) -> bool {
        matches!(
            self,
            Code::Secrets
                | Code::NoEquivalent
                | Code::UnsupportedLanguage
                | Code::UntestedDeploy
                | Code::WorkflowDifference
        )
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_kebab_case() {
        let mut seen = std::collections::HashSet::new();
        for &code in Code::ALL {
            let name = code.as_str();
            assert!(seen.insert(name), "duplicate code {name}");
            assert!(name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '-' || c.is_ascii_digit()));
            assert!(!name.starts_with('-') && !name.ends_with('-') && !name.contains("--"));
            assert_eq!(Code::from_name(name), Some(code));
            for text in [code.meaning(), code.help()] {
                assert!(!text.is_empty() && !text.ends_with('.'), "{name}: {text:?}");
            }
            assert_eq!(serde_json::to_string(&code).unwrap(), format!("\"{name}\""));
        }
    }

    #[test]
    fn sorted_puts_errors_first_at_a_place() {
        let mut ds = Diagnostics::default();
        ds.push(Diagnostic::warning(Code::UnknownKey, Span::new(5, 6), "w"));
        ds.push(Diagnostic::error(Code::BadTimeout, Span::new(5, 6), "e"));
        ds.push(Diagnostic::warning(Code::NoTests, None, "n"));
        ds.push(Diagnostic::warning(
            Code::UnknownKey,
            Span::new(1, 2),
            "first",
        ));
        let codes: Vec<_> = ds.sorted().iter().map(|d| d.message.clone()).collect();
        assert_eq!(codes, ["first", "e", "w", "n"]);
    }
}
