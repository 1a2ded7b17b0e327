//! Lower stage: [`Config`] → [`Ir`], then the passes that rewrite the IR in place.

mod build;
mod checks;
pub(crate) mod host;
mod languages;
mod modernize;
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
}

pub fn lower(
    source: &Source,
    config: &Config,
    options: &LowerOptions,
    diags: &mut Diagnostics,
) -> Ir {
    let mut ir = build::run(source, config, diags);
    services::run(&mut ir, diags);
    if !options.verbatim {
        modernize::run(&mut ir, diags);
    }
    checks::run(&mut ir, diags);
    if options.host_changes {
        host::run(source, &ir, diags);
    }
    languages::run(&mut ir, diags);
    // Last: it reads every command as the other passes left it.
    vars::run(&mut ir, diags);
    ir
}
