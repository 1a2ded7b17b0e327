//! Emit stage, GitHub Actions back-end: [`Ir`] → a workflow view model → `templates/workflow.yml.j2`.
//!
//! How CircleCI 1.0 semantics survive the move (README, "Migrating to GitHub Actions"):
//! - Every command runs through `yml2sh-run`, a wrapper the first step writes and puts on `PATH`,
//!   used as a custom `shell:`. It drives the runtime build.sh embeds (templates/runtime.sh, which
//!   the first step also writes): a plain `bash` (no `-e`, no `pipefail`) whose `BASH_ENV` is the
//!   runtime's prelude (the evaluated `machine.environment`, 1.0's `~/.circlerc`, so `$(…)` is
//!   re-evaluated per command, then directory and `environment`), the node's `files` appended,
//!   and the runtime's watchdog, which kills the command when it prints nothing for `timeout`
//!   seconds: GitHub only has wall-clock limits.
//! - Data from the circle.yml (names, values, paths, patterns) reaches scripts through `env:` only;
//!   command text is the only thing placed in `run:`, with `${{` made inert.
//! - Deployment is a separate job that replays the setup phases (the build's state does not cross
//!   jobs) and runs the first matching subsection, chosen by a `select` job that checks branch/tag
//!   regexes in bash and `owner` against `github.repository_owner`.

use std::collections::{BTreeSet, HashSet};

use serde::Serialize;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::ir::{Command, Ir, Pattern, PhaseKind, Step, WorkDir};
use crate::source::Span;

use super::EmitOptions;

pub(crate) const TEMPLATE_NAME: &str = "workflow.yml.j2";
pub(crate) const TEMPLATE: &str = include_str!("../../templates/workflow.yml.j2");

/// Official actions at their current major versions (actionlint flags outdated ones).
const CHECKOUT: &str = "actions/checkout@v6";
const CACHE_RESTORE: &str = "actions/cache/restore@v5";
const CACHE_SAVE: &str = "actions/cache/save@v5";
const UPLOAD: &str = "actions/upload-artifact@v6";

/// The cache key: one cache per branch, falling back to any branch's (spec §10).
const CACHE_PREFIX: &str = "circle-deps-${{ runner.os }}-";
const CACHE_BRANCH: &str = "${{ github.head_ref || github.ref_name }}-";

/// Spec §7.1 variables that yml2sh sets from GitHub's context (in the first step).
const MAPPED: &[&str] = &[
    "CI",
    "CIRCLECI",
    "CIRCLE_BRANCH",
    "CIRCLE_TAG",
    "CIRCLE_SHA1",
    "CIRCLE_BUILD_NUM",
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
    "HOME",
    "LANG",
    "PATH",
    "GIT_ASKPASS",
    "SSH_ASKPASS",
    "GIT_LFS_SKIP_SMUDGE",
    "DBUS_SESSION_BUS_ADDRESS",
    "MAVEN_OPTS",
    "ANDROID_HOME",
];

/// Spec §7.1 variables CircleCI provided that have no GitHub equivalent: left unset.
const NO_EQUIVALENT: &[&str] = &[
    "CIRCLE_PREVIOUS_BUILD_NUM",
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

/// Set by bash, the OS or the runner: never a secret.
const SYSTEM: &[&str] = &[
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
    "BASH_SOURCE",
    "BASH_VERSION",
    "BASH_REMATCH",
    "BASH_ENV",
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
    "LC_ALL",
    "LC_CTYPE",
    "LANGUAGE",
    "TZ",
    "EPOCHSECONDS",
    "EPOCHREALTIME",
    "SRANDOM",
    "HISTFILE",
];

#[derive(Serialize)]
struct View {
    version: String,
    source: String,
    triggers: Triggers,
    select: Option<Vec<Kv>>,
    /// The matrix of node indexes; empty without parallelism.
    nodes: Vec<u32>,
    node_total: u32,
    /// `CIRCLE_NODE_INDEX` of the build job: the matrix value, or 0.
    node_index: String,
    /// templates/runtime.sh, which the first step writes for `yml2sh-run`: our own bash.
    runtime: &'static str,
    services: Vec<ServiceView>,
    build: Job,
    deploy: Option<Job>,
    notify: Option<Vec<Kv>>,
}

#[derive(Serialize)]
struct Triggers {
    branches: Vec<String>,
    branches_ignore: Vec<String>,
    tags: Vec<String>,
}

#[derive(Serialize)]
struct ServiceView {
    id: String,
    image: String,
    ports: Vec<String>,
    env: Vec<Kv>,
    /// `docker create` options: the health check GitHub waits for before the first step.
    options: String,
}

#[derive(Serialize)]
struct Job {
    secrets: Vec<String>,
    /// A full clone (the Heroku push needs history).
    full_clone: bool,
    steps: Vec<StepView>,
}

/// A key and value for `env:` or `with:`. `expr` values are GitHub expressions yml2sh wrote;
/// all others are data and have `${{` made inert.
#[derive(Clone, Serialize)]
struct Kv {
    key: String,
    value: String,
    expr: bool,
}

impl Kv {
    fn data(key: impl Into<String>, value: impl Into<String>) -> Kv {
        Kv {
            key: key.into(),
            value: value.into(),
            expr: false,
        }
    }

    fn expr(key: impl Into<String>, value: impl Into<String>) -> Kv {
        Kv {
            key: key.into(),
            value: value.into(),
            expr: true,
        }
    }
}

#[derive(Clone, Default, Serialize)]
struct StepView {
    name: String,
    id: Option<String>,
    cond: Option<String>,
    uses: Option<&'static str>,
    with: Vec<Kv>,
    shell: Option<String>,
    working_directory: Option<String>,
    env: Vec<Kv>,
    /// User command text (code).
    run: Option<String>,
    /// One of the template's own scripts.
    script: Option<&'static str>,
}

/// Which job a step is rendered for, and so which conditions it carries.
#[derive(Clone, Copy, PartialEq, Eq)]
enum JobKind {
    Build,
    Deploy,
}

struct Emitter<'a> {
    ir: &'a Ir,
    options: &'a EmitOptions,
    /// Names the config defines (machine.environment, command environments, assignments).
    defined: HashSet<String>,
}

