//! Shared test helpers: fixtures, the corpus folder, and running the compiler.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use yml2sh::{Options, Source, Target};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(path: &str) -> PathBuf {
    root().join("tests/fixtures").join(path)
}

pub fn read_source(path: &Path) -> Source {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    match yml2sh::source_from_bytes(&name, bytes) {
        Ok(s) => s,
        Err(e) => e.0,
    }
}

pub fn options(target: Target) -> Options {
    Options {
        target,
        ..Options::default()
    }
}

/// The folder of real configs: `YML2SH_CORPUS`, else `../shared/corpus/real` beside the repo.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("YML2SH_CORPUS") {
        Some(d) => PathBuf::from(d),
        None => root().join("../shared/corpus/real"),
    };
    dir.is_dir().then_some(dir)
}

pub fn yml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml")))
        .collect();
    files.sort();
    files
}
