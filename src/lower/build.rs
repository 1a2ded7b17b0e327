//! Lower stage, first pass: [`Config`] → [`Ir`]. Decides phase order, pre/override/post,
//! inference slots, modifier defaults and deployment conditions (spec §4–§6), once for every back-end.

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::ir::*;
use crate::parse::{CommandList, Config, DeploymentSection, EnvEntry, PhaseSection, Text};
use crate::source::Source;

use super::infer::Inference;
use super::pattern;
use super::InferState;

struct Builder<'a> {
    source: &'a Source,
    next_id: usize,
    infer: &'a InferState,
}

pub(super) fn run(
    source: &Source,
    config: &Config,
    build_dir: Option<&str>,
    infer: &InferState,
    diags: &mut Diagnostics,
) -> Ir {
    let mut b = Builder {
        source,
        next_id: 0,
        infer,
    };
    let machine = config.machine.clone().unwrap_or_default();

    let mut phases = vec![];
    // machine: pre, then CircleCI's built-ins (env export, timezone, hosts, languages, services), then post.
    let mut steps = vec![];
    b.push_list(
        &mut steps,
        PhaseKind::Machine,
        Section::Pre,
        machine.pre.as_ref(),
        diags,
    );
    steps.push(Step::ExportEnv);
    if let Some(tz) = &machine.timezone {
        steps.push(Step::Timezone {
            zone: tz.value.clone(),
        });
    }
    if !machine.hosts.is_empty() {
        steps.push(Step::Hosts);
    }
    for (name, version) in &machine.languages {
        steps.push(Step::Language {
            name: name.value.clone(),
            version: version.value.clone(),
        });
    }
    if !machine.services.is_empty() {
        steps.push(Step::StartServices);
    }
    b.push_list(
        &mut steps,
        PhaseKind::Machine,
        Section::Post,
        machine.post.as_ref(),
        diags,
    );
    phases.push(phase(PhaseKind::Machine, steps));

    // checkout: the clone (already done: the build runs in a checkout), then post.
    let mut steps = vec![Step::Checkout];
    let checkout = config.checkout.as_ref();
    b.push_list(
        &mut steps,
        PhaseKind::Checkout,
        Section::Post,
        checkout.and_then(|c| c.post.as_ref()),
        diags,
    );
    phases.push(phase(PhaseKind::Checkout, steps));

    // dependencies: the cache is restored before `pre` and saved after `post` (spec §4.1 rows 13–15).
    let mut steps = vec![Step::RestoreCache];
    // The language set-up of 1.0's machine (the Python virtualenv), before `pre`, whatever
    // the phase says: it was there before any command ran.
    if let InferState::Project(inf) = infer {
        let span = config.dependencies.as_ref().map(|s| s.span);
        b.push_inferred(&mut steps, PhaseKind::Dependencies, &inf.setup, span);
    }
    b.push_phase(
        &mut steps,
        PhaseKind::Dependencies,
        config.dependencies.as_ref(),
        true,
        diags,
    );
    steps.push(Step::SaveCache);
    phases.push(phase(PhaseKind::Dependencies, steps));

    for (kind, section, infers) in [
        (PhaseKind::Database, config.database.as_ref(), true),
        // No inference is documented for compile (spec §3.5).
        (PhaseKind::Compile, config.compile.as_ref(), false),
        (PhaseKind::Test, config.test.as_ref(), true),
    ] {
        let mut steps = vec![];
        b.push_phase(&mut steps, kind, section, infers, diags);
        phases.push(phase(kind, steps));
    }

    inferred_warning(&phases, config, infer, source, diags);
    if let InferState::Project(inf) = infer {
        inferred_notes(&phases, inf, diags);
    }

    let deployments = config
        .deployment
        .iter()
        .map(|d| b.deployment(d, diags))
        .collect();

    let mut teardown = vec![];
    if let Some(t) = &config.teardown {
        b.push_commands(
            &mut teardown,
            PhaseKind::Teardown,
            Section::Pre,
            t.pre.as_ref(),
            diags,
        );
    }

    Ir {
        source_name: source.name.clone(),
        build_dir: build_dir.map(String::from),
        environment: inferred_env(infer)
            .into_iter()
            .chain(env(&machine.environment))
            .collect(),
        timezone: machine.timezone.as_ref().map(|t| t.value.clone()),
        hosts: machine
            .hosts
            .iter()
            .map(|(n, a)| Host {
                name: n.value.clone(),
                address: a.value.clone(),
            })
            .collect(),
        docker: machine.services.iter().any(|s| s.value == "docker"),
        services: machine
            .services
            .iter()
            .filter(|s| s.value != "docker")
            .map(|s| Service {
                name: s.value.clone(),
                span: s.span,
                line: source.line(s.span.start),
                container: None,
                started_because: None,
            })
            .collect(),
        phases,
        deployments,
        teardown,
        branches: BranchFilter {
            only: patterns(&config.general.branches_only, diags),
            ignore: patterns(&config.general.branches_ignore, diags),
        },
        // What inference would cache; the paths pass normalises the config's list and keeps
        // the entries it does not already name (`node_modules/` names `node_modules`).
        cache_inferred: match infer {
            InferState::Project(inf) => inf.cache.clone(),
            _ => vec![],
        },
        cache_directories: texts(
            config
                .dependencies
                .as_ref()
                .map_or(&[][..], |d| &d.cache_directories),
        ),
        artifacts: texts(&config.general.artifacts),
        webhooks: texts(&config.webhooks),
        language_spans: machine
            .languages
            .iter()
            .map(|(name, version)| (name.value.clone(), version.span))
            .collect(),
        languages: vec![],
        macos: false,
        git_push_commands: vec![],
        lockfiles: vec![],
        vars: Variables::default(),
    }
}

