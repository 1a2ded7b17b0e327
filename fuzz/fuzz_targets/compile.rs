//! Arbitrary bytes through the whole pipeline: every format compiled, every diagnostic format
//! rendered. Asserts no panic (libFuzzer reports one), that a refusal carries an error with a
//! location, that success means an output, and that every IR command is in build.sh verbatim.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yml2sh::{render, Options, Target};

fuzz_target!(|data: &[u8]| {
    let source = match yml2sh::source_from_bytes("fuzz.yml", data.to_vec()) {
        Ok(source) => source,
        Err(e) => {
            let (source, d) = *e;
            assert!(d.is_error() && d.span.is_some(), "unlocated: {d:?}");
            let _ = render::human(&source, &[d.clone()], false);
            let _ = render::json(&source, &[d]);
            return;
        }
    };
    for target in [Target::Ir, Target::Bash, Target::Make, Target::Github] {
        let options = Options {
            target,
            ..Options::default()
        };
        let diags = match yml2sh::compile(&source, &options) {
            Ok(out) => {
                assert!(!out.text.is_empty(), "{target:?}: empty output");
                if target == Target::Bash {
                    if let Ok((ir, _)) = yml2sh::lower(&source, &options) {
                        for c in ir.commands() {
                            let text = c.code.as_str().trim_end_matches('\n');
                            assert!(
                                out.text.contains(&format!("\n{text}\n")),
                                "command {} missing from build.sh",
                                c.id
                            );
                        }
                    }
                }
                out.diagnostics.sorted()
            }
            Err(diags) => {
                let sorted = diags.sorted();
                assert!(
                    sorted.iter().any(|d| d.is_error() && d.span.is_some()
                        || d.code == yml2sh::Code::TooLarge),
                    "{target:?}: refused without a located error: {sorted:?}"
                );
                sorted
            }
        };
        let _ = render::human(&source, &diags, false);
        let _ = render::human(&source, &diags, true);
        let _ = render::github(&source, &diags);
        let _ = render::json(&source, &diags);
        let _ = render::short(&source, &diags);
        let files = [(&source, diags.as_slice())];
        let _ = render::json_files(&files);
        let _ = render::sarif(&files);
    }
});
