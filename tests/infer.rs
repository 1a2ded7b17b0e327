//! Inference (spec §9): the fixture projects under tests/fixtures/projects/ (one small tree per
//! stack, each with its circle.yml) compiled with their project around them, snapshotted for
//! every back-end, and executed through build.sh and the Makefile against recording stand-ins.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use yml2sh::{render, Code, Options, Target};

fn project(stack: &str) -> PathBuf {
    common::fixture(&format!("projects/{stack}"))
}

fn projects() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(common::fixture("projects"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn options(target: Target, dir: Option<&Path>) -> Options {
    let mut o = common::options(target);
    o.lower.project_dir = dir.map(Path::to_path_buf);
    o
}

fn source(stack: &str) -> yml2sh::Source {
    common::read_source(&project(stack).join("circle.yml"))
}

fn compile(stack: &str, target: Target) -> yml2sh::Output {
    yml2sh::compile(&source(stack), &options(target, Some(&project(stack))))
        .unwrap_or_else(|d| panic!("{stack}: {:?}", d.sorted()))
}

fn ir(stack: &str) -> String {
    compile(stack, Target::Ir).text
}

/// The generated text without the shared runtime (pinned by git in templates/), as emit.rs does.
fn strip_runtime(text: &str) -> String {
    let runtime = std::fs::read_to_string(common::root().join("templates/runtime.sh")).unwrap();
    let indented: Vec<String> = runtime
        .split('\n')
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("          {l}")
            }
        })
        .collect();
    let commented: String = runtime
        .split('\n')
        .map(|l| {
            if l.is_empty() {
                "#|\n".to_string()
            } else {
                format!("#| {l}\n")
            }
        })
        .collect();
    text.replace(&commented, "#| <templates/runtime.sh, verbatim>\n")
        .replace(&runtime, "# <templates/runtime.sh, verbatim>\n")
        .replace(
            &indented.join("\n"),
            "          # <templates/runtime.sh, verbatim>\n",
        )
}

#[test]
fn every_project_in_every_backend() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(common::root().join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    for stack in projects() {
        settings.set_description(format!("tests/fixtures/projects/{stack}"));
        for (target, name) in [
            (Target::Ir, "ir"),
            (Target::Bash, "bash"),
            (Target::Make, "make"),
            (Target::Github, "github"),
        ] {
            let out = compile(&stack, target);
            let mut text = strip_runtime(&out.text);
            if target == Target::Ir {
                // The IR snapshot also shows what lowering said about the project.
                text.push_str("\n--- diagnostics\n");
                text.push_str(&render::human(
                    &source(&stack),
                    &out.diagnostics.sorted(),
                    false,
                ));
            }
            settings.bind(|| insta::assert_snapshot!(format!("infer-{name}@{stack}"), text));
        }
    }
}

#[test]
fn node_commands_sit_between_pre_and_post_marked_with_their_file() {
    let text = ir("node");
    let deps = text.find("[dependencies:inferred]").unwrap();
    let test = text.find("[test:inferred]").unwrap();
    let post = text.find("[test:post]").unwrap();
    assert!(deps < test && test < post, "{text}");
    assert!(text.contains("      inferred from package.json\n      | npm install\n"));
    assert!(text.contains("      inferred from package.json (scripts.test)\n      | npm test\n"));
    assert!(text.contains(
        "env PATH=\"${YML2SH_BUILD_DIR:-$PWD}/node_modules/.bin:$PATH\" (inferred from package.json)"
    ));
    assert!(text.contains("cache \"node_modules\" (inferred)"));
}

#[test]
fn node_without_test_script_runs_no_test_and_warns() {
    let out = compile("node-no-test", Target::Ir);
    assert!(out.text.contains("| yarn install"), "{}", out.text);
    assert!(!out.text.contains("yarn test"), "{}", out.text);
    assert!(
        out.diagnostics
            .iter()
            .any(|d| d.code == Code::NoTests && d.severity == yml2sh::Severity::Warning),
        "{:?}",
        out.diagnostics
    );
    assert!(!out
        .diagnostics
        .iter()
        .any(|d| d.code == Code::InferredCommands));
}

