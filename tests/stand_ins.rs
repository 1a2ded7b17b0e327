//! The recording stand-in (tests/support/record) that execution tests put on PATH in place of
//! docker, curl, aws...: installed under two names, it records calls, arguments, chosen
//! variables and standard input, fails on request, and answers `docker inspect`.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

struct Bin {
    dir: PathBuf,
    record: PathBuf,
}

impl Bin {
    fn new(name: &str, tools: &[&str]) -> Bin {
        let dir =
            crate::common::tmp().join(format!("yml2sh-stand-ins-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        let script = common::root().join("tests/support/record");
        for tool in tools {
            std::os::unix::fs::symlink(&script, dir.join("bin").join(tool)).unwrap();
        }
        let record = dir.join("record");
        Bin { dir, record }
    }

    /// Runs `script` in bash with only the stand-ins and the system directories on PATH.
    fn bash(&self, script: &str, env: &[(&str, &str)]) -> std::process::Output {
        let path = format!("{}:/usr/bin:/bin", self.dir.join("bin").display());
        let mut cmd = Command::new("bash");
        cmd.arg("-c")
            .arg(script)
            .env_clear()
            .env("PATH", path)
            .env("YML2SH_RECORD", &self.record)
            .stdin(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    fn lines(&self) -> Vec<String> {
        read_lines(&self.record)
    }
}

impl Drop for Bin {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn records_calls_arguments_environment_and_stdin() {
    let bin = Bin::new("record", &["docker", "curl"]);
    let out = bin.bash(
        r#"
        docker build -t "circleci/hello:$CIRCLE_SHA1" .
        printf '%s\n' "$DOCKER_PASS" | docker login -u "$DOCKER_USER" --password-stdin
        curl --retry 10 -v 'http://localhost:3000/a b'
        "#,
        &[
            ("CIRCLE_SHA1", "abc123"),
            ("DOCKER_USER", "me"),
            ("DOCKER_PASS", "s3cret pass"),
            ("YML2SH_RECORD_ENV", "CIRCLE_SHA1 UNSET_VAR"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        bin.lines(),
        [
            "docker build -t circleci/hello:abc123 . CIRCLE_SHA1=abc123 UNSET_VAR=''",
            "docker login -u me --password-stdin CIRCLE_SHA1=abc123 UNSET_VAR='' stdin=$'s3cret pass\\n'",
            "curl --retry 10 -v http://localhost:3000/a\\ b CIRCLE_SHA1=abc123 UNSET_VAR=''",
        ]
    );
}

#[test]
fn fails_on_request_per_tool() {
    let bin = Bin::new("fail", &["docker", "curl", "kubecfg.sh"]);
    let out = bin.bash(
        "docker push x; echo \"docker=$?\"; curl y; echo \"curl=$?\"; kubecfg.sh z; echo \"kube=$?\"",
        &[("YML2SH_FAIL_CURL", "7"), ("YML2SH_FAIL_KUBECFG_SH", "3")],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "docker=0\ncurl=7\nkube=3\n"
    );
    assert_eq!(bin.lines(), ["docker push x", "curl y", "kubecfg.sh z"]);
}

#[test]
fn answers_docker_inspect_and_info() {
    let bin = Bin::new("inspect", &["docker"]);
    let out = bin.bash(
        r#"id=$(docker inspect --format "{{.Id}}" web); echo "${#id} $id"; docker info | grep -c 'Server Version'"#,
        &[],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut lines = stdout.lines();
    let first = lines.next().unwrap();
    let (len, id) = first.split_once(' ').unwrap();
    assert_eq!(len, "64");
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(lines.next(), Some("1"));
    // The same name gives the same id, so a recording can be compared across runs.
    let again = bin.bash("docker inspect --format '{{.Id}}' web", &[]);
    assert_eq!(String::from_utf8_lossy(&again.stdout).trim(), id);
}

#[test]
fn the_script_is_shellcheck_clean() {
    let Ok(out) = Command::new("shellcheck")
        .arg(common::root().join("tests/support/record"))
        .output()
    else {
        // .ci/run installs shellcheck; a developer machine without it still runs the rest.
        eprintln!("shellcheck not installed: skipped");
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
