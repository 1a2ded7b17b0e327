//! `yml2sh audit`: the Markdown report of a fixed fixture set (snapshot), the JSON against its
//! schema (schemas/audit.schema.json), the CSV read back, and the whole corpus in one run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common;

fn audit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_yml2sh"))
        .arg("audit")
        .args(args)
        .current_dir(common::root())
        .output()
        .expect("yml2sh starts")
}

fn ok(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

const FIXTURES: &str = "tests/fixtures/audit";

#[test]
fn markdown_report_of_the_fixture_set() {
    let text = ok(&audit(&[FIXTURES]));
    // The walk finds circle.yml and circle.yaml at any depth, and nothing else.
    assert!(text.contains("acme/nested/deeper/app/circle.yml"), "{text}");
    assert!(text.contains("acme/yaml-name/circle.yaml"), "{text}");
    assert!(!text.contains("other.yml"), "{text}");
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(common::root().join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_description("yml2sh audit tests/fixtures/audit");
    settings.bind(|| insta::assert_snapshot!("audit@fixtures", text));
}

fn validate(json: &str, name: &str) {
    let file =
        crate::common::tmp().join(format!("yml2sh-audit-{name}-{}.json", std::process::id()));
    std::fs::write(&file, json).unwrap();
    let out = Command::new("check-jsonschema")
        .arg("--schemafile")
        .arg(common::root().join("schemas/audit.schema.json"))
        .arg(&file)
        .output()
        .expect("check-jsonschema is installed (.ci/run installs it)");
    let _ = std::fs::remove_file(&file);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn json_follows_its_schema_and_says_each_status() {
    let text = ok(&audit(&["--json", FIXTURES]));
    validate(&text, "fixtures");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["total"], 6);
    for (status, n) in [
        ("success", 2),
        ("partial", 2),
        ("unsupported", 1),
        ("failed", 1),
    ] {
        assert_eq!(v["statuses"][status], n, "{status}");
    }
    let config = |dir: &str| {
        v["configs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["repository"] == format!("{FIXTURES}/acme/{dir}"))
            .unwrap_or_else(|| panic!("{dir}"))
            .clone()
    };
    let failed = config("failed");
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["reasons"][0]["code"], "bad-timeout");
    assert_eq!(failed["reasons"][0]["line"], 5);
    let unsupported = config("unsupported");
    assert_eq!(
        unsupported["cannot_express"],
        serde_json::json!(["unknown-service", "codedeploy"])
    );
    let partial = config("partial");
    assert_eq!(partial["languages"], serde_json::json!(["node 6.1.0"]));
    assert_eq!(
        partial["deployments"],
        serde_json::json!({"branch": 2, "heroku": 1, "owner": 1, "regex": 2, "tag": 1})
    );
    assert_eq!(partial["modifiers"]["timeout"], 1);
    assert_eq!(
        partial["secrets"],
        serde_json::json!(["DOCKER_PASS", "DOCKER_USER", "HEROKU_API_KEY"])
    );
    assert_eq!(v["deployments"]["regex"]["occurrences"], 2);
    // Inference read the package.json beside the circle.yml.
    let nested = config("nested/deeper/app");
    assert_eq!(
        nested["inferred_phases"],
        serde_json::json!(["dependencies", "test"])
    );
    assert_eq!(nested["status"], "success", "notes only");
    assert_eq!(v["inferred_phases"]["test"]["configs"], 1);
    // Files given by name are audited whatever they are called.
    let v: serde_json::Value = serde_json::from_str(&ok(&audit(&[
        "--json",
        "tests/fixtures/audit/acme/not-a-config/other.yml",
    ])))
    .unwrap();
    assert_eq!(v["configs"][0]["status"], "failed");
}

/// RFC 4180 rows (quoted cells may hold commas, quotes and newlines).
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = vec![];
    let mut row = vec![];
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut cell)),
            ('\n', false) => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (c, _) => cell.push(c),
        }
    }
    rows
}

#[test]
fn csv_has_one_row_per_config() {
    let rows = csv_rows(&ok(&audit(&["--csv", FIXTURES])));
    assert_eq!(rows[0][..4], ["repository", "file", "status", "commands"]);
    assert_eq!(rows.len(), 7, "{rows:?}");
    assert!(
        rows[1..].iter().all(|r| r.len() == rows[0].len()),
        "{rows:?}"
    );
    let partial = rows
        .iter()
        .find(|r| r[0].ends_with("acme/partial"))
        .unwrap();
    assert_eq!(partial[2], "partial");
    assert_eq!(partial[6], "node 6.1.0");
    assert!(partial[8].contains("regex=2"), "{partial:?}");
}

