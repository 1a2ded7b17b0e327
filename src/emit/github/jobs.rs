//! GitHub back-end, jobs and steps: the build job (setup phases, tests, then the deployment, on
//! one runner as on 1.0), and with `--nodes N > 1` a matrix of build jobs and a deploy job.

use serde::Serialize;

use crate::emit::{escape, EmitOptions};
use crate::ir::{Command, Ir, Phase, PhaseKind, Section, Step, WorkDir};

use super::environment::{self as env, CIRCLERC};
use super::triggers::{self, Selection};
use super::{actions, Kv};

#[derive(Serialize)]
pub(super) struct JobView {
    id: &'static str,
    name: String,
    comments: Vec<String>,
    needs: Option<&'static str>,
    cond: Option<String>,
    runs_on: &'static str,
    contents_write: bool,
    matrix: Vec<u32>,
    services: Vec<ServiceView>,
    env: Vec<Kv>,
    steps: Vec<StepView>,
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

#[derive(Clone, Default, Serialize)]
pub(super) struct StepView {
    /// `#` lines above the step (yml2sh's notes; config text is made one-line and inert).
    comments: Vec<String>,
    name: Option<String>,
    id: Option<String>,
    cond: Option<String>,
    uses: Option<&'static str>,
    with: Vec<Kv>,
    working_directory: Option<String>,
    env: Vec<Kv>,
    /// Shell: the user's command, with the lines yml2sh adds around it.
    run: Option<String>,
}

/// Which job the steps are for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Job {
    Build,
    /// `--nodes N > 1`: the deployment on a fresh runner after every node passed.
    Deploy,
}

struct Builder<'a> {
    ir: &'a Ir,
    options: &'a EmitOptions,
    job: Job,
    steps: Vec<StepView>,
    /// Comments waiting for the next step.
    comments: Vec<String>,
}

const TEST_COND: &str = "!cancelled() && steps.setup.outcome == 'success'";

pub(super) fn jobs(ir: &Ir, options: &EmitOptions) -> Vec<JobView> {
    let parallel = options.nodes > 1;
    let selection = triggers::selection(ir);
    let mut jobs = vec![];

    let mut b = Builder::new(ir, options, Job::Build);
    b.setup(!parallel);
    b.tests();
    if !parallel {
        b.deployments(selection.as_ref());
    }
    for c in &ir.teardown {
        let cond = b.and_node0("!cancelled()", c.modifiers.parallel);
        b.command(c, Some(cond));
    }
    b.uploads();
    if !parallel || ir.deployments.is_empty() {
        b.notify();
    }
    let in_build = !parallel && !ir.deployments.is_empty();
    jobs.push(JobView {
        id: "build",
        name: if parallel {
            "Build (node ${{ matrix.node }})".into()
        } else {
            "Build".into()
        },
        comments: vec![],
        needs: None,
        cond: Some(wrap(&triggers::build_condition(ir))),
        runs_on: runner(ir),
        contents_write: in_build && !ir.git_push_commands.is_empty(),
        matrix: if parallel {
            (0..options.nodes).collect()
        } else {
            vec![]
        },
        services: services(ir),
        env: job_env(ir, options, Job::Build),
        steps: b.finish(),
    });

    if parallel && !ir.deployments.is_empty() {
        let mut b = Builder::new(ir, options, Job::Deploy);
        b.setup(true);
        b.deployments(selection.as_ref());
        b.notify();
        jobs.push(JobView {
            id: "deploy",
            name: "Deploy".into(),
            comments: vec![
                "CircleCI 1.0 deployed on node 0 once every node passed. A job of its own runs on a fresh runner:".into(),
                "the setup phases run again here, so the deployment finds what they built.".into(),
            ],
            needs: Some("build"),
            cond: Some("${{ github.event_name == 'push' }}".into()),
            runs_on: runner(ir),
            contents_write: !ir.git_push_commands.is_empty(),
            matrix: vec![],
            services: services(ir),
            env: job_env(ir, options, Job::Deploy),
            steps: b.finish(),
        });
    }
    jobs
}

fn runner(ir: &Ir) -> &'static str {
    if ir.macos {
        "macos-latest"
    } else {
        "ubuntu-latest"
    }
}

