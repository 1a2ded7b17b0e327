//! `yml2sh audit`: the Markdown report of a fixed fixture set (snapshot), the JSON against its
//! schema (schemas/audit.schema.json), the CSV read back, and the whole corpus in one run.

use std::path::Path;
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
    for (c, f) in configs.iter().zip(&files).take(40) {
        let source = common::read_source(Path::new(f));
        let errors = yml2sh::check(&source, &yml2sh::Options::default()).has_errors();
        assert_eq!(c["status"] == "failed", errors, "{}", f.display());
    }
}
