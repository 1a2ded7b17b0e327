//! Every generated build.sh (ok fixtures, seed examples, the real corpus) passes `bash -n` and,
//! for yml2sh's own code around the user's commands, `shellcheck -S style`.

mod common;

use std::path::PathBuf;
use std::process::Command;

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

/// Writes every compilable input's script into one folder.
fn scripts(name: &str) -> (PathBuf, Vec<PathBuf>) {
    let dir = std::env::temp_dir().join(format!("yml2sh-{name}-{}", std::process::id()));
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

#[test]
fn scripts_pass_shellcheck() {
    let (_, files) = scripts("shellcheck");
    let out = Command::new("shellcheck")
        .args(["-S", "style", "-s", "bash"])
        .args(&files)
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
    let dir = std::env::temp_dir().join(format!("yml2sh-modes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("build.sh");
    std::fs::write(&file, script).unwrap();
    let run = |args: &[&str]| {
        let out = Command::new("bash")
            .arg(&file)
            .args(args)
            .current_dir(&dir)
            .env("NO_COLOR", "1")
            .env("CIRCLE_BRANCH", "release-1")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
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
        list.contains("  21     ./release.sh \"$CIRCLE_TAG\"  [timeout=1800s node-0-only]"),
        "{list}"
    );
    let (code, dry) = run(&["--dry-run"]);
    assert_eq!(code, Some(0), "{dry}");
    assert!(
        dry.contains("$ echo test")
            && dry.contains("deployment 'staging'")
            && dry.contains("$ ./deploy.sh staging"),
        "{dry}"
    );
    let (code, only) = run(&["--dry-run", "--only", "deployment"]);
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