/// An `if:` condition: bare, as GitHub's docs write them, or in `${{ … }}` where it starts
/// with `!` (YAML would read a tag).
fn wrap(expr: &str) -> String {
    if expr.starts_with('!') {
        format!("${{{{ {expr} }}}}")
    } else {
        expr.to_string()
    }
}

/// `BASH_ENV` for every step, and the CircleCI variables `machine.environment` values read.
fn job_env(ir: &Ir, options: &EmitOptions, job: Job) -> Vec<Kv> {
    let mut out = vec![Kv::data("BASH_ENV", CIRCLERC)];
    for name in &ir.vars.environment_circle {
        if let Some(v) = env::circle_value(name, &node_index(options, job), options.nodes) {
            out.push(Kv::expr(name, v));
        }
    }
    out
}

fn node_index(options: &EmitOptions, job: Job) -> String {
    if options.nodes > 1 && job == Job::Build {
        "${{ matrix.node }}".into()
    } else {
        "0".into()
    }
}

fn services(ir: &Ir) -> Vec<ServiceView> {
    if ir.macos {
        return vec![];
    }
    ir.services
        .iter()
        .filter_map(|s| {
            let c = s.container.as_ref()?;
            if actions::floating(&c.image) {
                return None;
            }
            let interval = 2;
            let (image, health) = actions::service_image(&c.image, &c.health);
            Some(ServiceView {
                id: c.name.clone(),
                image,
                ports: c.ports.iter().map(|p| format!("{p}:{p}")).collect(),
                env: c.env.iter().map(|(k, v)| Kv::data(k, v)).collect(),
                // `health` never holds `'`: single quotes keep it one argument.
                options: format!(
                    "--health-cmd '{health}' --health-interval {interval}s --health-timeout 5s --health-retries {}",
                    (c.ready_timeout / interval).max(1)
                ),
            })
        })
        .collect()
}

/// One line of config text, safe as a YAML comment.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn uses_var(ir: &Ir, names: &[&str]) -> bool {
    ir.vars
        .commands
        .iter()
        .any(|c| c.circle.iter().any(|n| names.contains(&n.as_str())))
        || ir
            .vars
            .environment_circle
            .iter()
            .any(|n| names.contains(&n.as_str()))
}

/// Whether the build writes to `$CIRCLE_ARTIFACTS`: a command reads it, or runs in the
/// background (its output goes there).
fn uses_artifacts(ir: &Ir) -> bool {
    uses_var(ir, &["CIRCLE_ARTIFACTS"]) || ir.commands().any(|c| c.modifiers.background)
}

impl<'a> Builder<'a> {
    fn new(ir: &'a Ir, options: &'a EmitOptions, job: Job) -> Self {
        Builder {
            ir,
            options,
            job,
            steps: vec![],
            comments: vec![],
        }
    }

    fn parallel(&self) -> bool {
        self.options.nodes > 1 && self.job == Job::Build
    }

    fn push(&mut self, mut s: StepView) {
        s.comments.splice(0..0, std::mem::take(&mut self.comments));
        self.steps.push(s);
    }

    fn finish(mut self) -> Vec<StepView> {
        if !self.comments.is_empty() {
            // Notes with no step after them go on the last step.
            if let Some(last) = self.steps.last_mut() {
                last.comments.append(&mut self.comments);
            }
        }
        self.steps
    }

    /// `cond`, and on a matrix build "node 0 only" for a command that is not `parallel`.
    fn and_node0(&self, cond: &str, parallel: bool) -> String {
        if self.parallel() && !parallel {
            wrap(&format!("{cond} && matrix.node == 0"))
        } else {
            wrap(cond)
        }
    }

    fn node0(&self, parallel: bool) -> Option<String> {
        (self.parallel() && !parallel).then(|| wrap("matrix.node == 0"))
    }

