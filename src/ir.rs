//! IR stage data: the build as CircleCI 1.0 ran it — phases in run order, their steps,
//! deployment conditions and the ordered environment. Target-independent; `Display` is `--format ir`.

use std::fmt;

use crate::source::Span;

/// User command text: emitted as code, verbatim. Everything else in the IR is data.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct ShellCode(pub String);

impl ShellCode {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first non-empty line, for titles and step names.
    pub fn title(&self) -> &str {
        self.0
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PhaseKind {
    Machine,
    Checkout,
    Dependencies,
    Database,
    Compile,
    Test,
    Deployment,
    Teardown,
}

impl PhaseKind {
    /// Run order of the phases that `Ir::phases` holds (deployment is held apart: it is conditional).
    pub const BUILD: [PhaseKind; 6] = [
        PhaseKind::Machine,
        PhaseKind::Checkout,
        PhaseKind::Dependencies,
        PhaseKind::Database,
        PhaseKind::Compile,
        PhaseKind::Test,
    ];

    pub fn name(self) -> &'static str {
        match self {
            PhaseKind::Machine => "machine",
            PhaseKind::Checkout => "checkout",
            PhaseKind::Dependencies => "dependencies",
            PhaseKind::Database => "database",
            PhaseKind::Compile => "compile",
            PhaseKind::Test => "test",
            PhaseKind::Deployment => "deployment",
            PhaseKind::Teardown => "teardown",
        }
    }

    /// Spec §5.1: setup phases stop at the first failure; test and teardown run every command.
    pub fn on_failure(self) -> OnFailure {
        match self {
            PhaseKind::Test | PhaseKind::Teardown => OnFailure::Continue,
            _ => OnFailure::Stop,
        }
    }

    /// Spec §6.2: `parallel` defaults to true everywhere but the test phase (and deployment,
    /// which always runs on node 0 only, like yml2sh's reading of the undocumented teardown).
    pub fn parallel_default(self) -> bool {
        !matches!(
            self,
            PhaseKind::Test | PhaseKind::Deployment | PhaseKind::Teardown
        )
    }

    /// Spec §6.3: machine commands start in `$HOME`, all others in the build directory.
    pub fn default_dir(self) -> WorkDir {
        match self {
            PhaseKind::Machine => WorkDir::Home,
            _ => WorkDir::Build,
        }
    }
}

impl fmt::Display for PhaseKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    /// The phase stops and the build fails (setup phases, deployment).
    Stop,
    /// Later commands still run; the build fails at the end (test, teardown).
    Continue,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkDir {
    Home,
    Build,
}

/// Which list of the circle.yml a command came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Section {
    Pre,
    Override,
    Post,
    Commands,
    /// Written by yml2sh on CircleCI's behalf (e.g. the `heroku:` push).
    Generated,
    /// What CircleCI 1.0 inferred from the project's files where a phase has no `override`
    /// (spec §4.2, §9); `Command::inferred_from` names the file.
    Inferred,
}

