//! The Makefile back-end through real GNU make: `make -n` on every input, nasty command text
//! reaching bash byte for byte, `-j2` keeping the phase order, `make help`, overrides, clean-up.
//! (tests/exec.rs runs every execution fixture through both build.sh and the Makefile.)

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use yml2sh::Target;

fn inputs() -> Vec<PathBuf> {
    let mut files = common::yml_files(&common::fixture("ok"));
    files.extend(common::yml_files(&common::fixture("exec")));
    let seed = common::fixture("seed");
    if seed.is_dir() {
        files.extend(common::yml_files(&seed));
    }
    match common::corpus_dir() {
        Some(dir) => files.extend(common::yml_files(&dir)),
        None => eprintln!("SKIPPED: the corpus (set YML2SH_CORPUS)"),
    }
    files
}

fn makefile_of_text(name: &str, yaml: &str) -> String {
    let source = yml2sh::Source::new(name, yaml.to_string());
    yml2sh::compile(&source, &common::options(Target::Make))
        .unwrap_or_else(|d| panic!("{name}: {:?}", d.sorted()))
        .text
}

fn makefile_of(fixture: &str) -> String {
    let path = common::fixture(fixture);
    makefile_of_text(
        &path.file_name().unwrap().to_string_lossy(),
        &std::fs::read_to_string(&path).unwrap(),
    )
}

/// A scratch git repository `acme/widget` on master, with its own HOME and TMPDIR.
struct Scratch {
    base: PathBuf,
    repo: PathBuf,
}

