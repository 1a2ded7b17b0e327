//! The seed document's circle.yml examples (tests/fixtures/seed): each lowers without errors,
//! its IR is snapshotted, and the Docker 1.9 idioms in it are rewritten with a warning.

use crate::common;

use yml2sh::{Code, Target};

/// The rewrite warnings each example must raise (and no other rewrite).
const EXPECTED: &[(&str, &[Code])] = &[
    ("basic-usage", &[]),
    ("registry", &[Code::DockerLoginEmail]),
    ("elastic-beanstalk", &[Code::DockerLoginEmail]),
    ("kubernetes", &[Code::DockerLoginEmail]),
    ("test-in-container", &[]),
    ("docker-exec", &[Code::DockerLxcAttach]),
    ("layer-caching", &[]),
    ("docker0", &[Code::Docker0Bridge]),
    ("project-docker-elasticsearch", &[Code::DockerLoginEmail]),
    ("project-docker-hello-google", &[]),
];

const REWRITES: &[Code] = &[
    Code::DockerLoginEmail,
    Code::DockerLxcAttach,
    Code::Docker0Bridge,
];

#[test]
fn seed_examples_lower_with_their_rewrites() {
    let files = common::yml_files(&common::fixture("seed"));
    assert_eq!(
        files.len(),
        EXPECTED.len(),
        "a seed fixture without an EXPECTED row"
    );
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(common::root().join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    for path in files {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let (_, want) = EXPECTED
            .iter()
            .find(|(name, _)| *name == stem)
            .unwrap_or_else(|| panic!("no EXPECTED row for {stem}"));
        let source = common::read_source(&path);
        let out = yml2sh::compile(&source, &common::options(Target::Ir))
            .unwrap_or_else(|d| panic!("{stem} failed: {:?}", d.sorted()));
        let mut got: Vec<Code> = out
            .diagnostics
            .iter()
            .map(|d| d.code)
            .filter(|c| REWRITES.contains(c))
            .collect();
        got.dedup();
        assert_eq!(got, *want, "{stem}");
        assert!(
            !out.diagnostics
                .iter()
                .any(|d| d.code == Code::UnknownService),
            "{stem}: a seed service no container serves"
        );
        settings.set_description(source.text.clone());
        settings.bind(|| insta::assert_snapshot!(format!("seed-ir@{stem}"), out.text));
    }
}

#[test]
fn verbatim_keeps_every_command() {
    for path in common::yml_files(&common::fixture("seed")) {
        let source = common::read_source(&path);
        let mut options = common::options(Target::Ir);
        options.lower.verbatim = true;
        let out = yml2sh::compile(&source, &options).unwrap();
        assert!(!out.text.contains("rewritten from"), "{}", path.display());
        assert!(!out.diagnostics.iter().any(|d| REWRITES.contains(&d.code)));
    }
}
