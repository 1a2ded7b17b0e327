//! Hostile inputs: the catalogue in tests/fixtures/hostile/ (bombs, depth, NUL, invalid UTF-8,
//! BOM, CR/CRLF, duplicate keys, wrong types everywhere, out-of-range numbers…) and, generated
//! here rather than stored, one large input for each quadratic cost yml2sh once had.
//!
//! Each input is compiled to every format and checked in every message format by the real
//! binary, as a child process under a CPU-time and memory cap the harness enforces (`ulimit -t`
//! and `ulimit -v` on the child: CPU time, so a busy machine does not trip it). The caps are
//! generous (they catch a hang or a blow-up, not slowness: speed is `bench/hostile.sh`'s job).
//! Every run must end with exit 0 and an output, or exit 1 and a located error; never a panic,
//! a signal or the cap.
//!
//! The generated inputs are sized so that, in the debug build, a linear run takes about a
//! second of CPU at most while a quadratic one (each once was) takes far beyond the cap.
//!
//! `YML2SH_HOSTILE_SIZE` sets the generated inputs' size in bytes (default [`DEFAULT_SIZE`]);
//! `YML2SH_HOSTILE_BIN` runs another yml2sh binary under the caps; `YML2SH_HOSTILE_OUT=DIR` keeps them in DIR, and with `YML2SH_HOSTILE_WRITE_ONLY=1` only
//! writes them (bench/hostile.sh times them there with a release build).

use crate::common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// CPU seconds a run may use (`ulimit -t`; the kernel stops it with SIGXCPU): ten times what
/// the slowest linear run takes in the debug build.
const CPU_CAP_SECONDS: u64 = 10;
/// Wall time after which a run is killed: a backstop for one that waits without using CPU.
const TIME_CAP: Duration = Duration::from_secs(180);
/// Address space a run may take, in KiB (`ulimit -v`): five times what any input needs (a
/// linear run of a generated input peaks near 50 MB; the deployment conditions that once grew
/// quadratically took 400 MB at this size).
const MEMORY_CAP_KIB: u64 = 256 * 1024;
/// Size of the generated inputs.
const DEFAULT_SIZE: usize = 96 * 1024;

const COMPILE: &[&str] = &["ir", "bash", "make", "github"];
const MESSAGES: &[&str] = &["human", "json", "github"];

struct Run {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
}

/// The binary under test: this build's, or `YML2SH_HOSTILE_BIN` (to try the caps on another).
fn binary() -> PathBuf {
    std::env::var_os("YML2SH_HOSTILE_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_yml2sh")),
        PathBuf::from,
    )
}

/// Runs yml2sh with `args` under the caps; panics naming `what` if a cap is hit.
fn run(what: &str, args: &[&str]) -> Run {
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "ulimit -t {CPU_CAP_SECONDS} -v {MEMORY_CAP_KIB} && exec \"$0\" \"$@\""
        ))
        .arg(binary())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash starts");
    // Drain both pipes on threads so a large output never blocks the child.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > TIME_CAP {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: yml2sh {args:?} still running after {TIME_CAP:?} (wall): a hang");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = out.join().unwrap();
    let stderr = String::from_utf8_lossy(&err.join().unwrap()).into_owned();
    use std::os::unix::process::ExitStatusExt;
    if let Some(signal) = status.signal() {
        // SIGXCPU (24), or SIGKILL past the hard limit: the CPU cap.
        if signal == 24 || signal == 9 {
            panic!(
                "{what}: yml2sh {args:?} used more than {CPU_CAP_SECONDS} s of CPU: quadratic, or a hang"
            );
        }
        if stderr.contains("memory allocation of") {
            panic!(
                "{what}: yml2sh {args:?} needed more than {} MiB: memory grows faster than the input",
                MEMORY_CAP_KIB / 1024
            );
        }
        panic!("{what}: yml2sh {args:?} killed by signal {signal}: {stderr:.2000}");
    }
    Run {
        code: status.code(),
        stdout,
        stderr,
    }
}