pub(crate) fn emit(
    ir: &Ir,
    options: &EmitOptions,
    diags: &mut Diagnostics,
) -> Result<String, minijinja::Error> {
    let e = Emitter {
        ir,
        options,
        defined: defined_names(ir),
    };
    let view = e.view(diags);
    let env = super::environment();
    let template = env.get_template(TEMPLATE_NAME)?;
    template.render(&view)
}

impl Emitter<'_> {
    fn parallel(&self) -> bool {
        self.options.nodes > 1
    }

    fn view(&self, diags: &mut Diagnostics) -> View {
        let ir = self.ir;
        let languages = self.languages(diags);
        let build = self.build_job(&languages);
        let deploy = (!ir.deployments.is_empty()).then(|| self.deploy_job(&languages));
        self.variable_diagnostics(diags);
        View {
            version: self.options.version.clone(),
            source: ir.source_name.clone(),
            triggers: self.triggers(),
            select: self.select(),
            nodes: if self.parallel() {
                (0..self.options.nodes).collect()
            } else {
                vec![]
            },
            node_total: self.options.nodes,
            node_index: if self.parallel() {
                "${{ matrix.node }}".into()
            } else {
                "0".into()
            },
            runtime: super::runtime::RUNTIME,
            services: self.services(),
            build,
            deploy,
            notify: (!ir.webhooks.is_empty()).then(|| {
                ir.webhooks
                    .iter()
                    .enumerate()
                    .map(|(i, url)| Kv::data(format!("YML2SH_WEBHOOK_{i}"), url))
                    .collect()
            }),
        }
    }

    /// `on.push` filters where a glob says exactly what the circle.yml pattern says; everything
    /// else is decided by the `select` job in bash, so a glob here is never an approximation.
    fn triggers(&self) -> Triggers {
        let b = &self.ir.branches;
        let only: Option<Vec<String>> = b.only.iter().map(glob).collect();
        let ignore: Option<Vec<String>> = b.ignore.iter().map(glob).collect();
        let (branches, branches_ignore) = match (only, ignore) {
            (Some(only), Some(ignore)) if !only.is_empty() => (
                only.into_iter()
                    .chain(ignore.into_iter().map(|g| format!("!{g}")))
                    .collect(),
                vec![],
            ),
            (Some(only), Some(ignore)) if only.is_empty() && !ignore.is_empty() => (vec![], ignore),
            // Push every branch; the select job applies the patterns.
            _ => (vec!["**".to_string()], vec![]),
        };
        let tag_patterns: Vec<&Pattern> = self.ir.deployments.iter().flat_map(|d| &d.tag).collect();
        let tags = if tag_patterns.is_empty() {
            vec![]
        } else {
            match tag_patterns
                .iter()
                .map(|p| glob(p))
                .collect::<Option<Vec<_>>>()
            {
                Some(mut globs) => {
                    let mut seen = HashSet::new();
                    globs.retain(|g| seen.insert(g.clone()));
                    globs
                }
                None => vec!["**".to_string()],
            }
        };
        Triggers {
            branches,
            branches_ignore,
            tags,
        }
    }

    /// The `select` job's data: branch filters and deployment conditions, as env variables whose
    /// names say how to compare (`EQ_` exact, `RE_` anchored ERE); the script is fixed.
    fn select(&self) -> Option<Vec<Kv>> {
        let ir = self.ir;
        if ir.branches.is_empty() && ir.deployments.is_empty() {
            return None;
        }
        let mut env = vec![];
        patterns_env(&mut env, "YML2SH_ONLY_", &ir.branches.only);
        patterns_env(&mut env, "YML2SH_IGNORE_", &ir.branches.ignore);
        env.push(Kv::data(
            "YML2SH_DEPLOYMENTS",
            ir.deployments.len().to_string(),
        ));
        for (i, d) in ir.deployments.iter().enumerate() {
            env.push(Kv::data(format!("YML2SH_D{i}_NAME"), &d.name));
            patterns_env(&mut env, &format!("YML2SH_D{i}_BRANCH_"), &d.branch);
            patterns_env(&mut env, &format!("YML2SH_D{i}_TAG_"), &d.tag);
            if let Some(owner) = &d.owner {
                env.push(Kv::data(format!("YML2SH_D{i}_OWNER"), owner));
            }
        }
        Some(env)
    }

    fn services(&self) -> Vec<ServiceView> {
        self.ir
            .services
            .iter()
            .filter_map(|s| {
                let c = s.container.as_ref()?;
                let interval = 2;
                Some(ServiceView {
                    id: c.name.clone(),
                    image: c.image.clone(),
                    ports: c.ports.iter().map(|p| format!("{p}:{p}")).collect(),
                    env: c.env.iter().map(|(k, v)| Kv::data(k, v)).collect(),
                    // `health` never holds `'`: single quotes keep it one argument.
                    options: format!(
                        "--health-cmd '{}' --health-interval {interval}s --health-timeout 5s --health-retries {}",
                        c.health,
                        (c.ready_timeout / interval).max(1)
                    ),
                })
            })
            .collect()
    }

    /// The setup action for each `machine.<language>`, or a warning when it cannot give the version.
    fn languages(&self, diags: &mut Diagnostics) -> Vec<Option<StepView>> {
        let mut out = vec![];
        for step in self.ir.phases.iter().flat_map(|p| &p.steps) {
            let Step::Language { name, version } = step else {
                continue;
            };
            let span = self
                .ir
                .language_spans
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, s)| *s);
            match language(name, version) {
                Ok((s, warning)) => {
                    if let Some(w) = warning {
                        diags.push(
                            Diagnostic::warning(Code::UnsupportedLanguage, span, w)
                                .with_label("not available on GitHub's ubuntu-latest"),
                        );
                    }
                    out.push(Some(s));
                }
                Err(why) => {
                    diags.push(
                        Diagnostic::warning(
                            Code::UnsupportedLanguage,
                            span,
                            format!("{why}; the workflow uses the runner's default {name}"),
                        )
                        .with_label("not available on GitHub's ubuntu-latest")
                        .with_help(
                            "pick a version the setup action provides, and test the build on it",
                        ),
                    );
                    out.push(None);
                }
            }
        }
        out
    }

    fn build_job(&self, languages: &[Option<StepView>]) -> Job {
        let mut steps = vec![checkout(false)];
        self.setup_steps(&mut steps, JobKind::Build, languages);
        steps.push(StepView {
            name: "Setup phases done (test commands run from here even after a failure)".into(),
            id: Some("setup".into()),
            script: Some("setup-done"),
            ..StepView::default()
        });
        if let Some(test) = self.ir.phase(PhaseKind::Test) {
            for step in &test.steps {
                match step {
                    Step::Run(c) => steps.push(self.command_step(c, JobKind::Build, "")),
                    Step::Inferred => {
                        let mut s = inferred_step(PhaseKind::Test);
                        s.cond = Some(self.cond(&[TEST_COND], false));
                        steps.push(s);
                    }
                    _ => {}
                }
            }
        }
        for c in &self.ir.teardown {
            steps.push(self.command_step(c, JobKind::Build, ""));
        }
        let suffix = if self.parallel() {
            "-node-${{ matrix.node }}"
        } else {
            ""
        };
        uploads(
            &mut steps,
            suffix,
            &self
                .ir
                .artifacts
                .iter()
                .map(|a| self.in_build_dir(a))
                .collect::<Vec<_>>(),
        );
        Job {
            secrets: self.secrets(JobKind::Build),
            full_clone: false,
            steps,
        }
    }

    fn deploy_job(&self, languages: &[Option<StepView>]) -> Job {
        let full_clone = self.ir.deployments.iter().any(|d| d.heroku_app.is_some());
        let mut steps = vec![checkout(full_clone)];
        self.setup_steps(&mut steps, JobKind::Deploy, languages);
        for (i, d) in self.ir.deployments.iter().enumerate() {
            for c in &d.commands {
                let mut s =
                    self.command_step(c, JobKind::Deploy, &format!("deployment.{}: ", d.name));
                s.cond = Some(format!(
                    "${{{{ needs.select.outputs.deployment == '{i}' }}}}"
                ));
                steps.push(s);
            }
        }
        uploads(&mut steps, "-deployment", &[]);
        Job {
            secrets: self.secrets(JobKind::Deploy),
            full_clone,
            steps,
        }
    }

    /// machine … compile, in IR order. The deploy job replays them: on GitHub each job starts on a
    /// fresh runner, and deployment commands rely on what the setup phases built.
    fn setup_steps(&self, steps: &mut Vec<StepView>, job: JobKind, languages: &[Option<StepView>]) {
        let mut languages = languages.iter();
        for phase in self.ir.phases.iter().filter(|p| p.kind != PhaseKind::Test) {
            for step in &phase.steps {
                match step {
                    Step::Run(c) => steps.push(self.command_step(c, job, "")),
                    Step::Inferred => steps.push(inferred_step(phase.kind)),
                    Step::ExportEnv => {
                        if !self.ir.environment.is_empty() {
                            steps.push(StepView {
                                name: "Export machine.environment".into(),
                                script: Some("export-env"),
                                env: names_and_values(
                                    self.ir.environment.iter().map(|e| (&e.name, &e.value)),
                                ),
                                ..StepView::default()
                            });
                        }
                    }
                    Step::Timezone { zone } => steps.push(StepView {
                        name: "Set the time zone (machine.timezone)".into(),
                        script: Some("timezone"),
                        env: vec![Kv::data("YML2SH_TIMEZONE", zone)],
                        ..StepView::default()
                    }),
                    Step::Hosts => steps.push(StepView {
                        name: "Add machine.hosts to /etc/hosts".into(),
                        script: Some("hosts"),
                        env: self
                            .ir
                            .hosts
                            .iter()
                            .enumerate()
                            .map(|(i, h)| {
                                Kv::data(
                                    format!("YML2SH_HOST_{i}"),
                                    format!("{} {}", h.address, h.name),
                                )
                            })
                            .collect(),
                        ..StepView::default()
                    }),
                    Step::Language { name, version } => match languages.next() {
                        Some(Some(s)) => steps.push(s.clone()),
                        _ => steps.push(StepView {
                            name: format!("machine.{name}: version {version} is not available"),
                            script: Some("no-language"),
                            env: vec![
                                Kv::data("YML2SH_LANGUAGE", name),
                                Kv::data("YML2SH_VERSION", version),
                            ],
                            ..StepView::default()
                        }),
                    },
                    Step::StartServices => {
                        // GitHub starts `services:` and waits for their health checks before
                        // the first step; what remains is `init` and the client variables.
                        let mut env = vec![];
                        for (i, s) in self.ir.services.iter().enumerate() {
                            match &s.container {
                                Some(c) => {
                                    if let Some(init) = &c.init {
                                        env.push(Kv::expr(
                                            format!("YML2SH_ID_{i}"),
                                            format!("${{{{ job.services.{}.id }}}}", c.name),
                                        ));
                                        env.push(Kv::data(format!("YML2SH_INIT_{i}"), init));
                                    }
                                    for (k, v) in &c.client_env {
                                        env.push(Kv::data(format!("YML2SH_CLIENT_{k}"), v));
                                    }
                                }
                                None => env.push(Kv::data(format!("YML2SH_MISSING_{i}"), &s.name)),
                            }
                        }
                        if !env.is_empty() {
                            steps.push(StepView {
                                name: "Set up machine.services".into(),
                                script: Some("services"),
                                env,
                                ..StepView::default()
                            });
                        }
                    }
                    Step::Checkout => {} // done first: 1.0 cloned before running any command
                    Step::RestoreCache => {
                        if let Some(paths) = self.cache_paths() {
                            steps.push(StepView {
                                name: "Restore the dependency cache".into(),
                                id: Some("restore-cache".into()),
                                uses: Some(CACHE_RESTORE),
                                with: vec![
                                    Kv::data("path", paths),
                                    Kv::expr("key", cache_key()),
                                    Kv::expr(
                                        "restore-keys",
                                        format!("{CACHE_PREFIX}{CACHE_BRANCH}\n{CACHE_PREFIX}"),
                                    ),
                                ],
                                ..StepView::default()
                            });
                        }
                    }
                    Step::SaveCache => {
                        if let (Some(paths), JobKind::Build) = (self.cache_paths(), job) {
                            steps.push(StepView {
                                name: "Save the dependency cache".into(),
                                // 1.0 saved the cache from node 0 only (spec §10).
                                cond: self.parallel().then(|| "${{ matrix.node == 0 }}".into()),
                                uses: Some(CACHE_SAVE),
                                with: vec![Kv::data("path", paths), Kv::expr("key", cache_key())],
                                ..StepView::default()
                            });
                        }
                    }
                }
            }
        }
    }

    /// `cache_directories`, plus what inference would have cached when `dependencies` is inferred.
    fn cache_paths(&self) -> Option<String> {
        let mut paths: Vec<String> = self
            .ir
            .cache_directories
            .iter()
            .map(|d| self.in_build_dir(d))
            .collect();
        let inferred = self
            .ir
            .phase(PhaseKind::Dependencies)
            .is_some_and(|p| p.steps.contains(&Step::Inferred));
        if inferred {
            for step in self.ir.phases.iter().flat_map(|p| &p.steps) {
                if let Step::Language { name, .. } = step {
                    for d in inferred_cache(name) {
                        paths.push(self.in_build_dir(d));
                    }
                }
            }
        }
        let mut seen = HashSet::new();
        paths.retain(|p| seen.insert(p.clone()));
        (!paths.is_empty()).then(|| paths.join("\n"))
    }

    /// A path as 1.0 read it: relative to the build directory, `~/…` and absolute ones as is.
    fn in_build_dir(&self, path: &str) -> String {
        match &self.ir.build_dir {
            Some(dir) if !path.starts_with('~') && !path.starts_with('/') => {
                format!(
                    "{}/{}",
                    dir.trim_end_matches('/'),
                    path.trim_start_matches("./")
                )
            }
            _ => path.to_string(),
        }
    }

    fn cond(&self, parts: &[&str], node0: bool) -> String {
        let mut parts: Vec<&str> = parts.to_vec();
        if node0 && self.parallel() {
            parts.push("matrix.node == 0");
        }
        format!("${{{{ {} }}}}", parts.join(" && "))
    }

    fn command_step(&self, c: &Command, job: JobKind, prefix: &str) -> StepView {
        let m = &c.modifiers;
        let node0 = job == JobKind::Build && !m.parallel;
        let cond = match (job, c.phase) {
            (JobKind::Deploy, _) => None,
            (_, PhaseKind::Test) => Some(self.cond(&[TEST_COND], node0)),
            (_, PhaseKind::Teardown) => Some(self.cond(&["!cancelled()"], node0)),
            _ if node0 && self.parallel() => Some("${{ matrix.node == 0 }}".into()),
            _ => None,
        };
        let mut env = vec![];
        if let Some(pwd) = &m.pwd {
            env.push(Kv::data("YML2SH_PWD", pwd));
            if plain_relative(pwd) {
                // The wrapper's cue that working-directory is build directory + pwd.
                env.push(Kv::data("YML2SH_PWD_IS_WORKDIR", "1"));
            }
        }
        if !m.environment.is_empty() {
            env.extend(names_and_values(
                m.environment.iter().map(|e| (&e.name, &e.value)),
            ));
        }
        if !m.files.is_empty() {
            // Spec §6.2: the runtime appends this node's share of the files to the command.
            env.push(Kv::data("YML2SH_FILES", m.files.join("\n")));
        }
        let mut shell = String::from("yml2sh-run ");
        if m.background {
            shell.push_str("--background ");
        }
        if c.phase.default_dir() == WorkDir::Home {
            shell.push_str("--home ");
        }
        shell.push_str(&format!("{} {{0}}", m.timeout));
        StepView {
            name: format!("{prefix}{}", c.code.title()),
            id: Some(format!("command-{}", c.id)),
            cond,
            shell: Some(shell),
            // The build directory, or for a plain relative `pwd` the directory it names, so GitHub
            // shows where the step runs; the runtime still resolves `pwd` from the build directory.
            working_directory: match m.pwd.as_deref().filter(|p| plain_relative(p)) {
                Some(pwd) => Some(match &self.ir.build_dir {
                    Some(build) => format!("{}/{pwd}", build.trim_end_matches('/')),
                    None => pwd.to_string(),
                }),
                None => self.ir.build_dir.clone(),
            },
            env,
            run: Some(c.code.as_str().to_string()),
            ..StepView::default()
        }
    }

    /// Variables the commands of a job read that neither the config nor CircleCI defines.
    fn secrets(&self, job: JobKind) -> Vec<String> {
        let mut out = BTreeSet::new();
        for (_, text) in self.texts(job) {
            for name in references(text) {
                if self.is_secret(&name) {
                    out.insert(name);
                }
            }
        }
        out.into_iter().collect()
    }

    fn is_secret(&self, name: &str) -> bool {
        !self.defined.contains(name)
            && !MAPPED.contains(&name)
            && !NO_EQUIVALENT.contains(&name)
            && !SYSTEM.contains(&name)
            && !name.starts_with("GITHUB_")
            && !name.starts_with("RUNNER_")
            && !name.starts_with("ACTIONS_")
            && !name.starts_with("YML2SH_")
            && !name.starts_with("LC_")
            && !name.starts_with("BASH_")
    }

    /// Every piece of config text a job's shell evaluates, with where it was written.
    fn texts(&self, job: JobKind) -> Vec<(Span, &str)> {
        let ir = self.ir;
        let mut out: Vec<(Span, &str)> = ir
            .environment
            .iter()
            .map(|e| (e.span, e.value.as_str()))
            .collect();
        let commands: Vec<&Command> = match job {
            JobKind::Build => ir
                .commands()
                .filter(|c| c.phase != PhaseKind::Deployment)
                .collect(),
            JobKind::Deploy => ir
                .commands()
                .filter(|c| !matches!(c.phase, PhaseKind::Test | PhaseKind::Teardown))
                .collect(),
        };
        for c in commands {
            out.push((c.span, c.code.as_str()));
            for e in &c.modifiers.environment {
                out.push((c.span, e.value.as_str()));
            }
            if let Some(p) = &c.modifiers.pwd {
                out.push((c.span, p.as_str()));
            }
        }
        out
    }

    /// One `secrets` diagnostic listing what to create, one `no-equivalent` for CircleCI variables
    /// GitHub cannot give; each at the first place that reads one.
    fn variable_diagnostics(&self, diags: &mut Diagnostics) {
        let mut secrets = BTreeSet::new();
        let mut missing = BTreeSet::new();
        let (mut secret_at, mut missing_at) = (None, None);
        let mut texts = self.texts(JobKind::Build);
        texts.extend(self.texts(JobKind::Deploy));
        texts.sort_by_key(|(span, _)| span.start);
        for (span, text) in texts {
            for name in references(text) {
                if self.is_secret(&name) {
                    secret_at.get_or_insert(span);
                    secrets.insert(name);
                } else if NO_EQUIVALENT.contains(&name.as_str()) && !self.defined.contains(&name) {
                    missing_at.get_or_insert(span);
                    missing.insert(name);
                }
            }
        }
        if !secrets.is_empty() {
            diags.push(
                Diagnostic::warning(
                    Code::Secrets,
                    secret_at,
                    format!(
                        "create {} GitHub secret{} before the workflow runs: {}",
                        secrets.len(),
                        if secrets.len() == 1 { "" } else { "s" },
                        list(&secrets)
                    ),
                )
                .with_label("read here, defined nowhere in the circle.yml")
                .with_help("CircleCI kept these in the project settings; add them under Settings → Secrets and variables → Actions (an absent secret reads as an empty string)"),
            );
        }
        if !missing.is_empty() {
            diags.push(
                Diagnostic::warning(
                    Code::NoEquivalent,
                    missing_at,
                    format!(
                        "{} {} no GitHub Actions equivalent; the workflow leaves {} unset",
                        list(&missing),
                        if missing.len() == 1 { "has" } else { "have" },
                        if missing.len() == 1 { "it" } else { "them" },
                    ),
                )
                .with_label("read here")
                .with_help("define a value under `machine.environment` if the build needs one"),
            );
        }
    }
}