impl Section {
    pub fn name(self) -> &'static str {
        match self {
            Section::Pre => "pre",
            Section::Override => "override",
            Section::Post => "post",
            Section::Commands => "commands",
            Section::Generated => "generated",
            Section::Inferred => "inferred",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct EnvVar {
    pub name: String,
    /// Raw text; CircleCI shell-expanded it (`$VAR`, `$(cmd)`) when exporting.
    pub value: String,
    #[serde(skip)]
    pub span: Span,
    /// Exported by CircleCI's inference, not written in the circle.yml: the file that caused it
    /// (e.g. `Gemfile`). Such variables come before `machine.environment`, which wins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inferred_from: Option<String>,
}

/// Spec §6.2, with the phase defaults already applied.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Modifiers {
    /// No-output timeout in seconds.
    pub timeout: u64,
    /// Working directory; relative values are relative to the build directory.
    pub pwd: Option<String>,
    /// `pwd` is literal, relative and climbs out of the checkout (lower/paths.rs): every
    /// back-end refuses to run the command there, as the runtime does for one that only
    /// turns out so once its `$VAR`s are expanded.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub pwd_outside: bool,
    pub environment: Vec<EnvVar>,
    /// Runs on every node (true) or on node 0 only (false).
    pub parallel: bool,
    /// Globs whose matches are split across nodes and appended to the command.
    pub files: Vec<String>,
    pub background: bool,
}

pub const DEFAULT_TIMEOUT: u64 = 600;

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Command {
    /// Unique in the IR, in run order; back-ends name things after it.
    pub id: usize,
    pub phase: PhaseKind,
    pub section: Section,
    pub code: ShellCode,
    /// 1-based line of the command in the circle.yml (0 for generated commands).
    pub line: usize,
    #[serde(skip)]
    pub span: Span,
    pub modifiers: Modifiers,
    /// Set by a rewrite pass: the command as the user wrote it, when `code` differs.
    pub original: Option<ShellCode>,
    /// For `Section::Inferred` commands: the file (and what in it) that made CircleCI 1.0 run
    /// this, e.g. `package.json (scripts.test)`. Back-ends say it beside the command.
    pub inferred_from: Option<String>,
}

/// A step of a phase: a user command or something CircleCI did itself at that point.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Step {
    Run(Command),
    /// No `override`, and CircleCI would have inferred commands here that yml2sh could not
    /// (no project to look at, `--no-infer`, or a stack it cannot infer for; spec §4.2, §9).
    /// Where inference worked, its commands are ordinary `Run` steps of `Section::Inferred`.
    Inferred,
    /// `machine.environment` is exported from here on (not visible to `machine.pre`).
    ExportEnv,
    /// `machine.timezone`, `hosts`, language versions and services (spec §4.1 row 10).
    Timezone {
        zone: String,
    },
    Hosts,
    Language {
        name: String,
        version: String,
    },
    StartServices,
    /// The clone itself; the build already runs inside a checkout.
    Checkout,
    RestoreCache,
    SaveCache,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Phase {
    pub kind: PhaseKind,
    pub on_failure: OnFailure,
    pub steps: Vec<Step>,
}

impl Phase {
    pub fn commands(&self) -> impl Iterator<Item = &Command> {
        self.steps.iter().filter_map(|s| match s {
            Step::Run(c) => Some(c),
            _ => None,
        })
    }
}

/// A branch or tag pattern: a plain name, or `/regex/` matched against the whole name.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Pattern {
    Exact {
        name: String,
    },
    Regex {
        /// As written between the slashes (Java syntax).
        source: String,
        /// The same language as a POSIX ERE, anchored (`^(…)$`), for bash's `[[ =~ ]]`.
        ere: String,
    },
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pattern::Exact { name } => write!(f, "{name:?}"),
            Pattern::Regex { source, .. } => write!(f, "/{source}/"),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct BranchFilter {
    /// Build only branches matching one of these (empty: no safelist).
    pub only: Vec<Pattern>,
    /// Never build branches matching one of these.
    pub ignore: Vec<Pattern>,
}

impl BranchFilter {
    pub fn is_empty(&self) -> bool {
        self.only.is_empty() && self.ignore.is_empty()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Deployment {
    pub name: String,
    pub line: usize,
    #[serde(skip)]
    pub span: Span,
    /// Matches a branch build whose branch matches one of these.
    pub branch: Vec<Pattern>,
    /// Matches a tag build whose tag matches one of these.
    pub tag: Vec<Pattern>,
    /// And only when the project owner is this, compared ignoring ASCII case (GitHub logins
    /// ignore case; every back-end compares so).
    pub owner: Option<String>,
    /// `commands`, then the `heroku:` push, if any.
    pub commands: Vec<Command>,
    pub heroku_app: Option<String>,
    /// Where the config asked for CircleCI's built-in `codedeploy:`, which no back-end runs
    /// (lowering says so there with a `deployment-no-commands` warning).
    #[serde(skip)]
    pub codedeploy: Option<Span>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Host {
    pub name: String,
    pub address: String,
}

/// A `machine.services` entry and, once the services pass ran, the container standing in for it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Service {
    pub name: String,
    #[serde(skip)]
    pub span: Span,
    /// 1-based line of the entry in `machine.services` (0 for a default service).
    pub line: usize,
    pub container: Option<Container>,
    /// Not listed: one of the databases CircleCI 1.0 ran by default (spec §8.1), started because
    /// the config uses it; says how (e.g. "`psql` in test.override, line 12").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_because: Option<String>,
}

/// How a back-end stands a service up (the services pass fills it; see `lower/services.rs`):
/// `docker run -d --name NAME -p 127.0.0.1:P:P -e K=V… IMAGE` (no command: GitHub `services:`
/// cannot give one), then `ready` until it succeeds or `ready_timeout` passes, then `init` inside
/// the container, then `client_env` exported to every later command; removed when the build ends.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Container {
    pub image: String,
    /// Published on 127.0.0.1 under the same number, where 1.0's clients looked for them; when
    /// `Ir::docker`, also on the docker bridge's gateway address (what `--add-host h:host-gateway`
    /// resolves to), as 1.0's daemons listened on docker0 for the build's own containers.
    pub ports: Vec<u16>,
    /// Variables given to the container (credentials that mimic CircleCI 1.0).
    pub env: Vec<(String, String)>,
    /// A shell command, run on the host, that succeeds once the service accepts connections:
    /// `docker exec NAME sh -c '<health>'`, so the host needs no client tools.
    pub ready: String,
    /// Variables exported to the build so clients find the service.
    pub client_env: Vec<(String, String)>,
    /// The container name (`yml2sh-<service>`), which `ready` uses; also a valid GitHub service id.
    pub name: String,
    /// The readiness probe itself, run *inside* the container by `sh -c` with the image's own
    /// tools (GitHub `--health-cmd`). Never holds `'`, `$`, `` ` `` or `\`: safe in single quotes.
    pub health: String,
    /// Seconds to keep retrying `ready` before failing the build.
    pub ready_timeout: u64,
    /// POSIX sh run inside the container once ready (`docker exec NAME sh -c '<init>'`): what the
    /// image's variables cannot do, e.g. mysql's passwordless `ubuntu` user. Arbitrary text: quote it.
    pub init: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Ir {
    pub source_name: String,
    /// `general.build_dir`, normalised, relative to the checkout; `None` when it is the checkout
    /// itself (lower/paths.rs `build_dir`).
    pub build_dir: Option<String>,
    /// `machine.environment` in file order.
    pub environment: Vec<EnvVar>,
    pub timezone: Option<String>,
    pub hosts: Vec<Host>,
    pub services: Vec<Service>,
    /// True when `machine.services` lists `docker`.
    pub docker: bool,
    /// machine … test, in run order.
    pub phases: Vec<Phase>,
    /// In file order; the first that matches runs, and no other.
    pub deployments: Vec<Deployment>,
    /// The undocumented `teardown.pre`: runs after everything, whatever the outcome.
    pub teardown: Vec<Command>,
    pub branches: BranchFilter,
    /// `dependencies.cache_directories`, then the directories inference cached (spec §9.1),
    /// normalised and each once (the paths pass).
    pub cache_directories: Vec<String>,
    /// Which of `cache_directories` only inference named: a missing one is no surprise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cache_inferred: Vec<String>,
    pub artifacts: Vec<String>,
    pub webhooks: Vec<String>,
    /// Where each `machine.<language>.version` was written, by language name, so a back-end
    /// that cannot provide a version can point at it.
    #[serde(skip)]
    pub language_spans: Vec<(String, Span)>,
    /// `machine.<language>` versions and what can install them (the languages pass).
    pub languages: Vec<Language>,
    /// True when the build needs macOS: `machine.xcode`, or a command that runs Xcode's tools.
    pub macos: bool,
    /// The ids of the deployment commands that run `git push` (they write to the repository).
    pub git_push_commands: Vec<usize>,
    /// Lock files of the project's dependency managers (relative to the checkout), where the
    /// project directory is known: what a dependency cache is keyed on.
    pub lockfiles: Vec<String>,
    /// Variables read and defined by each command, and the secrets (the vars pass).
    pub vars: Variables,
}

/// A `machine.<language>` version and the release a maintained installer provides for it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Language {
    pub name: String,
    /// As written.
    pub version: String,
    /// The version to install (e.g. `5.6` for PHP `5.6.17`, `8` for `oraclejdk8`); `None` when no
    /// maintained installer provides one (the `unsupported-language` warning says so).
    pub install: Option<String>,
    #[serde(skip)]
    pub span: Option<Span>,
}

/// What the vars pass (lower/vars.rs) found.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Variables {
    /// One entry per command, in [`Ir::commands`] order.
    pub commands: Vec<CommandVars>,
    /// Sorted by name, with where each is first read.
    pub secrets: Vec<Secret>,
    /// CircleCI 1.0 variables read that nothing provides (`CIRCLE_BUILD_IMAGE`, …), by name.
    pub no_equivalent: Vec<String>,
    /// The CircleCI-provided variables `machine.environment` values read: every command's
    /// shell evaluates those values, so every command needs them.
    pub environment_circle: Vec<String>,
}

impl Variables {
    /// A command's variables. Ids are numbered in [`Ir::commands`] order, so the entry is at
    /// that index: a lookup, not a pass over all commands for each (which made writing a
    /// workflow of many commands quadratic).
    pub fn of(&self, id: usize) -> Option<&CommandVars> {
        match self.commands.get(id) {
            Some(c) if c.id == id => Some(c),
            _ => self.commands.iter().find(|c| c.id == id),
        }
    }

