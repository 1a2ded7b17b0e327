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
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable kebab-case code, one of [`CODES`].
    pub code: &'static str,
    pub span: Option<Span>,
    pub message: String,
    /// Short text shown under the caret.
    pub label: Option<String>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(
        code: &'static str,
        span: impl Into<Option<Span>>,
        message: impl Into<String>,
    ) -> Self {
        Self::new(Severity::Error, code, span.into(), message.into())
    }

    pub fn warning(
        code: &'static str,
        span: impl Into<Option<Span>>,
        message: impl Into<String>,
    ) -> Self {
        Self::new(Severity::Warning, code, span.into(), message.into())
    }

    pub fn note(
        code: &'static str,
        span: impl Into<Option<Span>>,
        message: impl Into<String>,
    ) -> Self {
        Self::new(Severity::Note, code, span.into(), message.into())
    }

    fn new(severity: Severity, code: &'static str, span: Option<Span>, message: String) -> Self {
        debug_assert!(
            CODES.iter().any(|(c, _)| *c == code),
            "unlisted code {code}"
        );
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
        let mut v = self.items.clone();
        v.sort_by_key(|d| (d.span.map_or(usize::MAX, |s| s.start), d.severity));
        v.dedup();
        v
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }
}

/// Every diagnostic code yml2sh emits, with a one-line meaning (`yml2sh --explain`-style docs).
pub const CODES: &[(&str, &str)] = &[
    ("io", "the input could not be read"),
    ("not-utf8", "the input is not UTF-8 text"),
    ("too-large", "the input is larger than yml2sh accepts"),
    ("yaml-syntax", "the input is not valid YAML"),
    ("yaml-too-deep", "the YAML nests deeper than yml2sh accepts"),
    (
        "yaml-alias-bomb",
        "YAML aliases expand to more nodes than yml2sh accepts",
    ),
    (
        "yaml-unknown-anchor",
        "an alias names an anchor that was never defined",
    ),
    (
        "multiple-documents",
        "the file holds more than one YAML document",
    ),
    ("empty-file", "the file holds no configuration"),
    ("expected-map", "a mapping was expected here"),
    ("expected-list", "a list was expected here"),
    ("expected-string", "a string was expected here"),
    ("expected-bool", "a boolean was expected here"),
    (
        "string-as-list",
        "a string was given where CircleCI expects a list of commands",
    ),
    (
        "unknown-section",
        "a top-level key that is not a CircleCI 1.0 section",
    ),
    (
        "unknown-key",
        "a key that CircleCI 1.0 does not know in this place",
    ),
    (
        "unknown-modifier",
        "a command modifier that CircleCI 1.0 does not know",
    ),
    (
        "duplicate-key",
        "a key appears twice in one mapping; the last one wins",
    ),
    (
        "unsupported-override",
        "`override` in a section where CircleCI ignored it",
    ),
    (
        "unsupported-pre",
        "`pre` in a section where CircleCI ignored it",
    ),
    (
        "empty-override",
        "an empty `override` runs nothing and turns inference off",
    ),
    ("empty-command", "a command with no text"),
    (
        "command-map",
        "a command written as a map with more than one key, or a map with no command",
    ),
    (
        "bad-timeout",
        "a `timeout` that is not a positive whole number of seconds",
    ),
    (
        "parallel-in-deployment",
        "`parallel: true` on a deployment command",
    ),
    (
        "bad-env-name",
        "an environment variable name that is not a POSIX name",
    ),
    ("bad-regex", "a `/regex/` that cannot be compiled"),
    (
        "undocumented-section",
        "a section CircleCI ran but never documented",
    ),
    (
        "unsupported-machine-key",
        "a `machine` key CircleCI did not support",
    ),
    (
        "deployment-no-commands",
        "a deployment subsection that does nothing",
    ),
    (
        "deployment-swallowed-commands",
        "a `branch:` value that swallowed mis-indented commands",
    ),
    (
        "deployment-no-condition",
        "a deployment subsection with no `branch` or `tag`",
    ),
    (
        "deployment-overlap",
        "two deployment subsections can match the same build; only the first runs",
    ),
    (
        "phase-under-machine",
        "a phase nested under `machine:` by mistake",
    ),
    (
        "inferred-commands",
        "CircleCI would have inferred commands here",
    ),
    (
        "bad-hosts",
        "a `machine.hosts` entry that is not a hostname and an address",
    ),
    ("no-tests", "the build runs no test command"),
    (
        "circleci-paths",
        "a path that only existed on CircleCI 1.0's machine (`/home/ubuntu/<repo>`)",
    ),
    (
        "unknown-service",
        "a `machine.services` name that no container stands in for",
    ),
    (
        "docker-login-email",
        "`docker login -e/--email`, removed from Docker, was rewritten",
    ),
    (
        "docker-lxc-attach",
        "the `lxc-attach` workaround for 1.0's missing `docker exec` was rewritten",
    ),
    (
        "docker0-bridge",
        "a `docker0` address lookup in `--add-host` was rewritten to `host-gateway`",
    ),
    (
        "unsupported-language",
        "a `machine.<language>` version the GitHub setup action cannot provide",
    ),
    (
        "no-equivalent",
        "CircleCI variables the config reads that GitHub Actions has no equivalent for",
    ),
    (
        "secrets",
        "variables the config reads but never defines: GitHub secrets to create",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_kebab_case() {
        let mut seen = std::collections::HashSet::new();
        for (code, meaning) in CODES {
            assert!(seen.insert(code), "duplicate code {code}");
            assert!(code
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '-' || c.is_ascii_digit()));
            assert!(!meaning.ends_with('.'));
        }
    }

    #[test]
    fn sorted_puts_errors_first_at_a_place() {
        let mut ds = Diagnostics::default();
        ds.push(Diagnostic::warning("unknown-key", Span::new(5, 6), "w"));
        ds.push(Diagnostic::error("bad-timeout", Span::new(5, 6), "e"));
        ds.push(Diagnostic::warning("no-tests", None, "n"));
        ds.push(Diagnostic::warning("unknown-key", Span::new(1, 2), "first"));
        let codes: Vec<_> = ds.sorted().iter().map(|d| d.message.clone()).collect();
        assert_eq!(codes, ["first", "e", "w", "n"]);
    }
}
