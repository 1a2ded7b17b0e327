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

use crate::diagnostic::Diagnostics;
use crate::ir::{Command, Ir, Pattern, PhaseKind, Step, WorkDir};

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
}

pub(crate) fn emit(
    ir: &Ir,
    options: &EmitOptions,
    diags: &mut Diagnostics,
) -> Result<String, minijinja::Error> {
    let e = Emitter { ir, options };
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
        let _ = diags;
        let languages = self.languages();
        let build = self.build_job(&languages);
        let deploy = (!ir.deployments.is_empty()).then(|| self.deploy_job(&languages));
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

    /// The setup action for each `machine.<language>` the languages pass found an install for.
    fn languages(&self) -> Vec<Option<StepView>> {
        self.ir
            .languages
            .iter()
            .map(|l| {
                let v = l.install.as_deref()?;
                language(&l.name, v, &l.version)
            })
            .collect()
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

    /// The secrets the commands of a job read (the vars pass decided them).
    fn secrets(&self, job: JobKind) -> Vec<String> {
        let ir = self.ir;
        let mut out = BTreeSet::new();
        for c in ir.commands().filter(|c| match job {
            JobKind::Build => c.phase != PhaseKind::Deployment,
            JobKind::Deploy => !matches!(c.phase, PhaseKind::Test | PhaseKind::Teardown),
        }) {
            if let Some(v) = ir.vars.of(c.id) {
                out.extend(v.secrets.iter().cloned());
            }
        }
        out.into_iter().collect()
    }
}

const TEST_COND: &str = "!cancelled() && steps.setup.outcome == 'success'";

fn cache_key() -> String {
    format!("{CACHE_PREFIX}{CACHE_BRANCH}${{{{ github.run_id }}}}")
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

/// The setup action that installs `version` (the languages pass chose it) of a `machine.<language>`
/// written as `written`.
fn language(name: &str, version: &str, written: &str) -> Option<StepView> {
    let step = |label: &str, uses: &'static str, with: Vec<Kv>| StepView {
        name: format!("Set up {label} (machine.{name})"),
        uses: Some(uses),
        with,
        ..StepView::default()
    };
    let v = version;
    Some(match name {
        "node" => step(
            &format!("Node.js {v}"),
            "actions/setup-node@v6",
            vec![Kv::data("node-version", v)],
        ),
        "python" => step(
            &format!("Python {v}"),
            "actions/setup-python@v6",
            vec![Kv::data("python-version", v)],
        ),
        "ruby" => step(
            &format!("Ruby {v}"),
            "ruby/setup-ruby@v1",
            vec![Kv::data("ruby-version", v)],
        ),
        "go" => step(
            &format!("Go {v}"),
            "actions/setup-go@v6",
            vec![Kv::data("go-version", v)],
        ),
        // Temurin and Zulu are OpenJDK builds; Oracle's own JDK 7/8 is not downloadable.
        "java" => {
            let distribution = if v == "7" { "zulu" } else { "temurin" };
            let label = if v == "7" { "Zulu" } else { "Temurin" };
            step(
                &format!("Java {v} ({label}, for {written})"),
                "actions/setup-java@v5",
                vec![
                    Kv::data("distribution", distribution),
                    Kv::data("java-version", v),
                ],
            )
        }
        "php" => step(
            &format!("PHP {v}"),
            "shivammathur/setup-php@v2",
            vec![Kv::data("php-version", v)],
        ),
        "ghc" => step(
            &format!("GHC {v}"),
            "haskell-actions/setup@v2",
            vec![Kv::data("ghc-version", v)],
        ),
        _ => return None,
    })
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
}