impl Scratch {
    fn new(name: &str, makefile: &str) -> Scratch {
        let base = crate::common::tmp().join(format!("yml2sh-make-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let repo = base.join("widget");
        for dir in [&repo, &base.join("home"), &base.join("tmp")] {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(base.join("Makefile"), makefile).unwrap();
        let git = |args: &[&str]| {
            let ok = Command::new("git")
                .args(args)
                .current_dir(&repo)
                .env("GIT_AUTHOR_NAME", "t")
                .env("GIT_AUTHOR_EMAIL", "t@example.com")
                .env("GIT_COMMITTER_NAME", "t")
                .env("GIT_COMMITTER_EMAIL", "t@example.com")
                .output()
                .unwrap()
                .status
                .success();
            assert!(ok, "git {args:?}");
        };
        git(&["init", "-q", "-b", "master"]);
        git(&["remote", "add", "origin", "git@github.com:acme/widget.git"]);
        git(&["commit", "-q", "--allow-empty", "-m", "init"]);
        Scratch { base, repo }
    }

    /// The scratch's `Makefile` (a Makefile, or a build.sh under that name) run by make or
    /// bash in the repository, with the scratch's TRACE, HOME, cache and TMPDIR.
    fn command(&self, target: Target) -> Command {
        let mut cmd = if target == Target::Make {
            let mut c = Command::new("make");
            c.arg("-f");
            c
        } else {
            Command::new("bash")
        };
        cmd.arg(self.base.join("Makefile"))
            .current_dir(&self.repo)
            .env("TRACE", self.base.join("trace"))
            .env("HOME", self.base.join("home"))
            .env("XDG_CACHE_HOME", self.base.join("home/.cache"))
            .env("TMPDIR", self.base.join("tmp"))
            .env("NO_COLOR", "1");
        common::scrub_env(&mut cmd);
        cmd
    }

    /// Runs the scratch's file with `args` and extra `env`, by make or by bash.
    fn run(&self, target: Target, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = self.command(target);
        cmd.args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("the build runs")
    }

    fn make(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.run(Target::Make, args, env)
    }

    /// The trace written by the build (and cleared for the next run).
    fn take_trace(&self) -> String {
        let path = self.base.join("trace");
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let _ = std::fs::remove_file(&path);
        text
    }

    /// The trace written so far, left in place.
    fn take_trace_peek(&self) -> String {
        std::fs::read_to_string(self.base.join("trace")).unwrap_or_default()
    }

    /// Whatever the build left in TMPDIR (a build leaves it as it found it).
    fn leftovers(&self) -> Vec<String> {
        std::fs::read_dir(self.base.join("tmp"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn every_makefile_passes_make_n() {
    let dir = crate::common::tmp().join(format!("yml2sh-make-n-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut checked = 0;
    for path in inputs() {
        let source = common::read_source(&path);
        let Ok(out) = yml2sh::compile(&source, &common::options(Target::Make)) else {
            continue;
        };
        let file = dir.join(format!("{checked:03}.mk"));
        std::fs::write(&file, &out.text).unwrap();
        for goal in [&[][..], &["deploy"][..]] {
            let run = Command::new("make")
                .arg("-n")
                .arg("-f")
                .arg(&file)
                .args(goal)
                .current_dir(&dir)
                .env_remove("MAKEFLAGS")
                .env_remove("MAKEFILES")
                .output()
                .unwrap();
            assert!(
                run.status.success(),
                "{} ({}): make -n {goal:?}: {}",
                path.display(),
                file.display(),
                text(&run)
            );
        }
        checked += 1;
    }
    assert!(checked > 20, "only {checked} inputs compiled");
}

/// Command texts that make would mangle if they passed through a recipe line or a `define`.
const NASTY: &[&str] = &[
    "echo $HOME $$ $(true) ${X:-y} >/dev/null",
    "echo '$$' \"$$\" $$$ >/dev/null",
    "echo a # a shell comment, and a make one",
    "echo back\\slash 'c:\\dir\\' \\\\ >/dev/null",
    "echo trailing backslash \\",
    "@echo at >/dev/null",
    "-echo dash >/dev/null",
    "+echo plus >/dev/null",
    "@-+echo all three >/dev/null",
    "echo one >/dev/null\n\n\necho two >/dev/null\n\n  echo three >/dev/null",
    "echo \"it's\" 'say \"hi\"' >/dev/null",
    "printf '%s %d%%\\n' x 1 >/dev/null",
    "echo\ttab\t\tinside >/dev/null\n\techo leading-tab >/dev/null",
    "echo '{{ .Id }}' {% raw %} '{{ x }}' {# c #} >/dev/null",
    "echo 'literal \\n not a newline' >/dev/null",
    "cat <<EOF >/dev/null\n$HOME\nendef\ndefine y\nEOF",
    "cat <<'EOF' >/dev/null\n  define x\n\tendef\n$(shell touch made-by-make)\nEOF",
    "echo before >/dev/null\nendef\necho after >/dev/null",
    "define x\necho inside >/dev/null\nendef",
    "echo 'héllo — ☃ 日本 \u{2028} sep' >/dev/null",
    "echo a \\\n  b \\\n\tc >/dev/null",
    "echo x >/dev/null\n#3| not a block of the Makefile\n#| nor of the runtime",
    "echo '$(info x) $(error boom) $(shell touch made-by-make)' >/dev/null",
    "echo cr\rin the middle >/dev/null",
    "\n  echo after a blank first line >/dev/null",
    "echo ${Y2S_STATE-} ${Y2S_MAKEFILE-} ${MAKEFLAGS-} ${MAKELEVEL-} >/dev/null",
];

#[test]
fn nasty_commands_reach_bash_byte_for_byte() {
    let list: Vec<serde_yaml::Value> = NASTY.iter().map(|c| serde_yaml::Value::from(*c)).collect();
    let mut test = serde_yaml::Mapping::new();
    test.insert("override".into(), serde_yaml::Value::Sequence(list));
    let mut root = serde_yaml::Mapping::new();
    root.insert("test".into(), serde_yaml::Value::Mapping(test));
    let yaml = serde_yaml::to_string(&root).unwrap();
    let scratch = Scratch::new("nasty", &makefile_of_text("nasty.yml", &yaml));
    // ~/.circlerc is sourced by every command's shell just before it runs: it records the
    // text that shell was given.
    std::fs::write(
        scratch.base.join("home/.circlerc"),
        "printf '%s\\0' \"$BASH_EXECUTION_STRING\" >> \"$TRACE\"\n",
    )
    .unwrap();
    let out = scratch.make(&[], &[]);
    let got = scratch.take_trace();
    let got: Vec<&str> = got.split_terminator('\0').collect();
    // y2s_run reads the text as `$(cat)` does, without trailing newlines, in build.sh too.
    assert_eq!(got, NASTY.to_vec(), "{}", text(&out));
    assert!(
        !scratch.repo.join("made-by-make").exists(),
        "make expanded a command"
    );
    // The failing lines (@echo: no such command) fail the build as they would in build.sh.
    assert!(!out.status.success());
    assert!(text(&out).contains("FAILED  test"), "{}", text(&out));
    assert_eq!(
        scratch.leftovers(),
        Vec::<String>::new(),
        "the state directory is removed"
    );
}

#[test]
fn parallel_make_keeps_the_phase_order() {
    let scratch = Scratch::new("j2", &makefile_of("exec/order.yml"));
    let home = scratch.base.join("home").to_string_lossy().into_owned();
    let want = format!(
        "machine.pre {home}\nmachine.post\ncheckout.post\ndependencies.pre\ndependencies.override\n\
         dependencies.post\ndatabase.override\ncompile.override\ntest.pre\ntest.override\ntest.post\n"
    );
    for args in [&["-j2"][..], &["-j8", "test"][..], &["--jobs=4", "all"][..]] {
        let out = scratch.make(args, &[]);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        assert_eq!(scratch.take_trace(), want, "{args:?}");
    }
    // A phase target runs the phases before it, then ends the build.
    let out = scratch.make(&["compile"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("build succeeded"), "{}", text(&out));
    assert!(scratch
        .take_trace()
        .ends_with("database.override\ncompile.override\n"));
    assert_eq!(scratch.leftovers(), Vec::<String>::new());
}

#[test]
fn help_lists_targets_and_commands_and_runs_nothing() {
    let scratch = Scratch::new("help", &makefile_of("exec/deployment.yml"));
    let out = scratch.make(&["help"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let help = text(&out);
    for want in [
        "  all ",
        "  machine",
        "  test                the build up to test\n      line 3          echo \"test\" >> \"$TRACE\"\n",
        "  deploy ",
        "  deploy-main         the build, then main (circle.yml line 14), branch \"develop\", \"master\", owner acme",
        "      line 18         echo \"deploy main\" >> \"$TRACE\"",
        "make deploy CIRCLE_BRANCH=release",
    ] {
        assert!(help.contains(want), "{want:?} not in:\n{help}");
    }
    // Every target's description starts in one column, the longest name's (issue 11 item 8).
    let columns: std::collections::BTreeSet<usize> = help
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   ") && !l.starts_with("  ("))
        .filter(|l| !l.starts_with("  make "))
        .filter_map(|l| {
            l[2..]
                .find("  ")
                .map(|i| i + 2 + l[2 + i..].len() - l[2 + i..].trim_start().len())
        })
        .collect();
    assert_eq!(
        columns.len(),
        1,
        "descriptions in columns {columns:?}:\n{help}"
    );
    assert_eq!(scratch.take_trace(), "");
    let out = scratch.make(&["-n", "deploy"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(scratch.take_trace(), "");
    assert_eq!(
        scratch.leftovers(),
        Vec::<String>::new(),
        "help and -n make no state directory"
    );
}

#[test]
fn circle_variables_come_from_the_command_line_or_the_environment() {
    let scratch = Scratch::new("override", &makefile_of("exec/deployment.yml"));
    let out = scratch.make(&["deploy", "CIRCLE_BRANCH=release-2"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(scratch.take_trace(), "test\ndeploy release release-2\n");
    let out = scratch.make(&["deploy"], &[("CIRCLE_BRANCH", "release-3")]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(scratch.take_trace(), "test\ndeploy release release-3\n");
    // Without `deploy`, nothing deploys; make says what would.
    let out = scratch.make(&[], &[]);
    assert!(
        text(&out).contains("deployment 'main' matches and would run; run make deploy"),
        "{}",
        text(&out)
    );
    assert_eq!(scratch.take_trace(), "test\n");
}

#[test]
fn a_named_deployment_runs_only_when_it_is_the_first_match() {
    let scratch = Scratch::new("named", &makefile_of("exec/deployment.yml"));
    let out = scratch.make(&["deploy-main"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(scratch.take_trace(), "test\ndeploy main\n");
    // also-master matches master too, but main comes first: CircleCI would run main only.
    let out = scratch.make(&["deploy-also-master"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("not deployed: this target deploys 'also-master' only"),
        "{}",
        text(&out)
    );
    assert_eq!(scratch.take_trace(), "test\n");
}

#[test]
fn deployment_names_become_harmless_target_names() {
    let makefile = makefile_of("exec/nasty.yml");
    let phony = makefile.lines().find(|l| l.starts_with(".PHONY:")).unwrap();
    assert!(
        phony.ends_with(" deploy-it-s-a-touch-tmp-yml2sh-pwned-x-y-name"),
        "{phony}"
    );
    let scratch = Scratch::new("names", &makefile);
    let out = scratch.make(
        &["-n", "deploy-it-s-a-touch-tmp-yml2sh-pwned-x-y-name"],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = scratch.make(&["help"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!Path::new("/tmp/yml2sh-pwned").exists());
}

#[test]
fn one_goal_at_a_time() {
    let scratch = Scratch::new("goals", &makefile_of("exec/order.yml"));
    let out = scratch.make(&["test", "deploy"], &[]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("give one target at a time"),
        "{}",
        text(&out)
    );
    assert_eq!(scratch.take_trace(), "");
}

#[test]
fn an_interrupted_make_still_kills_background_commands() {
    let yaml = "test:\n  override:\n    - ./server.sh:\n        background: true\n    - echo started >> \"$TRACE\"; sleep 30\n";
    let scratch = Scratch::new("interrupt", &makefile_of_text("interrupt.yml", yaml));
    std::fs::write(
        scratch.repo.join("server.sh"),
        "#!/bin/bash\necho $$ > server.pid\nexec sleep 60\n",
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            scratch.repo.join("server.sh"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
    }
    let mut cmd = Command::new("make");
    cmd.arg("-f")
        .arg(scratch.base.join("Makefile"))
        .current_dir(&scratch.repo);
    cmd.env("TRACE", scratch.base.join("trace"))
        .env("HOME", scratch.base.join("home"))
        .env("TMPDIR", scratch.base.join("tmp"))
        .env_remove("MAKEFLAGS")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let started = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        std::fs::read_to_string(scratch.base.join("trace")).is_ok_and(|t| t.contains("started"))
    });
    assert!(started, "the build did not start");
    // make stops; the watcher started by y2s_make_start does what build.sh's EXIT trap does.
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
    let pid = std::fs::read_to_string(scratch.repo.join("server.pid")).unwrap();
    let gone = (0..50).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()));
        stat.map_or(true, |s| {
            s.rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'))
        }) && scratch.leftovers().is_empty()
    });
    assert!(
        gone,
        "background command or state directory outlived make: {:?}",
        scratch.leftovers()
    );
}

/// The runtime on its own, as it sits in templates/: its contract (the names it uses from the
/// data block and the drivers) is declared in it, so shellcheck needs no driver to check it.
#[test]
fn the_runtime_alone_passes_shellcheck() {
    let out = Command::new("shellcheck")
        .args(["-S", "style", "-s", "bash"])
        .arg(common::root().join("templates/runtime.sh"))
        .output()
        .expect("shellcheck is installed (.ci/run installs it)");
    assert!(out.status.success(), "shellcheck findings:\n{}", text(&out));
    let runtime = std::fs::read_to_string(common::root().join("templates/runtime.sh")).unwrap();
    let disables = runtime.matches("shellcheck disable=").count();
    // The disables it had when this test was written, each with its reason beside it.
    assert!(
        disables <= 3,
        "new shellcheck disables in runtime.sh ({disables})"
    );
}

#[test]
fn the_runtime_a_makefile_writes_passes_shellcheck() {
    let dir = crate::common::tmp().join(format!("yml2sh-make-sc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = vec![];
    for path in common::yml_files(&common::fixture("ok")) {
        let makefile = makefile_of(&format!(
            "ok/{}",
            path.file_name().unwrap().to_string_lossy()
        ));
        // What y2s-start's sed writes out: the `#|` lines, without the prefix.
        let runtime: String = makefile
            .lines()
            .filter_map(|l| l.strip_prefix("#|"))
            .map(|l| format!("{}\n", l.strip_prefix(' ').unwrap_or(l)))
            .collect();
        let file = dir.join(format!(
            "{}.sh",
            path.file_stem().unwrap().to_string_lossy()
        ));
        std::fs::write(&file, runtime).unwrap();
        files.push(file);
    }
    let out = Command::new("shellcheck")
        .args(["-S", "style", "-s", "bash"])
        .args(&files)
        .output()
        .expect("shellcheck is installed (.ci/run installs it)");
    assert!(out.status.success(), "shellcheck findings:\n{}", text(&out));
}

#[test]
fn build_settings_are_make_variables() {
    // YML2SH_SERVICES=host: no container starts, the client variables are still exported.
    let dir = crate::common::tmp().join(format!("yml2sh-make-vars-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (repo, home) = common::scratch_repo("make-vars", None);
    std::fs::create_dir_all(&dir).unwrap();
    let source = common::read_source(&common::fixture("exec/services.yml"));
    let text = yml2sh::compile(&source, &common::options(yml2sh::Target::Make))
        .unwrap()
        .text;
    let makefile = dir.join("Makefile");
    std::fs::write(&makefile, text).unwrap();
    let out = std::process::Command::new("make")
        .arg("-f")
        .arg(&makefile)
        .arg("YML2SH_SERVICES=host")
        .current_dir(&repo)
        .env("HOME", &home)
        .env("NO_COLOR", "1")
        .env_remove("MAKEFLAGS")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("--services=host: using the postgresql already running here"),
        "{text}"
    );
    assert_eq!(
        std::fs::read_to_string(repo.join("trace")).unwrap(),
        "PGHOST=127.0.0.1 PGUSER=ubuntu PGDATABASE=circle_test\n"
    );
}

#[test]
fn every_target_is_phony() {
    for path in common::yml_files(&common::fixture("ok")) {
        let fixture = format!("ok/{}", path.file_name().unwrap().to_string_lossy());
        let makefile = makefile_of(&fixture);
        let phony: Vec<&str> = makefile
            .lines()
            .find_map(|l| l.strip_prefix(".PHONY:"))
            .unwrap()
            .split_whitespace()
            .collect();
        for line in makefile.lines() {
            let Some((target, rest)) = line.split_once(':') else {
                continue;
            };
            let is_rule = !target.is_empty()
                && !rest.starts_with('=')
                && target
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if is_rule {
                assert!(
                    phony.contains(&target),
                    "{fixture}: `{target}` is not .PHONY"
                );
            }
        }
    }
}

/// Processes a command starts with `&` (issue 11 item 4): hung up on when the command ends, a
/// `nohup` survivor stopped when the build ends, and neither holding the build's output open
/// (the captured output ends with the build), for build.sh and the Makefile, after a green
/// build, a failed one, SIGINT (Ctrl-C: the whole process group) and SIGTERM.
#[test]
fn what_a_command_starts_with_ampersand_never_outlives_the_build() {
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    let yaml = |last: &str| {
        format!(
            "test:\n  override:\n    - sleep 300 & echo $! > hup.pid\n    - nohup sleep 301 & echo $! > nohup.pid\n    - {last}\n"
        )
    };
    let alive = |pid: &str| {
        std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).is_ok_and(|s| {
            !s.rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'))
        })
    };
    for (ending, last) in [
        ("green", "echo done >> \"$TRACE\""),
        ("failed", "echo done >> \"$TRACE\"; false"),
        ("sigint", "echo done >> \"$TRACE\"; sleep 30"),
        ("sigterm", "echo done >> \"$TRACE\"; sleep 30"),
    ] {
        for target in [Target::Bash, Target::Make] {
            let name = format!("amp-{ending}-{target:?}");
            let source = yml2sh::Source::new("amp.yml", yaml(last));
            let text = yml2sh::compile(&source, &common::options(target))
                .unwrap()
                .text;
            let scratch = Scratch::new(&name, &text);
            let mut cmd = scratch.command(target);
            cmd.stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                // Its own process group, as a terminal's job: Ctrl-C signals the whole group.
                .process_group(0);
            let child = cmd.spawn().unwrap();
            let pid = child.id();
            if ending.starts_with("sig") {
                let started = (0..200).any(|_| {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    scratch.take_trace_peek().contains("done")
                });
                assert!(started, "{name}: the build did not start");
                let signal = if ending == "sigint" { "-INT" } else { "-TERM" };
                let _ = Command::new("kill")
                    .args([signal, "--", &format!("-{pid}")])
                    .status();
            }
            // Returns only once nothing holds the build's output open.
            let out = child.wait_with_output().unwrap();
            let log = String::from_utf8_lossy(&out.stdout);
            if ending.starts_with("sig") {
                // An interrupted build still says what it did and how it ends.
                let err = String::from_utf8_lossy(&out.stderr);
                // As a shell reports a command the signal ended: 128 + its number.
                let status = if ending == "sigint" { 130 } else { 143 };
                assert!(
                    err.contains(&format!(
                        "interrupted: 3 started, 0 failed, 0 skipped; exit status {status}"
                    )),
                    "{name}: {err}"
                );
                if target == Target::Bash {
                    assert_eq!(out.status.code(), Some(status), "{name}: {err}");
                }
            }
            for file in ["hup.pid", "nohup.pid"] {
                let p = std::fs::read_to_string(scratch.repo.join(file))
                    .unwrap_or_else(|_| panic!("{name}: no {file}; output:\n{log}"));
                let gone = (0..30).any(|_| {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    !alive(&p)
                });
                assert!(gone, "{name}: `{file}` process outlived the build:\n{log}");
            }
            let clean = (0..30).any(|_| {
                std::thread::sleep(std::time::Duration::from_millis(100));
                scratch.leftovers().is_empty()
            });
            assert!(clean, "{name}: left in TMPDIR: {:?}", scratch.leftovers());
        }
    }
}

/// SIGTERM to the build's process group reaches the recipe line twice: once from the signal,
/// once more from make, which passes a TERM on to its children. The line must still say how
/// the build ended (it died of the second TERM in its handler about once in seven runs).
#[test]
fn make_terminated_twice_still_says_how_the_build_ended() {
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    let yaml = "test:\n  override:\n    - echo done >> \"$TRACE\"; sleep 30\n";
    let source = yml2sh::Source::new("term.yml", yaml.to_string());
    let text = yml2sh::compile(&source, &common::options(Target::Make))
        .unwrap()
        .text;
    let scratch = Scratch::new("term-twice", &text);
    for round in 0..10 {
        let _ = scratch.take_trace();
        let mut cmd = scratch.command(Target::Make);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0);
        let child = cmd.spawn().unwrap();
        let pid = child.id().to_string();
        let started = (0..200).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(50));
            scratch.take_trace_peek().contains("done")
        });
        assert!(started, "round {round}: the build did not start");
        // The recipe line's shell (make's child), signalled again right after the group.
        let line =
            std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{pid}")])
            .status();
        for child in line.split_whitespace() {
            let _ = Command::new("kill").args(["-TERM", child]).status();
        }
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("interrupted: 1 started, 0 failed, 0 skipped; exit status 143"),
            "round {round}: {err}"
        );
    }
}

/// An unwritable TMPDIR (here a path under a regular file: the tests run as root, so
/// permissions would not stop them) fails before any command runs, with a clear message, for
/// build.sh and the Makefile; GNU make before 4 and bash before 4.4 are refused by name.
#[test]
fn an_unwritable_tmpdir_and_old_make_or_bash_fail_clearly() {
    let yaml = "test:\n  override:\n    - echo ran >> \"$TRACE\"\n";
    for target in [Target::Bash, Target::Make] {
        let source = yml2sh::Source::new("tmp.yml", yaml.to_string());
        let text = yml2sh::compile(&source, &common::options(target))
            .unwrap()
            .text;
        let scratch = Scratch::new(&format!("notmp-{target:?}"), &text);
        let file = scratch.base.join("a-file");
        std::fs::write(&file, "").unwrap();
        let out = scratch.run(
            target,
            &[],
            &[("TMPDIR", &file.join("tmp").to_string_lossy())],
        );
        let all = text_of(&out);
        assert_eq!(out.status.code(), Some(2), "{target:?}: {all}");
        assert!(
            all.contains("cannot create a temporary directory in") && all.contains("(TMPDIR)"),
            "{target:?}: {all}"
        );
        assert_eq!(scratch.take_trace(), "", "{target:?}: a command ran");
    }
    // GNU make's version, as make 3.81 would report it.
    let scratch = Scratch::new("old-make", &makefile_of_text("old.yml", yaml));
    let out = scratch.make(&["MAKE_VERSION=3.81", "help"], &[]);
    assert!(!out.status.success());
    assert!(
        text_of(&out).contains("needs GNU make 4 or newer; this is make 3.81"),
        "{}",
        text_of(&out)
    );
    // bash's, through the runtime's own check (this bash is new enough to load it).
    let runtime = common::root().join("templates/runtime.sh");
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(". '{}'; y2s_check_bash 3 2", runtime.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text_of(&out).contains("needs bash 4.4 or newer; this is bash 3.2"),
        "{}",
        text_of(&out)
    );
}

fn text_of(out: &Output) -> String {
    text(out)
}

/// `make -f "dir with spaces/Makefile"`: the Makefile finds itself (MAKEFILE_LIST splits on
/// spaces) and the build runs, from a relative and an absolute path.
#[test]
fn a_makefile_in_a_directory_with_spaces_runs() {
    let yaml = "test:\n  override:\n    - echo ran >> \"$TRACE\"\n";
    let scratch = Scratch::new("spaces", &makefile_of_text("spaces.yml", yaml));
    let dir = scratch.repo.join("dir with spaces");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::rename(scratch.base.join("Makefile"), dir.join("Makefile")).unwrap();
    for path in [
        std::path::PathBuf::from("dir with spaces/Makefile"),
        dir.join("Makefile"),
    ] {
        let mut cmd = Command::new("make");
        cmd.arg("-f")
            .arg(&path)
            .current_dir(&scratch.repo)
            .env("TRACE", scratch.base.join("trace"))
            .env("HOME", scratch.base.join("home"))
            .env("XDG_CACHE_HOME", scratch.base.join("home/.cache"))
            .env("TMPDIR", scratch.base.join("tmp"))
            .env("NO_COLOR", "1");
        common::scrub_env(&mut cmd);
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}: {}", path.display(), text(&out));
        assert_eq!(scratch.take_trace(), "ran\n", "{}", path.display());
        assert!(scratch.leftovers().is_empty(), "{:?}", scratch.leftovers());
    }
}

/// No ending leaves anything in TMPDIR, dry runs and unknown make targets included; a real run
/// keeps `$CIRCLE_ARTIFACTS` and `$CIRCLE_TEST_REPORTS` in the store, per build number, and says where.
#[test]
fn tmpdir_is_left_as_found_and_artifacts_are_kept_per_build() {
    let yaml = "test:\n  override:\n    - echo report > \"$CIRCLE_TEST_REPORTS/r.xml\"; echo \"$CIRCLE_ARTIFACTS\" >> \"$TRACE\"\n";
    for target in [Target::Bash, Target::Make] {
        let source = yml2sh::Source::new("tmp.yml", yaml.to_string());
        let script = yml2sh::compile(&source, &common::options(target))
            .unwrap()
            .text;
        let scratch = Scratch::new(&format!("tmpdir-{target:?}"), &script);
        let run = |args: &[&str], env: &[(&str, &str)]| scratch.run(target, args, env);
        let dry: (&[&str], &[(&str, &str)]) = if target == Target::Make {
            (&[], &[("YML2SH_DRY_RUN", "1")])
        } else {
            (&["--dry-run"], &[])
        };
        let out = run(dry.0, dry.1);
        assert!(out.status.success(), "{target:?} dry run: {}", text(&out));
        assert_eq!(
            scratch.leftovers(),
            Vec::<String>::new(),
            "{target:?}: dry run"
        );
        if target == Target::Make {
            let _ = run(&["no-such-target"], &[]);
            assert_eq!(
                scratch.leftovers(),
                Vec::<String>::new(),
                "make no-such-target"
            );
        } else {
            let _ = run(&["--list"], &[]);
            assert_eq!(scratch.leftovers(), Vec::<String>::new(), "--list");
        }
        for build in 1..=2 {
            let out = run(&[], &[]);
            let log = text(&out);
            assert!(out.status.success(), "{target:?}: {log}");
            assert_eq!(scratch.leftovers(), Vec::<String>::new(), "{target:?}: run");
            let kept = scratch
                .base
                .join(format!("home/.cache/yml2sh/acme/widget/builds/{build}"));
            let trace = scratch.take_trace();
            assert_eq!(
                trace.trim(),
                kept.join("artifacts").to_string_lossy(),
                "{log}"
            );
            assert!(kept.join("test-reports/r.xml").is_file(), "{log}");
            assert!(
                log.contains(&*kept.join("artifacts").to_string_lossy()),
                "says where: {log}"
            );
        }
    }
}

/// The last line of `make -n`, after the commands.
const END: &str = "# (make -n: the commands above would run, in this order; nothing ran)\n";

/// `make -n TARGET` shows each command's text (issue 11 item 8), not a runtime call: in run order,
/// under its circle.yml line, byte for byte but control characters (shown as `?`), never run or
/// expanded by make (`$(shell …)`, `$$`, `#`, backslash-newline, `define`, a `+` line);
/// deployment only for the deploy targets.
#[test]
fn make_n_shows_each_command_text_and_runs_nothing() {
    let list: Vec<serde_yaml::Value> = NASTY.iter().map(|c| serde_yaml::Value::from(*c)).collect();
    let deploy = [
        "echo deploy $(shell touch made-by-make) >/dev/null",
        "+touch made-by-make",
    ];
    let yaml = format!(
        "{}deployment:\n  prod:\n    branch: master\n    commands:\n{}",
        serde_yaml::to_string(&serde_yaml::Mapping::from_iter([(
            "test".into(),
            serde_yaml::Value::Mapping(serde_yaml::Mapping::from_iter([(
                "override".into(),
                serde_yaml::Value::Sequence(list),
            )])),
        )]))
        .unwrap(),
        deploy
            .iter()
            .map(|c| format!("      - {}\n", serde_yaml::to_string(c).unwrap().trim_end()))
            .collect::<String>()
    );
    let scratch = Scratch::new("dry-n", &makefile_of_text("dry.yml", &yaml));
    // What make -n prints for one section: its header, then each command's title and text.
    let shown = |header: &str, title: &str, commands: &[&str]| {
        let mut out = format!("# ==> {header}\n");
        for c in commands {
            let text: String = c
                .chars()
                .map(|ch| {
                    if ch.is_control() && ch != '\n' && ch != '\t' {
                        '?'
                    } else {
                        ch
                    }
                })
                .collect();
            out.push_str(&format!("# {title}\n{text}\n"));
        }
        out
    };
    // The titles name the circle.yml line; the comparison keeps the section only.
    let normalised = |out: &Output| {
        assert!(out.status.success(), "{}", text(out));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| match l.split_once(", circle.yml line ") {
                Some((title, n))
                    if l.starts_with("# ") && n.chars().all(|c| c.is_ascii_digit()) =>
                {
                    title.to_string()
                }
                _ => l.to_string(),
            })
            .map(|l| l + "\n")
            .collect::<String>()
    };
    let test = shown("test", "test.override", NASTY);
    let out = scratch.make(&["-n"], &[]);
    assert_eq!(normalised(&out), format!("{test}{END}"));
    let out = scratch.make(&["-n", "deploy"], &[]);
    let line = 1 + yaml.lines().position(|l| l == "  prod:").unwrap();
    let prod = shown(
        &format!("deployment prod (circle.yml line {line}), branch \"master\" (the first subsection that matches runs)"),
        "deployment.commands",
        &deploy,
    );
    assert_eq!(normalised(&out), format!("{test}{prod}{END}"));
    let out = scratch.make(&["--just-print", "deploy-prod"], &[]);
    assert!(normalised(&out).contains("echo deploy $(shell touch made-by-make)"));
    assert!(
        !scratch.repo.join("made-by-make").exists(),
        "make ran or expanded a command"
    );
    assert_eq!(scratch.take_trace(), "", "a command ran");
    assert_eq!(scratch.leftovers(), Vec::<String>::new());
}

/// Every directory the runtime makes is checked (issue 11 item 4): when one cannot be made (here
/// under a regular file: the tests run as root, so permissions would not stop them) the build
/// says which and fails before any command runs (the store for build numbers, CIRCLE_ARTIFACTS),
/// or warns and goes on (a cache that cannot be saved); a background command that cannot write
/// its log is not started and fails the build, visibly. For build.sh and the Makefile.
#[test]
fn a_directory_that_cannot_be_made_fails_clearly() {
    let yaml = "dependencies:\n  cache_directories:\n    - deps\n  override:\n    - mkdir -p deps && echo deps >> \"$TRACE\"\n";
    let background = "test:\n  override:\n    - rm -rf \"$CIRCLE_ARTIFACTS\" && touch \"$CIRCLE_ARTIFACTS\"\n    - echo served >> \"$TRACE\":\n        background: true\n    - echo after >> \"$TRACE\"\n";
    for target in [Target::Bash, Target::Make] {
        let compile = |yaml: &str| {
            let source = yml2sh::Source::new("dirs.yml", yaml.to_string());
            yml2sh::compile(&source, &common::options(target))
                .unwrap()
                .text
        };
        let scratch = Scratch::new(&format!("dirs-{target:?}"), &compile(yaml));
        let file = scratch.base.join("a-file");
        std::fs::write(&file, "").unwrap();
        let under_file = file.join("x").to_string_lossy().into_owned();
        let clean = || {
            (0..30).any(|_| {
                std::thread::sleep(std::time::Duration::from_millis(100));
                scratch.leftovers().is_empty()
            })
        };
        for (env, says) in [
            ("XDG_CACHE_HOME", "cannot count the build in"),
            ("CIRCLE_ARTIFACTS", "cannot create CIRCLE_ARTIFACTS"),
        ] {
            let out = scratch.run(target, &[], &[(env, &under_file)]);
            let all = text(&out);
            assert_eq!(out.status.code(), Some(2), "{target:?} {env}: {all}");
            assert!(all.contains(says), "{target:?} {env}: {all}");
            assert_eq!(scratch.take_trace(), "", "{target:?} {env}: a command ran");
            assert!(clean(), "{target:?} {env}: left {:?}", scratch.leftovers());
        }
        // The cache cannot be saved: said, and the build goes on.
        let out = scratch.run(target, &[], &[("YML2SH_CACHE_DIR", &under_file)]);
        let all = text(&out);
        assert!(out.status.success(), "{target:?} cache: {all}");
        assert!(
            all.contains("warning: could not save") && all.contains("cannot create a directory"),
            "{target:?} cache: {all}"
        );
        assert_eq!(scratch.take_trace(), "deps\n");
        assert!(clean(), "{target:?} cache: left {:?}", scratch.leftovers());
        // $CIRCLE_ARTIFACTS replaced by a file: the background command's log cannot be written.
        let scratch = Scratch::new(&format!("dirs-bg-{target:?}"), &compile(background));
        let out = scratch.run(target, &[], &[]);
        let all = text(&out);
        assert!(!out.status.success(), "{target:?} background: {all}");
        assert!(
            all.contains("cannot write its output to") && all.contains("not started"),
            "{target:?} background: {all}"
        );
        assert!(
            all.contains("FAILED  test") && all.contains("background: cannot write its output"),
            "{target:?} background: {all}"
        );
        // Test commands all run, as in CircleCI; the background one never started.
        assert_eq!(scratch.take_trace(), "after\n", "{target:?} background");
        assert!(
            clean(),
            "{target:?} background: left {:?}",
            scratch.leftovers()
        );
    }
}

/// Without flock(1) the build-number lock is a directory made with mkdir: one that cannot be
/// made at all (here in /proc) is refused at once, never waited for without end.
#[test]
fn a_lock_directory_that_cannot_be_made_is_refused() {
    let bin = crate::common::tmp().join(format!("yml2sh-noflock-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&bin);
    std::fs::create_dir_all(&bin).unwrap();
    for tool in ["mkdir", "rmdir"] {
        let path = Command::new("bash")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .unwrap();
        let path = String::from_utf8(path.stdout).unwrap();
        std::os::unix::fs::symlink(path.trim(), bin.join(tool)).unwrap();
    }
    let runtime = common::root().join("templates/runtime.sh");
    // `timeout` only guards the test run against the old endless wait.
    let out = Command::new("timeout")
        .arg("60")
        .arg("bash")
        .arg("-c")
        .arg(format!(
            ". '{}'; PATH='{}'; y2s_locked /proc/yml2sh-lock true; echo \"status $?\"",
            runtime.display(),
            bin.display()
        ))
        .output()
        .unwrap();
    assert_eq!(text(&out).trim_end(), "status 1", "{}", text(&out));
}

/// `make help` keeps one command to one terminal line: a long one is cut with ` …` (its whole
/// text is in the Makefile and `make -n`).
#[test]
fn help_cuts_a_long_command_to_one_line() {
    let long = format!("echo {}", "word ".repeat(40).trim_end());
    let makefile = makefile_of_text(
        "circle.yml",
        &format!("test:\n  override:\n    - {long}\n    - echo short\n"),
    );
    let scratch = Scratch::new("help-long", &makefile);
    let out = scratch.make(&["help"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let help = text(&out);
    let line = help
        .lines()
        .find(|l| l.contains("line 3"))
        .unwrap_or_else(|| panic!("{help}"));
    assert!(line.ends_with("word word …"), "{line}");
    let title = &line[line.find("echo word").unwrap()..];
    assert!(title.chars().count() <= 72, "{title}");
    assert!(help.contains("      line 4      echo short\n"), "{help}");
    let n = scratch.make(&["-n", "test"], &[]);
    assert!(text(&n).contains(&long), "{}", text(&n));
}