    /// A secret by name: [`Variables::secrets`] is sorted by name.
    pub fn secret(&self, name: &str) -> Option<&Secret> {
        let i = self
            .secrets
            .binary_search_by(|s| s.name.as_str().cmp(name))
            .ok()?;
        Some(&self.secrets[i])
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct CommandVars {
    /// [`Command::id`].
    pub id: usize,
    /// Upper-case variables its shell expands (text, `environment` values, `pwd`, and the
    /// `machine.environment` values those name), in order of first reading.
    pub reads: Vec<String>,
    /// Names it sets: its `environment`, and assignments in its text.
    pub defines: Vec<String>,
    /// The CircleCI-provided variables among `reads` (spec §7.1).
    pub circle: Vec<String>,
    /// The secrets among `reads`.
    pub secrets: Vec<String>,
}

/// A variable commands read that the config never defines and CircleCI never provided: 1.0 kept
/// it in the project settings.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Secret {
    /// As the commands read it.
    pub name: String,
    /// The name to store it under: `name`, unless GitHub refuses it (`GITHUB_*`).
    pub stored_as: String,
    #[serde(skip)]
    pub span: Span,
}

impl Ir {
    pub fn phase(&self, kind: PhaseKind) -> Option<&Phase> {
        self.phases.iter().find(|p| p.kind == kind)
    }

