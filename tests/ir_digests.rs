//! The IR of every corpus file, pinned by digest (the corpus is other people's files: the repo
//! keeps digests, never their text). Recorded before the parser moved from libyaml to a
//! pure-Rust parser, so the switch is shown to change no IR and no diagnostic location.
//!
//! A deliberate change of the IR (or of a diagnostic's code or span) changes digests. Re-record
//! them, then say so in the commit message:
//!
//! ```sh
//! YML2SH_RECORD_DIGESTS=1 YML2SH_CORPUS=path/to/corpus cargo test --test main ir_digests
//! git diff tests/fixtures/corpus-ir-digests.txt
//! ```

use crate::common;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use yml2sh::Target;

const DIGESTS: &str = "tests/fixtures/corpus-ir-digests.txt";

/// FNV-1a, 64 bits: stable across Rust versions and platforms, and enough to notice a change.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// `IR DIAGS`: the digest of `-f ir` output (`error` when the file is refused), and of its
/// diagnostics' codes and byte spans, in order.
fn digest(path: &std::path::Path) -> String {
    let source = common::read_source(path);
    let (ir, diags) = match yml2sh::compile(&source, &common::options(Target::Ir)) {
        Ok(out) => (
            format!("{:016x}", fnv1a(out.text.as_bytes())),
            out.diagnostics,
        ),
        Err(diags) => ("error".to_string(), diags),
    };
    let mut listed = String::new();
    for d in diags.sorted() {
        let span = d.span.map(|s| (s.start, s.end));
        let _ = writeln!(listed, "{} {:?} {:?}", d.code, d.severity, span);
    }
    format!("{ir} {:016x}", fnv1a(listed.as_bytes()))
}

#[test]
fn corpus_ir_is_unchanged() {
    let Some(dir) = common::corpus_dir() else {
        eprintln!("SKIPPED: no corpus folder (set YML2SH_CORPUS to ../shared/corpus/real)");
        return;
    };
    let got: BTreeMap<String, String> = common::yml_files(&dir)
        .iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, digest(p))
        })
        .collect();
    let file = common::root().join(DIGESTS);
    if std::env::var_os("YML2SH_RECORD_DIGESTS").is_some() {
        let mut text = String::from(
            "# file, digest of its `-f ir` output (or `error`), digest of its diagnostics' codes\n\
             # and spans. Written by tests/ir_digests.rs (see there to re-record).\n",
        );
        for (name, d) in &got {
            let _ = writeln!(text, "{name} {d}");
        }
        std::fs::write(&file, text).unwrap();
        eprintln!("recorded {} digests in {DIGESTS}", got.len());
        return;
    }
    let recorded = std::fs::read_to_string(&file).unwrap();
    let want: BTreeMap<String, String> = recorded
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split_once(' '))
        .map(|(n, d)| (n.to_string(), d.to_string()))
        .collect();
    let mut differ = vec![];
    for (name, d) in &got {
        match want.get(name) {
            Some(w) if w == d => {}
            Some(w) => differ.push(format!("{name}: recorded {w}, now {d}")),
            None => differ.push(format!("{name}: not recorded")),
        }
    }
    assert!(
        differ.is_empty(),
        "{} corpus file(s) changed IR or diagnostics (re-record as tests/ir_digests.rs says if \
         deliberate):\n{}",
        differ.len(),
        differ.join("\n")
    );
}