/// Every format and message format for one input file.
fn survive(path: &Path, compile: &[&str], messages: &[&str]) {
    let file = path.to_str().unwrap();
    let what = path.file_name().unwrap().to_string_lossy().into_owned();
    for format in compile {
        let r = run(&what, &["-f", format, "--message-format", "json", file]);
        match r.code {
            Some(0) => assert!(
                !r.stdout.is_empty(),
                "{what} -f {format}: exit 0, no output"
            ),
            Some(1) => {
                assert!(r.stdout.is_empty(), "{what} -f {format}: output on error");
                assert!(
                    r.stderr.contains("\"severity\":\"error\""),
                    "{what} -f {format}: exit 1 without an error: {:.2000}",
                    r.stderr
                );
                // Every error is located, except an unreadable or oversized file as a whole.
                for line in r
                    .stderr
                    .lines()
                    .filter(|l| l.contains("\"severity\":\"error\""))
                {
                    assert!(
                        line.contains("\"line\":") && !line.contains("\"line\":null")
                            || line.contains("\"code\":\"too-large\""),
                        "{what} -f {format}: an unlocated error: {line:.500}"
                    );
                }
            }
            other => panic!("{what} -f {format}: exit {other:?}: {:.2000}", r.stderr),
        }
    }
    for message in messages {
        let r = run(&what, &["check", "--message-format", message, file]);
        assert!(
            matches!(r.code, Some(0 | 1)),
            "{what} check --message-format {message}: exit {:?}: {:.2000}",
            r.code,
            r.stderr
        );
        // `check` prints its report on standard output (GitHub's format: nothing when clean).
        let report = String::from_utf8_lossy(&r.stdout);
        assert!(
            !report.is_empty() || (*message == "github" && r.code == Some(0)),
            "{what}: check --message-format {message} said nothing: {:.2000}",
            r.stderr
        );
        if *message == "json" {
            let _: serde_json::Value = serde_json::from_str(&report)
                .unwrap_or_else(|e| panic!("{what}: JSON diagnostics do not parse: {e}"));
        }
    }
}

#[test]
fn the_hostile_catalogue_never_panics_hangs_or_fails_unlocated() {
    let dir = common::fixture("hostile");
    let files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    assert!(files.len() >= 40, "the catalogue has {} files", files.len());
    let mut files = files;
    files.sort();
    for path in &files {
        survive(path, COMPILE, MESSAGES);
    }
}

