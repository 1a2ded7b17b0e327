//! Every generated build.sh (ok fixtures, seed examples, the real corpus) passes `bash -n` and,
//! for yml2sh's own code around the user's commands, `shellcheck -S style`: the shared runtime
//! once, inside one whole script, and every script's own part without it.

use crate::common;

use std::path::PathBuf;
use std::process::Command;

use yml2sh::Target;

fn inputs() -> Vec<PathBuf> {
    common::all_inputs()
}

/// Writes every compilable input's script into one folder.
fn scripts(name: &str) -> (PathBuf, Vec<PathBuf>) {
    let dir = crate::common::tmp().join(format!("yml2sh-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut out = vec![];
    for (i, path) in inputs().iter().enumerate() {
        let source = common::read_source(path);
        if let Ok(o) = yml2sh::compile(&source, &common::options(Target::Bash)) {
            let file = dir.join(format!(
                "{i:03}-{}.sh",
                path.file_stem().unwrap().to_string_lossy()
            ));
            std::fs::write(&file, o.text).unwrap();
            out.push(file);
        }
    }
    (dir, out)
}

#[test]
fn scripts_parse_with_bash_n() {
    let (_, files) = scripts("bash-n");
    assert!(files.len() > 20);
    for f in &files {
        let out = Command::new("bash").arg("-n").arg(f).output().unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            f.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn shellcheck(files: &[PathBuf]) {
    let out = Command::new("shellcheck")
        .args(["-S", "style", "-s", "bash"])
        .args(files)
        .output()
        .expect("shellcheck is installed (.ci/run installs it)");
    assert!(
        out.status.success(),
        "shellcheck findings:\n{}",
        String::from_utf8_lossy(&out.stdout)
            .chars()
            .take(6000)
            .collect::<String>()
    );
}

/// The shared runtime, shellchecked once inside one whole script (with its data block): it is
/// the same text in every script, and checking it in each took most of the test suite's time.
#[test]
fn the_runtime_in_a_whole_script_passes_shellcheck() {
    let (dir, files) = scripts("shellcheck-whole");
    let whole = files
        .iter()
        .find(|f| f.to_string_lossy().ends_with("-deployment.sh"))
        .expect("the deployment fixture compiles");
    let dir_file = dir.join("whole.sh");
    std::fs::copy(whole, &dir_file).unwrap();
    shellcheck(&[dir_file]);
}

/// yml2sh's code around the user's commands in every script, with the runtime (checked once
/// above) replaced by a function reading the variables the script sets for it.
#[test]
fn scripts_pass_shellcheck() {
    let (_, files) = scripts("shellcheck");
    let runtime = std::fs::read_to_string(common::root().join("templates/runtime.sh")).unwrap();
    let reads: std::collections::BTreeSet<&str> = runtime
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("Y2S_"))
        .collect();
    for f in &files {
        let script = std::fs::read_to_string(f).unwrap();
        assert!(
            script.contains(&runtime),
            "{}: the runtime is not verbatim",
            f.display()
        );
        let rest = script.replace(&runtime, "");
        let mut stub = String::from("y2s_runtime_reads() {\n");
        for name in &reads {
            let assigned = [format!("\n{name}="), format!("\n{name}+=")]
                .iter()
                .any(|a| rest.contains(a.as_str()));
            if assigned {
                stub.push_str(&format!("  : \"${{{name}[*]}}\"\n"));
            }
        }
        stub.push_str("}\n");
        std::fs::write(f, script.replace(&runtime, &stub)).unwrap();
    }
    shellcheck(&files);
}

#[test]
fn every_command_appears_verbatim() {
    for path in inputs() {
        let source = common::read_source(&path);
        let Ok((ir, _)) = yml2sh::lower(&source, &common::options(Target::Bash)) else {
            continue;
        };
        let script = yml2sh::compile(&source, &common::options(Target::Bash))
            .unwrap()
            .text;
        for c in ir.commands() {
            let text = c.code.as_str().trim_end_matches('\n');
            assert!(
                script.contains(&format!("\n{text}\n")),
                "{}: command at line {} is not verbatim in the script",
                path.display(),
                c.line
            );
        }
    }
}

#[test]
fn help_list_and_dry_run_run_nothing() {
    let source = common::read_source(&common::fixture("ok/deployment.yml"));
    let script = yml2sh::compile(&source, &common::options(Target::Bash))
        .unwrap()
        .text;
    let dir = crate::common::tmp().join(format!("yml2sh-modes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("build.sh");
    std::fs::write(&file, script).unwrap();
    let run_env = |args: &[&str], env: &[(&str, &str)]| {
        let out = Command::new("bash")
            .arg(&file)
            .args(args)
            .current_dir(&dir)
            .env("NO_COLOR", "1")
            .env("CIRCLE_BRANCH", "release-1")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let run = |args: &[&str]| run_env(args, &[]);
    let (code, help) = run(&["--help"]);
    assert_eq!(code, Some(0));
    assert!(
        help.contains("--dry-run") && help.contains("--only PHASE"),
        "{help}"
    );
    let (code, list) = run(&["--list"]);
    assert_eq!(code, Some(0));
    assert!(list.contains("  3      echo test"), "{list}");
    assert!(
        list.contains("  21     ./release.sh \"$CIRCLE_TAG\"  [timeout=1800s]"),
        "{list}"
    );
    // Which node runs a command is said only when there is more than one.
    let (code, nodes) = run_env(&["--list"], &[("CIRCLE_NODE_TOTAL", "2")]);
    assert_eq!(code, Some(0));
    assert!(
        nodes.contains("  21     ./release.sh \"$CIRCLE_TAG\"  [timeout=1800s node-0-only]"),
        "{nodes}"
    );
    // Without --deploy the real run deploys nothing, and neither does the dry run say it would.
    let (code, dry) = run(&["--dry-run"]);
    assert_eq!(code, Some(0), "{dry}");
    assert!(
        dry.contains("$ echo test")
            && dry.contains("deployment 'staging' matches and would run; pass --deploy")
            && !dry.contains("$ ./deploy.sh staging"),
        "{dry}"
    );
    let (code, dry) = run(&["--dry-run", "--deploy"]);
    assert_eq!(code, Some(0), "{dry}");
    assert!(
        dry.contains("$ echo test")
            && dry.contains("deployment 'staging'")
            && dry.contains("$ ./deploy.sh staging"),
        "{dry}"
    );
    let (code, only) = run(&["--dry-run", "--only", "deployment", "--deploy"]);
    assert_eq!(code, Some(0));
    assert!(
        !only.contains("$ echo test") && only.contains("$ ./deploy.sh staging"),
        "{only}"
    );
    let (code, bad) = run(&["--only", "tests"]);
    assert_eq!(code, Some(2));
    assert!(bad.contains("unknown phase 'tests'"), "{bad}");
    let (code, _) = run(&["--frobnicate"]);
    assert_eq!(code, Some(2));
}

fn bash_in(
    script: &std::path::Path,
    dir: &std::path::Path,
    home: &std::path::Path,
    args: &[&str],
) -> (i32, String) {
    let out = Command::new("bash")
        .arg(script)
        .args(args)
        .current_dir(dir)
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .env("TRACE", home.join("trace"))
        .env_remove("CIRCLE_BRANCH")
        .env_remove("CIRCLE_PROJECT_REPONAME")
        .env_remove("CIRCLE_PROJECT_USERNAME")
        .env_remove("CIRCLE_BUILD_NUM")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn project_dir_and_inferred_notice() {
    let (script, repo, home) = common::script_in_scratch("project-dir", "exec/order.yml");
    // Run from somewhere else: --project-dir names the checkout to build.
    let (code, out) = bash_in(
        &script,
        &home,
        &home,
        &["--project-dir", repo.to_str().unwrap(), "--only", "test"],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("$ echo \"test.pre\""), "{out}");
    let (_, out) = bash_in(&script, &repo, &home, &["--dry-run"]);
    let (script2, repo2, home2) = common::script_in_scratch("inferred", "ok/inference.yml");
    let (_, inferred) = bash_in(&script2, &repo2, &home2, &[]);
    assert!(
        inferred.contains(
            "CircleCI would have inferred dependencies commands here; yml2sh does not run them"
        ),
        "{inferred}"
    );
    let _ = out;
}

#[test]
fn repository_name_falls_back_to_the_directory_and_build_numbers_count_up() {
    let (script, repo, home) = common::script_in_scratch("no-origin", "exec/environment.yml");
    common::git(&repo, &["remote", "remove", "origin"]);
    let trace = repo.parent().unwrap().join("trace");
    let run = || {
        Command::new("bash")
            .arg(&script)
            .current_dir(&repo)
            .env("HOME", &home)
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("TRACE", &trace)
            .env("NO_COLOR", "1")
            .env_remove("CIRCLE_BUILD_NUM")
            .env_remove("CIRCLE_PROJECT_REPONAME")
            .output()
            .unwrap()
    };
    run();
    let text = std::fs::read_to_string(&trace).unwrap();
    assert!(text.contains(" repo=widget"), "{text}");
    let out = run();
    let out = String::from_utf8_lossy(&out.stdout);
    assert!(out.contains("yml2sh build of environment.yml"), "{out}");
    let counter = std::fs::read_dir(home.join(".cache/yml2sh"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
        .join("widget/build-num");
    assert_eq!(std::fs::read_to_string(counter).unwrap().trim(), "2");
}

#[test]
fn heroku_deploys_by_pushing_the_commit() {
    let (script, repo, home) = common::script_in_scratch("heroku", "ok/deployment.yml");
    common::git(&repo, &["checkout", "-q", "-b", "feature-x"]);
    let (code, out) = bash_in(&script, &repo, &home, &["--dry-run", "--deploy"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("deployment 'heroku'")
            && out.contains("$ git push \"https://heroku:$HEROKU_API_KEY@git.heroku.com/acme-staging.git\" \"$CIRCLE_SHA1:refs/heads/master\""),
        "{out}"
    );
}

#[test]
fn background_output_goes_to_artifacts() {
    let (script, repo, home) = common::script_in_scratch("background-out", "exec/background.yml");
    std::fs::write(
        repo.join("server.sh"),
        "#!/bin/bash\necho server-says-hi\necho up > server.out\n",
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            repo.join("server.sh"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
    }
    let artifacts = repo.parent().unwrap().join("artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let out = Command::new("bash")
        .arg(&script)
        .current_dir(&repo)
        .env("HOME", &home)
        .env("NO_COLOR", "1")
        .env("TRACE", repo.parent().unwrap().join("trace"))
        .env("CIRCLE_ARTIFACTS", &artifacts)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let logs: Vec<_> = std::fs::read_dir(&artifacts)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert!(logs[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with("stdout_"));
    assert_eq!(
        std::fs::read_to_string(&logs[0]).unwrap(),
        "server-says-hi\n"
    );
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let (script, repo, home) = common::script_in_scratch("colour", "ok/minimal.yml");
    let (_, plain) = bash_in(&script, &repo, &home, &["--dry-run"]);
    assert!(
        !plain.contains('\u{1b}'),
        "no escapes without a terminal: {plain}"
    );
    // `script` gives the build a terminal.
    let tty = |no_color: Option<&str>| {
        let mut cmd = Command::new("script");
        cmd.args([
            "-qec",
            &format!("bash {} --dry-run", script.display()),
            "/dev/null",
        ])
        .current_dir(&repo)
        .env("HOME", &home)
        .env("TERM", "xterm")
        .env_remove("NO_COLOR");
        if let Some(v) = no_color {
            cmd.env("NO_COLOR", v);
        }
        String::from_utf8_lossy(&cmd.output().unwrap().stdout).into_owned()
    };
    assert!(
        tty(None).contains("\u{1b}[1m"),
        "bold headers on a terminal"
    );
    assert!(!tty(Some("1")).contains("\u{1b}["), "NO_COLOR is respected");
}

/// While a command runs, the no-output watchdog starts no process (it used to fork `wc` every
/// second): counted with strace, a command of 4 s makes as many forks as one of 0.1 s.
#[test]
fn the_watchdog_forks_nothing_while_a_command_runs() {
    let forks = |name: &str, seconds: &str| -> usize {
        let (repo, home) = common::scratch_repo(name, None);
        let text = format!("test:\n  override:\n    - sleep {seconds}\n");
        let source = yml2sh::Source::new("watch.yml", text);
        let script = repo.parent().unwrap().join("build.sh");
        let built = yml2sh::compile(&source, &common::options(yml2sh::Target::Bash)).unwrap();
        std::fs::write(&script, built.text).unwrap();
        let log = repo.parent().unwrap().join("strace.log");
        let out = Command::new("strace")
            .args([
                "-f",
                "-qq",
                "--seccomp-bpf",
                "-e",
                "trace=fork,vfork,clone,clone3",
                "-o",
            ])
            .arg(&log)
            .arg("bash")
            .arg(&script)
            .current_dir(&repo)
            .env("HOME", &home)
            .env("NO_COLOR", "1")
            .output()
            .expect("strace is on PATH (.ci/run installs it)");
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .filter(|l| !l.contains("resumed>") && !l.contains("= -1"))
            .count()
    };
    let short = forks("watch-short", "0.1");
    let long = forks("watch-long", "4");
    assert!(
        long <= short + 1,
        "a 4 s command made {long} forks, a 0.1 s one {short}: the watchdog forks while it waits"
    );
}
