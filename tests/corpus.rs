//! Every real circle.yml in the corpus (YML2SH_CORPUS, default ../shared/corpus/real) compiles
//! to every target or fails with a located error; nothing panics, and no command is lost.

use crate::common;

use std::collections::BTreeMap;

use yml2sh::Target;

const TARGETS: [Target; 3] = [Target::Ir, Target::Bash, Target::Make];

/// Command texts of a config, read independently of yml2sh (through serde_yaml); `None` when
/// serde_yaml cannot read the file (it rejects duplicate keys, which CircleCI accepted).
fn oracle_commands(text: &str) -> Option<BTreeMap<String, usize>> {
    use serde_yaml::Value;
    let root: Value = serde_yaml::from_str(text).ok()?;
    let mut out = BTreeMap::new();
    let mut take = |list: Option<&Value>| {
        if let Some(Value::Sequence(items)) = list {
            for item in items {
                let text = match item {
                    Value::Mapping(m) if m.len() == 1 => scalar(m.keys().next()?),
                    other => scalar(other),
                };
                if let Some(t) = text.filter(|t| !t.trim().is_empty()) {
                    *out.entry(t).or_insert(0) += 1;
                }
            }
        }
        Some(())
    };
    let get = |v: &Value, k: &str| v.get(k).cloned();
    let machine = get(&root, "machine").unwrap_or(Value::Null);
    take(machine.get("pre"))?;
    take(machine.get("post"))?;
    take(get(&root, "checkout").as_ref().and_then(|c| c.get("post")))?;
    for phase in ["dependencies", "database", "compile", "test"] {
        let p = get(&root, phase).unwrap_or(Value::Null);
        for section in ["pre", "override", "post"] {
            take(p.get(section))?;
        }
    }
    take(get(&root, "teardown").as_ref().and_then(|c| c.get("pre")))?;
    if let Some(Value::Mapping(deps)) = get(&root, "deployment") {
        for (_, d) in deps {
            take(d.get("commands"))?;
        }
    }
    Some(out)
}

fn scalar(v: &serde_yaml::Value) -> Option<String> {
    use serde_yaml::Value;
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[test]
fn every_corpus_file_compiles_or_fails_located() {
    let Some(dir) = common::corpus_dir() else {
        eprintln!("SKIPPED: no corpus folder (set YML2SH_CORPUS to ../shared/corpus/real)");
        return;
    };
    let files = common::yml_files(&dir);
    assert!(
        files.len() > 100,
        "expected the real corpus in {}",
        dir.display()
    );
    let (mut ok, mut failed, mut checked) = (0, 0, 0);
    for path in &files {
        let source = common::read_source(path);
        for target in TARGETS {
            let result =
                std::panic::catch_unwind(|| yml2sh::compile(&source, &common::options(target)));
            let result =
                result.unwrap_or_else(|_| panic!("{} panicked for {target:?}", path.display()));
            match result {
                Ok(out) => {
                    assert!(
                        !out.text.is_empty(),
                        "{}: empty {target:?} output",
                        path.display()
                    );
                    if target == Target::Ir {
                        ok += 1;
                    }
                }
                Err(diags) => {
                    let errors: Vec<_> = diags.iter().filter(|d| d.is_error()).collect();
                    assert!(
                        !errors.is_empty(),
                        "{}: failed without an error",
                        path.display()
                    );
                    assert!(
                        errors.iter().all(|d| d.span.is_some()),
                        "{}: an error without a location: {errors:?}",
                        path.display()
                    );
                    if target == Target::Ir {
                        failed += 1;
                    }
                }
            }
        }
        // No command lost: the IR holds every command of the input, as often as it appears.
        if let (Ok((ir, _)), Some(expected)) = (
            yml2sh::lower(&source, &yml2sh::Options::default()),
            oracle_commands(&source.text),
        ) {
            let mut got: BTreeMap<String, usize> = BTreeMap::new();
            for c in ir.commands() {
                if c.section != yml2sh::ir::Section::Generated {
                    let text = c.original.as_ref().unwrap_or(&c.code).as_str().to_string();
                    *got.entry(text).or_insert(0) += 1;
                }
            }
            assert_eq!(
                got,
                expected,
                "{}: commands differ from the input",
                path.display()
            );
            checked += 1;
        }
    }
    eprintln!("corpus: {} files, {ok} compiled, {failed} refused with located errors, {checked} command-counted", files.len());
    assert!(ok > failed, "most real configs must compile");
}
