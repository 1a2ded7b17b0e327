//! Snapshots of every ok fixture, for every target, each showing its input in the header.

use crate::common;

use yml2sh::Target;

fn snapshot_all(target: Target, name: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(common::root().join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    for path in common::yml_files(&common::fixture("ok")) {
        let source = common::read_source(&path);
        let out = yml2sh::compile(&source, &common::options(target))
            .unwrap_or_else(|d| panic!("{} failed: {:?}", path.display(), d.sorted()));
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        // The shared runtime is the same in every script and pinned by git in templates/:
        // the snapshots show what is generated for each fixture around it.
        let runtime = std::fs::read_to_string(common::root().join("templates/runtime.sh")).unwrap();
        // The workflow writes it from its first step's block scalar, indented by 10.
        let indented: Vec<String> = runtime
            .split('\n')
            .map(|l| {
                if l.is_empty() {
                    String::new()
                } else {
                    format!("          {l}")
                }
            })
            .collect();
        // The Makefile carries it as `#|` comment lines (escape::make_block).
        let commented: String = runtime
            .split('\n')
            .map(|l| {
                if l.is_empty() {
                    "#|\n".to_string()
                } else {
                    format!("#| {l}\n")
                }
            })
            .collect();
        let text = out
            .text
            .replace(&commented, "#| <templates/runtime.sh, verbatim>\n")
            .replace(&runtime, "# <templates/runtime.sh, verbatim>\n")
            .replace(
                &indented.join("\n"),
                "          # <templates/runtime.sh, verbatim>\n",
            );
        settings.set_description(source.text.clone());
        settings.bind(|| insta::assert_snapshot!(format!("{name}@{stem}"), text));
    }
}

#[test]
fn ir() {
    snapshot_all(Target::Ir, "ir");
}

#[test]
fn bash() {
    snapshot_all(Target::Bash, "bash");
}

#[test]
fn github() {
    snapshot_all(Target::Github, "github");
}

#[test]
fn make() {
    snapshot_all(Target::Make, "make");
}