    /// Checkout, `~/.circlerc`, then machine … compile in IR order.
    fn setup(&mut self, save_cache: bool) {
        let ir = self.ir;
        let heroku = self.job == Job::Deploy || self.options.nodes <= 1;
        let heroku = heroku && ir.deployments.iter().any(|d| d.heroku_app.is_some());
        let mut with = vec![Kv::expr(
            "ref",
            // 1.0 built the pushed commit of a pull request's branch, not GitHub's merge commit.
            "${{ github.event.pull_request.head.sha || github.sha }}",
        )];
        if heroku {
            // The Heroku push sends the history.
            with.push(Kv::data("fetch-depth", "0"));
        }
        // No token on disk: a step that pushes gets it in its own environment.
        with.push(Kv::flag("persist-credentials", false));
        self.push(StepView {
            uses: Some(actions::CHECKOUT),
            with,
            ..StepView::default()
        });
        let mut prepare = vec![": > ~/.circlerc".to_string()];
        let mut dirs = vec![];
        if uses_artifacts(ir) {
            dirs.push("/tmp/circle-artifacts");
        }
        if uses_var(ir, &["CIRCLE_TEST_REPORTS", "CI_REPORTS"]) {
            dirs.push("/tmp/circle-junit");
        }
        if !dirs.is_empty() {
            prepare.push(format!("mkdir -p {}", dirs.join(" ")));
        }
        if uses_var(ir, &["CIRCLE_PROJECT_REPONAME"]) {
            // 1.0 cloned into ~/<repository>, and configs cd there.
            prepare.push(
                "[ -e ~/\"${GITHUB_REPOSITORY#*/}\" ] || ln -s \"$GITHUB_WORKSPACE\" ~/\"${GITHUB_REPOSITORY#*/}\""
                    .into(),
            );
        }
        self.push(StepView {
            name: Some(
                "Create ~/.circlerc, read by every step (BASH_ENV) as on CircleCI 1.0".into(),
            ),
            run: Some(prepare.join("\n") + "\n"),
            ..StepView::default()
        });
        let prepare_index = self.steps.len() - 1;
        for phase in ir.phases.iter().filter(|p| p.kind != PhaseKind::Test) {
            self.phase_comment(phase);
            for step in &phase.steps {
                self.setup_step(phase, step, save_cache, prepare_index);
            }
        }
        // The tests run only when every setup step succeeded: the last one that always runs did.
        if self.ir.has_tests() || !self.ir.teardown.is_empty() {
            if let Some(s) = self
                .steps
                .iter_mut()
                .rev()
                .find(|s| s.cond.is_none() && s.id.is_none())
            {
                s.id = Some("setup".into());
            }
        }
    }

    fn phase_comment(&mut self, phase: &Phase) {
        let has_run = phase.steps.iter().any(|s| matches!(s, Step::Run(_)));
        if has_run {
            self.comments.push(format!("{}", phase.kind));
        }
    }

    fn setup_step(&mut self, phase: &Phase, step: &Step, save_cache: bool, prepare: usize) {
        let ir = self.ir;
        match step {
            Step::Run(c) => {
                let cond = self.node0(c.modifiers.parallel);
                self.command(c, cond);
            }
            Step::Inferred => self.comments.push(format!(
                "{}: CircleCI 1.0 would have inferred commands here; none were found to write",
                phase.kind
            )),
            Step::ExportEnv => {
                if ir.environment.is_empty() {
                    return;
                }
                let mut lines: Vec<String> = vec![];
                for e in &ir.environment {
                    if let Some(from) = &e.inferred_from {
                        lines.push(format!("# inferred from {}", one_line(from)));
                    }
                    lines.push(env::export_line(e));
                }
                let script = env::append_to_circlerc(&lines);
                if self.steps.len() == prepare + 1 {
                    // Nothing ran in between (no machine.pre): one step does both.
                    let s = &mut self.steps[prepare];
                    s.name = Some("Create ~/.circlerc with machine.environment, read by every step (BASH_ENV) as on CircleCI 1.0".into());
                    if let Some(run) = s.run.as_mut() {
                        run.push_str(&script);
                    }
                } else {
                    self.push(StepView {
                        name: Some("machine.environment → ~/.circlerc".into()),
                        run: Some(script),
                        ..StepView::default()
                    });
                }
            }
            Step::Timezone { zone } => self.push(StepView {
                name: Some("machine.timezone".into()),
                env: vec![Kv::data("ZONE", zone)],
                run: Some(if ir.macos {
                    "sudo systemsetup -settimezone \"$ZONE\"".into()
                } else {
                    "sudo timedatectl set-timezone -- \"$ZONE\"".into()
                }),
                ..StepView::default()
            }),
            Step::Hosts => {
                let hosts: Vec<String> = ir
                    .hosts
                    .iter()
                    .map(|h| format!("{} {}", h.address, h.name))
                    .collect();
                self.push(StepView {
                    name: Some("machine.hosts".into()),
                    env: vec![Kv::data("HOSTS", hosts.join("\n"))],
                    run: Some("printf '%s\\n' \"$HOSTS\" | sudo tee -a /etc/hosts".into()),
                    ..StepView::default()
                });
            }
            Step::Language { name, .. } => {
                let Some(l) = ir.languages.iter().find(|l| &l.name == name) else {
                    return;
                };
                if l.name == "xcode" {
                    if let Some(v) = &l.install {
                        self.push(StepView {
                            name: Some(format!("Select Xcode {v} (machine.xcode)")),
                            env: vec![Kv::data("XCODE", v)],
                            run: Some(
                                "sudo xcode-select -s \"/Applications/Xcode_$XCODE.app\"".into(),
                            ),
                            ..StepView::default()
                        });
                    }
                } else if let Some((label, uses, with)) = actions::setup(l) {
                    self.push(StepView {
                        name: Some(label),
                        uses: Some(uses),
                        with,
                        ..StepView::default()
                    });
                }
            }
            Step::StartServices => self.start_services(),
            Step::Checkout => {}
            Step::RestoreCache => {
                if !ir.cache_directories.is_empty()
                    && ir.deployments.iter().any(|d| !d.tag.is_empty())
                {
                    self.comments.push("No dependency cache: this workflow publishes from tag builds, and a cache that".into());
                    self.comments.push(
                        "pull requests can write could poison a release (zizmor: cache-poisoning)."
                            .into(),
                    );
                }
                self.restore_cache()
            }
            Step::SaveCache => {
                if save_cache {
                    self.save_cache();
                }
            }
        }
    }

