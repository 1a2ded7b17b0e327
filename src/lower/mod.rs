//! Lower stage: [`Config`] → [`Ir`], then the passes that rewrite the IR in place.

mod build;
mod checks;
pub(crate) mod host;
pub(crate) mod infer;
mod languages;
mod modernize;
pub(crate) mod paths;
pub(crate) mod pattern;
pub(crate) mod services;
mod shell;
pub(crate) mod vars;

use crate::diagnostic::Diagnostics;
use crate::ir::Ir;
use crate::parse::Config;
use crate::source::Source;

/// Options that change what the passes do.
#[derive(Clone, Debug, Default)]
pub struct LowerOptions {
    /// Keep commands exactly as written (no modernization rewrites).
    pub verbatim: bool,
    /// Note the commands that change the machine they run on (`yml2sh check`).
    pub host_changes: bool,
    /// The checkout the circle.yml belongs to (`general.build_dir` is applied to it), where
    /// inference looks (spec §9). `None`: no project around it (standard input).
    pub project_dir: Option<std::path::PathBuf>,
    /// `--no-infer`: leave inference slots empty, as yml2sh did before it inferred.
    pub no_infer: bool,
    /// What the caller already read of the project directory (`yml2sh audit`'s walk lists
    /// every directory it enters), so that inference and the lock-file search do not read it
    /// again; used only for that very directory, with the same result as reading it.
    pub listed: Option<std::sync::Arc<Listed>>,
}

/// A directory as a caller listed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub dir: std::path::PathBuf,
    /// Its names as inference keeps them ([`keep_name`] on each entry in turn).
    pub names: std::collections::BTreeSet<String>,
    /// Whether it or a parent holds `.git`, as inference decides it (its real path's
    /// ancestors); `None`: not known.
    pub in_checkout: Option<bool>,
}

pub use infer::{in_checkout, keep_name};

/// What inference can use, decided once before the IR is built.
#[derive(Clone, Debug)]
pub(crate) enum InferState {
    /// `--no-infer`.
    Off,
    /// Nothing to look at.
    NoProject,
    Project(infer::Inference),
}

/// The directory inference listed, and its names: the lock files are looked for there too.
type Listing = Option<(std::path::PathBuf, std::collections::BTreeSet<String>)>;

fn infer_state(build_dir: Option<&str>, options: &LowerOptions) -> (InferState, Listing) {
    if options.no_infer {
        let listing = options
            .listed
            .as_deref()
            .map(|l| (l.dir.clone(), l.names.clone()));
        return (InferState::Off, listing);
    }
    let Some(dir) = &options.project_dir else {
        return (InferState::NoProject, None);
    };
    let dir = match build_dir {
        Some(b) => dir.join(b),
        None => dir.clone(),
    };
    let mut names = None;
    let listed = options.listed.as_deref().filter(|l| l.dir == dir);
    let state = match infer::detect(&dir, listed, &mut names) {
        infer::Detected::Project(inf) => InferState::Project(inf),
        infer::Detected::NoProject => InferState::NoProject,
    };
    (state, names.map(|n| (dir, n)))
}

pub fn lower(
    source: &Source,
    config: &Config,
    options: &LowerOptions,
    diags: &mut Diagnostics,
) -> Ir {
    shell::forget();
    let build_dir = paths::build_dir(config, diags);
    let (infer, listing) = infer_state(build_dir.as_deref(), options);
    let mut ir = build::run(source, config, build_dir.as_deref(), &infer, diags);
    // First: later passes and every back-end see normalised paths only.
    paths::run(config, &mut ir, diags);
    services::run(&mut ir, diags);
    if !options.verbatim {
        modernize::run(&mut ir, diags);
    }
    checks::run(&mut ir, diags);
    if options.host_changes {
        host::run(source, &ir, diags);
    }
    languages::run(&mut ir, diags);
    if let Some(dir) = &options.project_dir {
        ir.lockfiles = languages::lockfiles(dir, ir.build_dir.as_deref(), listing);
    }
    // Last: it reads every command as the other passes left it.
    vars::run(&mut ir, diags);
    shell::forget();
    ir
}