const TEST_COND: &str = "!cancelled() && steps.setup.outcome == 'success'";

fn cache_key() -> String {
    format!("{CACHE_PREFIX}{CACHE_BRANCH}${{{{ github.run_id }}}}")
}

fn list(names: &BTreeSet<String>) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn checkout(full_clone: bool) -> StepView {
    let mut with = vec![Kv::expr(
        "ref",
        // 1.0 built the pushed commit of a pull request's branch, not GitHub's merge commit.
        "${{ github.event.pull_request.head.sha || github.sha }}",
    )];
    if full_clone {
        with.push(Kv::data("fetch-depth", "0"));
    }
    StepView {
        name: "Check out the repository".into(),
        uses: Some(CHECKOUT),
        with,
        ..StepView::default()
    }
}

/// `$CIRCLE_ARTIFACTS`, `$CIRCLE_TEST_REPORTS` and `general.artifacts`, whatever the outcome.
fn uploads(steps: &mut Vec<StepView>, suffix: &str, artifacts: &[String]) {
    let mut upload = |label: &str, name: &str, path: Kv| {
        steps.push(StepView {
            name: label.into(),
            cond: Some("${{ always() }}".into()),
            uses: Some(UPLOAD),
            with: vec![
                Kv::expr("name", format!("{name}{suffix}")),
                path,
                Kv::data("if-no-files-found", "ignore"),
            ],
            ..StepView::default()
        });
    };
    upload(
        "Upload $CIRCLE_ARTIFACTS",
        "circle-artifacts",
        Kv::expr("path", "${{ runner.temp }}/circle-artifacts"),
    );
    upload(
        "Upload $CIRCLE_TEST_REPORTS",
        "circle-test-reports",
        Kv::expr("path", "${{ runner.temp }}/circle-junit"),
    );
    if !artifacts.is_empty() {
        upload(
            "Upload general.artifacts",
            "general-artifacts",
            Kv::data("path", artifacts.join("\n")),
        );
    }
}