    /// GitHub starts `services:` and waits for their health checks before the first step; what
    /// remains is each image's `init` and the client variables, which go to `~/.circlerc`.
    fn start_services(&mut self) {
        if self.ir.macos {
            return;
        }
        let mut env = vec![];
        let mut run = vec![];
        let mut exports = vec![];
        for (i, s) in self.ir.services.iter().enumerate() {
            let Some(c) = &s.container else { continue };
            if actions::floating(&c.image) {
                continue;
            }
            if let Some(init) = &c.init {
                env.push(Kv::expr(
                    format!("SERVICE_{i}"),
                    format!("${{{{ job.services.{}.id }}}}", c.name),
                ));
                env.push(Kv::data(format!("INIT_{i}"), init));
                run.push(format!("docker exec \"$SERVICE_{i}\" sh -c \"$INIT_{i}\""));
            }
            for (k, v) in &c.client_env {
                exports.push(env::export_literal(k, v));
            }
        }
        if !exports.is_empty() {
            run.push(env::append_to_circlerc(&exports));
        }
        if run.is_empty() {
            return;
        }
        self.push(StepView {
            name: Some("Set up machine.services as CircleCI 1.0 had them".into()),
            env,
            run: Some(run.join("\n").trim_end().to_string() + "\n"),
            ..StepView::default()
        });
    }

    /// `cache_directories` as literal paths, relative to the build directory.
    fn cache_paths(&self) -> Option<String> {
        if self.ir.deployments.iter().any(|d| !d.tag.is_empty()) {
            return None;
        }
        let mut paths: Vec<String> = vec![];
        for d in &self.ir.cache_directories {
            let p = actions::literal_path(&self.in_build_dir(d));
            if !paths.contains(&p) {
                paths.push(p);
            }
        }
        (!paths.is_empty()).then(|| paths.join("\n"))
    }

    fn cache_key(&self) -> (String, bool) {
        let prefix = "circle-deps-${{ runner.os }}-";
        if self.ir.lockfiles.is_empty() {
            (format!("{prefix}${{{{ github.run_id }}}}"), false)
        } else {
            let files: Vec<String> = self
                .ir
                .lockfiles
                .iter()
                .map(|f| format!("'{}'", f.replace('\'', "''")))
                .collect();
            (
                format!("{prefix}${{{{ hashFiles({}) }}}}", files.join(", ")),
                true,
            )
        }
    }

    fn restore_cache(&mut self) {
        let Some(paths) = self.cache_paths() else {
            return;
        };
        let (key, hashed) = self.cache_key();
        if !hashed {
            self.comments.push(
                "No lock file to key the cache on: each run saves its own, and restores the newest.".into(),
            );
        }
        self.push(StepView {
            name: Some("Restore dependencies.cache_directories".into()),
            id: Some("cache".into()),
            uses: Some(actions::CACHE_RESTORE),
            with: vec![
                Kv::data("path", paths),
                Kv::expr("key", key),
                Kv::expr("restore-keys", "circle-deps-${{ runner.os }}-"),
            ],
            ..StepView::default()
        });
    }