#[test]
fn empty_override_infers_nothing() {
    let text = ir("empty-override");
    let deps =
        &text[text.find("phase dependencies").unwrap()..text.find("phase database").unwrap()];
    let test = &text[text.find("phase test").unwrap()..];
    assert!(!deps.contains("run #"), "{deps}");
    assert!(!test.contains("run #"), "{test}");
}

#[test]
fn no_infer_keeps_todays_slots() {
    let mut o = options(Target::Ir, Some(&project("rails")));
    o.lower.no_infer = true;
    let out = yml2sh::compile(&source("rails"), &o).unwrap();
    assert!(!out.text.contains(":inferred]"), "{}", out.text);
    assert!(!out.text.contains("RAILS_ENV"), "{}", out.text);
    assert!(
        out.text
            .contains("  inferred (CircleCI would infer commands here)"),
        "{}",
        out.text
    );
    let warning = out
        .diagnostics
        .iter()
        .find(|d| d.code == Code::InferredCommands)
        .expect("the warning stays");
    assert!(warning.help.as_deref().unwrap().contains("--no-infer"));
}

#[test]
fn without_a_project_the_warning_says_how_to_infer() {
    let out = yml2sh::compile(&source("node"), &options(Target::Ir, None)).unwrap();
    assert!(!out.text.contains(":inferred]"));
    let d = out
        .diagnostics
        .iter()
        .find(|d| d.code == Code::InferredCommands)
        .unwrap();
    assert!(
        d.message.contains("no project around `circle.yml`"),
        "{}",
        d.message
    );
    assert!(d.help.as_deref().unwrap().contains("--project-dir"));
    assert!(d.span.is_some(), "located");
}

#[test]
fn build_dir_is_where_inference_looks() {
    let text = ir("build-dir");
    assert!(
        text.contains("inferred from package.json (scripts.test)\n      | npm test"),
        "{text}"
    );
}

#[test]
fn rails_exports_writes_database_yml_and_splits_rspec() {
    let text = ir("rails");
    for want in [
        "env RAILS_ENV=\"test\" (inferred from Gemfile)",
        "env RACK_ENV=\"test\" (inferred from Gemfile)",
        "cache \"vendor/bundle\"",
        "| bundle check --path=vendor/bundle || bundle install --path=vendor/bundle --jobs=4 --retry=3",
        "| bundle exec rake db:create db:schema:load --trace",
        "adapter: postgresql",
        "files \"spec/**/*_spec.rb\"",
        "| bundle exec rspec --color --require spec_helper --format progress",
    ] {
        assert!(text.contains(want), "{want}\n{text}");
    }
    // test.pre runs before the inferred tests, which run on every node (their files are dealt).
    let pre = text.find("[test:pre]").unwrap();
    let rspec = text
        .find("[test:inferred] line 4 timeout=600 all-nodes")
        .unwrap();
    assert!(pre < rspec, "{text}");
    let out = compile("rails", Target::Ir);
    let note = out
        .diagnostics
        .iter()
        .find(|d| d.code == Code::InferredTests)
        .unwrap();
    assert!(
        note.message.contains("bundle exec rspec"),
        "{}",
        note.message
    );
}

