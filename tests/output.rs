//! `-o` as an attacker or an unusual target meets it: it never replaces what is not its file,
//! never follows a planted link, writes through FIFOs and character devices, keeps a replaced
//! file's mode, creates missing directories, and `-o -` is standard output.

use std::io::Write;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const CONFIG: &str = "test:\n  override:\n    - echo hi\n";

fn sandbox(name: &str) -> PathBuf {
    let dir = crate::common::tmp().join(format!("yml2sh-output-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("circle.yml"), CONFIG).unwrap();
    dir
}

/// Runs yml2sh in `dir` on its circle.yml with `args`.
fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_yml2sh"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn dash_is_standard_output() {
    let dir = sandbox("dash");
    let out = run(&dir, &["circle.yml", "-o", "-"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("echo hi"));
    assert_eq!(names(&dir), ["circle.yml"], "no file named `-`");
}

#[test]
fn a_symlink_at_the_target_is_refused_and_its_file_untouched() {
    let dir = sandbox("symlink");
    std::fs::write(dir.join("victim"), "precious").unwrap();
    std::fs::set_permissions(dir.join("victim"), std::fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::symlink("victim", dir.join("build.sh")).unwrap();
    let out = run(&dir, &["circle.yml", "-o", "build.sh"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("symbolic link"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(dir.join("victim")).unwrap(),
        "precious"
    );
    let mode = std::fs::metadata(dir.join("victim"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(std::fs::symlink_metadata(dir.join("build.sh"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(names(&dir), ["build.sh", "circle.yml", "victim"]);
}

/// The old temporary name was `.NAME.yml2sh-PID.tmp`: a link planted there once the process
/// started redirected the write (and the chmod 0755) to any file.
#[test]
fn a_link_planted_at_the_old_temporary_name_is_not_followed() {
    let dir = sandbox("planted");
    std::fs::write(dir.join("victim"), "precious").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_yml2sh"))
        .args(["-", "-o", "build.sh"])
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let planted = dir.join(format!(".build.sh.yml2sh-{}.tmp", child.id()));
    std::os::unix::fs::symlink(dir.join("victim"), &planted).unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(CONFIG.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(dir.join("victim")).unwrap(),
        "precious"
    );
    let mode = std::fs::metadata(dir.join("victim"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0, "the victim was not made executable");
    assert!(std::fs::read_to_string(dir.join("build.sh"))
        .unwrap()
        .contains("echo hi"));
}

#[test]
fn a_fifo_is_written_through_not_replaced() {
    let dir = sandbox("fifo");
    let fifo = dir.join("pipe");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let out = run(&dir, &["-f", "ir", "circle.yml", "-o", "pipe"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(reader.join().unwrap().contains("echo hi"));
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
    assert_eq!(names(&dir), ["circle.yml", "pipe"]);
}

/// A `/dev/null` of the sandbox's own (mknod needs root: without it the test says so and passes).
#[test]
fn devices_a_character_device_is_written_through_a_block_device_refused() {
    let dir = sandbox("devices");
    let made = Command::new("mknod")
        .args(["null", "c", "1", "3"])
        .current_dir(&dir)
        .status()
        .is_ok_and(|s| s.success());
    if !made {
        eprintln!("SKIPPED: mknod needs root");
        return;
    }
    let out = run(&dir, &["circle.yml", "-o", "null"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let kind = std::fs::symlink_metadata(dir.join("null"))
        .unwrap()
        .file_type();
    assert!(kind.is_char_device(), "still the device");

    assert!(Command::new("mknod")
        .args(["disk", "b", "7", "0"])
        .current_dir(&dir)
        .status()
        .unwrap()
        .success());
    let out = run(&dir, &["circle.yml", "-o", "disk"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("block device"), "{}", stderr(&out));
    let kind = std::fs::symlink_metadata(dir.join("disk"))
        .unwrap()
        .file_type();
    assert!(kind.is_block_device());
    assert_eq!(names(&dir), ["circle.yml", "disk", "null"]);
}

#[test]
fn a_directory_is_refused() {
    let dir = sandbox("dir");
    std::fs::create_dir(dir.join("build.sh")).unwrap();
    let out = run(&dir, &["circle.yml", "-o", "build.sh"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("directory"), "{}", stderr(&out));
    assert!(dir.join("build.sh").is_dir());
    assert!(names(&dir.join("build.sh")).is_empty());
}

#[test]
fn a_replaced_file_keeps_its_mode() {
    let dir = sandbox("mode");
    for (name, format, mode) in [("build.sh", "bash", 0o700), ("Makefile", "make", 0o640)] {
        std::fs::write(dir.join(name), "old").unwrap();
        std::fs::set_permissions(dir.join(name), std::fs::Permissions::from_mode(mode)).unwrap();
        let out = run(&dir, &["-f", format, "circle.yml", "-o", name]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(std::fs::read_to_string(dir.join(name))
            .unwrap()
            .contains("echo hi"));
        let got = std::fs::metadata(dir.join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(got & 0o7777, mode, "{name}");
    }
    assert_eq!(names(&dir), ["Makefile", "build.sh", "circle.yml"]);
}

#[test]
fn missing_parent_directories_are_created() {
    let dir = sandbox("parents");
    let out = run(
        &dir,
        &[
            "-f",
            "github",
            "circle.yml",
            "-o",
            ".github/workflows/ci.yml",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(dir.join(".github/workflows/ci.yml")).unwrap();
    assert!(text.contains("echo hi"));
    assert_eq!(names(&dir.join(".github/workflows")), ["ci.yml"]);
}