/// Where CircleCI would have inferred commands that yml2sh could not (spec §9.3: never drop
/// inference silently): one warning, at the first such section written out (else line 1).
fn inferred_warning(
    phases: &[Phase],
    config: &Config,
    infer: &InferState,
    source: &Source,
    diags: &mut Diagnostics,
) {
    let kinds: Vec<PhaseKind> = phases
        .iter()
        .filter(|p| p.steps.contains(&Step::Inferred))
        .map(|p| p.kind)
        .collect();
    if kinds.is_empty() {
        return;
    }
    let span = kinds
        .iter()
        .find_map(|k| section_span(config, *k))
        .unwrap_or(crate::source::Span::new(0, 0));
    let names: Vec<String> = kinds.iter().map(|k| format!("`{k}`")).collect();
    let list = match names.as_slice() {
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
        [] => String::new(),
    };
    let d = match infer {
        InferState::Off => Diagnostic::warning(
            Code::InferredCommands,
            span,
            format!("no `override` in {list}: CircleCI would have inferred commands there from the project's files"),
        )
        .with_help("--no-infer is on, so yml2sh runs none of them; drop it to infer them, or write them under `override:` (an empty `override:` runs nothing)"),
        InferState::NoProject => Diagnostic::warning(
            Code::InferredCommands,
            span,
            format!("no `override` in {list}, and no project around `{}` to infer CircleCI's commands from", source.name),
        )
        .with_help("run yml2sh on the circle.yml inside its checkout, or pass --project-dir DIR (the checkout); or write the commands under `override:`"),
        InferState::Project(inf) => {
            let why: Vec<String> = kinds
                .iter()
                .filter_map(|k| inf.cannot(*k).map(|w| format!("{k}: {w}")))
                .collect();
            Diagnostic::warning(
                Code::InferredCommands,
                span,
                format!("no `override` in {list}: CircleCI 1.0 would have inferred commands there that yml2sh cannot ({})", why.join("; ")),
            )
            .with_help("write the commands under `override:` (an empty `override:` runs nothing)")
        }
    };
    diags.push(d);
}

fn section_span(config: &Config, kind: PhaseKind) -> Option<crate::source::Span> {
    match kind {
        PhaseKind::Dependencies => config.dependencies.as_ref().map(|s| s.span),
        PhaseKind::Database => config.database.as_ref().map(|s| s.span),
        PhaseKind::Test => config.test.as_ref().map(|s| s.span),
        _ => None,
    }
}

/// Notes saying what inference found and which tests it runs.
fn inferred_notes(phases: &[Phase], inf: &Inference, diags: &mut Diagnostics) {
    let inferred: Vec<&Command> = phases
        .iter()
        .flat_map(Phase::commands)
        .filter(|c| c.section == Section::Inferred)
        .collect();
    if !inf.stacks.is_empty() {
        diags.push(Diagnostic::note(
            Code::Inference,
            None,
            format!(
                "the project is {}: {} inferred command{} (see `-f ir`; --no-infer turns inference off)",
                inf.stacks.join(", "),
                inferred.len(),
                if inferred.len() == 1 { "" } else { "s" }
            ),
        ));
    }
    let tests: Vec<String> = inferred
        .iter()
        .filter(|c| c.phase == PhaseKind::Test)
        .map(|c| {
            let mut s = format!(
                "`{}` (from {})",
                c.code.title(),
                c.inferred_from.as_deref().unwrap_or("?")
            );
            if !c.modifiers.files.is_empty() {
                s.push_str(&format!(
                    ", with {} dealt across nodes",
                    c.modifiers.files.join(" ")
                ));
            }
            s
        })
        .collect();
    if !tests.is_empty() {
        diags.push(Diagnostic::note(
            Code::InferredTests,
            None,
            format!(
                "test: CircleCI 1.0's inferred tests run: {}",
                tests.join("; ")
            ),
        ));
    }
}

