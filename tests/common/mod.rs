//! Shared test helpers: fixtures, the corpus folder, and running the compiler.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use yml2sh::{Options, Source, Target};

/// Where tests make their scratch files: one folder per run of the test binary in the system's
/// temporary folder (outside any repository, as the tests need), so a run leaves one folder,
/// not thousands; the folders of earlier runs whose process is gone are removed by the first
/// test that asks.
pub fn tmp() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let base = std::env::temp_dir().join("yml2sh-tests");
        for entry in std::fs::read_dir(&base).into_iter().flatten().flatten() {
            let pid = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok());
            if pid.is_some_and(|p| !Path::new(&format!("/proc/{p}")).exists()) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let dir = base.join(std::process::id().to_string());
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
    .clone()
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(path: &str) -> PathBuf {
    root().join("tests/fixtures").join(path)
}

pub fn read_source(path: &Path) -> Source {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    match yml2sh::source_from_bytes(&name, bytes) {
        Ok(s) => s,
        Err(e) => e.0,
    }
}

pub fn options(target: Target) -> Options {
    Options {
        target,
        ..Options::default()
    }
}

/// The folder of real configs: `YML2SH_CORPUS`, else `../shared/corpus/real` beside the repo.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("YML2SH_CORPUS") {
        Some(d) => PathBuf::from(d),
        None => root().join("../shared/corpus/real"),
    };
    dir.is_dir().then_some(dir)
}

pub fn yml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml")))
        .collect();
    files.sort();
    files
}

/// Runs git in `repo` with a fixed identity; panics on failure (test set-up).
pub fn git(repo: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(repo)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A scratch folder holding `widget/` (a git repository of `acme/widget` on master, with one
/// commit of the files copied from `seed`, if given) and `home/`.
pub fn scratch_repo(name: &str, seed: Option<&Path>) -> (PathBuf, PathBuf) {
    let base = tmp().join(format!("yml2sh-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let repo = base.join("widget");
    let home = base.join("home");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::create_dir_all(&home).unwrap();
    git(&repo, &["init", "-q", "-b", "master"]);
    git(
        &repo,
        &["remote", "add", "origin", "git@github.com:acme/widget.git"],
    );
    if let Some(seed) = seed {
        copy_dir(seed, &repo);
    }
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "--allow-empty", "-m", "init"]);
    (repo, home)
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A folder of recording stand-ins (tests/support/record) named after `tools`.
pub fn stand_ins(dir: &Path, tools: &[&str]) -> PathBuf {
    let bin = dir.join("stand-ins");
    std::fs::create_dir_all(&bin).unwrap();
    let record = root().join("tests/support/record");
    for tool in tools {
        let link = bin.join(tool);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&record, &link).unwrap();
    }
    bin
}

/// Every input a back-end must handle: ok and exec fixtures, seed examples, the real corpus.
pub fn all_inputs() -> Vec<PathBuf> {
    let mut files = yml_files(&fixture("ok"));
    files.extend(yml_files(&fixture("exec")));
    files.extend(yml_files(&fixture("seed")));
    match corpus_dir() {
        Some(dir) => files.extend(yml_files(&dir)),
        None => eprintln!("SKIPPED: the corpus (set YML2SH_CORPUS to ../shared/corpus/real)"),
    }
    files
}

/// Runs `script` in bash (`-eu`) from `dir` as a user's shell would, with the yml2sh under test
/// first on PATH (as `cargo install` puts it): for commands yml2sh and its README give users.
pub fn user_shell(dir: &Path, script: &str) -> std::process::Output {
    let bin = Path::new(env!("CARGO_BIN_EXE_yml2sh")).parent().unwrap();
    let path = std::env::join_paths(std::iter::once(bin.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    std::process::Command::new("bash")
        .args(["-eu", "-c", script])
        .current_dir(dir)
        .env("PATH", path)
        .output()
        .expect("bash runs")
}

/// Removes CircleCI's and make's variables a developer's or CI's environment may hold, so a
/// test's build derives them from its scratch repository.
pub fn scrub_env(cmd: &mut std::process::Command) -> &mut std::process::Command {
    for var in [
        "MAKEFLAGS",
        "MFLAGS",
        "MAKELEVEL",
        "MAKEFILES",
        "CI",
        "CIRCLECI",
        "CIRCLE_BRANCH",
        "CIRCLE_TAG",
        "CIRCLE_SHA1",
        "CIRCLE_NODE_TOTAL",
        "CIRCLE_NODE_INDEX",
        "CIRCLE_ARTIFACTS",
        "CIRCLE_TEST_REPORTS",
        "CIRCLE_BUILD_NUM",
        "CIRCLE_PROJECT_USERNAME",
        "CIRCLE_PROJECT_REPONAME",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// A scratch repository (see `scratch_repo`) with the fixture's build.sh written beside it;
/// returns (script, repo, home).
pub fn script_in_scratch(name: &str, fixture: &str) -> (PathBuf, PathBuf, PathBuf) {
    let (repo, home) = scratch_repo(name, None);
    let source = read_source(&self::fixture(fixture));
    let script = repo.parent().unwrap().join("build.sh");
    let text = yml2sh::compile(&source, &options(Target::Bash))
        .unwrap_or_else(|d| panic!("{fixture}: {:?}", d.sorted()))
        .text;
    std::fs::write(&script, text).unwrap();
    (script, repo, home)
}