fn inferred_step(phase: PhaseKind) -> StepView {
    StepView {
        name: format!("{phase}: CircleCI would have inferred commands here"),
        script: Some("inferred"),
        env: vec![Kv::data("YML2SH_PHASE", phase.name())],
        ..StepView::default()
    }
}

/// `YML2SH_EXPORTS` lists the names in order; `YML2SH_VALUE_<name>` holds each raw value, which
/// the shell expands when it exports it (spec §7.2).
fn names_and_values<'a>(vars: impl Iterator<Item = (&'a String, &'a String)>) -> Vec<Kv> {
    let mut names = vec![];
    let mut env = vec![];
    for (name, value) in vars {
        names.push(name.as_str());
        env.push(Kv::data(format!("YML2SH_VALUE_{name}"), value));
    }
    env.insert(0, Kv::data("YML2SH_EXPORTS", names.join(" ")));
    env
}

fn patterns_env(env: &mut Vec<Kv>, prefix: &str, patterns: &[Pattern]) {
    for (i, p) in patterns.iter().enumerate() {
        match p {
            Pattern::Exact { name } => env.push(Kv::data(format!("{prefix}EQ_{i}"), name)),
            Pattern::Regex { ere, .. } => env.push(Kv::data(format!("{prefix}RE_{i}"), ere)),
        }
    }
}

