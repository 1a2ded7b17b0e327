//! `yml2sh check` as a reviewer's tool: many files in one run, `--deny`, every message format
//! (SARIF validated by Microsoft's SARIF validator and the SARIF 2.1.0 schema, GitHub annotations
//! parsed back), global flags before the subcommand.

use crate::common;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use yml2sh::Target;

/// Warnings (`unknown-key`, `inferred-commands`) and a note (`host-change`) in a block scalar.
const WARNS: &str = "dependencies:\n  override:\n    - |\n      make deps\n      sudo apt-get install -y libpq-dev\ntest:\n  overide:\n    - make\n  override:\n    - make test\n";
/// Nothing to say.
const CLEAN: &str = "dependencies:\n  override:\n    - true\ndatabase:\n  override:\n    - true\ntest:\n  override:\n    - make test\n";
/// An error (`bad-timeout`).
const BROKEN: &str = "dependencies:\n  override:\n    - make deps\n\n\ntest:\n  override:\n    - ./run.sh:\n        timeout: soon\n";

fn scratch(name: &str) -> PathBuf {
    let dir = crate::common::tmp().join(format!("yml2sh-check-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (file, text) in [
        ("warns.yml", WARNS),
        ("clean.yml", CLEAN),
        ("broken.yml", BROKEN),
    ] {
        std::fs::write(dir.join(file), text).unwrap();
    }
    dir
}

fn yml2sh(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_yml2sh"))
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .output()
        .expect("yml2sh starts")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn many_files_in_one_run_with_mixed_outcomes() {
    let dir = scratch("many");
    let out = yml2sh(&dir, &["check", "clean.yml", "warns.yml", "broken.yml"]);
    let text = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "an error in one file fails: {text}"
    );
    assert!(text.contains("clean.yml: no problems found"), "{text}");
    assert!(text.contains("--> warns.yml:7:3"), "{text}");
    assert!(text.contains("error[bad-timeout]"), "{text}");
    assert!(text.contains("--> broken.yml:9:18"), "{text}");
    // Files are reported in the order given.
    let at = |s: &str| text.find(s).unwrap_or_else(|| panic!("{s} in {text}"));
    assert!(at("clean.yml:") < at("warns.yml:") && at("warns.yml:") < at("broken.yml:"));

    // Warnings alone do not fail, unless denied.
    let out = yml2sh(&dir, &["check", "clean.yml", "warns.yml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let out = yml2sh(&dir, &["check", "-D", "warnings", "clean.yml", "warns.yml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("error[unknown-key]"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("--deny warnings"), "{}", stdout(&out));
    let out = yml2sh(&dir, &["check", "--deny", "warnings", "clean.yml"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "nothing to deny in a clean file"
    );
    // One code can be denied on its own; a name that is no code is a usage error.
    let out = yml2sh(&dir, &["check", "-D", "unknown-key", "warns.yml"]);
    assert_eq!(out.status.code(), Some(1));
    let out = yml2sh(&dir, &["check", "-D", "no-such-code", "warns.yml"]);
    assert_eq!(out.status.code(), Some(2));
    // A missing file is reported with the others, and fails the run.
    let out = yml2sh(&dir, &["check", "clean.yml", "missing.yml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("cannot read `missing.yml`"));
}

#[test]
fn deny_warnings_fails_a_compilation_too() {
    let dir = scratch("deny-compile");
    let out = yml2sh(&dir, &["-D", "warnings", "warns.yml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "nothing written when denied");
    assert!(String::from_utf8_lossy(&out.stderr).contains("error[unknown-key]"));
    assert_eq!(yml2sh(&dir, &["warns.yml"]).status.code(), Some(0));
}

#[test]
fn global_flags_work_before_the_subcommand() {
    let dir = scratch("global");
    for args in [
        &["--message-format", "json", "check", "warns.yml"][..],
        &["check", "--message-format", "json", "warns.yml"][..],
        &["check", "warns.yml", "--message-format=json"][..],
    ] {
        let out = yml2sh(&dir, args);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", stdout(&out)));
        let codes: Vec<&str> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["code"].as_str().unwrap())
            .collect();
        assert!(codes.contains(&"unknown-key"), "{args:?}: {codes:?}");
    }
    let out = yml2sh(&dir, &["-D", "warnings", "check", "warns.yml"]);
    assert_eq!(out.status.code(), Some(1));
    // Compile flags mean nothing to check: refused, not ignored.
    let out = yml2sh(&dir, &["-f", "make", "check", "warns.yml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`--format`"));
}

#[test]
fn short_format_is_one_line_per_finding() {
    let dir = scratch("short");
    let out = yml2sh(
        &dir,
        &[
            "check",
            "--message-format",
            "short",
            "warns.yml",
            "broken.yml",
        ],
    );
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.contains(&"broken.yml:9:18: error[bad-timeout]: `timeout` must be a positive whole number of seconds, not `soon`")
            || lines.iter().any(|l| l.starts_with("broken.yml:9:18: error[bad-timeout]: ")),
        "{text}"
    );
    assert!(lines
        .iter()
        .any(|l| l.starts_with("warns.yml:7:3: warning[unknown-key]: ")));
    assert!(lines
        .iter()
        .any(|l| l.starts_with("warns.yml:5:7: note[host-change]: ")));
    assert!(!text.contains("-->"), "{text}");
}

#[test]
fn json_is_one_array_for_all_files() {
    let dir = scratch("json");
    let out = yml2sh(
        &dir,
        &[
            "check",
            "--message-format",
            "json",
            "clean.yml",
            "warns.yml",
            "broken.yml",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = v.as_array().unwrap();
    let files: Vec<&str> = items.iter().map(|d| d["file"].as_str().unwrap()).collect();
    assert!(files.contains(&"warns.yml") && files.contains(&"broken.yml"));
    assert!(!files.contains(&"clean.yml"));
    let timeout = items.iter().find(|d| d["code"] == "bad-timeout").unwrap();
    assert_eq!(
        (timeout["line"].as_u64(), timeout["column"].as_u64()),
        (Some(9), Some(18))
    );
    // A run with nothing to say is still a JSON document.
    let out = yml2sh(&dir, &["check", "--message-format", "json", "clean.yml"]);
    assert_eq!(stdout(&out), "[]\n");
}

/// `::level k=v,k=v::message` → (level, properties, message), undoing GitHub's escapes.
fn parse_annotation(line: &str) -> (String, Vec<(String, String)>, String) {
    let unescape = |s: &str| {
        s.replace("%0D", "\r")
            .replace("%0A", "\n")
            .replace("%3A", ":")
            .replace("%2C", ",")
            .replace("%25", "%")
    };
    let rest = line.strip_prefix("::").expect("a workflow command");
    let (head, message) = rest.split_once("::").expect("`::` before the message");
    let (level, props) = head.split_once(' ').unwrap_or((head, ""));
    let props = props
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').expect("k=v");
            (k.to_string(), unescape(v))
        })
        .collect();
    (level.to_string(), props, unescape(message))
}

#[test]
fn github_annotations_parse_back() {
    let dir = scratch("github");
    std::fs::create_dir_all(dir.join("a,b")).unwrap();
    std::fs::write(dir.join("a,b/circle.yml"), WARNS).unwrap();
    let out = yml2sh(
        &dir,
        &[
            "check",
            "--message-format",
            "github",
            "broken.yml",
            "a,b/circle.yml",
        ],
    );
    let anns: Vec<_> = stdout(&out).lines().map(parse_annotation).collect();
    let get = |props: &[(String, String)], k: &str| {
        props
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let (level, props, message) = anns
        .iter()
        .find(|(_, p, _)| get(p, "title").as_deref() == Some("bad-timeout"))
        .expect("bad-timeout annotated");
    assert_eq!(level, "error");
    assert_eq!(get(props, "file").as_deref(), Some("broken.yml"));
    assert_eq!(get(props, "line").as_deref(), Some("9"));
    assert_eq!(get(props, "col").as_deref(), Some("18"));
    assert!(message.contains("soon"), "{message}");
    let (level, props, _) = anns
        .iter()
        .find(|(_, p, _)| get(p, "title").as_deref() == Some("host-change"))
        .expect("host-change annotated");
    assert_eq!(level, "notice");
    assert_eq!(get(props, "line").as_deref(), Some("5"));
    let (_, props, _) = anns
        .iter()
        .find(|(_, p, _)| get(p, "title").as_deref() == Some("unknown-key"))
        .unwrap();
    assert_eq!(get(props, "file").as_deref(), Some("a,b/circle.yml"));
}

/// The directory of npm's `@microsoft/sarif-multitool-linux` (the validator and the schema).
fn sarif_multitool() -> PathBuf {
    if let Some(dir) = std::env::var_os("YML2SH_SARIF_MULTITOOL") {
        return PathBuf::from(dir);
    }
    let root = Command::new("npm")
        .args(["root", "-g"])
        .output()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .unwrap_or_default();
    let pkg = "@microsoft/sarif-multitool-linux";
    [
        root.join(pkg),
        root.join("@microsoft/sarif-multitool/node_modules").join(pkg),
    ]
    .into_iter()
    .find(|d| d.join("Sarif.Multitool").exists())
    .expect("the SARIF validator is installed (.ci/run: npm install -g @microsoft/sarif-multitool-linux)")
}

#[test]
fn sarif_passes_the_sarif_validator_and_githubs_rules() {
    let dir = scratch("sarif");
    std::fs::create_dir_all(dir.join("my dir")).unwrap();
    std::fs::write(dir.join("my dir/circle.yml"), WARNS).unwrap();
    let out = yml2sh(
        &dir,
        &[
            "check",
            "--message-format",
            "sarif",
            "clean.yml",
            "broken.yml",
            "my dir/circle.yml",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let log: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    // Rule ids are our codes, with their meaning and help; each result points at its rule.
    for r in results {
        let rule = &rules[r["ruleIndex"].as_u64().unwrap() as usize];
        assert_eq!(rule["id"], r["ruleId"]);
        let code = yml2sh::Code::from_name(rule["id"].as_str().unwrap()).unwrap();
        assert_eq!(rule["shortDescription"]["text"], code.meaning());
        assert_eq!(rule["help"]["text"], code.help());
        assert!(r["locations"][0]["physicalLocation"]["region"]["startLine"].is_u64());
    }
    let find = |code: &str| results.iter().find(|r| r["ruleId"] == code).unwrap();
    let timeout = find("bad-timeout");
    assert_eq!(timeout["level"], "error");
    let loc = &timeout["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "broken.yml");
    assert_eq!(loc["region"]["startLine"], 9);
    assert_eq!(loc["region"]["startColumn"], 18);
    assert_eq!(find("host-change")["level"], "note");
    assert_eq!(
        find("unknown-key")["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "my%20dir/circle.yml"
    );

    let sarif = dir.join("check.sarif");
    std::fs::write(&sarif, &out.stdout).unwrap();
    let tool = sarif_multitool();
    // The SARIF 2.1.0 schema, as the validator's package ships it.
    let schema = Command::new("check-jsonschema")
        .arg("--schemafile")
        .arg(tool.join("sarif-2.1.0.json"))
        .arg(&sarif)
        .output()
        .expect("check-jsonschema is installed (.ci/run installs it)");
    assert!(
        schema.status.success(),
        "{}",
        String::from_utf8_lossy(&schema.stdout)
    );
    // Microsoft's validator, with the rules GitHub code scanning applies on upload.
    let report = dir.join("validation.sarif");
    let validate = Command::new(tool.join("Sarif.Multitool"))
        .args(["validate", "--rule-kind", "Gh;Sarif", "--output"])
        .arg(&report)
        .arg(&sarif)
        .env("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT", "1")
        .output()
        .expect("the SARIF validator runs");
    let said = String::from_utf8_lossy(&validate.stdout);
    assert!(validate.status.success(), "{said}");
    let findings: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let errors: Vec<_> = findings["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["level"] == "error")
        .map(|r| r["message"].to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}\n{said}");
    // The validator does read the file: a result without a location is refused.
    let mut broken = log.clone();
    broken["runs"][0]["results"][0]
        .as_object_mut()
        .unwrap()
        .remove("locations");
    std::fs::write(&sarif, serde_json::to_vec(&broken).unwrap()).unwrap();
    let validate = Command::new(tool.join("Sarif.Multitool"))
        .args([
            "validate",
            "--rule-kind",
            "Gh;Sarif",
            "--log",
            "ForceOverwrite",
            "--output",
        ])
        .arg(&report)
        .arg(&sarif)
        .env("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT", "1")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&validate.stdout).contains("error GH"),
        "{}",
        String::from_utf8_lossy(&validate.stdout)
    );
}

#[test]
fn circle_yaml_is_found_when_circle_yml_is_absent() {
    let dir = crate::common::tmp().join(format!("yml2sh-check-yaml-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("circle.yaml"), WARNS).unwrap();
    let out = yml2sh(&dir, &["check"]);
    assert!(
        stdout(&out).contains("--> circle.yaml:7:3"),
        "{}",
        stdout(&out)
    );
    let out = yml2sh(&dir, &["-f", "ir"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("# yml2sh IR of circle.yaml"));
    // circle.yml wins when both exist, as CircleCI read circle.yml.
    std::fs::write(dir.join("circle.yml"), CLEAN).unwrap();
    let out = yml2sh(&dir, &["check"]);
    assert!(
        stdout(&out).contains("circle.yml: no problems found"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn check_flag_says_fresh_or_stale_for_every_format() {
    let dir = scratch("fresh");
    std::fs::write(dir.join("circle.yml"), CLEAN).unwrap();
    for (format, out) in [
        ("bash", "build.sh"),
        ("make", "Makefile"),
        ("github", "ci.yml"),
    ] {
        let write = yml2sh(&dir, &["-f", format, "circle.yml", "-o", out]);
        assert_eq!(write.status.code(), Some(0), "{format}");
        let before = std::fs::read(dir.join(out)).unwrap();
        let fresh = yml2sh(&dir, &["-f", format, "circle.yml", "--check", "-o", out]);
        assert_eq!(fresh.status.code(), Some(0), "{format}: {fresh:?}");
        assert!(String::from_utf8_lossy(&fresh.stderr).contains("is up to date"));
        // A hand edit makes it stale, with the changed line shown both ways; nothing is written.
        let before = String::from_utf8_lossy(&before).into_owned();
        let at = before.rfind("make test").unwrap();
        let edited = format!("{}make tests{}", &before[..at], &before[at + 9..]);
        std::fs::write(dir.join(out), &edited).unwrap();
        let stale = yml2sh(&dir, &["-f", format, "circle.yml", "--check", "-o", out]);
        assert_eq!(stale.status.code(), Some(1), "{format}");
        let err = String::from_utf8_lossy(&stale.stderr);
        assert!(err.contains("is stale"), "{err}");
        assert!(err.contains("\n-") && err.contains("make tests"), "{err}");
        assert!(err.contains("\n+") && err.contains("make test\n"), "{err}");
        assert!(stale.stdout.is_empty());
        assert_eq!(std::fs::read_to_string(dir.join(out)).unwrap(), edited);
        // A missing output is stale too.
        std::fs::remove_file(dir.join(out)).unwrap();
        let missing = yml2sh(&dir, &["-f", format, "circle.yml", "--check", "-o", out]);
        assert_eq!(missing.status.code(), Some(1), "{format}");
        assert!(!dir.join(out).exists(), "--check writes nothing");
    }
    // Without a file to compare with, --check is a usage error.
    assert_eq!(yml2sh(&dir, &["--check"]).status.code(), Some(2));
    assert_eq!(yml2sh(&dir, &["--check", "-o", "-"]).status.code(), Some(2));
}

#[test]
fn check_flag_sees_the_project_files_inference_reads() {
    let dir = scratch("fresh-infer");
    std::fs::write(dir.join("circle.yml"), "test:\n  post:\n    - echo done\n").unwrap();
    assert_eq!(yml2sh(&dir, &["-o", "build.sh"]).status.code(), Some(0));
    assert_eq!(
        yml2sh(&dir, &["--check", "-o", "build.sh"]).status.code(),
        Some(0)
    );
    // A package.json appears: CircleCI would now infer `npm install` and `npm test`.
    std::fs::write(
        dir.join("package.json"),
        "{\"scripts\": {\"test\": \"node t.js\"}}\n",
    )
    .unwrap();
    let stale = yml2sh(&dir, &["--check", "-o", "build.sh"]);
    assert_eq!(stale.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&stale.stderr).contains("npm"));
}

#[test]
fn completions_and_man_page_come_from_the_cli_definition() {
    let dir = scratch("completions");
    let bash = yml2sh(&dir, &["completions", "bash"]);
    assert_eq!(bash.status.code(), Some(0));
    let script = dir.join("yml2sh.bash");
    std::fs::write(&script, &bash.stdout).unwrap();
    // Sourced by bash, it registers a completion for yml2sh that knows the subcommands.
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source '{}' && complete -p yml2sh && COMP_WORDS=(yml2sh c) COMP_CWORD=1 && _yml2sh yml2sh c yml2sh && printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display()
        ))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("-F _yml2sh yml2sh"), "{said}");
    assert!(
        said.lines().any(|l| l == "check") && said.lines().any(|l| l == "completions"),
        "{said}"
    );
    for shell in ["zsh", "fish"] {
        let out = yml2sh(&dir, &["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let text = stdout(&out);
        assert!(
            text.contains("audit") && text.contains("message-format"),
            "{shell}"
        );
    }
    assert_eq!(
        yml2sh(&dir, &["completions", "tcsh"]).status.code(),
        Some(2)
    );
    let man = yml2sh(&dir, &["man"]);
    let page = stdout(&man);
    assert!(
        page.starts_with(".ie") || page.contains(".TH yml2sh 1"),
        "{page}"
    );
    assert!(
        page.contains("message\\-format") || page.contains("message-format"),
        "{page}"
    );
    // man renders it without complaint.
    if Command::new("man").arg("--version").output().is_ok() {
        let file = dir.join("yml2sh.1");
        std::fs::write(&file, &man.stdout).unwrap();
        let out = Command::new("man")
            .arg("-l")
            .arg(&file)
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "80")
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("SYNOPSIS"));
    }
}

/// Runs a build (`build.sh` or the Makefile's `test` target) of `circle` compiled with `args`
/// in a scratch repository; returns what `$TRACE` recorded.
fn node_total_seen(name: &str, format: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let (repo, home) = crate::common::scratch_repo(name, None);
    let base = repo.parent().unwrap().to_path_buf();
    let circle = base.join("circle.yml");
    std::fs::write(
        &circle,
        "dependencies:\n  override:\n    - true\ndatabase:\n  override:\n    - true\ntest:\n  override:\n    - echo \"total=$CIRCLE_NODE_TOTAL index=$CIRCLE_NODE_INDEX\" >> \"$TRACE\"\n",
    )
    .unwrap();
    let out = if format == "bash" {
        "build.sh"
    } else {
        "Makefile"
    };
    let mut compile = vec!["-f", format, "circle.yml", "-o", out];
    compile.extend(args);
    let made = yml2sh(&base, &compile);
    assert_eq!(made.status.code(), Some(0), "{made:?}");
    let trace = base.join("trace");
    let mut run = if format == "bash" {
        let mut c = Command::new("bash");
        c.arg(base.join("build.sh"));
        c
    } else {
        let mut c = Command::new("make");
        c.arg("-f").arg(base.join("Makefile")).arg("test");
        c
    };
    crate::common::scrub_env(&mut run)
        .current_dir(&repo)
        .env("HOME", &home)
        .env("TRACE", &trace)
        .envs(env.iter().copied());
    let done = run.output().unwrap();
    assert!(
        done.status.success(),
        "{}{}",
        String::from_utf8_lossy(&done.stdout),
        String::from_utf8_lossy(&done.stderr)
    );
    std::fs::read_to_string(&trace).unwrap_or_default()
}

#[test]
fn nodes_is_the_default_node_total_for_bash_and_make() {
    for format in ["bash", "make"] {
        let name = format!("nodes-{format}");
        assert_eq!(
            node_total_seen(&name, format, &[], &[]),
            "total=1 index=0\n",
            "{format}"
        );
        assert_eq!(
            node_total_seen(&name, format, &["--nodes", "3"], &[]),
            "total=3 index=0\n",
            "{format}"
        );
        // The environment still wins, as for every CIRCLE_* variable.
        assert_eq!(
            node_total_seen(
                &name,
                format,
                &["--nodes", "3"],
                &[("CIRCLE_NODE_TOTAL", "2"), ("CIRCLE_NODE_INDEX", "1")]
            ),
            "",
            "{format}: node 1 does not run a node-0 test command"
        );
    }
}

#[test]
fn build_sh_header_names_rewritten_commands() {
    let dir = scratch("rewritten");
    std::fs::write(
        dir.join("circle.yml"),
        "test:\n  override:\n    - make test\ndeployment:\n  hub:\n    branch: master\n    commands:\n      - docker login -e $DOCKER_EMAIL -u $DOCKER_USER -p $DOCKER_PASS\n",
    )
    .unwrap();
    let out = yml2sh(&dir, &["circle.yml"]);
    let text = stdout(&out);
    let header: Vec<&str> = text.lines().take_while(|l| l.starts_with('#')).collect();
    assert!(
        header.contains(&"#   circle.yml line 8, rewritten from: docker login -e $DOCKER_EMAIL -u $DOCKER_USER -p $DOCKER_PASS"),
        "{header:#?}"
    );
    // Nothing rewritten (or --verbatim): no such lines.
    let out = yml2sh(&dir, &["--verbatim", "circle.yml"]);
    assert!(!stdout(&out).contains("rewritten from"));
    assert_eq!(bash_n(&text), Some(0));
}

fn bash_n(text: &str) -> Option<i32> {
    use std::io::Write;
    let mut child = Command::new("bash")
        .arg("-n")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    child.wait().unwrap().code()
}

#[test]
fn shellcheck_findings_point_into_the_circle_yml() {
    assert!(
        Command::new("shellcheck").arg("--version").output().is_ok(),
        "shellcheck is installed (.ci/run installs it)"
    );
    let dir = scratch("shellcheck");
    std::fs::write(
        dir.join("circle.yml"),
        "machine:\n  environment:\n    greeting: hello\ntest:\n  override:\n    - |\n      echo \"$greeting\"\n      for f in $(ls *.txt); do cat $f; done\n    - echo \"$undefined_here\"\n",
    )
    .unwrap();
    let plain = yml2sh(&dir, &["check", "--message-format", "json", "circle.yml"]);
    let v: serde_json::Value = serde_json::from_slice(&plain.stdout).unwrap();
    assert!(
        !v.as_array()
            .unwrap()
            .iter()
            .any(|d| d["code"] == "shellcheck"),
        "off by default"
    );
    let out = yml2sh(
        &dir,
        &[
            "check",
            "--shellcheck",
            "--message-format",
            "json",
            "circle.yml",
        ],
    );
    let found = shellcheck_findings(&out);
    // `$f` on the second line of the block scalar: line 8, columns 36..38.
    assert!(found.contains(&("SC2086".into(), 8, 36, 38)), "{found:?}");
    assert!(
        found
            .iter()
            .any(|(c, l, col, _)| c == "SC2045" && *l == 8 && *col == 16),
        "{found:?}"
    );
    // `greeting` comes from machine.environment: shellcheck is told, so it is not unassigned;
    // `undefined_here` is.
    assert!(
        !found.iter().any(|(c, l, ..)| c == "SC2154" && *l == 7),
        "{found:?}"
    );
    assert!(found.contains(&("SC2154".into(), 9, 13, 28)), "{found:?}");
    let human = yml2sh(&dir, &["check", "--shellcheck", "circle.yml"]);
    assert!(stdout(&human).contains("https://www.shellcheck.net/wiki/SC2086"));
}

/// The shellcheck findings of a config, as (code, line, column, end column).
fn shellcheck_findings(out: &Output) -> Vec<(String, u64, u64, u64)> {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "shellcheck")
        .map(|d| {
            (
                d["label"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap(),
                d["column"].as_u64().unwrap(),
                d["end_column"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Many commands are checked by one shellcheck process, each finding still mapped to its own
/// command's place (each command is its own script: one's assignment is not another's), and a
/// `.shellcheckrc` where yml2sh runs applies as it did to a script on standard input.
#[test]
fn one_shellcheck_run_checks_every_command_each_finding_in_its_place() {
    let dir = scratch("shellcheck-batch");
    // A stand-in on PATH that logs each run and hands it to the real shellcheck.
    let real = String::from_utf8(
        Command::new("bash")
            .args(["-c", "command -v shellcheck"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = dir.join("runs");
    std::fs::write(
        bin.join("shellcheck"),
        format!(
            "#!/bin/bash\necho \"$1\" >> {}\nexec {} \"$@\"\n",
            log.display(),
            real.trim()
        ),
    )
    .unwrap();
    Command::new("chmod")
        .args(["+x", bin.join("shellcheck").to_str().unwrap()])
        .status()
        .unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    std::fs::write(
        dir.join("circle.yml"),
        "test:\n  override:\n    - echo $1\n    - |\n      cd sub\n      for f in $(ls *.txt); do cat $f; done\n    - echo \"$undefined_one\"\n    - echo `date`\n    - |-\n        x=1\n        echo \"$undefined_two\"\n",
    )
    .unwrap();
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_yml2sh"))
            .args([
                "check",
                "--shellcheck",
                "--message-format",
                "json",
                "circle.yml",
            ])
            .current_dir(&dir)
            .env("PATH", &path)
            .output()
            .unwrap()
    };
    let out = run();
    let found = shellcheck_findings(&out);
    let runs = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        runs.lines().filter(|l| *l != "--version").count(),
        1,
        "one shellcheck run for five commands: {runs}"
    );
    let want: Vec<(String, u64, u64, u64)> = [
        ("SC2086", 3, 12, 14),
        ("SC2164", 5, 7, 13),
        ("SC2045", 6, 16, 27),
        ("SC2035", 6, 21, 22),
        ("SC2086", 6, 36, 38),
        ("SC2154", 7, 13, 27),
        ("SC2046", 8, 12, 18),
        ("SC2005", 8, 12, 18),
        ("SC2006", 8, 12, 18),
        // `x` is assigned for later commands (lower/vars.rs): not unused.
        ("SC2154", 11, 15, 29),
    ]
    .into_iter()
    .map(|(c, l, a, b)| (c.to_string(), l, a, b))
    .collect();
    assert_eq!(found, want);
    // A .shellcheckrc where yml2sh runs is read, as for a script on standard input.
    std::fs::write(dir.join(".shellcheckrc"), "disable=SC2086\n").unwrap();
    let found = shellcheck_findings(&run());
    let rest: Vec<_> = want.into_iter().filter(|f| f.0 != "SC2086").collect();
    assert_eq!(found, rest);
}

#[test]
fn check_reports_every_finding_each_back_end_gives() {
    // check asks the back-ends for their findings without rendering them: the same findings
    // compiling each target gives (lowered as check lowers, deployments allowed untested).
    let mut inputs = common::all_inputs();
    inputs.extend(common::yml_files(&common::fixture("hostile")));
    for path in inputs {
        let source = common::read_source(&path);
        let mut options = common::options(Target::Bash);
        options.lower.host_changes = true;
        options.emit.allow_untested_deploy = true;
        let checked = yml2sh::check(&source, &options).into_sorted();
        for target in [Target::Ir, Target::Bash, Target::Make, Target::Github] {
            options.target = target;
            let compiled = match yml2sh::compile(&source, &options) {
                Ok(out) => out.diagnostics.into_sorted(),
                Err(d) => d.into_sorted(),
            };
            for d in &compiled {
                assert!(
                    checked.contains(d),
                    "{}: -f {target:?} says what check does not: {d:?}",
                    path.display()
                );
            }
        }
    }
}

/// `--shellcheck` is never required: without shellcheck on PATH, `check` says so and reports
/// the rest, with the exit status it would have without the flag.
#[test]
fn shellcheck_missing_from_path_is_a_note_not_a_failure() {
    let dir = scratch("shellcheck-absent");
    std::fs::write(dir.join("circle.yml"), CLEAN).unwrap();
    let empty = dir.join("no-tools");
    std::fs::create_dir_all(&empty).unwrap();
    for (file, status) in [("circle.yml", 0), ("warns.yml", 0), ("broken.yml", 1)] {
        let out = Command::new(env!("CARGO_BIN_EXE_yml2sh"))
            .args(["check", "--shellcheck", file])
            .current_dir(&dir)
            .env("PATH", &empty)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(status), "{file}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("shellcheck is not on PATH; --shellcheck checks nothing"),
            "{file}: {err}"
        );
        let without = yml2sh(&dir, &["check", file]);
        assert_eq!(stdout(&out), stdout(&without), "{file}: the same findings");
    }
}

/// When shellcheck's scripts cannot be written, `check --shellcheck` says it checked nothing.
#[test]
fn shellcheck_without_a_temporary_directory_says_it_checked_nothing() {
    let dir = scratch("shellcheck-no-tmp");
    std::fs::write(
        dir.join("circle.yml"),
        "test:\n  override:\n    - echo $1\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_yml2sh"))
        .args(["check", "--shellcheck", "circle.yml"])
        .current_dir(&dir)
        .env("TMPDIR", dir.join("missing"))
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(
        text.contains("note[shellcheck]: shellcheck checked nothing: cannot write its scripts"),
        "{text}"
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
}

/// The `run:` steps of the README's pull-request job, and the job itself with its placeholder
/// filled in.
fn readme_review_job() -> (String, Vec<String>) {
    let readme = std::fs::read_to_string(common::root().join("README.md")).unwrap();
    let section = &readme[readme
        .find("## Reviewing CI changes in pull requests")
        .unwrap()..];
    let body = &section[section.find("```yaml\n").unwrap() + 8..];
    let job = body[..body.find("```").unwrap()]
        .replace("<this repository>", "https://github.com/acme/yml2sh");
    let value: serde_yaml::Value = serde_yaml::from_str(&job).unwrap();
    let runs = value["jobs"]["yml2sh"]["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|step| step["run"].as_str().map(str::to_owned))
        .collect();
    (job, runs)
}

#[test]
fn the_readme_pull_request_job_passes_the_linters_and_its_steps_do_what_it_says() {
    let (job, runs) = readme_review_job();
    let dir = scratch("readme-job");
    let file = dir.join("review.yml");
    std::fs::write(&file, &job).unwrap();
    let lint = Command::new("actionlint")
        .arg(&file)
        .output()
        .expect("actionlint runs (.ci/run installs it)");
    assert!(lint.status.success(), "actionlint: {}", stdout(&lint));
    // As for the workflows yml2sh writes (tests/github.rs): actions pinned to their major
    // version, and nothing else for zizmor to say.
    let audit = Command::new("zizmor")
        .args(["--offline", "--format", "json", "--no-progress"])
        .arg(&file)
        .output()
        .expect("zizmor runs (.ci/run installs it)");
    let findings: Vec<serde_json::Value> = serde_json::from_slice(&audit.stdout)
        .unwrap_or_else(|e| panic!("zizmor: {e}: {}", String::from_utf8_lossy(&audit.stderr)));
    let other: Vec<_> = findings
        .iter()
        .filter(|f| f["ident"] != "unpinned-uses")
        .collect();
    assert!(other.is_empty(), "zizmor: {other:?}");

    // A repository keeping a clean circle.yml and the outputs the job compares.
    std::fs::write(dir.join("circle.yml"), CLEAN).unwrap();
    common::git(&dir, &["init", "-q"]);
    std::fs::create_dir_all(dir.join(".github/workflows")).unwrap();
    let steps: Vec<&String> = runs.iter().filter(|r| r.starts_with("yml2sh ")).collect();
    assert_eq!(steps.len(), 3, "{runs:?}");
    for (format, out) in [("bash", "build.sh"), ("github", ".github/workflows/ci.yml")] {
        let made = yml2sh(&dir, &["-f", format, "circle.yml", "-o", out]);
        assert_eq!(made.status.code(), Some(0), "{made:?}");
    }
    for step in &steps {
        let out = common::user_shell(&dir, step);
        assert_eq!(out.status.code(), Some(0), "{step}: {out:?}");
    }
    // A change to circle.yml that its outputs do not have yet fails both comparisons; a
    // warning fails the check step.
    std::fs::write(dir.join("circle.yml"), format!("{CLEAN}    - make lint\n")).unwrap();
    for step in steps.iter().filter(|s| s.contains("--check")) {
        assert_eq!(
            common::user_shell(&dir, step).status.code(),
            Some(1),
            "{step}"
        );
    }
    std::fs::write(dir.join("circle.yml"), WARNS).unwrap();
    let check = common::user_shell(&dir, steps[0]);
    assert_eq!(check.status.code(), Some(1), "{check:?}");
    assert!(
        stdout(&check).contains("::error file=circle.yml,line=7,col=3"),
        "{}",
        stdout(&check)
    );
}

#[test]
fn the_pre_commit_hooks_run_as_pre_commit_runs_them() {
    let text = std::fs::read_to_string(common::root().join(".pre-commit-hooks.yaml")).unwrap();
    let hooks: Vec<serde_yaml::Value> = serde_yaml::from_str(&text).unwrap();
    let hook = |id: &str| {
        let h = hooks.iter().find(|h| h["id"].as_str() == Some(id)).unwrap();
        let entry = h["entry"].as_str().unwrap().to_string();
        // pre-commit passes the staged files that match `files` unless told not to.
        (entry, h["pass_filenames"].as_bool().unwrap_or(true))
    };
    let dir = scratch("pre-commit");
    common::git(&dir, &["init", "-q"]);
    std::fs::write(dir.join("circle.yml"), CLEAN).unwrap();

    let (check, files) = hook("yml2sh-check");
    assert!(files);
    let run_check = || common::user_shell(&dir, &format!("{check} circle.yml"));
    assert_eq!(run_check().status.code(), Some(0));
    std::fs::write(dir.join("circle.yml"), BROKEN).unwrap();
    let failed = run_check();
    assert_eq!(failed.status.code(), Some(1), "errors fail the commit");
    assert!(
        stdout(&failed).contains("--> circle.yml:9:18"),
        "{failed:?}"
    );

    // The README's args for the second hook, with no file names after them.
    let (fresh, files) = hook("yml2sh-fresh");
    assert!(!files);
    std::fs::write(dir.join("circle.yml"), CLEAN).unwrap();
    let run_fresh = || common::user_shell(&dir, &format!("{fresh} -f bash circle.yml -o build.sh"));
    assert_eq!(run_fresh().status.code(), Some(1), "no build.sh yet");
    assert_eq!(
        yml2sh(&dir, &["-f", "bash", "circle.yml", "-o", "build.sh"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(run_fresh().status.code(), Some(0));
    std::fs::write(dir.join("circle.yml"), format!("{CLEAN}    - make lint\n")).unwrap();
    assert_eq!(run_fresh().status.code(), Some(1), "stale");
}