    /// Every command in run order: phases, then deployments in file order, then teardown.
    pub fn commands(&self) -> impl Iterator<Item = &Command> {
        self.phases
            .iter()
            .flat_map(Phase::commands)
            .chain(self.deployments.iter().flat_map(|d| d.commands.iter()))
            .chain(self.teardown.iter())
    }

    pub fn commands_mut(&mut self) -> impl Iterator<Item = &mut Command> {
        self.phases
            .iter_mut()
            .flat_map(|p| {
                p.steps.iter_mut().filter_map(|s| match s {
                    Step::Run(c) => Some(c),
                    _ => None,
                })
            })
            .chain(
                self.deployments
                    .iter_mut()
                    .flat_map(|d| d.commands.iter_mut()),
            )
            .chain(self.teardown.iter_mut())
    }

    /// True when the test phase runs a command (written or inferred); an inference slot that
    /// yml2sh could not fill runs nothing, so it does not count.
    pub fn has_tests(&self) -> bool {
        self.phase(PhaseKind::Test)
            .is_some_and(|p| p.commands().next().is_some())
    }
}

fn quote(s: &str) -> String {
    format!("{s:?}")
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.modifiers;
        write!(
            f,
            "run #{} [{}:{}] line {}",
            self.id,
            self.phase,
            self.section.name(),
            self.line
        )?;
        write!(f, " timeout={}", m.timeout)?;
        write!(f, " {}", if m.parallel { "all-nodes" } else { "node0" })?;
        if m.background {
            write!(f, " background")?;
        }
        if let Some(pwd) = &m.pwd {
            write!(f, " pwd={}", quote(pwd))?;
            if m.pwd_outside {
                write!(f, " (outside the checkout: refused)")?;
            }
        }
        writeln!(f)?;
        for e in &m.environment {
            writeln!(f, "      env {}={}", e.name, quote(&e.value))?;
        }
        for g in &m.files {
            writeln!(f, "      files {}", quote(g))?;
        }
        if let Some(from) = &self.inferred_from {
            writeln!(f, "      inferred from {from}")?;
        }
        if let Some(o) = &self.original {
            writeln!(f, "      rewritten from {}", quote(o.as_str()))?;
        }
        for line in self.code.as_str().split('\n') {
            writeln!(f, "      | {line}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Ir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "# yml2sh IR of {}", self.source_name)?;
        if let Some(d) = &self.build_dir {
            writeln!(f, "build_dir {}", quote(d))?;
        }
        if !self.branches.only.is_empty() {
            let v: Vec<_> = self.branches.only.iter().map(|p| p.to_string()).collect();
            writeln!(f, "branches only {}", v.join(", "))?;
        }
        if !self.branches.ignore.is_empty() {
            let v: Vec<_> = self.branches.ignore.iter().map(|p| p.to_string()).collect();
            writeln!(f, "branches ignore {}", v.join(", "))?;
        }
        for e in &self.environment {
            write!(f, "env {}={}", e.name, quote(&e.value))?;
            match &e.inferred_from {
                Some(from) => writeln!(f, " (inferred from {from})")?,
                None => writeln!(f)?,
            }
        }
        for s in &self.services {
            match &s.container {
                Some(c) => {
                    writeln!(
                        f,
                        "service {} image={} ports={:?}",
                        s.name, c.image, c.ports
                    )?;
                    writeln!(f, "  container {}", c.name)?;
                    for (k, v) in &c.env {
                        writeln!(f, "  env {k}={}", quote(v))?;
                    }
                    writeln!(
                        f,
                        "  ready {} (timeout {}s)",
                        quote(&c.ready),
                        c.ready_timeout
                    )?;
                    if let Some(init) = &c.init {
                        writeln!(f, "  init {}", quote(init))?;
                    }
                    for (k, v) in &c.client_env {
                        writeln!(f, "  client-env {k}={}", quote(v))?;
                    }
                }
                None => writeln!(f, "service {} (no container)", s.name)?,
            }
            if let Some(why) = &s.started_because {
                writeln!(f, "  default service, started because of {why}")?;
            }
        }
        if self.docker {
            writeln!(f, "docker daemon required")?;
        }
        for c in &self.cache_directories {
            let inferred = if self.cache_inferred.contains(c) {
                " (inferred)"
            } else {
                ""
            };
            writeln!(f, "cache {}{inferred}", quote(c))?;
        }
        for a in &self.artifacts {
            writeln!(f, "artifact {}", quote(a))?;
        }
        for w in &self.webhooks {
            writeln!(f, "webhook {}", quote(w))?;
        }
        for p in &self.phases {
            writeln!(f, "phase {} (on failure: {:?})", p.kind, p.on_failure)?;
            for s in &p.steps {
                match s {
                    Step::Run(c) => write!(f, "  {c}")?,
                    Step::Inferred => {
                        writeln!(f, "  inferred (CircleCI would infer commands here)")?
                    }
                    Step::ExportEnv => writeln!(f, "  export-env")?,
                    Step::Timezone { zone } => writeln!(f, "  timezone {}", quote(zone))?,
                    Step::Hosts => {
                        for h in &self.hosts {
                            writeln!(f, "  host {} {}", quote(&h.name), quote(&h.address))?;
                        }
                    }
                    Step::Language { name, version } => {
                        writeln!(f, "  language {name} {}", quote(version))?
                    }
                    Step::StartServices => writeln!(f, "  start-services")?,
                    Step::Checkout => writeln!(f, "  checkout")?,
                    Step::RestoreCache => writeln!(f, "  restore-cache")?,
                    Step::SaveCache => writeln!(f, "  save-cache")?,
                }
            }
        }
        for d in &self.deployments {
            write!(f, "deployment {} line {}", quote(&d.name), d.line)?;
            if !d.branch.is_empty() {
                let v: Vec<_> = d.branch.iter().map(|p| p.to_string()).collect();
                write!(f, " branch [{}]", v.join(", "))?;
            }
            if !d.tag.is_empty() {
                let v: Vec<_> = d.tag.iter().map(|p| p.to_string()).collect();
                write!(f, " tag [{}]", v.join(", "))?;
            }
            if let Some(o) = &d.owner {
                write!(f, " owner {}", quote(o))?;
            }
            writeln!(f)?;
            for c in &d.commands {
                write!(f, "  {c}")?;
            }
        }
        for s in &self.vars.secrets {
            if s.stored_as == s.name {
                writeln!(f, "secret {}", s.name)?;
            } else {
                writeln!(f, "secret {} stored as {}", s.name, s.stored_as)?;
            }
        }
        for n in &self.vars.no_equivalent {
            writeln!(f, "unset {n} (no equivalent)")?;
        }
        if self.macos {
            writeln!(f, "macos")?;
        }
        if !self.teardown.is_empty() {
            writeln!(f, "teardown")?;
            for c in &self.teardown {
                write!(f, "  {c}")?;
            }
        }
        Ok(())
    }
}