#[test]
fn an_existing_database_yml_is_never_written() {
    let dir = crate::common::tmp().join(format!("yml2sh-infer-dbyml-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&project("rails"), &dir);
    std::fs::create_dir_all(dir.join("config")).unwrap();
    std::fs::write(dir.join("config/database.yml"), "test: {}\n").unwrap();
    std::fs::create_dir_all(dir.join(".git")).unwrap();
    let out = yml2sh::compile(&source("rails"), &options(Target::Ir, Some(&dir))).unwrap();
    assert!(!out.text.contains("database.yml"), "{}", out.text);
    assert!(out.text.contains("db:schema:load"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn detection_never_blocks_on_a_fifo_or_reads_a_huge_file_whole() {
    let dir = crate::common::tmp().join(format!("yml2sh-infer-fifo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join(".git")).unwrap();
    let status = Command::new("mkfifo")
        .arg(dir.join("package.json"))
        .status()
        .unwrap();
    assert!(status.success());
    // A 20 MB Gemfile.lock: read up to its limit only.
    let big = "    rspec-core (3.5.0)\n".repeat(1_000_000);
    std::fs::write(dir.join("Gemfile.lock"), big).unwrap();
    std::fs::write(dir.join("Gemfile"), "").unwrap();
    std::fs::create_dir_all(dir.join("spec")).unwrap();
    let src = yml2sh::Source::new("circle.yml", "test:\n  post:\n    - echo hi\n");
    let out = yml2sh::compile(&src, &options(Target::Ir, Some(&dir))).unwrap();
    assert!(out.text.contains("bundle exec rspec"), "{}", out.text);
    assert!(
        !out.text.contains("npm"),
        "a FIFO is not a package.json: {}",
        out.text
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ios_without_a_shared_scheme_keeps_the_warning_at_the_test_phase() {
    let dir = crate::common::tmp().join(format!("yml2sh-infer-ios-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("App.xcodeproj")).unwrap();
    std::fs::create_dir_all(dir.join(".git")).unwrap();
    let src = yml2sh::Source::new(
        "circle.yml",
        "machine:\n  xcode:\n    version: 8.0\ntest:\n  post:\n    - echo hi\n",
    );
    let out = yml2sh::compile(&src, &options(Target::Ir, Some(&dir))).unwrap();
    let d = out
        .diagnostics
        .iter()
        .find(|d| d.code == Code::InferredCommands)
        .expect("1.0 would have tested the scheme");
    assert!(d.message.contains("no shared scheme"), "{}", d.message);
    assert_eq!(src.line(d.span.unwrap().start), 4, "at `test:`");
    // Another stack's tests run where they can: RSpec of the project's Gemfile.
    std::fs::write(dir.join("Gemfile"), "gem 'rspec'\n").unwrap();
    std::fs::create_dir_all(dir.join("spec")).unwrap();
    let out = yml2sh::compile(&src, &options(Target::Ir, Some(&dir))).unwrap();
    assert!(out.text.contains("| bundle exec rspec"), "{}", out.text);
    assert!(!out
        .diagnostics
        .iter()
        .any(|d| d.code == Code::InferredCommands));
    let _ = std::fs::remove_dir_all(&dir);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Execution: the inferred commands run, in order, through build.sh and the Makefile.

const TOOLS: &[&str] = &[
    "npm",
    "yarn",
    "bundle",
    "pip",
    "virtualenv",
    "python",
    "mvn",
    "gradle",
    "lein",
    "go",
    "docker",
    "composer",
    "phpunit",
    "sbt",
    "ant",
    "mocha",
    "nosetests",
];

struct Run {
    out: Output,
    calls: Vec<String>,
}

impl Run {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
            + &String::from_utf8_lossy(&self.out.stderr)
    }
}

fn run_target(target: Target, stack: &str, env: &[(&str, &str)]) -> Run {
    let label = format!(
        "infer-{stack}-{}-{}",
        if target == Target::Make {
            "make"
        } else {
            "bash"
        },
        env.iter().map(|(_, v)| *v).collect::<Vec<_>>().join("-")
    );
    let (repo, home) = common::scratch_repo(&label, Some(&project(stack)));
    let base = repo.parent().unwrap().to_path_buf();
    // Compiled where a user compiles it: in the checkout.
    let source = common::read_source(&repo.join("circle.yml"));
    let text = yml2sh::compile(&source, &options(target, Some(&repo)))
        .unwrap_or_else(|d| panic!("{stack}: {:?}", d.sorted()))
        .text;
    let bin = common::stand_ins(&base, TOOLS);
    let record = base.join("record");
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let mut cmd = if target == Target::Make {
        std::fs::write(base.join("Makefile"), text).unwrap();
        let mut cmd = Command::new("make");
        cmd.arg("-s").arg("-f").arg(base.join("Makefile"));
        cmd
    } else {
        std::fs::write(base.join("build.sh"), text).unwrap();
        let mut cmd = Command::new("bash");
        cmd.arg(base.join("build.sh"));
        cmd
    };
    common::scrub_env(&mut cmd);
    cmd.current_dir(&repo)
        .env("PATH", path)
        .env("HOME", &home)
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("NO_COLOR", "1")
        .env("YML2SH_RECORD", &record);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("the build runs");
    let calls = std::fs::read_to_string(&record)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            l.replace(&home.to_string_lossy().into_owned(), "<home>")
                .replace(&base.to_string_lossy().into_owned(), "<base>")
        })
        .collect();
    let _ = std::fs::remove_dir_all(&base);
    Run { out, calls }
}

/// Runs the project's build through build.sh and the Makefile; both make the same calls.
fn run(stack: &str, env: &[(&str, &str)]) -> Run {
    let bash = run_target(Target::Bash, stack, env);
    let make = run_target(Target::Make, stack, env);
    assert_eq!(
        (bash.out.status.success(), &bash.calls),
        (make.out.status.success(), &make.calls),
        "{stack}: build.sh and the Makefile differ\n--- bash:\n{}\n--- make:\n{}",
        bash.text(),
        make.text()
    );
    bash
}

/// The build succeeds and calls the tools in `expected` order (a default service's docker calls
/// aside: `rails_with_pg_starts_postgres_and_django_url_too` checks those).
fn check(stack: &str, env: &[(&str, &str)], expected: &[&str]) -> Run {
    let r = run(stack, env);
    assert_eq!(r.out.status.code(), Some(0), "{stack}: {}", r.text());
    let calls: Vec<&String> = r
        .calls
        .iter()
        .filter(|c| !c.starts_with("docker "))
        .collect();
    assert_eq!(calls, expected, "{stack}: {}", r.text());
    r
}

#[test]
fn node_runs_npm_install_then_npm_test() {
    let r = check("node", &[], &["npm install", "npm test"]);
    let text = r.text();
    assert!(
        text.contains("# inferred from package.json (scripts.test)\n$ npm test"),
        "{text}"
    );
    // node_modules was cached by inference only: its absence is no warning.
    assert!(!text.contains("does not exist"), "{text}");
    // Commands find the project's node_modules/.bin first on PATH.
    let r = run("node", &[("YML2SH_RECORD_ENV", "PATH")]);
    assert!(
        r.calls
            .iter()
            .all(|c| c
                .ends_with(" PATH=<base>/widget/node_modules/.bin:<base>/stand-ins:/usr/bin:/bin")),
        "{:#?}",
        r.calls
    );
}

#[test]
fn rails_bundles_loads_the_schema_and_runs_rspec_with_its_share_of_specs() {
    check(
        "rails",
        &[("YML2SH_RECORD_ENV", "RAILS_ENV")],
        &[
            "bundle check --path=vendor/bundle RAILS_ENV=test",
            "bundle exec rake db:create db:schema:load --trace RAILS_ENV=test",
            "bundle exec rspec --color --require spec_helper --format progress spec/models/user_spec.rb spec/models/widget_spec.rb spec/requests/api_spec.rb RAILS_ENV=test",
        ],
    );
    // Two nodes: the specs dealt round-robin in sorted order, as `files:` deals them.
    check(
        "rails",
        &[
            ("YML2SH_RECORD_ENV", "RAILS_ENV"),
            ("CIRCLE_NODE_TOTAL", "2"),
            ("CIRCLE_NODE_INDEX", "1"),
        ],
        &[
            "bundle check --path=vendor/bundle RAILS_ENV=test",
            "bundle exec rake db:create db:schema:load --trace RAILS_ENV=test",
            "bundle exec rspec --color --require spec_helper --format progress spec/models/widget_spec.rb RAILS_ENV=test",
        ],
    );
}

#[test]
fn rails_database_yml_is_written_when_absent() {
    let (repo, _home) = common::scratch_repo("infer-dbyml-run", Some(&project("rails")));
    let base = repo.parent().unwrap().to_path_buf();
    let source = common::read_source(&repo.join("circle.yml"));
    let text = yml2sh::compile(&source, &options(Target::Bash, Some(&repo)))
        .unwrap()
        .text;
    std::fs::write(base.join("build.sh"), text).unwrap();
    let bin = common::stand_ins(&base, TOOLS);
    let mut cmd = Command::new("bash");
    common::scrub_env(&mut cmd);
    let out = cmd
        .arg(base.join("build.sh"))
        .current_dir(&repo)
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("HOME", base.join("home"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stdout).into_owned();
    let written = std::fs::read_to_string(repo.join("config/database.yml")).unwrap();
    assert!(written.contains("adapter: postgresql"), "{written}");
    assert!(written.contains("database: circle_ruby_test"), "{written}");
    assert!(
        log.contains("wrote CircleCI 1.0's config/database.yml"),
        "{log}"
    );
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn python_creates_the_virtualenv_and_installs_into_it() {
    check(
        "python",
        &[("YML2SH_RECORD_ENV", "VIRTUAL_ENV")],
        &[
            "python --version VIRTUAL_ENV=''",
            "virtualenv <home>/virtualenvs/venv-system VIRTUAL_ENV=<home>/virtualenvs/venv-system",
            "pip install -r requirements.txt VIRTUAL_ENV=<home>/virtualenvs/venv-system",
            "nosetests tests/test_client.py tests/test_server.py VIRTUAL_ENV=<home>/virtualenvs/venv-system",
        ],
    );
}

#[test]
fn django_tests_run_by_module_label() {
    let r = run("django", &[]);
    let calls: Vec<&str> = r
        .calls
        .iter()
        .map(String::as_str)
        .filter(|c| !c.starts_with("docker"))
        .collect();
    assert_eq!(
        calls,
        [
            "virtualenv <home>/virtualenvs/venv-system",
            "pip install -r requirements.txt",
            "python manage.py test blog.tests shop.tests",
        ],
        "{}",
        r.text()
    );
}

#[test]
fn maven_gradle_lein_and_go_run_their_tools_in_order() {
    check(
        "maven",
        &[],
        &["mvn dependency:resolve", "mvn integration-test"],
    );
    // ./gradlew is the project's own wrapper; it calls gradle.
    check("gradle", &[], &["gradle dependencies", "gradle test"]);
    check("clojure", &[], &["lein deps", "lein test", "lein uberjar"]);
}

#[test]
fn go_gets_builds_and_tests() {
    let r = run("go", &[]);
    let calls: Vec<&str> = r
        .calls
        .iter()
        .map(String::as_str)
        .filter(|c| !c.starts_with("docker"))
        .collect();
    assert_eq!(
        calls,
        [
            "go get -t -d -v ./...",
            "go build -v ./...",
            "go test -v -race ./...",
        ],
        "{}",
        r.text()
    );
}

// ---------------------------------------------------------------------------------------------
// Default services (spec §8): started when the config clearly uses one, with a note saying why.

fn default_services(yml: &str) -> (String, Vec<yml2sh::Diagnostic>) {
    let src = yml2sh::Source::new("circle.yml", yml);
    let out = yml2sh::compile(&src, &options(Target::Ir, None)).unwrap();
    let notes = out
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::DefaultService)
        .cloned()
        .collect();
    (out.text, notes)
}

#[test]
fn default_services_start_on_clear_use_only() {
    let (text, notes) = default_services(
        "machine:\n  environment:\n    DATABASE_URL: postgres://ubuntu:@127.0.0.1:5432/circle_test\ntest:\n  override:\n    - sudo -u postgres psql -c 'select 1'\n    - mysql -u ubuntu -e 'create schema t'\n    - redis-cli ping\n    - echo mongo\n",
    );
    assert!(
        text.contains("service postgresql image=postgres:9.5"),
        "{text}"
    );
    assert!(text.contains(
        "  default service, started because of `postgres://` in machine.environment DATABASE_URL"
    ));
    assert!(text.contains("service mysql image=mysql:5.7"), "{text}");
    assert!(text.contains("service redis image="), "{text}");
    assert!(
        !text.contains("service mongodb"),
        "`echo mongo` runs no client: {text}"
    );
    assert_eq!(notes.len(), 3, "{notes:?}");
    assert!(notes.iter().all(|d| d.span.is_some()), "located at the use");
    assert!(text.contains("  start-services"), "{text}");

    // Guesses start nothing: an image name, a bare port, circle_test, a listed service, a
    // container the config publishes itself.
    for yml in [
        "test:\n  override:\n    - docker run -d mysql:5.7\n",
        "test:\n  override:\n    - echo 5432 circle_test\n",
        "machine:\n  services:\n    - postgresql\ntest:\n  override:\n    - psql -c 'select 1'\n",
        "test:\n  override:\n    - docker run -d -p 5432:5432 postgres\n    - psql -h localhost\n",
    ] {
        let (text, notes) = default_services(yml);
        assert!(notes.is_empty(), "{yml}: {notes:?}");
        assert!(!text.contains("default service"), "{yml}: {text}");
    }
}

#[test]
fn rails_with_pg_starts_postgres_and_django_url_too() {
    for stack in ["rails", "django"] {
        let text = ir(stack);
        assert!(
            text.contains("service postgresql image=postgres:9.5"),
            "{stack}: {text}"
        );
    }
    // Through build.sh and the Makefile: the container is started before the inferred commands.
    let r = run("django", &[]);
    let first = r
        .calls
        .iter()
        .position(|c| c.starts_with("docker run -d --name yml2sh-acme-widget-1-postgresql"));
    let pip = r.calls.iter().position(|c| c.starts_with("pip install"));
    assert!(
        first.is_some() && first < pip,
        "{:#?}\n{}",
        r.calls,
        r.text()
    );
}

// ---------------------------------------------------------------------------------------------
// The corpus: real circle.yml files copied out of their projects. With no project around them
// inference can detect no stack (a directory of 150 configs is no checkout), so each file that
// leaves a phase without `override` keeps the located `inferred-commands` warning, saying how to
// enable inference. What the report can count is what the configs themselves say: the language
// each declares (`machine.<language>`), i.e. the stack its project's files would have shown.

#[test]
fn corpus_inference_report() {
    let Some(dir) = common::corpus_dir() else {
        eprintln!("SKIPPED: the corpus (set YML2SH_CORPUS to ../shared/corpus/real)");
        return;
    };
    let mut by_language: std::collections::BTreeMap<String, usize> = Default::default();
    let (mut files, mut relying, mut no_test_override, mut stacks_found) = (0, 0, 0, 0);
    for path in common::yml_files(&dir) {
        let source = common::read_source(&path);
        let Ok((ir, diags)) = yml2sh::lower(&source, &options(Target::Ir, Some(&dir))) else {
            continue;
        };
        files += 1;
        stacks_found += usize::from(diags.iter().any(|d| d.code == Code::Inference));
        let slots: Vec<_> = ir
            .phases
            .iter()
            .filter(|p| p.steps.contains(&yml2sh::ir::Step::Inferred))
            .map(|p| p.kind)
            .collect();
        if !slots.is_empty() {
            relying += 1;
            let d = diags
                .iter()
                .find(|d| d.code == Code::InferredCommands)
                .unwrap_or_else(|| panic!("{}: slots without a warning", path.display()));
            assert!(d.span.is_some(), "{}: not located", path.display());
            assert!(d.message.contains("no project around"), "{}", d.message);
        }
        if slots.contains(&yml2sh::ir::PhaseKind::Test) {
            no_test_override += 1;
        }
        let mut langs: Vec<String> = ir.language_spans.iter().map(|(n, _)| n.clone()).collect();
        langs.sort();
        langs.dedup();
        if langs.is_empty() {
            langs.push("(none declared)".into());
        }
        for l in langs {
            *by_language.entry(l).or_default() += 1;
        }
    }
    assert_eq!(stacks_found, 0, "no corpus file has its project around it");
    println!("corpus inference report: {files} files; stacks detected: 0 (no project around them)");
    println!("  {relying} leave a phase to inference, {no_test_override} of them the test phase");
    println!("  declared machine languages (the stack their project would show):");
    for (lang, n) in &by_language {
        println!("    {lang:<16} {n}");
    }
}

#[test]
fn cli_infers_from_the_files_directory_or_project_dir_and_no_infer_turns_it_off() {
    let exe = env!("CARGO_BIN_EXE_yml2sh");
    let node = project("node");
    let run = |args: &[&str], stdin: Option<&Path>| {
        let mut cmd = Command::new(exe);
        cmd.args(args).current_dir(common::root());
        if let Some(f) = stdin {
            cmd.stdin(std::fs::File::open(f).unwrap());
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let file = node.join("circle.yml");
    let file = file.to_str().unwrap();
    let (ir, _) = run(&["-f", "ir", file], None);
    assert!(ir.contains("| npm test"), "{ir}");
    let (ir, err) = run(&["-f", "ir", "--no-infer", file], None);
    assert!(!ir.contains("npm"), "{ir}");
    assert!(err.contains("--no-infer is on"), "{err}");
    // Standard input has no directory: the warning says how, and --project-dir does it.
    let (ir, err) = run(&["-f", "ir", "-"], Some(&node.join("circle.yml")));
    assert!(!ir.contains("npm"), "{ir}");
    assert!(err.contains("--project-dir DIR"), "{err}");
    let dir = node.to_str().unwrap();
    let (ir, _) = run(
        &["-f", "ir", "--project-dir", dir, "-"],
        Some(&node.join("circle.yml")),
    );
    assert!(ir.contains("| npm test"), "{ir}");
    // check sees the same.
    let (report, _) = run(&["check", file], None);
    assert!(report.contains("inferred-tests"), "{report}");
}

#[test]
fn minitest_files_are_dealt_across_nodes() {
    for (index, files) in [("0", "test/lexer_test.rb"), ("1", "test/parser_test.rb")] {
        check(
            "ruby-minitest",
            &[("CIRCLE_NODE_TOTAL", "2"), ("CIRCLE_NODE_INDEX", index)],
            &[
                "bundle check --path=vendor/bundle",
                &format!(
                    r"bundle exec ruby -Itest -Ilib -e ARGV.each\ \{{\ \|f\|\ require\ File.expand_path\(f\)\ \}} {files}"
                ),
            ],
        );
    }
}

#[test]
fn a_listed_cache_directory_is_listed_once_however_it_is_written_not_inferred_again() {
    let text = ir("node-listed-cache");
    assert_eq!(text.matches("cache ").count(), 1, "{text}");
    assert!(text.contains("cache \"node_modules\"\n"), "{text}");
    let r = check("node-listed-cache", &[], &["npm install", "npm test"]);
    let text = r.text();
    // Listed, so its absence is warned about, once: it is saved once.
    assert_eq!(
        text.matches("cache directory node_modules does not exist")
            .count(),
        1,
        "{text}"
    );
    let workflow = compile("node-listed-cache", Target::Github).text;
    let doc: serde_yaml::Value = serde_yaml::from_str(&workflow).unwrap();
    let steps = doc["jobs"]["build"]["steps"].as_sequence().unwrap();
    let save = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/cache/save"))
        })
        .expect("a cache save step");
    assert_eq!(
        save["with"]["path"].as_str(),
        Some("node_modules"),
        "{workflow}"
    );
}

/// `make help` says an inferred command is inferred, and from which file, not the line of the
/// phase it sits in (its diagnostics' location), as if it were written there.
#[test]
fn a_failed_inferred_command_is_placed_in_the_file_it_was_inferred_from() {
    // node's circle.yml has no dependencies section: `npm install` is inference's alone.
    for target in [Target::Bash, Target::Make] {
        let r = run_target(target, "node", &[("YML2SH_FAIL_NPM", "7")]);
        let text = r.text();
        assert_eq!(
            r.out.status.code(),
            Some(if target == Target::Make { 2 } else { 1 }),
            "{text}"
        );
        let failed: Vec<&str> = text.lines().filter(|l| l.starts_with("FAILED")).collect();
        assert_eq!(
            failed,
            ["FAILED  dependencies inferred from package.json  npm install (exit 7)"],
            "{target:?}: {text}"
        );
        assert!(
            text.contains("==> test (skipped: dependencies failed, inferred from package.json)"),
            "{target:?}: {text}"
        );
        assert!(!text.contains("circle.yml:0"), "{text}");
    }
}

#[test]
fn make_help_shows_inferred_commands_as_inferred() {
    let dir = common::tmp().join(format!("yml2sh-infer-help-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let makefile = dir.join("Makefile");
    std::fs::write(&makefile, compile("rails", Target::Make).text).unwrap();
    let out = Command::new("make")
        .arg("-s")
        .arg("-f")
        .arg(&makefile)
        .arg("help")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{help}");
    for want in [
        "\n      line 6      mkdir -p $CIRCLE_TEST_REPORTS/rspec\n",
        "\n      inferred    bundle exec rspec --color --require spec_helper --format progress   # from Gemfile.lock (rspec), spec/\n",
        "\n      inferred    bundle exec rake db:create db:schema:load --trace   # from Gemfile.lock (rails)\n",
    ] {
        assert!(help.contains(want), "{want:?} not in:\n{help}");
    }
}