    fn save_cache(&mut self) {
        let Some(paths) = self.cache_paths() else {
            return;
        };
        // 1.0 saved the cache from node 0 only (spec §10), after the dependencies phase.
        let mut cond = "steps.cache.outputs.cache-hit != 'true'".to_string();
        if self.parallel() {
            cond.push_str(" && matrix.node == 0");
        }
        self.push(StepView {
            name: Some("Save dependencies.cache_directories".into()),
            cond: Some(wrap(&cond)),
            uses: Some(actions::CACHE_SAVE),
            with: vec![
                Kv::data("path", paths),
                Kv::expr("key", "${{ steps.cache.outputs.cache-primary-key }}"),
            ],
            ..StepView::default()
        });
    }

    /// `general.build_dir` below the checkout (lowering's, normalised), `None` for the checkout.
    fn build_dir(&self) -> Option<&str> {
        self.ir.build_dir.as_deref()
    }

    /// A (normalised) path as 1.0 read it: relative to the build directory, `~/…` and absolute
    /// ones as is.
    fn in_build_dir(&self, path: &str) -> String {
        match self.build_dir() {
            Some(dir) if !path.starts_with('~') && !path.starts_with('/') => {
                format!("{dir}/{path}")
            }
            _ => path.to_string(),
        }
    }

    fn tests(&mut self) {
        let Some(test) = self.ir.phase(PhaseKind::Test) else {
            return;
        };
        if self.ir.has_tests() {
            self.comments
                .push("test: every command runs, even after one fails".into());
        }
        for step in &test.steps {
            match step {
                Step::Run(c) => {
                    let cond = self.and_node0(TEST_COND, c.modifiers.parallel);
                    self.command(c, Some(cond));
                }
                Step::Inferred => self.comments.push(
                    "test: CircleCI 1.0 would have inferred commands here; none were found to write"
                        .into(),
                ),
                _ => {}
            }
        }
    }

    fn deployments(&mut self, selection: Option<&Selection>) {
        let Some(selection) = selection else { return };
        let ir = self.ir;
        let conds: Vec<String> = match selection {
            Selection::Expressions(exprs) => exprs.clone(),
            Selection::Step(data) => {
                self.comments.push(
                    "deployment: the first subsection whose branch or tag pattern matches runs"
                        .into(),
                );
                self.push(StepView {
                    name: Some("Select the deployment subsection".into()),
                    id: Some("select".into()),
                    cond: Some(wrap("success() && github.event_name == 'push'")),
                    env: data.clone(),
                    run: Some(triggers::SELECT_SCRIPT.into()),
                    ..StepView::default()
                });
                (0..ir.deployments.len())
                    .map(|i| format!("steps.select.outputs.deployment == '{i}'"))
                    .collect()
            }
        };
        for (d, cond) in ir.deployments.iter().zip(conds) {
            self.comments.push(format!(
                "deployment.{}: after the tests, when they passed",
                one_line(&d.name)
            ));
            for c in &d.commands {
                let full = if self.job == Job::Deploy {
                    wrap(&cond)
                } else {
                    wrap(&format!("success() && {cond}"))
                };
                if c.section == Section::Generated {
                    if let Some(app) = &d.heroku_app {
                        self.heroku(c, app, full);
                        continue;
                    }
                }
                self.command(c, Some(full));
            }
        }
    }

    /// The `heroku:` push, with the app name passed as data.
    fn heroku(&mut self, c: &Command, app: &str, cond: String) {
        self.command(c, Some(cond));
        if let Some(s) = self.steps.last_mut() {
            s.run = Some(
                "git push \"https://heroku:$HEROKU_API_KEY@git.heroku.com/$HEROKU_APP.git\" \"$CIRCLE_SHA1:refs/heads/master\"\n"
                    .into(),
            );
            s.env.insert(0, Kv::data("HEROKU_APP", app));
        }
    }