#[test]
fn usage_errors_and_missing_paths() {
    assert_eq!(audit(&[]).status.code(), Some(2), "a path is required");
    let out = audit(&["no/such/dir"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no/such/dir"));
    let out = audit(&["tests/fixtures/audit/acme/not-a-config"]);
    assert_eq!(out.status.code(), Some(1), "a directory without configs");
}

#[test]
fn a_folder_of_configs_named_otherwise_is_told_how_to_audit_them() {
    let dir = scratch("named-otherwise");
    for name in ["b__two.yml", "a__one.yml"] {
        write(
            &dir.join("in it").join(name),
            "test:\n  override:\n    - make test\n",
        );
    }
    write(&dir.join("in it/notes.txt"), "not YAML");
    let out = audit(&[dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "no report");
    let err = String::from_utf8_lossy(&out.stderr);
    let first = dir.join("in it/a__one.yml");
    assert!(
        err.contains(&format!(
            "2 other YAML files are there, such as `{}`",
            first.display()
        )),
        "{err}"
    );
    // The command the note gives audits them (run by a shell, as a user would paste it).
    let (_, command) = err.rsplit_once("(`").unwrap();
    let command = command.trim_end().strip_suffix("`)").unwrap();
    let out = common::user_shell(&dir, command);
    let report = ok(&out);
    assert!(
        report.contains("2 CircleCI 1.0 configurations audited"),
        "{report}"
    );
}

#[test]
fn the_whole_corpus_in_one_run_in_a_fixed_order() {
    let Some(dir) = common::corpus_dir() else {
        eprintln!("SKIPPED: no corpus (set YML2SH_CORPUS)");
        return;
    };
    let files = common::yml_files(&dir);
    let args: Vec<String> = std::iter::once("--json".to_string())
        .chain(files.iter().map(|f| f.display().to_string()))
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let first = ok(&audit(&args));
    validate(&first, "corpus");
    assert_eq!(first, ok(&audit(&args)), "two runs give the same report");
    let v: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(v["total"], files.len());
    let configs = v["configs"].as_array().unwrap();
    for (c, f) in configs.iter().zip(&files) {
        assert_eq!(
            c["file"],
            f.display().to_string(),
            "in the order given, sorted"
        );
        // Every config that does not convert says why.
        if c["status"] == "failed" || c["status"] == "unsupported" {
            assert!(!c["reasons"].as_array().unwrap().is_empty(), "{c}");
        }
    }
    // The statuses add up, and agree with `yml2sh check` on which configs have errors.
    let sum: u64 = ["success", "partial", "unsupported", "failed"]
        .iter()
        .map(|s| v["statuses"][s].as_u64().unwrap())
        .sum();
    assert_eq!(sum as usize, files.len());
    for (c, f) in configs.iter().zip(&files) {
        let source = common::read_source(Path::new(f));
        let diags = yml2sh::check(&source, &yml2sh::Options::default());
        assert_eq!(
            c["status"] == "failed",
            diags.has_errors(),
            "{}",
            f.display()
        );
        // And on every finding: the same codes, as often.
        let mut codes: BTreeMap<String, u64> = BTreeMap::new();
        for d in diags.iter() {
            *codes.entry(d.code.as_str().to_string()).or_default() += 1;
        }
        assert_eq!(audit_codes(c), codes, "{}", f.display());
    }
}

/// `yml2sh check --message-format json` on one file: how many times each code is raised.
fn check_codes(args: &[&str]) -> BTreeMap<String, u64> {
    let out = Command::new(env!("CARGO_BIN_EXE_yml2sh"))
        .args(["check", "--message-format", "json"])
        .args(args)
        .current_dir(common::root())
        .output()
        .expect("yml2sh starts");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let mut codes = BTreeMap::new();
    for d in v.as_array().unwrap() {
        *codes
            .entry(d["code"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    codes
}

fn audit_codes(config: &serde_json::Value) -> BTreeMap<String, u64> {
    config["codes"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, n)| (k.clone(), n.as_u64().unwrap()))
        .collect()
}

/// A scratch folder for one test, empty.
fn scratch(name: &str) -> PathBuf {
    let dir = common::tmp().join(format!("audit-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn every_config_has_the_findings_check_reports() {
    let dir = scratch("as-check");
    // Deploys with no test before it: `check` warns (untested-deploy) for the workflow.
    write(
        &dir.join("untested/circle.yml"),
        "test:\n  override: []\ndeployment:\n  prod:\n    branch: master\n    commands:\n      - ./deploy.sh\n",
    );
    // A timeout the workflow cannot keep (workflow-difference).
    write(
        &dir.join("timeout/circle.yml"),
        "test:\n  override:\n    - make test:\n        timeout: 1200\n",
    );
    let text = ok(&audit(&["--json", dir.to_str().unwrap(), FIXTURES]));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let configs = v["configs"].as_array().unwrap();
    assert_eq!(configs.len(), 8);
    for c in configs {
        let file = c["file"].as_str().unwrap();
        assert_eq!(audit_codes(c), check_codes(&[file]), "{file}");
    }
    let untested = configs
        .iter()
        .find(|c| c["repository"].as_str().unwrap().ends_with("untested"))
        .unwrap();
    // A warning in `check`, so work for a person in the audit.
    assert_eq!(untested["status"], "partial", "{untested}");
    assert!(
        untested["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["code"] == "untested-deploy" && r["line"] == 4),
        "{untested}"
    );
}

#[test]
fn report_flags_of_check_are_refused_rather_than_ignored() {
    for flags in [
        &["--deny", "warnings"][..],
        &["-D", "secrets"],
        &["--message-format", "json"],
        &["--message-format", "sarif"],
    ] {
        let mut args = flags.to_vec();
        args.push(FIXTURES);
        let out = audit(&args);
        assert_eq!(out.status.code(), Some(2), "{flags:?}");
        assert!(out.stdout.is_empty(), "{flags:?}: no report");
        let err = String::from_utf8_lossy(&out.stderr);
        let flag = if flags[0] == "-D" { "--deny" } else { flags[0] };
        assert!(
            err.contains(&format!("`{flag}`")) && err.contains("check"),
            "{err}"
        );
    }
    // The defaults, said out loud, are the plain report.
    assert_eq!(
        audit(&["--message-format", "human", FIXTURES])
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn a_directory_that_cannot_be_read_is_said_and_the_audit_goes_on() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("unreadable");
    write(
        &dir.join("open/circle.yml"),
        "test:\n  override:\n    - echo ok\n",
    );
    write(
        &dir.join("locked/inner/circle.yml"),
        "test:\n  override:\n    - echo hidden\n",
    );
    let locked = dir.join("locked");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    // Root reads any directory: the audit then runs as nobody, where setpriv can make it.
    let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    let yml2sh = |args: &[&std::ffi::OsStr]| {
        let mut cmd = if root {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(env!("CARGO_BIN_EXE_yml2sh"));
            c
        } else {
            Command::new(env!("CARGO_BIN_EXE_yml2sh"))
        };
        cmd.args(args).output()
    };
    // Without setpriv, or where nobody cannot reach the binary or the scratch directory.
    let reach = yml2sh(&["check".as_ref(), dir.join("open/circle.yml").as_os_str()]);
    if !reach.is_ok_and(|o| o.status.success()) {
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
        eprintln!("SKIPPED: cannot run yml2sh as an unprivileged user here (setpriv)");
        return;
    }
    let out = yml2sh(&["audit".as_ref(), "--json".as_ref(), dir.as_os_str()]);
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = out.expect("yml2sh starts");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "a partial audit: {err}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the report");
    let paths: Vec<&str> = v["configs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["file"].as_str().unwrap())
        .collect();
    assert_eq!(paths.len(), 1, "{paths:?}");
    assert!(paths[0].ends_with("open/circle.yml"), "{paths:?}");
    let said = format!("warning: cannot read `{}`: ", locked.display());
    assert!(
        err.contains(&said) && err.contains("no config below it is in the report"),
        "{err}"
    );
}

#[test]
fn no_infer_and_project_dir_mean_what_they_mean_for_check() {
    let app = "tests/fixtures/audit/acme/nested/deeper/app/circle.yml";
    let audited = |args: &[&str]| -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend(args);
        serde_json::from_str(&ok(&audit(&all))).unwrap()
    };
    // Inferred from the package.json beside it, unless inference is off.
    let v = audited(&[app]);
    assert_eq!(v["configs"][0]["status"], "success");
    assert_eq!(
        v["configs"][0]["inferred_phases"],
        serde_json::json!(["dependencies", "test"])
    );
    for flags in [&["--no-infer"][..], &["--no-infer", "--project-dir", "."]] {
        let mut args = flags.to_vec();
        args.push(app);
        let v = audited(&args);
        let c = &v["configs"][0];
        assert_eq!(audit_codes(c), check_codes(&args), "{flags:?}");
        // What inference would have run is now work for a person, as check warns.
        assert_eq!(c["status"], "partial", "{flags:?}: {c}");
        assert_eq!(c["reasons"][0]["code"], "inferred-commands", "{c}");
    }
    // A loose config is inferred from the checkout `--project-dir` names, as check does.
    let dir = scratch("project-dir");
    write(
        &dir.join("repo/package.json"),
        r#"{"scripts": {"test": "jest"}}"#,
    );
    let loose = dir.join("acme__repo.yml");
    write(&loose, "test:\n  post:\n    - echo done\n");
    let repo = dir.join("repo");
    let args = [
        "--project-dir",
        repo.to_str().unwrap(),
        loose.to_str().unwrap(),
    ];
    let v = audited(&args);
    let c = &v["configs"][0];
    assert_eq!(audit_codes(c), check_codes(&args));
    assert_eq!(c["commands"], 3, "npm install, npm test, echo: {c}");
    // One checkout for many configs means nothing: a usage error, before any report.
    let out = audit(&["--project-dir", repo.to_str().unwrap(), FIXTURES]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`--project-dir`") && err.contains("hold 6"),
        "{err}"
    );
}

#[test]
fn a_huge_config_is_refused_as_check_refuses_it_without_reading_it() {
    let dir = scratch("huge");
    let huge = dir.join("big/circle.yml");
    std::fs::create_dir_all(huge.parent().unwrap()).unwrap();
    // 2 GiB, sparse: no disk written, but read whole it would be 2 GiB of memory.
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    let text = ok(&audit(&["--json", dir.to_str().unwrap()]));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let c = &v["configs"][0];
    assert_eq!(c["status"], "failed");
    let out = Command::new(env!("CARGO_BIN_EXE_yml2sh"))
        .args(["check", "--message-format", "json"])
        .arg(&huge)
        .output()
        .unwrap();
    let check: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(c["reasons"][0]["code"], "too-large");
    assert_eq!(c["reasons"][0]["message"], check[0]["message"]);
    assert_eq!(c["reasons"].as_array().unwrap().len(), 1, "{c}");
}

/// `check --message-format json` on one file: each finding's code and message.
fn check_messages(file: &Path) -> Vec<(String, String)> {
    let out = Command::new(env!("CARGO_BIN_EXE_yml2sh"))
        .args(["check", "--message-format", "json"])
        .arg(file)
        .output()
        .expect("yml2sh starts");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut found: Vec<(String, String)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["code"].to_string(), d["message"].to_string()))
        .collect();
    found.sort();
    found
}

#[test]
fn inference_sees_each_directory_as_check_does() {
    let dir = scratch("walk-listing");
    // No stack file anywhere: inside a git checkout (a `.git` directory or file above, at any
    // depth) that means the project has none; outside one, no project around the config.
    let phases = "test:\n  post:\n    - echo done\n";
    write(&dir.join("repo/.git/HEAD"), "ref: refs/heads/master\n");
    write(&dir.join("repo/app/deeper/circle.yml"), phases);
    write(&dir.join("worktree/.git"), "gitdir: elsewhere\n");
    write(&dir.join("worktree/circle.yml"), phases);
    write(&dir.join("loose/circle.yml"), phases);
    write(&dir.join("dangling/circle.yml"), phases);
    std::os::unix::fs::symlink(dir.join("nowhere"), dir.join("dangling/.git")).unwrap();
    // A stack beside the config, and one behind `general.build_dir`.
    write(
        &dir.join("node/package.json"),
        r#"{"scripts": {"test": "jest"}}"#,
    );
    write(&dir.join("node/yarn.lock"), "");
    write(&dir.join("node/circle.yaml"), phases);
    write(&dir.join("built/web/Gemfile"), "gem 'rspec'\n");
    write(
        &dir.join("built/circle.yml"),
        &format!("general:\n  build_dir: web\n{phases}"),
    );
    let v: serde_json::Value =
        serde_json::from_str(&ok(&audit(&["--json", dir.to_str().unwrap()]))).unwrap();
    let configs = v["configs"].as_array().unwrap();
    assert_eq!(configs.len(), 6);
    for c in configs {
        let file = Path::new(c["file"].as_str().unwrap());
        let mut said: Vec<(String, String)> = vec![];
        // The reasons are the warnings; the notes are in check's list alone: compare codes.
        for r in c["reasons"].as_array().unwrap() {
            said.push((r["code"].to_string(), r["message"].to_string()));
        }
        let check = check_messages(file);
        for r in &said {
            assert!(
                check.contains(r),
                "{}: {r:?} not in {check:?}",
                file.display()
            );
        }
        assert_eq!(audit_codes(c), check_codes(&[file.to_str().unwrap()]));
    }
}
