//! Every diagnostic code has a smallest input in tests/fixtures/err/<code>.yml that raises it;
//! the rendered diagnostics are snapshotted.

use crate::common;

use yml2sh::{render, Code};

/// Codes raised outside `tests/fixtures/err` (by the CLI, or tested where they arise).
/// `inference` and `inferred-tests` need a project around the circle.yml: tests/infer.rs.
const ELSEWHERE: &[Code] = &[
    Code::Io,
    Code::TooLarge,
    // Only with `check --shellcheck`: tests/check.rs.
    Code::Shellcheck,
    Code::Inference,
    Code::InferredTests,
];

fn diagnostics_of(path: &std::path::Path) -> (yml2sh::Source, Vec<yml2sh::Diagnostic>) {
    let bytes = std::fs::read(path).unwrap();
    let name = format!("err/{}", path.file_name().unwrap().to_string_lossy());
    let source = match yml2sh::source_from_bytes(&name, bytes) {
        Ok(s) => s,
        Err(e) => return (e.0, vec![e.1]),
    };
    // What `yml2sh check` reports: lowering and every back-end.
    let all = yml2sh::check(&source, &yml2sh::Options::default()).sorted();
    (source, all)
}

#[test]
fn every_code_has_a_fixture_that_raises_it() {
    for &code in Code::ALL {
        if ELSEWHERE.contains(&code) {
            continue;
        }
        let path = common::fixture(&format!("err/{code}.yml"));
        assert!(
            path.exists(),
            "no fixture for `{code}`: add {}",
            path.display()
        );
        let (_, diags) = diagnostics_of(&path);
        assert!(
            diags.iter().any(|d| d.code == code),
            "{} does not raise `{code}`; it raised {:?}",
            path.display(),
            diags.iter().map(|d| d.code).collect::<Vec<_>>()
        );
    }
}

#[test]
fn every_fixture_names_a_code() {
    for path in common::yml_files(&common::fixture("err")) {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        assert!(
            Code::from_name(&stem).is_some(),
            "{} names no code",
            path.display()
        );
    }
}

#[test]
fn rendered_diagnostics() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(common::root().join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    for path in common::yml_files(&common::fixture("err")) {
        let (source, diags) = diagnostics_of(&path);
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        settings
            .set_description(String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned());
        settings.bind(|| {
            insta::assert_snapshot!(
                format!("diagnostics@{stem}"),
                render::human(&source, &diags, false)
            );
        });
    }
}

/// A finding about the workflow only (GitHub secrets to create, runner languages) is said by
/// `check` and `-f github`, never to the user of build.sh or the Makefile.
#[test]
fn github_findings_are_not_said_to_local_builds() {
    for &code in Code::ALL.iter().filter(|c| c.only_github()) {
        let path = common::fixture(&format!("err/{code}.yml"));
        if !path.exists() {
            continue;
        }
        let source = common::read_source(&path);
        let codes = |target| match yml2sh::compile(&source, &common::options(target)) {
            Ok(out) => out.diagnostics.iter().map(|d| d.code).collect::<Vec<_>>(),
            Err(diags) => diags.iter().map(|d| d.code).collect(),
        };
        for target in [yml2sh::Target::Bash, yml2sh::Target::Make] {
            assert!(
                !codes(target).contains(&code),
                "`{code}` said to a {target:?} user"
            );
        }
        let all = yml2sh::check(&source, &yml2sh::Options::default());
        assert!(all.iter().any(|d| d.code == code), "check lost `{code}`");
    }
    for code in [Code::Secrets, Code::NoEquivalent, Code::UnsupportedLanguage] {
        let source = common::read_source(&common::fixture(&format!("err/{code}.yml")));
        let out = yml2sh::compile(&source, &common::options(yml2sh::Target::Github)).unwrap();
        assert!(
            out.diagnostics.iter().any(|d| d.code == code),
            "-f github lost `{code}`"
        );
    }
}