    fn uploads(&mut self) {
        let suffix = if self.parallel() {
            "-node-${{ matrix.node }}"
        } else {
            ""
        };
        let ir = self.ir;
        let upload = |b: &mut Self, label: &str, name: &str, path: Kv| {
            b.push(StepView {
                name: Some(label.into()),
                cond: Some(wrap("always()")),
                uses: Some(actions::UPLOAD),
                with: vec![
                    Kv::expr("name", format!("{name}{suffix}")),
                    path,
                    Kv::data("if-no-files-found", "ignore"),
                ],
                ..StepView::default()
            });
        };
        if uses_artifacts(ir) {
            upload(
                self,
                "Upload $CIRCLE_ARTIFACTS",
                "circle-artifacts",
                Kv::expr("path", env::ARTIFACTS),
            );
        }
        if uses_var(ir, &["CIRCLE_TEST_REPORTS", "CI_REPORTS"]) {
            upload(
                self,
                "Upload $CIRCLE_TEST_REPORTS",
                "circle-test-reports",
                Kv::expr("path", env::TEST_REPORTS),
            );
        }
        if !ir.artifacts.is_empty() {
            let paths: Vec<String> = ir
                .artifacts
                .iter()
                .map(|a| actions::literal_path(&self.in_build_dir(a)))
                .collect();
            upload(
                self,
                "Upload general.artifacts",
                "general-artifacts",
                Kv::data("path", paths.join("\n")),
            );
        }
    }

    /// `notify.webhooks`: 1.0's `{"payload": …}` with the fields GitHub can fill.
    fn notify(&mut self) {
        if self.ir.webhooks.is_empty() {
            return;
        }
        let mut env = vec![
            Kv::expr("OUTCOME", "${{ job.status }}"),
            Kv::expr("BRANCH", "${{ github.head_ref || github.ref_name }}"),
            Kv::expr(
                "SHA",
                "${{ github.event.pull_request.head.sha || github.sha }}",
            ),
        ];
        let mut run = vec![
            "payload=$(jq -n --arg outcome \"$OUTCOME\" --arg branch \"$BRANCH\" --arg sha \"$SHA\" \\".to_string(),
            "  --arg num \"$GITHUB_RUN_NUMBER\" --arg repo \"${GITHUB_REPOSITORY#*/}\" --arg owner \"$GITHUB_REPOSITORY_OWNER\" \\".into(),
            "  --arg url \"$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID\" \\".into(),
            "  '{payload: {outcome: $outcome, status: $outcome, branch: $branch, vcs_revision: $sha,".into(),
            "    build_num: ($num | tonumber), build_url: $url, username: $owner, reponame: $repo}}')".into(),
        ];
        for (i, url) in self.ir.webhooks.iter().enumerate() {
            env.push(Kv::data(format!("WEBHOOK_{i}"), url));
            run.push(format!(
                "curl -fsS -X POST -H 'Content-Type: application/json' --data \"$payload\" -- \"$WEBHOOK_{i}\""
            ));
        }
        let cond = if self.parallel() {
            "always() && matrix.node == 0"
        } else {
            "always()"
        };
        self.push(StepView {
            name: Some("notify.webhooks".into()),
            cond: Some(wrap(cond)),
            env,
            run: Some(run.join("\n") + "\n"),
            ..StepView::default()
        });
    }

