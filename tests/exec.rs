//! Runs generated build scripts with real bash and git in a temporary repository and checks
//! what ran, in which order, with which environment and exit status.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use yml2sh::Target;

/// One run of a fixture: the repository it runs in, how it is invoked, and what must happen.
struct Case {
    fixture: &'static str,
    /// Files created in the repository before the run (`.sh` files are made executable).
    files: &'static [(&'static str, &'static str)],
    env: &'static [(&'static str, &'static str)],
    /// Run the matching deployment (`--deploy`).
    deploy: bool,
    /// Tag HEAD with this before the run.
    tag: Option<&'static str>,
    /// Check out this new branch before the run.
    branch: Option<&'static str>,
    status: i32,
    trace: &'static [&'static str],
}

const CASE: Case = Case {
    fixture: "",
    files: &[],
    env: &[],
    deploy: false,
    tag: None,
    branch: None,
    status: 0,
    trace: &[],
};

struct Outcome {
    status: i32,
    trace: Vec<String>,
    stdout: String,
    repo: PathBuf,
    home: PathBuf,
    /// The same case through the Makefile, when run by [`run_both`].
    make: Option<Box<Outcome>>,
}

/// A fresh repository `acme/widget` on branch master with one commit holding `files`.
fn scratch(name: &str, case: &Case) -> (PathBuf, PathBuf) {
    let base = crate::common::tmp().join(format!("yml2sh-exec-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let repo = base.join("widget");
    let home = base.join("home");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::create_dir_all(&home).unwrap();
    common::git(&repo, &["init", "-q", "-b", "master"]);
    common::git(
        &repo,
        &["remote", "add", "origin", "git@github.com:acme/widget.git"],
    );
    for (path, text) in case.files {
        // `~/…` files go to the build's home directory, the others into the repository.
        let p = match path.strip_prefix("~/") {
            Some(rest) => home.join(rest),
            None => repo.join(path),
        };
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        if path.ends_with(".sh") {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    common::git(&repo, &["add", "-A"]);
    common::git(&repo, &["commit", "-q", "--allow-empty", "-m", "init"]);
    if let Some(b) = case.branch {
        common::git(&repo, &["checkout", "-q", "-b", b]);
    }
    if let Some(t) = case.tag {
        common::git(&repo, &["tag", t]);
        common::git(&repo, &["checkout", "-q", "--detach"]);
    }
    (repo, home)
}

fn compile(fixture: &str, target: Target) -> String {
    let source = common::read_source(&common::fixture(&format!("exec/{fixture}")));
    yml2sh::compile(&source, &common::options(target))
        .unwrap_or_else(|d| panic!("{fixture}: {:?}", d.sorted()))
        .text
}

fn run_bash(name: &str, case: &Case, extra_args: &[&str]) -> Outcome {
    run(name, case, Target::Bash, extra_args)
}

/// The Makefile back-end: `make -f Makefile`, or `make -f Makefile deploy` for `deploy: true`.
fn run_make(name: &str, case: &Case) -> Outcome {
    run(&format!("{name}-make"), case, Target::Make, &[])
}

fn run(name: &str, case: &Case, target: Target, extra_args: &[&str]) -> Outcome {
    run_with_env(name, case, target, extra_args, &[])
}

/// `run`, with `env` set too (case.env is static).
fn run_with_env(
    name: &str,
    case: &Case,
    target: Target,
    extra_args: &[&str],
    env: &[(&str, &str)],
) -> Outcome {
    let (repo, home) = scratch(name, case);
    let trace = repo.parent().unwrap().join("trace");
    let mut cmd = if target == Target::Make {
        let makefile = repo.parent().unwrap().join("Makefile");
        std::fs::write(&makefile, compile(case.fixture, Target::Make)).unwrap();
        let mut cmd = Command::new("make");
        cmd.arg("-f").arg(&makefile).args(extra_args);
        if case.deploy {
            cmd.arg("deploy");
        }
        // As if typed in a terminal, not run by a make (or cargo) above this one.
        cmd
    } else {
        let script = repo.parent().unwrap().join("build.sh");
        std::fs::write(&script, compile(case.fixture, Target::Bash)).unwrap();
        let mut cmd = Command::new("bash");
        cmd.arg(&script).args(extra_args);
        if case.deploy {
            cmd.arg("--deploy");
        }
        cmd
    };
    cmd.current_dir(&repo);
    cmd.env("TRACE", &trace)
        .env("HOME", &home)
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("NO_COLOR", "1");
    common::scrub_env(&mut cmd);
    for (k, v) in case.env.iter().chain(env) {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("bash runs");
    let trace = std::fs::read_to_string(&trace).unwrap_or_default();
    Outcome {
        status: out.status.code().unwrap_or(-1),
        trace: trace.lines().map(str::to_string).collect(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr),
        repo,
        home,
        make: None,
    }
}

/// The differential test: a case through build.sh and through the Makefile gives the same
/// trace (the make run's scratch paths read as the bash run's), the same failures in the
/// summary, and the same outcome. Statuses compare as success or failure: make exits 2 when a
/// recipe line fails, where build.sh exits 1 (failed build) or 2 (usage or set-up error).
fn run_both(name: &str, case: &Case, extra_args: &[&str]) -> Outcome {
    let mut bash = run_bash(name, case, extra_args);
    let make = run_make(name, case);
    let base = |o: &Outcome| o.repo.parent().unwrap().to_string_lossy().into_owned();
    let (bash_base, make_base) = (base(&bash), base(&make));
    let trace: Vec<String> = make
        .trace
        .iter()
        .map(|l| l.replace(&make_base, &bash_base))
        .collect();
    let failed = |o: &Outcome| -> Vec<String> {
        o.stdout
            .lines()
            .filter(|l| l.starts_with("FAILED"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        (make.status == 0, &trace, failed(&make)),
        (bash.status == 0, &bash.trace, failed(&bash)),
        "{name} ({}): the Makefile (status {}) and build.sh (status {}) differ\n--- make:\n{}\n--- build.sh:\n{}",
        case.fixture,
        make.status,
        bash.status,
        make.stdout,
        bash.stdout
    );
    bash.make = Some(Box::new(make));
    bash
}

/// A process that exists and is not a zombie: under make, a background command's parent (one
/// runtime call) has exited, so the killed command waits for init to reap it.
fn alive(pid: &str) -> bool {
    let pid = pid.trim();
    let exists = Command::new("kill")
        .args(["-0", pid])
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap()
        .success();
    let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z'))
    });
    exists && !zombie
}

fn check(name: &str, case: &Case) -> Outcome {
    let out = run_both(name, case, &[]);
    assert_eq!(
        (
            out.status,
            out.trace.iter().map(String::as_str).collect::<Vec<_>>()
        ),
        (case.status, case.trace.to_vec()),
        "{name} ({}): status and trace differ; output:\n{}",
        case.fixture,
        out.stdout
    );
    out
}

#[test]
fn each_command_runs_in_a_fresh_shell() {
    let out = run_both(
        "shells",
        &Case {
            fixture: "shells.yml",
            ..CASE
        },
        &[],
    );
    let repo = out.repo.to_string_lossy().into_owned();
    assert_eq!(
        out.trace,
        [
            "cd-export".to_string(),
            format!("pwd={repo} leak=unset"),
            "after-false".into(),
            "rc=yes opts=hBc".into(),
        ],
        "{}",
        out.stdout
    );
    assert_eq!(out.status, 0, "no -e and no pipefail: {}", out.stdout);
    assert!(out.stdout.contains("build succeeded"), "{}", out.stdout);
}

#[test]
fn phases_run_in_circleci_order() {
    let out = run_both(
        "order",
        &Case {
            fixture: "order.yml",
            ..CASE
        },
        &[],
    );
    let home = out.home.to_string_lossy().into_owned();
    assert_eq!(
        out.trace,
        [
            format!("machine.pre {home}"),
            "machine.post".into(),
            "checkout.post".into(),
            "dependencies.pre".into(),
            "dependencies.override".into(),
            "dependencies.post".into(),
            "database.override".into(),
            "compile.override".into(),
            "test.pre".into(),
            "test.override".into(),
            "test.post".into(),
        ]
    );
    assert_eq!(out.status, 0);
}

#[test]
fn setup_failure_stops_the_build_but_not_teardown() {
    let out = check(
        "setup-failure",
        &Case {
            fixture: "setup-failure.yml",
            deploy: true,
            status: 1,
            trace: &["dep-1", "teardown"],
            ..CASE
        },
    );
    assert!(
        out.stdout.contains("FAILED  dependencies"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("setup-failure.yml:4  exit 3 (exit 3)"),
        "{}",
        out.stdout
    );
}

#[test]
fn every_test_command_runs_and_the_build_fails_at_the_end() {
    let out = check(
        "test-failure",
        &Case {
            fixture: "test-failure.yml",
            deploy: true,
            status: 1,
            trace: &["pre", "one", "two", "post"],
            ..CASE
        },
    );
    let failed: Vec<_> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("FAILED"))
        .collect();
    assert_eq!(failed.len(), 2, "{}", out.stdout);
    assert!(
        failed[0].contains("test") && failed[0].contains(":3"),
        "{failed:?}"
    );
    assert!(
        failed[1].contains(":5") && failed[1].contains("exit 2"),
        "{failed:?}"
    );
    assert!(
        out.stdout
            .contains("==> deployment (not run: the build failed)")
            && out
                .stdout
                .contains("\ndeployment: not run (the build failed)\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn environment_is_circleci_s() {
    let out = run_both(
        "environment",
        &Case {
            fixture: "environment.yml",
            ..CASE
        },
        &[],
    );
    assert_eq!(out.status, 0, "{}", out.stdout);
    assert_eq!(
        out.trace,
        [
            "pre sees A=unset",
            "post sees B=first-second C=computed",
            "QUOTED=say \"hi\" \\o/ `not-run` NUM=10",
            "CI=true CIRCLECI=true branch=master tag= user=acme repo=widget",
            "url=https://github.com/acme/widget nodes=0/1",
            "sha ok",
            "dirs ok",
            "per-command=first-mine",
        ]
    );
}

#[test]
fn caller_environment_wins_over_git() {
    let out = run_both(
        "environment-override",
        &Case {
            fixture: "environment.yml",
            env: &[
                ("CIRCLE_BRANCH", "release"),
                ("CIRCLE_PROJECT_USERNAME", "fork"),
            ],
            ..CASE
        },
        &[],
    );
    assert!(
        out.trace.contains(
            &"CI=true CIRCLECI=true branch=release tag= user=fork repo=widget".to_string()
        ),
        "{:?}",
        out.trace
    );
}

#[test]
fn tag_builds_have_circle_tag_and_no_branch() {
    let out = check(
        "deploy-tag",
        &Case {
            fixture: "deployment.yml",
            tag: Some("v1.2"),
            deploy: true,
            trace: &["test", "deploy tag v1.2"],
            ..CASE
        },
    );
    assert!(
        out.stdout.contains("branch=(none) tag=v1.2"),
        "{}",
        out.stdout
    );
}

#[test]
fn working_directories() {
    let out = run_both(
        "dirs",
        &Case {
            fixture: "dirs.yml",
            files: &[("app/sub/.keep", "")],
            ..CASE
        },
        &[],
    );
    let repo = out.repo.to_string_lossy().into_owned();
    let home = out.home.to_string_lossy().into_owned();
    assert_eq!(
        out.trace,
        [
            format!("machine={home}"),
            format!("test={repo}/app"),
            format!("pwd={repo}/app/sub")
        ]
    );
}

#[test]
fn first_matching_deployment_runs_only_with_deploy() {
    check(
        "deploy-master",
        &Case {
            fixture: "deployment.yml",
            deploy: true,
            trace: &["test", "deploy main"],
            ..CASE
        },
    );
    check(
        "deploy-regex",
        &Case {
            fixture: "deployment.yml",
            branch: Some("release-2"),
            deploy: true,
            trace: &["test", "deploy release release-2"],
            ..CASE
        },
    );
    // Whole-name match: `/release-.*/` does not match `pre-release-2`.
    check(
        "deploy-no-partial",
        &Case {
            fixture: "deployment.yml",
            branch: Some("pre-release-2"),
            deploy: true,
            trace: &["test"],
            ..CASE
        },
    );
    let out = check(
        "deploy-without-flag",
        &Case {
            fixture: "deployment.yml",
            trace: &["test"],
            ..CASE
        },
    );
    assert!(
        out.stdout
            .contains("deployment 'main' matches and would run; pass --deploy"),
        "{}",
        out.stdout
    );
}

#[test]
fn owner_must_match() {
    check(
        "deploy-owner",
        &Case {
            fixture: "deployment.yml",
            env: &[("CIRCLE_PROJECT_USERNAME", "someone-else")],
            deploy: true,
            trace: &["test", "deploy other-owner"],
            ..CASE
        },
    );
    // Owners compare ignoring case, as GitHub logins do (ir::Deployment::owner).
    check(
        "deploy-owner-case",
        &Case {
            fixture: "deployment.yml",
            env: &[("CIRCLE_PROJECT_USERNAME", "Someone-Else")],
            deploy: true,
            trace: &["test", "deploy other-owner"],
            ..CASE
        },
    );
}

#[test]
fn no_output_timeout_kills_the_silent_and_spares_the_chatty() {
    let out = check(
        "timeout",
        &Case {
            fixture: "timeout.yml",
            files: &[(
                "slow.sh",
                "#!/bin/bash\necho \"slow start\" >> \"$TRACE\"\nsleep 30 &\necho $! > child.pid\nwait\necho \"slow end\" >> \"$TRACE\"\n",
            )],
            status: 1,
            trace: &["slow start", "next", "chatty done"],
            ..CASE
        },
    );
    assert!(
        out.stdout.contains("timed out after 2s without output"),
        "{}",
        out.stdout
    );
    for run in [&out, out.make.as_deref().unwrap()] {
        let child = std::fs::read_to_string(run.repo.join("child.pid")).unwrap();
        assert!(
            !alive(&child),
            "the timed-out command's children are killed too"
        );
    }
}

#[test]
fn background_commands_are_detached_and_killed_at_the_end() {
    let out = check(
        "background",
        &Case {
            fixture: "background.yml",
            files: &[(
                "server.sh",
                "#!/bin/bash\necho $$ > server.pid\necho \"server up\" > server.out\necho to-stdout\nsleep 30\necho late >> \"$TRACE\"\n",
            )],
            trace: &["server up", "not waited for"],
            ..CASE
        },
    );
    for run in [&out, out.make.as_deref().unwrap()] {
        let pid = std::fs::read_to_string(run.repo.join("server.pid")).unwrap();
        assert!(!alive(&pid), "background command outlived the build");
    }
    assert!(
        out.stdout.contains("started in the background"),
        "{}",
        out.stdout
    );
}

#[test]
fn parallel_and_files_split_across_nodes() {
    let files: &[(&str, &str)] = &[
        ("spec/a_spec.rb", ""),
        ("spec/b_spec.rb", ""),
        ("spec/c_spec.rb", ""),
        ("spec/deep/x_test.rb", ""),
    ];
    check(
        "node-0",
        &Case {
            fixture: "parallel.yml",
            files,
            env: &[("CIRCLE_NODE_TOTAL", "2"), ("CIRCLE_NODE_INDEX", "0")],
            trace: &[
                "deps on node 0",
                "node-0 only",
                "everywhere 0",
                "files spec/a_spec.rb",
                "files spec/c_spec.rb",
            ],
            ..CASE
        },
    );
    check(
        "node-1",
        &Case {
            fixture: "parallel.yml",
            files,
            env: &[("CIRCLE_NODE_TOTAL", "2"), ("CIRCLE_NODE_INDEX", "1")],
            trace: &[
                "deps on node 1",
                "everywhere 1",
                "files spec/b_spec.rb",
                "files spec/deep/x_test.rb",
            ],
            ..CASE
        },
    );
}

#[test]
fn branch_filters_skip_the_build_and_artifacts_are_always_collected() {
    let out = check(
        "ignored",
        &Case {
            fixture: "branches.yml",
            branch: Some("wip-thing"),
            trace: &[],
            ..CASE
        },
    );
    assert!(
        out.stdout.contains("filtered out by general.branches"),
        "{}",
        out.stdout
    );
    let out = check(
        "artifacts",
        &Case {
            fixture: "branches.yml",
            status: 1,
            trace: &["built"],
            ..CASE
        },
    );
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("artifacts: "))
        .expect("artifacts dir printed");
    let dir = line
        .trim_start_matches("artifacts: ")
        .split("  ")
        .next()
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(Path::new(dir).join("report.txt")).unwrap(),
        "report\n"
    );
}

#[test]
fn data_stays_data() {
    let _ = std::fs::remove_file("/tmp/yml2sh-pwned");
    let out = check(
        "nasty",
        &Case {
            fixture: "nasty.yml",
            files: &[("dir 'q' \"dq\" `echo bt`/.keep", "")],
            branch: Some("weird'branch\"$x"),
            deploy: true,
            trace: &[
                "it's \"live\" `echo tick` {{ .Id }} \\ back",
                "{{ .Id }} {% raw %} 2",
                "in dir 'q' \"dq\" `echo bt`",
                "nasty deploy",
            ],
            ..CASE
        },
    );
    assert!(
        !Path::new("/tmp/yml2sh-pwned").exists(),
        "a deployment name ran as code"
    );
    assert!(out.stdout.contains("{{ y }}"), "{}", out.stdout);
}

#[test]
fn choices_where_circleci_left_questions_open() {
    let files: &[(&str, &str)] = &[("sub/.keep", "")];
    // pwd expands variables; a node with no files skips the command; the first failing
    // deployment command stops the deployment and fails the build.
    let out = check(
        "choices-release",
        &Case {
            fixture: "choices.yml",
            files,
            branch: Some("release/1.0"),
            deploy: true,
            status: 1,
            trace: &["pwd=sub", "deploy 1"],
            ..CASE
        },
    );
    assert!(out.stdout.contains("no files for node 0"), "{}", out.stdout);
    // general.branches.only: other branches do not build at all.
    check(
        "choices-other-branch",
        &Case {
            fixture: "choices.yml",
            files,
            branch: Some("feature"),
            trace: &[],
            ..CASE
        },
    );
    // ... but general.branches does not apply to tag builds, which match tag patterns.
    check(
        "choices-tag",
        &Case {
            fixture: "choices.yml",
            files,
            tag: Some("v2"),
            deploy: true,
            status: 1,
            trace: &["pwd=sub", "deploy 1"],
            ..CASE
        },
    );
}

#[test]
fn tilde_pwd_and_globs_with_spaces() {
    check(
        "tilde-spaces",
        &Case {
            fixture: "tilde-and-spaces.yml",
            files: &[
                ("~/place/.keep", ""),
                ("dir with space/a.txt", ""),
                ("dir with space/b.txt", ""),
                // A file name is data: quotes, `$` and backticks reach the command literally.
                ("dir with space/it's $x \"q\" `id`.txt", ""),
            ],
            trace: &[
                "here=place",
                "f dir with space/a.txt",
                "f dir with space/b.txt",
                "f dir with space/it's $x \"q\" `id`.txt",
            ],
            ..CASE
        },
    );
}

/// The lines of a run that say what runs: the log without the command's own progress notes
/// (`    (0s)`, services ready…), the artifacts line (a real run's folders) and the summary.
fn plan_lines(out: &str) -> Vec<String> {
    out.lines()
        .take_while(|l| *l != "==> summary")
        .filter(|l| !l.starts_with("    (") && !l.starts_with("artifacts: "))
        // Two scratch repositories: their commits differ by the clock.
        .map(|l| l.split(" sha=").next().unwrap().to_string())
        .collect()
}

#[test]
fn dry_run_shows_line_for_line_what_the_run_runs() {
    for (name, fixture, deploy) in [
        ("dry-order", "order.yml", false),
        ("dry-deploy", "deployment.yml", false),
        ("dry-deploy-deploy", "deployment.yml", true),
        ("dry-setup", "environment.yml", false),
    ] {
        let case = Case {
            fixture,
            deploy,
            ..CASE
        };
        let real = run_bash(name, &case, &[]);
        let dry = run_bash(&format!("{name}-dry"), &case, &["--dry-run"]);
        assert_eq!(real.status, 0, "{name}: {}", real.stdout);
        assert!(
            dry.trace.is_empty(),
            "{name}: the dry run ran {:?}",
            dry.trace
        );
        assert_eq!(
            plan_lines(&dry.stdout),
            plan_lines(&real.stdout),
            "{name}: the dry run and the run differ\n--- dry:\n{}\n--- run:\n{}",
            dry.stdout,
            real.stdout
        );
        // Deployment commands show only when they would run, i.e. with --deploy.
        assert_eq!(
            dry.stdout.contains("$ echo \"deploy main\""),
            deploy && fixture == "deployment.yml",
            "{name}: {}",
            dry.stdout
        );
        assert!(
            dry.stdout.contains("\ndry run, nothing ran: ")
                && dry.stdout.ends_with("exit status 0\n"),
            "{name}: {}",
            dry.stdout
        );
        // The Makefile: YML2SH_DRY_RUN=1 says what `make` (or `make deploy`) would run, the
        // same lines as its real run and as build.sh's.
        let make_real = run_make(&format!("{name}-real"), &case);
        let make_dry = run_with_env(
            &format!("{name}-dry-make"),
            &case,
            Target::Make,
            &[],
            &[("YML2SH_DRY_RUN", "1")],
        );
        assert!(make_dry.trace.is_empty(), "{name}: {:?}", make_dry.trace);
        let deploy_hint =
            |l: String| l.replace("run make deploy to run it", "pass --deploy to run it");
        let lines = |o: &Outcome| {
            plan_lines(&o.stdout)
                .into_iter()
                .map(deploy_hint)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            lines(&make_dry),
            lines(&make_real),
            "{name}: the Makefile's dry run and run differ\n--- dry:\n{}\n--- run:\n{}",
            make_dry.stdout,
            make_real.stdout
        );
        assert_eq!(
            lines(&make_dry),
            plan_lines(&dry.stdout),
            "{name}: make and build.sh differ"
        );
    }
}

#[test]
fn skipped_commands_are_listed_and_counted_in_the_summary() {
    let out = check(
        "truth-skipped",
        &Case {
            fixture: "setup-failure.yml",
            deploy: true,
            status: 1,
            trace: &["dep-1", "teardown"],
            ..CASE
        },
    );
    for o in [&out, out.make.as_deref().unwrap()] {
        let text = &o.stdout;
        for line in [
            "skipped: echo \"dep-3 must not run\" >> \"$TRACE\"",
            "==> database (skipped: dependencies failed at line 4)",
            "==> test (skipped: dependencies failed at line 4)",
            "skipped: echo \"test must not run\" >> \"$TRACE\"",
            "==> deployment (not run: the build failed)",
            "deployment: not run (the build failed)",
            "exit status 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "no line {line:?} in:\n{text}"
            );
        }
        assert!(
            text.lines().any(
                |l| l.starts_with("build failed: 3 ran, 1 failed, 2 skipped in ")
                    && l.ends_with('s')
            ),
            "{text}"
        );
        // No phase header without a word after a failure.
        assert!(
            !text.lines().any(|l| l == "==> database" || l == "==> test"),
            "{text}"
        );
    }
}

#[test]
fn summary_of_a_green_build_and_no_deployment_section_without_deployment() {
    let out = run_both(
        "truth-green",
        &Case {
            fixture: "order.yml",
            ..CASE
        },
        &[],
    );
    assert_eq!((out.status, out.trace.len()), (0, 11), "{}", out.stdout);
    for o in [&out, out.make.as_deref().unwrap()] {
        let text = &o.stdout;
        assert!(
            text.lines()
                .any(|l| l.starts_with("build succeeded: 11 ran, 0 failed, 0 skipped in ")),
            "{text}"
        );
        assert!(!text.contains("deployment"), "{text}");
        assert!(text.lines().any(|l| l == "exit status 0"), "{text}");
    }
}

#[test]
fn exit_127_says_not_found_on_path() {
    let out = check(
        "truth-127",
        &Case {
            fixture: "not-found.yml",
            status: 1,
            trace: &["after"],
            ..CASE
        },
    );
    for o in [&out, out.make.as_deref().unwrap()] {
        assert!(
            o.stdout
                .contains("    exit 127: a command was not found on PATH (")
                && o.stdout.contains(
                    "yml2sh-no-such-command --version (exit 127: a command was not found on PATH)"
                ),
            "{}",
            o.stdout
        );
    }
}

/// A command's line says how long it took to the hundredth of a second, not bash's whole
/// seconds (a 5 ms command said `(1s)` when it crossed a second's tick).
#[test]
fn each_command_says_how_long_it_took() {
    let out = check(
        "truth-durations",
        &Case {
            fixture: "durations.yml",
            status: 1,
            trace: &["slept"],
            ..CASE
        },
    );
    let took = |line: &str, prefix: &str| -> f64 {
        line.strip_prefix(prefix)
            .and_then(|r| r.strip_suffix("s)"))
            .and_then(|r| r.parse().ok())
            .unwrap_or_else(|| panic!("{line:?} is not {prefix}N.NNs)"))
    };
    for o in [&out, out.make.as_deref().unwrap()] {
        let lines: Vec<&str> = o.stdout.lines().collect();
        let ok = lines.iter().find(|l| l.starts_with("    (")).unwrap();
        let t = took(ok, "    (");
        assert!((0.29..5.0).contains(&t), "{ok}\n{}", o.stdout);
        let failed = lines
            .iter()
            .find(|l| l.starts_with("    exit 3 ("))
            .unwrap();
        let t = took(failed, "    exit 3 (");
        assert!((0.19..5.0).contains(&t), "{failed}\n{}", o.stdout);
    }
}

#[test]
fn only_with_deploy_outside_it_is_refused() {
    let case = Case {
        fixture: "deployment.yml",
        deploy: true,
        ..CASE
    };
    let bash = run_bash("truth-only-deploy", &case, &["--only", "test"]);
    assert_eq!(bash.status, 2, "{}", bash.stdout);
    assert!(
        bash.stdout.contains(
            "--deploy with --only test: deployment is not among those phases; add it (--only test,deployment)"
        ),
        "{}",
        bash.stdout
    );
    assert!(bash.trace.is_empty(), "{:?}", bash.trace);
    let make = run_make(
        "truth-only-deploy",
        &Case {
            env: &[("YML2SH_ONLY", "test")],
            ..case
        },
    );
    assert_ne!(make.status, 0, "{}", make.stdout);
    assert!(
        make.stdout
            .contains("make deploy with YML2SH_ONLY=test: deployment is not among those phases"),
        "{}",
        make.stdout
    );
    assert!(
        !make.trace.iter().any(|l| l.starts_with("deploy")),
        "{:?}",
        make.trace
    );
}

/// The build's home: by default the user's, with ~/.circlerc per build (what a build appends is
/// undone at its end, a file that was there comes back as it was); `--home DIR` (YML2SH_HOME)
/// a home of its own kept between builds, `--fresh-home` (YML2SH_FRESH_HOME) an empty one
/// removed at the end. The cache store stays in the user's home either way.
#[test]
fn the_build_s_home() {
    let case = Case {
        fixture: "home.yml",
        ..CASE
    };
    // Default: the user's home; a second build does not see the first one's ~/.circlerc line.
    let out = run_both("home-default", &case, &[]);
    for o in [&out, out.make.as_deref().unwrap()] {
        let home = o.home.to_string_lossy().into_owned();
        assert_eq!(
            o.trace,
            [format!("home={home} rc=yes lines=1")],
            "{}",
            o.stdout
        );
        assert!(!o.home.join(".circlerc").exists(), "{}", o.stdout);
        assert!(o.home.join("docker/image.tar").exists());
    }
    // A ~/.circlerc the user had comes back as it was.
    let out = run_both(
        "home-kept",
        &Case {
            files: &[("~/.circlerc", "export MINE=1\n")],
            ..case
        },
        &[],
    );
    for o in [&out, out.make.as_deref().unwrap()] {
        assert!(o.trace[0].ends_with("rc=yes lines=2"), "{:?}", o.trace);
        assert_eq!(
            std::fs::read_to_string(o.home.join(".circlerc")).unwrap(),
            "export MINE=1\n"
        );
    }
    // --home DIR: the build's own home, the user's untouched; the cache of ~/docker is kept in
    // the user's store and restored into the build's home.
    for (target, name) in [(Target::Bash, "home-dir"), (Target::Make, "home-dir-make")] {
        let base = crate::common::tmp().join(format!("yml2sh-exec-{}-{name}", std::process::id()));
        let own = base.join("own home");
        let case = Case {
            fixture: "home.yml",
            ..CASE
        };
        let args: &[&str] = &[];
        let o = run_with_env(
            name,
            &case,
            target,
            args,
            &[("YML2SH_HOME", own.to_str().unwrap())],
        );
        let own_s = own.to_string_lossy().into_owned();
        assert_eq!(
            o.trace,
            [format!("home={own_s} rc=yes lines=1")],
            "{}",
            o.stdout
        );
        assert!(own.join(".circlerc").exists() && own.join("docker/image.tar").exists());
        assert_eq!(
            std::fs::read_dir(&o.home)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect::<Vec<_>>(),
            [std::ffi::OsString::from(".cache")],
            "the user's home holds yml2sh's store only"
        );
        assert!(o
            .home
            .join(".cache/yml2sh/acme/widget/dependencies/home/docker/image.tar")
            .exists());
    }
    // --home on build.sh's command line, and --fresh-home: nothing left, home or state.
    let own = crate::common::tmp().join(format!("yml2sh-exec-{}-flag-home", std::process::id()));
    let o = run_bash("home-flag", &case, &["--home", own.to_str().unwrap()]);
    assert!(
        o.trace[0].starts_with(&format!("home={} ", own.display())),
        "{:?}",
        o.trace
    );
    let _ = std::fs::remove_dir_all(&own);
    for (target, name) in [
        (Target::Bash, "home-fresh"),
        (Target::Make, "home-fresh-make"),
    ] {
        let o = run_with_env(name, &case, target, &[], &[("YML2SH_FRESH_HOME", "1")]);
        let fresh = o.trace[0]
            .strip_prefix("home=")
            .and_then(|t| t.split(" rc=").next())
            .unwrap()
            .to_string();
        assert!(o.trace[0].ends_with("rc=yes lines=1"), "{:?}", o.trace);
        assert!(fresh != o.home.to_string_lossy(), "{fresh}");
        assert!(!Path::new(&fresh).exists(), "{fresh} is left behind");
        assert!(!o.home.join(".circlerc").exists());
    }
    let o = run_bash("home-fresh-flag", &case, &["--fresh-home"]);
    assert!(o.trace[0].ends_with("rc=yes lines=1") && !o.home.join(".circlerc").exists());
}

const ENV_FILE: &str = "# project settings\nDOCKER_USER=builder\nexport DOCKER_PASS='s3cr3t $HOME `x`'\n  QUOTED=\"line1\\nline2 \\\"q\\\" back\\\\slash\"\r\nSPACED = value with spaces   \nEMPTY=\nSHORT=ab\n";

/// `--env-file FILE` (YML2SH_ENV_FILE for make): dotenv variables for every command, names said,
/// values never printed and masked in commands' output; the deployment's warning about variables
/// nobody set goes once they are set.
#[test]
fn env_file_gives_project_settings_never_echoed() {
    let case = Case {
        fixture: "env-file.yml",
        files: &[("~/project.env", ENV_FILE)],
        deploy: true,
        ..CASE
    };
    let home = |name: &str| {
        crate::common::tmp()
            .join(format!("yml2sh-exec-{}-{name}", std::process::id()))
            .join("home/project.env")
    };
    let file = home("env-file");
    let bash = run_bash("env-file", &case, &["--env-file", file.to_str().unwrap()]);
    let make_file = home("env-file-make");
    let make = run_with_env(
        "env-file-make",
        &case,
        Target::Make,
        &[],
        &[("YML2SH_ENV_FILE", make_file.to_str().unwrap())],
    );
    for o in [&bash, &make] {
        assert_eq!(o.status, 0, "{}", o.stdout);
        assert_eq!(
            o.trace,
            [
                "builder-ci|line1",
                "line2 \"q\" back\\slash|value with spaces||ab|login -u builder -p s3cr3t $HOME `x`"
            ],
            "{}",
            o.stdout
        );
        assert!(o.stdout.contains("user=*** pass=***\n"), "{}", o.stdout);
        assert!(
            !o.stdout.contains("s3cr3t") && !o.stdout.contains("builder"),
            "a value is printed:\n{}",
            o.stdout
        );
        assert!(
            o.stdout
                .contains(": DOCKER_USER, DOCKER_PASS, QUOTED, SPACED, EMPTY, SHORT)"),
            "{}",
            o.stdout
        );
        assert!(!o.stdout.contains("warning: deployment"), "{}", o.stdout);
    }
    // Without the file the deployment warns, before it runs, of what it reads unset.
    let out = run_both("env-file-none", &case, &[]);
    for o in [&out, out.make.as_deref().unwrap()] {
        let warn = o
            .stdout
            .find("warning: deployment 'hub' reads DOCKER_USER, DOCKER_PASS, which nothing sets")
            .unwrap_or_else(|| panic!("{}", o.stdout));
        assert!(
            warn < o.stdout.find("$ echo \"login").unwrap(),
            "{}",
            o.stdout
        );
    }
    // A line that is not NAME=VALUE is an error naming the file and line; nothing runs.
    let bad = Case {
        files: &[("~/project.env", "OK=1\nnot a setting\n")],
        ..case
    };
    let file = home("env-file-bad");
    let o = run_bash(
        "env-file-bad",
        &bad,
        &["--env-file", file.to_str().unwrap()],
    );
    assert_eq!(o.status, 2, "{}", o.stdout);
    assert!(
        o.stdout
            .contains(&format!("{}:2: expected NAME=VALUE", file.display())),
        "{}",
        o.stdout
    );
    assert!(o.trace.is_empty());
}

/// `pwd` is data: `$VAR` and `~` expand, a command substitution does not run, `-` and `-P` are
/// directories (not cd's options), and a relative pwd that climbs out of the checkout once its
/// variables are expanded is refused at run time. A control character of a command is shown as
/// `?`, never sent to the terminal.
#[test]
fn pwd_is_data_and_stays_in_the_checkout() {
    let out = run_both(
        "hostile-pwd",
        &Case {
            fixture: "hostile-pwd.yml",
            files: &[
                ("x$(touch pwned)/.keep", ""),
                ("-/.keep", ""),
                ("-P/.keep", ""),
            ],
            env: &[("UP", "..")],
            ..CASE
        },
        &[],
    );
    for o in [&out, out.make.as_deref().unwrap()] {
        let repo = o.repo.to_string_lossy().into_owned();
        assert_eq!(
            o.trace,
            [
                format!("subst {repo}/x$(touch pwned)"),
                format!("dash {repo}/-"),
                format!("opt {repo}/-P"),
                "home ok".to_string(),
            ],
            "{}",
            o.stdout
        );
        assert_ne!(o.status, 0, "{}", o.stdout);
        assert!(!o.repo.join("pwned").exists() && !o.repo.parent().unwrap().join("pwned").exists());
        assert!(
            o.stdout.contains(&format!(
                "yml2sh: pwd .. climbs out of the checkout (to {})",
                o.repo.parent().unwrap().display()
            )),
            "{}",
            o.stdout
        );
        assert!(
            o.stdout.contains("$ echo \"?[2Jcleared\" > /dev/null") && !o.stdout.contains('\x1b'),
            "{}",
            o.stdout
        );
    }
}

/// Paths that would leave their place, out-of-range timeouts and NULs are compile-time errors,
/// located; normalised paths reach the script (`vendor/./bundle/` is `vendor/bundle`).
#[test]
fn hostile_data_is_refused_at_compile_time() {
    let compile_text = |yaml: &str| {
        let source = yml2sh::source_from_bytes("circle.yml", yaml.as_bytes().to_vec()).unwrap();
        yml2sh::compile(&source, &common::options(Target::Bash))
    };
    for (yaml, code, line) in [
        (
            "dependencies:\n  cache_directories:\n    - ../../../../tmp/victim\n",
            "path-outside",
            3,
        ),
        ("general:\n  artifacts:\n    - /../etc\n", "path-outside", 3),
        // The build directory is the checkout or below it (where inference looks, too).
        ("general:\n  build_dir: /srv/app\n", "path-outside", 2),
        ("general:\n  build_dir: sub/../../x\n", "path-outside", 2),
        ("general:\n  build_dir: \"~/x\"\n", "path-outside", 2),
        (
            "test:\n  override:\n    - ls:\n        timeout: 9223372036854775808\n",
            "timeout-too-large",
            3,
        ),
        (
            "deployment:\n  prod:\n    branch: \"ma\\0ster\"\n    commands: [./d]\n",
            "control-character",
            2,
        ),
        (
            "general:\n  branches:\n    only:\n      - \"rel\\eease\"\n",
            "control-character",
            4,
        ),
        (
            "test:\n  override:\n    - \"echo a\\0b\"\n",
            "control-character",
            3,
        ),
    ] {
        let diags = compile_text(yaml)
            .err()
            .unwrap_or_else(|| panic!("{yaml}: compiled"));
        let d = diags.sorted();
        // Located: on the line of the offending entry (or of its command or subsection).
        let at = d
            .iter()
            .find(|d| d.code.as_str() == code)
            .and_then(|d| d.span)
            .map(|s| yaml[..s.start].matches('\n').count() + 1);
        assert_eq!(at, Some(line), "{yaml}: {d:?}");
    }
    // A build_dir below the checkout lets pwd climb back to the checkout; further is a warning
    // (1.0's checkout was ~/<repo>, and real configs reach ~/x as ../x) and a run-time refusal.
    let pwd = |p: &str| {
        compile_text(&format!(
            "general:\n  build_dir: sub\ntest:\n  override:\n    - ls:\n        pwd: {p}\n"
        ))
        .unwrap()
        .diagnostics
        .sorted()
        .into_iter()
        .find(|d| d.code.as_str() == "path-outside")
    };
    assert!(pwd("..").is_none());
    let warned = pwd("../../examples").expect("a warning");
    assert!(
        warned
            .help
            .as_deref()
            .is_some_and(|h| h.contains("write `pwd: ~/examples`")),
        "{warned:?}"
    );
    let text = compile_text(
        "dependencies:\n  cache_directories:\n    - vendor/./bundle/\n    - \"~/.m2//\"\n",
    )
    .unwrap()
    .text;
    assert!(
        text.contains("y2s_restore_cache vendor/bundle $'~/.m2'"),
        "{text}"
    );
}

/// Without flock(1) the build number is counted under a mkdir lock: three builds at once get
/// three numbers, and the lock is gone afterwards.
#[test]
fn build_numbers_under_a_mkdir_lock_without_flock() {
    let base = crate::common::tmp().join(format!("yml2sh-exec-{}-nolock", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    // A PATH of everything on this machine but flock.
    let bin = base.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for dir in std::env::var("PATH").unwrap().split(':') {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            if name != "flock" && !bin.join(&name).exists() {
                let _ = std::os::unix::fs::symlink(e.path(), bin.join(&name));
            }
        }
    }
    let home = base.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let script = base.join("build.sh");
    std::fs::write(&script, compile("not-found.yml", Target::Bash)).unwrap();
    let children: Vec<_> = (0..3)
        .map(|i| {
            let (repo, _) = common::scratch_repo(&format!("nolock-{i}"), None);
            let mut cmd = Command::new("bash");
            cmd.arg(&script)
                .current_dir(&repo)
                .env("PATH", &bin)
                .env("HOME", &home)
                .env("XDG_CACHE_HOME", home.join(".cache"))
                .env("TRACE", base.join(format!("trace-{i}")))
                .env("NO_COLOR", "1")
                .stdout(std::process::Stdio::piped());
            common::scrub_env(&mut cmd);
            cmd.spawn().unwrap()
        })
        .collect();
    for c in children {
        let out = String::from_utf8(c.wait_with_output().unwrap().stdout).unwrap();
        assert!(out.ends_with("exit status 1\n"), "{out}");
    }
    // Three increments, none lost to a race.
    let counter = home.join(".cache/yml2sh/acme/widget/build-num");
    assert_eq!(std::fs::read_to_string(&counter).unwrap().trim(), "3");
    assert!(!home
        .join(".cache/yml2sh/acme/widget/build-num.lock.d")
        .exists());
}