fn inferred_env(infer: &InferState) -> Vec<EnvVar> {
    let InferState::Project(inf) = infer else {
        return vec![];
    };
    inf.environment
        .iter()
        .map(|(name, value, from)| EnvVar {
            name: name.clone(),
            value: value.clone(),
            span: crate::source::Span::new(0, 0),
            inferred_from: Some(from.clone()),
        })
        .collect()
}

fn phase(kind: PhaseKind, steps: Vec<Step>) -> Phase {
    Phase {
        kind,
        on_failure: kind.on_failure(),
        steps,
    }
}

fn texts(v: &[Text]) -> Vec<String> {
    v.iter()
        .map(|t| t.value.clone())
        .filter(|s| !s.is_empty())
        .collect()
}

fn env(entries: &[EnvEntry]) -> Vec<EnvVar> {
    entries
        .iter()
        .map(|e| EnvVar {
            name: e.name.value.clone(),
            value: e.value.value.clone(),
            span: e.name.span,
            inferred_from: None,
        })
        .collect()
}

fn patterns(v: &[Text], diags: &mut Diagnostics) -> Vec<Pattern> {
    v.iter()
        .filter_map(|t| match pattern::parse(&t.value) {
            Ok(p) => Some(p),
            Err(why) => {
                diags.push(
                    Diagnostic::error(
                        Code::BadRegex,
                        t.span,
                        format!("`{}` is not a usable regex: {why}", t.value),
                    )
                    .with_label("invalid regex")
                    .with_help(
                        "patterns between slashes are Java regexes matched against the whole name",
                    ),
                );
                None
            }
        })
        .collect()
}