/// The GitHub filter glob that matches exactly the names `p` matches, if there is one: literal
/// names of safe characters, and regexes made of such characters and `.*` (→ `**`).
fn glob(p: &Pattern) -> Option<String> {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_/.".contains(c);
    match p {
        Pattern::Exact { name } => {
            (!name.is_empty() && name.chars().all(safe)).then(|| name.clone())
        }
        Pattern::Regex { source, .. } => {
            let src = source.strip_prefix('^').unwrap_or(source);
            let src = src
                .strip_suffix('$')
                .filter(|s| !s.ends_with('\\'))
                .unwrap_or(src);
            let chars: Vec<char> = src.chars().collect();
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
                    ('\\', Some(&n)) if safe(n) && !n.is_ascii_alphanumeric() => {
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

/// The setup action for a `machine.<language>` version (with a warning when it gives a nearby
/// version), or why no action provides it.
fn language(name: &str, version: &str) -> Result<(StepView, Option<String>), String> {
    let v = version.trim();
    let nums: Option<Vec<u32>> = v
        .trim_start_matches('v')
        .split('.')
        .map(|n| n.parse().ok())
        .collect();
    let nums = nums.filter(|n| (1..=3).contains(&n.len()));
    let at_least = |min: &[u32]| nums.as_ref().is_some_and(|n| n.as_slice() >= min);
    let step = |label: &str, uses: &'static str, with: Vec<Kv>| StepView {
        name: format!("Set up {label} (machine.{name})"),
        uses: Some(uses),
        with,
        ..StepView::default()
    };
    let no = |action: &str| Err(format!("{action} cannot provide {name} `{v}`"));
    let exact = |s: StepView| Ok((s, None));
    match name {
        "node" if nums.is_some() => exact(step(
            &format!("Node.js {v}"),
            "actions/setup-node@v6",
            vec![Kv::data("node-version", v)],
        )),
        "node" => no("setup-node"),
        // python-versions builds CPython 3.9 and later for Ubuntu 24.04.
        "python" if at_least(&[3, 9]) => exact(step(
            &format!("Python {v}"),
            "actions/setup-python@v6",
            vec![Kv::data("python-version", v)],
        )),
        "python" => no("setup-python"),
        // setup-ruby has no Ruby older than 2.3 for Ubuntu 24.04.
        "ruby" if at_least(&[2, 3]) => exact(step(
            &format!("Ruby {v}"),
            "ruby/setup-ruby@v1",
            vec![Kv::data("ruby-version", v)],
        )),
        "ruby" => no("setup-ruby"),
        "go" if nums.is_some() => exact(step(
            &format!("Go {v}"),
            "actions/setup-go@v6",
            vec![Kv::data("go-version", v)],
        )),
        "go" => no("setup-go"),
        "java" => {
            let major = v
                .strip_prefix("oraclejdk")
                .or_else(|| v.strip_prefix("openjdk"))
                .and_then(|n| n.parse::<u32>().ok());
            match major {
                // Temurin and Zulu are OpenJDK builds; Oracle's own JDK 7/8 is not downloadable.
                Some(n @ 8..) => exact(step(
                    &format!("Java {n} (Temurin, for {v})"),
                    "actions/setup-java@v5",
                    vec![Kv::data("distribution", "temurin"), Kv::data("java-version", n.to_string())],
                )),
                Some(7) => exact(step(
                    &format!("Java 7 (Zulu, for {v})"),
                    "actions/setup-java@v5",
                    vec![Kv::data("distribution", "zulu"), Kv::data("java-version", "7")],
                )),
                _ => no("setup-java"),
            }
        }
        // setup-php takes major.minor only, and has 5.3 and later.
        "php" => match nums.as_deref() {
            Some([major, minor, rest @ ..]) if at_least(&[5, 3]) => Ok((
                step(
                    &format!("PHP {major}.{minor}"),
                    "shivammathur/setup-php@v2",
                    vec![Kv::data("php-version", format!("{major}.{minor}"))],
                ),
                (!rest.is_empty()).then(|| {
                    format!("setup-php cannot pin PHP `{v}`; the workflow sets up the latest PHP {major}.{minor}")
                }),
            )),
            _ => no("setup-php"),
        },
        "ghc" if at_least(&[8]) => exact(step(
            &format!("GHC {v}"),
            "haskell-actions/setup@v2",
            vec![Kv::data("ghc-version", v)],
        )),
        "ghc" => no("haskell-actions/setup"),
        "xcode" => Err(format!("Xcode `{v}` needs a macOS runner, and the workflow runs on ubuntu-latest")),
        _ => Err(format!("yml2sh knows no setup action for `machine.{name}`")),
    }
}

/// What 1.0's inference cached for a language (spec §9.1).
fn inferred_cache(language: &str) -> &'static [&'static str] {
    match language {
        "ruby" => &["vendor/bundle", "~/.bundle"],
        "node" => &["node_modules"],
        "python" => &["~/virtualenvs"],
        "java" => &["~/.m2", "~/.gradle"],
        "go" => &["~/.go_workspace"],
        _ => &[],
    }
}

/// Names the config defines: `machine.environment`, command environments, services' client
/// variables, and variables its commands assign (`NAME=…`, `for NAME in`, `read NAME`).
fn defined_names(ir: &Ir) -> HashSet<String> {
    let mut out: HashSet<String> = ir.environment.iter().map(|e| e.name.clone()).collect();
    for c in ir.commands() {
        out.extend(c.modifiers.environment.iter().map(|e| e.name.clone()));
        out.extend(assignments(c.code.as_str()));
    }
    for s in &ir.services {
        if let Some(c) = &s.container {
            out.extend(c.client_env.iter().map(|(k, _)| k.clone()));
        }
    }
    out
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Upper-case variables a shell text expands (`$NAME`, `${NAME}`), outside single quotes and
/// comments. `${NAME:-default}` and friends are skipped: the text works without them.
fn references(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = vec![];
    let (mut single, mut double) = (false, false);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if single {
            if c == '\'' {
                single = false;
            }
            i += 1;
            continue;
        }
        match c {
            '\\' => i += 2,
            '\'' if !double => {
                single = true;
                i += 1;
            }
            '"' => {
                double = !double;
                i += 1;
            }
            '#' if !double && (i == 0 || chars[i - 1].is_whitespace()) => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '$' => {
                i += 1;
                match chars.get(i) {
                    Some('$') => i += 1,
                    Some('{') => {
                        let mut j = i + 1;
                        while j < chars.len() && matches!(chars[j], '!' | '#') {
                            j += 1;
                        }
                        let start = j;
                        while j < chars.len() && is_name_char(chars[j]) {
                            j += 1;
                        }
                        let name: String = chars[start..j].iter().collect();
                        let defaulted = matches!(chars.get(j), Some(':' | '-' | '=' | '+'));
                        if !defaulted {
                            push_upper(&mut out, name);
                        }
                        i = j;
                    }
                    Some(&n) if is_name_start(n) => {
                        let start = i;
                        while i < chars.len() && is_name_char(chars[i]) {
                            i += 1;
                        }
                        push_upper(&mut out, chars[start..i].iter().collect());
                    }
                    _ => {}
                }
            }
            _ => i += 1,
        }
    }
    out
}

fn push_upper(out: &mut Vec<String>, name: String) {
    let upper = name.chars().next().is_some_and(is_name_start)
        && name.chars().any(|c| c.is_ascii_uppercase())
        && !name.chars().any(|c| c.is_ascii_lowercase());
    if upper && !out.contains(&name) {
        out.push(name);
    }
}

/// Names a shell text assigns: `NAME=` at the start of a word, `for NAME in`, `read … NAME`.
fn assignments(text: &str) -> Vec<String> {
    let mut out = vec![];
    // Commands end at newlines and separators: `read` takes names up to there.
    for command in text.split(|c: char| "\n;&|()".contains(c)) {
        assignments_in(command, &mut out);
    }
    out
}

fn assignments_in(command: &str, out: &mut Vec<String>) {
    let words: Vec<&str> = command.split_whitespace().collect();
    for (i, w) in words.iter().enumerate() {
        if let Some((name, _)) = w.split_once('=') {
            if name.chars().next().is_some_and(is_name_start) && name.chars().all(is_name_char) {
                out.push(name.to_string());
            }
        }
        let name_ok =
            |n: &str| n.chars().next().is_some_and(is_name_start) && n.chars().all(is_name_char);
        if matches!(*w, "for" | "select") {
            if let Some(n) = words.get(i + 1).filter(|n| name_ok(n)) {
                out.push(n.to_string());
            }
        }
        if matches!(
            *w,
            "read" | "export" | "local" | "declare" | "readonly" | "typeset"
        ) {
            for n in words[i + 1..]
                .iter()
                .take_while(|n| name_ok(n) || n.starts_with('-'))
            {
                if name_ok(n) && *w == "read" {
                    out.push(n.to_string());
                }
            }
        }
    }
}

/// A `pwd` GitHub can take as `working-directory` unchanged: relative, normalised, and with
/// nothing the shell would expand (`$`, backticks, a leading `~`).
fn plain_relative(pwd: &str) -> bool {
    !pwd.is_empty()
        && !pwd.starts_with('/')
        && !pwd.starts_with('~')
        && !pwd.ends_with('/')
        && !pwd.contains(['$', '`', '\\', '"', '\n'])
        && pwd
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
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
    fn references_skip_quotes_comments_and_defaults() {
        let text = "docker login -e $DOCKER_EMAIL -p \"${DOCKER_PASS}\" # $IN_COMMENT\n\
                    awk '{print $NF}' $$ ${OPTIONAL:-x} $lower ${#ARR} \\$ESCAPED";
        assert_eq!(references(text), ["DOCKER_EMAIL", "DOCKER_PASS", "ARR"]);
    }

    #[test]
    fn assignments_are_found() {
        let got = assignments("FOO=1 make; for X in a b; do echo $X; done\nread -r Y Z\nexport W");
        assert_eq!(got, ["FOO", "X", "Y", "Z"]);
    }

    #[test]
    fn languages_map_or_refuse() {
        assert!(language("node", "0.10.22").is_ok());
        assert!(language("python", "2.7.12").is_err());
        assert!(language("python", "3.11").is_ok());
        assert!(language("ruby", "1.9.3-p0-falcon").is_err());
        assert!(language("ruby", "2.4.0").is_ok());
        assert!(language("java", "oraclejdk8").is_ok());
        assert!(language("java", "openjdk6").is_err());
        assert!(matches!(language("php", "5.6.17"), Ok((_, Some(_)))));
        assert!(language("php", "5.2").is_err());
        assert!(language("php", "7.0").is_ok());
        assert!(language("xcode", "8.2").is_err());
    }
}