/// How large the generated inputs are.
fn size() -> usize {
    std::env::var("YML2SH_HOSTILE_SIZE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SIZE)
}

/// Repeats `item(i)` after `head` while the text stays within `size` bytes with `tail` added.
fn grow(head: &str, size: usize, tail: &str, item: impl Fn(usize) -> String) -> String {
    let mut text = String::from(head);
    let mut i = 0;
    loop {
        let next = item(i);
        if text.len() + next.len() + tail.len() > size {
            break;
        }
        text.push_str(&next);
        i += 1;
    }
    text.push_str(tail);
    text
}

/// A config head with tests (the workflow refuses an untested deployment) and deployments.
const TESTED: &str = "test:\n  override: [make test]\ndeployment:\n";

/// One input per cost that was once quadratic (or worse), each near `size` bytes.
pub fn generated(size: usize) -> Vec<(&'static str, String)> {
    let half = size / 2;
    vec![
        // n subsections on one branch: n(n-1)/2 deployment-overlap warnings.
        (
            "overlap",
            grow(TESTED, size, "", |i| {
                format!("  d{i}:\n    branch: master\n    commands:\n      - echo {i}\n")
            }),
        ),
        // One big anchored scalar used many times: few nodes, gigabytes once expanded.
        ("alias-bytes", {
            let mut t = format!("big: &a {}\ntest:\n  override:\n", "x".repeat(half));
            t.push_str(&"    - *a\n".repeat(2000));
            t
        }),
        // An honest file of many commands with modifiers and no alias.
        (
            "many-commands",
            grow("test:\n  override:\n", size, "", |i| {
                format!("    - echo {i}:\n        timeout: 5\n        pwd: src\n")
            }),
        ),
        // Many commands on one flow line: make's per-line block numbering.
        (
            "one-flow-line",
            grow("test:\n  override: [", size, "echo end]\n", |i| {
                format!("echo {i}, ")
            }),
        ),
        // Lines that look like heredoc tags: bash's tag choice.
        (
            "heredoc-tags",
            grow(
                "test:\n  override:\n    - |\n      YML2SH\n",
                size,
                "",
                |i| format!("      YML2SH_{i}\n"),
            ),
        ),
        // Many warnings in a big file: human diagnostics' line lookup.
        ("many-warnings", {
            let mut t = format!("# {}\ntest:\n  override: [echo ok]\n", "x".repeat(half));
            t = grow(&t, size, "", |i| format!("k{i}: 1\n"));
            t
        }),
        // Many warnings on one long line.
        (
            "warnings-one-line",
            grow("{test: {override: [echo ok]}, ", size, "z: 1}\n", |i| {
                format!("k{i}: 1, ")
            }),
        ),
        // Bare `: value` lines after a big scalar: once a re-parse of the whole file each.
        ("bare-colons", {
            let mut t = format!("big: {}\nmachine:\n  ruby:\n", "x".repeat(half));
            t = grow(&t, size, "test:\n  override: [echo ok]\n", |_| {
                "    : 2.1.2\n".to_string()
            });
            t
        }),
        // A huge unknown key: "did you mean" ran edit distance on it.
        (
            "huge-key",
            format!(
                "test:\n  o{}: [echo x]\n",
                "v".repeat(size.saturating_sub(40))
            ),
        ),
        // Many duplicate keys: each moved the map's entries.
        (
            "duplicate-keys",
            grow("machine:\n  environment:\n", size, "", |i| {
                format!("    A: {i}\n")
            }),
        ),
        // Many distinct environment variables.
        (
            "many-env",
            grow("machine:\n  environment:\n", size, "", |i| {
                format!("    V{i}: $V{}\n", i.saturating_sub(1))
            }),
        ),
        // A CR-only file full of warnings.
        (
            "cr-only",
            grow("test:\r  override: [echo ok]\r", size, "", |i| {
                format!("k{i}: 1\r")
            }),
        ),
        // One enormous command.
        (
            "huge-command",
            format!(
                "test:\n  override:\n    - echo {}\n",
                "y".repeat(size.saturating_sub(40))
            ),
        ),
        // Very deep flow nesting, unclosed.
        ("deep-unclosed", "[".repeat(size)),
        // One long command reading and assigning many variables.
        (
            "many-references",
            grow("test:\n  override:\n    - echo", size, "\n", |i| {
                format!(" $R{i}; A{i}=1;")
            }),
        ),
        // Many small aliases.
        (
            "many-aliases",
            grow("a: &a echo hi\ntest:\n  override:\n", size, "", |_| {
                "    - *a\n".to_string()
            }),
        ),
        // Many deployments with distinct regex branches and owners.
        (
            "many-deployments",
            grow(TESTED, size, "", |i| {
                format!(
                    "  d{i}:\n    branch: /f{i}-.*/\n    owner: o{}\n    commands: [echo {i}]\n",
                    i % 7
                )
            }),
        ),
        // One subsection with many branches and many commands: a condition per step.
        ("long-condition", {
            let t = grow(TESTED, half, "    commands:\n", |i| {
                if i == 0 {
                    "  d:\n    branch:\n".to_string()
                } else {
                    format!("      - b{i}\n")
                }
            });
            grow(&t, size, "", |i| format!("      - ./deploy {i}\n"))
        }),
        // Many unknown services.
        (
            "many-services",
            grow("machine:\n  services:\n", size, "", |i| {
                format!("    - s{i}\n")
            }),
        ),
        // Just over the size limit.
        ("too-large", "#".repeat(yml2sh::parse::MAX_INPUT_BYTES + 1)),
    ]
}

#[test]
fn generated_quadratic_cases_finish_under_the_caps() {
    let keep = std::env::var_os("YML2SH_HOSTILE_OUT").map(PathBuf::from);
    let dir = keep.clone().unwrap_or_else(|| {
        crate::common::tmp().join(format!("yml2sh-hostile-{}", std::process::id()))
    });
    std::fs::create_dir_all(&dir).unwrap();
    let write_only = std::env::var_os("YML2SH_HOSTILE_WRITE_ONLY").is_some();
    // Every input and format that failed, not only the first.
    let mut failed = vec![];
    for (name, text) in generated(size()) {
        let path = dir.join(format!("{name}.yml"));
        std::fs::write(&path, &text).unwrap();
        if write_only {
            continue;
        }
        // Every case in every format and `check`: a cost once quadratic in one back-end
        // (the workflow's deployment conditions, make's numbering) hid from the others.
        for format in COMPILE {
            let run = std::panic::catch_unwind(|| survive(&path, &[format], &[]));
            if let Err(e) = run {
                failed.push(panic_text(&e));
            }
        }
        for message in MESSAGES {
            let run = std::panic::catch_unwind(|| survive(&path, &[], &[message]));
            if let Err(e) = run {
                failed.push(panic_text(&e));
            }
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    if keep.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

fn panic_text(e: &Box<dyn std::any::Any + Send>) -> String {
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

fn diagnostics(text: &str) -> Vec<yml2sh::Diagnostic> {
    let source = yml2sh::Source::new("circle.yml", text);
    match yml2sh::compile(&source, &common::options(yml2sh::Target::Bash)) {
        Ok(out) => out.diagnostics.sorted(),
        Err(d) => d.sorted(),
    }
}

#[test]
fn one_overlap_warning_per_shadowed_subsection() {
    let mut text = String::from("test:\n  override: [echo t]\ndeployment:\n");
    for i in 0..50 {
        text.push_str(&format!(
            "  d{i}:\n    branch: master\n    commands: [echo {i}]\n"
        ));
    }
    // Owners: a subsection of another owner shadows nothing; one with no owner shadows all.
    text.push_str("  mine:\n    branch: release\n    owner: me\n    commands: [echo m]\n");
    text.push_str("  theirs:\n    branch: release\n    owner: them\n    commands: [echo t]\n");
    text.push_str("  anyone:\n    branch: release\n    commands: [echo a]\n");
    let overlaps: Vec<_> = diagnostics(&text)
        .into_iter()
        .filter(|d| d.code == yml2sh::Code::DeploymentOverlap)
        .collect();
    assert_eq!(overlaps.len(), 49 + 1, "{overlaps:#?}");
    assert!(overlaps[..49]
        .iter()
        .all(|d| d.message.contains("`deployment.d0` above")));
    assert!(
        overlaps[49]
            .message
            .starts_with("`deployment.anyone` never runs"),
        "{}",
        overlaps[49].message
    );
    assert!(overlaps[49].message.contains("`deployment.mine` above"));
}

#[test]
fn a_cr_only_file_reports_real_lines() {
    let path = common::fixture("hostile/cr-only.yml");
    let out = Command::new(env!("CARGO_BIN_EXE_yml2sh"))
        .args(["check", path.to_str().unwrap()])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("cr-only.yml:3:3"), "{report}");
    assert!(report.contains("cr-only.yml:5:3"), "{report}");
    assert!(report.contains("5 |   overide:"), "{report}");
    let json = Command::new(env!("CARGO_BIN_EXE_yml2sh"))
        .args(["check", "--message-format", "json", path.to_str().unwrap()])
        .output()
        .unwrap();
    let json = String::from_utf8_lossy(&json.stdout);
    assert!(json.contains("\"line\":5,\"column\":3"), "{json}");
}