impl Builder<'_> {
    /// pre, then override or the inference slot, then post (spec §4.2).
    fn push_phase(
        &mut self,
        steps: &mut Vec<Step>,
        kind: PhaseKind,
        section: Option<&PhaseSection>,
        infers: bool,
        diags: &mut Diagnostics,
    ) {
        let pre = section.and_then(|s| s.pre.as_ref());
        let override_ = section.and_then(|s| s.override_.as_ref());
        let post = section.and_then(|s| s.post.as_ref());
        self.push_list(steps, kind, Section::Pre, pre, diags);
        match override_ {
            Some(list) => {
                if list.commands.is_empty() {
                    diags.push(
                        Diagnostic::note(
                            Code::EmptyOverride,
                            list.span,
                            format!("an empty `{kind}.override` runs nothing and turns off CircleCI's inferred {kind} commands"),
                        )
                        .with_label("nothing runs here"),
                    );
                }
                self.push_list(steps, kind, Section::Override, Some(list), diags);
            }
            None if infers => match self.infer {
                // What was inferred runs; a slot (and the warning) only where 1.0 would have
                // run something here and yml2sh found nothing it can run.
                InferState::Project(inf)
                    if !inf.commands(kind).is_empty() || inf.cannot(kind).is_none() =>
                {
                    let commands = inf.commands(kind);
                    self.push_inferred(steps, kind, commands, section.map(|s| s.span));
                }
                _ => steps.push(Step::Inferred),
            },
            None => {}
        }
        self.push_list(steps, kind, Section::Post, post, diags);
    }

    fn push_list(
        &mut self,
        steps: &mut Vec<Step>,
        kind: PhaseKind,
        section: Section,
        list: Option<&CommandList>,
        diags: &mut Diagnostics,
    ) {
        let mut commands = vec![];
        self.push_commands(&mut commands, kind, section, list, diags);
        steps.extend(commands.into_iter().map(Step::Run));
    }

    fn push_commands(
        &mut self,
        out: &mut Vec<Command>,
        kind: PhaseKind,
        section: Section,
        list: Option<&CommandList>,
        diags: &mut Diagnostics,
    ) {
        let Some(list) = list else { return };
        for c in &list.commands {
            let m = &c.modifiers;
            if kind == PhaseKind::Deployment {
                if let Some(p) = m.parallel.as_ref().filter(|p| p.value) {
                    diags.push(
                        Diagnostic::error(
                            Code::ParallelInDeployment,
                            p.span,
                            "`parallel: true` is not allowed on deployment commands",
                        )
                        .with_label("deployment runs on node 0 only")
                        .with_help("remove `parallel: true`; CircleCI refused it here"),
                    );
                }
            }
            if c.text.value.trim().is_empty() {
                diags.push(
                    Diagnostic::warning(
                        Code::EmptyCommand,
                        c.text.span,
                        format!(
                            "an empty command in `{kind}.{}`; nothing runs for it",
                            section.name()
                        ),
                    )
                    .with_label("no command text"),
                );
                continue;
            }
            let parallel = match kind {
                PhaseKind::Deployment | PhaseKind::Teardown => false,
                _ => m
                    .parallel
                    .as_ref()
                    .map_or(kind.parallel_default(), |p| p.value),
            };
            out.push(Command {
                id: self.next_id,
                phase: kind,
                section,
                code: ShellCode(c.text.value.clone()),
                line: self.source.line(c.text.span.start),
                span: c.text.span,
                modifiers: Modifiers {
                    timeout: m.timeout.as_ref().map_or(DEFAULT_TIMEOUT, |t| t.value),
                    pwd: m
                        .pwd
                        .as_ref()
                        .map(|p| p.value.clone())
                        .filter(|p| !p.is_empty()),
                    pwd_outside: false,
                    environment: env(&m.environment),
                    parallel,
                    files: texts(&m.files),
                    background: m.background.as_ref().is_some_and(|b| b.value),
                },
                original: None,
                inferred_from: None,
            });
            self.next_id += 1;
        }
    }

    /// Inferred commands, as ordinary commands of `Section::Inferred`, located at their phase.
    fn push_inferred(
        &mut self,
        steps: &mut Vec<Step>,
        kind: PhaseKind,
        commands: &[super::infer::Inferred],
        span: Option<crate::source::Span>,
    ) {
        let span = span.unwrap_or(crate::source::Span::new(0, 0));
        let line = if span.end > span.start {
            self.source.line(span.start)
        } else {
            0
        };
        for c in commands {
            steps.push(Step::Run(Command {
                id: self.next_id,
                phase: kind,
                section: Section::Inferred,
                code: ShellCode(c.code.clone()),
                line,
                span,
                modifiers: Modifiers {
                    timeout: DEFAULT_TIMEOUT,
                    pwd: None,
                    pwd_outside: false,
                    environment: vec![],
                    // Split tests run on every node, as `files:` commands do.
                    parallel: !c.files.is_empty() || kind.parallel_default(),
                    files: c.files.clone(),
                    background: false,
                },
                original: None,
                inferred_from: Some(c.from.clone()),
            }));
            self.next_id += 1;
        }
    }

    fn deployment(&mut self, d: &DeploymentSection, diags: &mut Diagnostics) -> Deployment {
        let mut commands = vec![];
        self.push_commands(
            &mut commands,
            PhaseKind::Deployment,
            Section::Commands,
            d.commands.as_ref(),
            diags,
        );
        if let Some(app) = &d.heroku_app {
            // Spec §3.7/§13: the documented push of the built commit to the app's git remote.
            commands.push(Command {
                id: self.next_id,
                phase: PhaseKind::Deployment,
                section: Section::Generated,
                code: ShellCode(format!(
                    "git push {} \"$CIRCLE_SHA1:refs/heads/master\"",
                    heroku_remote(&app.value)
                )),
                line: self.source.line(app.span.start),
                span: app.span,
                modifiers: Modifiers {
                    timeout: DEFAULT_TIMEOUT,
                    pwd: None,
                    pwd_outside: false,
                    environment: vec![],
                    parallel: false,
                    files: vec![],
                    background: false,
                },
                original: None,
                inferred_from: None,
            });
            self.next_id += 1;
        }
        if let Some(span) = d.codedeploy {
            diags.push(
                Diagnostic::warning(
                    Code::DeploymentNoCommands,
                    span,
                    format!("`codedeploy` in `deployment.{}` is CircleCI's built-in AWS deploy; yml2sh does not run it", d.name.value),
                )
                .with_label("not run")
                .with_help("write the `aws deploy push` and `aws deploy create-deployment` commands under `commands:`"),
            );
        }
        Deployment {
            name: d.name.value.clone(),
            line: self.source.line(d.name.span.start),
            span: d.name.span,
            branch: patterns(&d.branch, diags),
            tag: patterns(&d.tag, diags),
            owner: d.owner.as_ref().map(|o| o.value.clone()),
            commands,
            heroku_app: d.heroku_app.as_ref().map(|a| a.value.clone()),
            codedeploy: d.codedeploy,
        }
    }
}

/// The Heroku git remote for an app; the app name is data, so it is shell-quoted.
fn heroku_remote(app: &str) -> String {
    let url = format!("https://heroku:$HEROKU_API_KEY@git.heroku.com/{app}.git");
    if app.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        format!("\"{url}\"")
    } else {
        // Not a valid Heroku name anyway; keep it inert.
        let quoted = app.replace('\'', r"'\''");
        format!("\"https://heroku:$HEROKU_API_KEY@git.heroku.com/\"'{quoted}'\".git\"")
    }
}
