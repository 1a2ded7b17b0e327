//! The command line as a user meets it: files, stdin, -o, check, exit codes.

use crate::common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn yml2sh(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_yml2sh"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("yml2sh starts");
    if let Some(input) = stdin {
        // yml2sh may stop reading early (oversized input): a broken pipe is fine.
        let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn tmpdir(name: &str) -> std::path::PathBuf {
    let dir = crate::common::tmp().join(format!("yml2sh-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn reads_stdin_with_dash() {
    let out = yml2sh(
        &["-f", "ir", "-"],
        Some("test:\n  override:\n    - echo from-stdin\n"),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("echo from-stdin"));
}

#[test]
fn defaults_to_circle_yml_in_the_current_directory() {
    let dir = tmpdir("default");
    std::fs::write(
        dir.join("circle.yml"),
        "test:\n  override:\n    - echo default-file\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_yml2sh"))
        .args(["-f", "ir"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("echo default-file"));
}

#[test]
fn input_errors_exit_1_with_a_located_message() {
    let out = yml2sh(
        &["-"],
        Some("test:\n  override:\n    - ./run.sh:\n        timeout: soon\n"),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "no output on error");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error[bad-timeout]"), "{err}");
    assert!(err.contains("<stdin>:4:18"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(
        yml2sh(&["--format", "cobol", "-"], Some("")).status.code(),
        Some(2)
    );
    assert_eq!(yml2sh(&["--no-such-flag"], None).status.code(), Some(2));
}

#[test]
fn missing_file_is_an_input_error() {
    let out = yml2sh(&["/nonexistent/circle.yml"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read `/nonexistent/circle.yml`"));
}

#[test]
fn help_and_version() {
    let help = yml2sh(&["--help"], None);
    assert_eq!(help.status.code(), Some(0));
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(
        text.contains("Examples:") && text.contains("--format"),
        "{text}"
    );
    let version = yml2sh(&["--version"], None);
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("yml2sh {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn output_is_written_atomically_and_executable() {
    let dir = tmpdir("output");
    let input = dir.join("circle.yml");
    std::fs::write(&input, "test:\n  override:\n    - echo hi\n").unwrap();
    let out_path = dir.join("out.txt");
    let out = yml2sh(
        &[
            "-f",
            "ir",
            input.to_str().unwrap(),
            "-o",
            out_path.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    assert!(std::fs::read_to_string(&out_path)
        .unwrap()
        .contains("echo hi"));
    // No temp file is left behind.
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn bash_output_is_executable() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tmpdir("exec-bit");
    let input = dir.join("circle.yml");
    std::fs::write(&input, "test:\n  override:\n    - echo hi\n").unwrap();
    let script = dir.join("build.sh");
    let out = yml2sh(
        &[input.to_str().unwrap(), "-o", script.to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    let mode = std::fs::metadata(&script).unwrap().permissions().mode();
    assert_eq!(mode & 0o111, 0o111, "build.sh is executable");
    let make = dir.join("Makefile");
    let out = yml2sh(
        &[
            "-f",
            "make",
            input.to_str().unwrap(),
            "-o",
            make.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::metadata(&make).unwrap().permissions().mode() & 0o111,
        0
    );
}

#[test]
fn failed_compilation_leaves_the_old_output_untouched() {
    let dir = tmpdir("keep");
    let input = dir.join("circle.yml");
    std::fs::write(&input, "test: [unclosed\n").unwrap();
    let out_path = dir.join("build.txt");
    std::fs::write(&out_path, "previous").unwrap();
    let out = yml2sh(
        &[
            "-f",
            "ir",
            input.to_str().unwrap(),
            "-o",
            out_path.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(&out_path).unwrap(), "previous");
}

#[test]
fn refuses_to_overwrite_the_input() {
    let dir = tmpdir("same");
    let input = dir.join("circle.yml");
    std::fs::write(&input, "test:\n  override:\n    - echo hi\n").unwrap();
    let out = yml2sh(
        &[input.to_str().unwrap(), "-o", input.to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        std::fs::read_to_string(&input).unwrap(),
        "test:\n  override:\n    - echo hi\n"
    );
}

#[test]
fn check_prints_diagnostics_only() {
    let out = yml2sh(&["check", "-"], Some("test:\n  overide:\n    - echo hi\n"));
    assert_eq!(out.status.code(), Some(0), "warnings do not fail check");
    assert!(
        out.stderr.is_empty(),
        "check's report is its standard output: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stdout);
    assert!(
        err.contains("warning[unknown-key]") && err.contains("did you mean `override`?"),
        "{err}"
    );
    let bad = yml2sh(&["check", "-"], Some("test: [\n"));
    assert_eq!(bad.status.code(), Some(1));
}

#[test]
fn json_and_github_message_formats() {
    let out = yml2sh(
        &["check", "--message-format", "json", "-"],
        Some("test:\n  overide: []\n"),
    );
    let err = String::from_utf8_lossy(&out.stdout);
    assert!(err.contains("\"code\":\"unknown-key\""), "{err}");
    let out = yml2sh(
        &["check", "--message-format", "github", "-"],
        Some("test:\n  overide: []\n"),
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("::warning file=<stdin>,line=2,col=3"));
}

#[test]
fn non_utf8_input_is_located() {
    let out = Command::new(env!("CARGO_BIN_EXE_yml2sh"))
        .args([
            "check",
            common::fixture("err/not-utf8.yml").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("not-utf8.yml:3:15"));
}

#[test]
fn oversized_input_is_refused_cleanly() {
    let big = format!(
        "test:\n  override:\n    - echo {}\n",
        "x".repeat(11 * 1024 * 1024)
    );
    let out = yml2sh(&["check", "-"], Some(&big));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("too-large"));
}

#[test]
fn a_map_where_a_command_is_expected_is_a_located_error() {
    // `- echo a: b` is a map: the text before `: ` reads as a command with modifiers.
    let out = yml2sh(
        &["check", "-"],
        Some("test:\n  override:\n    - echo a: b\n"),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stdout);
    assert!(err.contains("error[expected-map]"), "{err}");
    assert!(err.contains("<stdin>:3:15"), "{err}");
    assert!(err.contains("quote the whole command"), "{err}");
}

/// `check` and `audit` write their report as compiling writes its output: a full disk is an
/// error that says so (exit 1), a closed pipe (`| head -c1`) ends quietly, never a panic.
#[test]
fn check_and_audit_report_write_errors_and_end_quietly_on_a_closed_pipe() {
    let dir = tmpdir("write-errors");
    // Many findings, so that the report outgrows a pipe's buffer.
    let mut text = String::from("test:\n  override:\n");
    for i in 0..400 {
        text.push_str(&format!("    - echo {i}:\n        timeout: 0\n"));
    }
    std::fs::write(dir.join("circle.yml"), &text).unwrap();
    let bin = env!("CARGO_BIN_EXE_yml2sh");
    for args in [["check", "circle.yml"], ["audit", "."]] {
        let full = Command::new(bin)
            .args(args)
            .current_dir(&dir)
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&full.stderr);
        assert_eq!(full.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("error: could not write standard output: No space left on device"),
            "{args:?}: {stderr}"
        );
        let shell = format!(
            "'{bin}' {} | head -c1 >/dev/null; echo \"${{PIPESTATUS[0]}}\"",
            args.join(" ")
        );
        let piped = Command::new("bash")
            .args(["-c", &shell])
            .current_dir(&dir)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&piped.stderr);
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
        let status = String::from_utf8_lossy(&piped.stdout);
        // check's own status (errors found: 1), audit's 0: the closed pipe changes neither.
        let want = if args[0] == "check" { "1\n" } else { "0\n" };
        assert_eq!(status, want, "{args:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A single run is mostly process start-up, so on Linux with glibc the binary is linked
/// statically (build.rs): no dynamic loader, no shared library to find, map and bind. As a
/// static PIE its addresses stay randomised. Where build.rs found no static C libraries it says
/// so, and the binary is the platform's default.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn the_binary_is_a_static_pie_that_loads_no_library() {
    let out = Command::new("readelf")
        .args(["-h", "-l", "-d", env!("CARGO_BIN_EXE_yml2sh")])
        .output()
        .expect("readelf (binutils) runs");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let needed: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| l.split('[').nth(1)?.split(']').next())
        .collect();
    if env!("YML2SH_LINKED") == "dynamic" {
        assert!(needed.contains(&"libc.so.6"), "{text}");
        return;
    }
    assert_eq!(env!("YML2SH_LINKED"), "static");
    assert!(needed.is_empty(), "loads {needed:?}");
    assert!(
        !text.contains("INTERP"),
        "asks for a dynamic loader:\n{text}"
    );
    let kind = text.lines().find(|l| l.trim_start().starts_with("Type:"));
    assert!(
        kind.is_some_and(|l| l.contains("DYN")),
        "position-independent, so its addresses are randomised: {kind:?}"
    );
    assert!(text.contains("PIE"), "{text}");
}

/// A directory named as the config is refused by name, in one line, whatever the format
/// (`read_file` learns it from the first read, asking nothing first).
#[test]
fn a_directory_given_as_the_config_is_an_io_error_naming_it() {
    let dir = tmpdir("dir-input");
    let name = dir.to_str().unwrap();
    for args in [&["-f", "bash", name][..], &["check", name]] {
        let out = yml2sh(args, None);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        // A compilation says it on stderr; `check` reports on stdout.
        let said = String::from_utf8_lossy(if args[0] == "check" {
            &out.stdout
        } else {
            &out.stderr
        });
        assert!(
            said.contains(&format!(
                "error[io]: cannot read `{name}`: it is a directory"
            )),
            "{args:?}: {said}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