    /// A command as a step: its directory, its `environment` as `export` lines, its variables
    /// and secrets in `env:`. Returns a copy of the step it pushed.
    fn command(&mut self, c: &Command, cond: Option<String>) -> StepView {
        let m = &c.modifiers;
        let mut lines: Vec<String> = vec![];
        let mut extra: Vec<&str> = vec![];
        let mut working_directory = self.build_dir().map(String::from);
        match m.pwd.as_deref() {
            Some(p) if plain_relative(p) => {
                working_directory = Some(match self.build_dir() {
                    Some(b) => format!("{b}/{p}"),
                    None => p.to_string(),
                });
            }
            Some(p) => {
                // An absolute or `~` one leaves the build directory at once: no
                // `working-directory` that says otherwise.
                if p.starts_with('/') || p.starts_with('~') {
                    working_directory = None;
                }
                lines.push(cd_line(p));
                if m.pwd_outside {
                    // Refused as build.sh refuses it (lower/paths.rs warned): the step fails,
                    // the command is not run outside the checkout.
                    lines.push(format!(
                        "case $PWD/ in \"$GITHUB_WORKSPACE\"/*) ;; *) echo \"::error::pwd {} climbs out of the checkout (to $PWD)\"; exit 1 ;; esac",
                        escape::sh_dquote_live(p)
                    ));
                }
            }
            None if c.phase.default_dir() == WorkDir::Home => {
                // Machine commands start in the home folder (spec §6.3).
                working_directory = None;
                lines.push("cd ~ || exit".into());
            }
            None => {}
        }
        let vars = self.ir.vars.of(c.id);
        if vars.is_some_and(|v| v.circle.iter().any(|n| n == "CIRCLE_PREVIOUS_BUILD_NUM")) {
            lines.push(env::PREVIOUS_BUILD_NUM.into());
        }
        for e in &m.environment {
            lines.push(env::export_line(e));
        }
        let pushes = self.ir.git_push_commands.contains(&c.id);
        if pushes {
            // The job's token for `git push` to this repository, as checkout passes it: through
            // git's environment, never written to a file.
            lines.extend(GIT_TOKEN_LINES.iter().map(|l| l.to_string()));
        }
        let mut code = c.code.as_str().trim_end_matches('\n').to_string();
        if !m.files.is_empty() {
            lines.push("shopt -s globstar nullglob".into());
            let globs: Vec<String> = m.files.iter().map(|g| glob_word(g)).collect();
            if self.parallel() {
                // This node's share of the files, dealt round-robin (spec §6.2).
                extra.extend(["CIRCLE_NODE_TOTAL", "CIRCLE_NODE_INDEX"]);
                lines.push(format!("files=({})", globs.join(" ")));
                lines.push("share=()".into());
                lines.push("for i in \"${!files[@]}\"; do if ((i % CIRCLE_NODE_TOTAL == CIRCLE_NODE_INDEX)); then share+=(\"${files[i]}\"); fi; done".into());
                // A node with no files skips the command (without files it would run them all).
                lines.push("if [ ${#share[@]} -eq 0 ]; then exit 0; fi".into());
                code.push_str(" \"${share[@]}\"");
            } else {
                code.push(' ');
                code.push_str(&globs.join(" "));
            }
        }
        if m.background {
            extra.push("CIRCLE_ARTIFACTS");
            let log = format!(
                "$CIRCLE_ARTIFACTS/stdout_{}.txt",
                escape::slug(c.code.title())
            );
            lines.push(format!(
                "nohup bash -c {} > \"{log}\" 2>&1 &",
                escape::sh_quote_always(&code)
            ));
        } else {
            lines.push(code);
        }
        let node_index = node_index(self.options, self.job);
        let mut env = env::step_env(
            self.ir,
            c,
            &self.ir.vars.environment_circle,
            &node_index,
            self.options.nodes,
            &extra,
        );
        if pushes {
            env.push(Kv::expr("GITHUB_TOKEN", "${{ github.token }}"));
        }
        if let Some(from) = &c.inferred_from {
            self.comments
                .push(format!("inferred from {}", one_line(from)));
        }
        let s = StepView {
            cond,
            working_directory,
            env,
            run: Some(lines.join("\n") + "\n"),
            ..StepView::default()
        };
        self.push(s.clone());
        s
    }
}

/// git reads these as `http.https://github.com/.extraheader`, the header actions/checkout sets.
const GIT_TOKEN_LINES: &[&str] = &[
    "export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=http.https://github.com/.extraheader",
    "GIT_CONFIG_VALUE_0=\"AUTHORIZATION: basic $(printf 'x-access-token:%s' \"$GITHUB_TOKEN\" | base64 | tr -d '\\n')\"",
    "export GIT_CONFIG_VALUE_0",
];

/// A glob as one shell word: its characters quoted, `*`, `?` and `[…]` left to match.
fn glob_word(g: &str) -> String {
    let mut out = String::new();
    for c in g.chars() {
        if c.is_ascii_alphanumeric() || "*?[]/._-".contains(c) {
            out.push(c);
        } else {
            out.push('\\');
            out.push(c);
        }
    }
    out
}

/// `cd` to a `pwd` that is not a plain relative path: `$VAR` live, as 1.0 expanded it; a
/// leading `~/` is the home folder.
fn cd_line(pwd: &str) -> String {
    match pwd.strip_prefix("~/") {
        Some(rest) => format!("cd ~/\"{}\" || exit", escape::sh_dquote_live(rest)),
        None if pwd == "~" => "cd ~ || exit".into(),
        None => format!("cd \"{}\" || exit", escape::sh_dquote_live(pwd)),
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
