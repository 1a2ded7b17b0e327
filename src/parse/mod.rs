//! Parse stage: circle.yml text → [`Config`], a located AST that mirrors the YAML one to one.
//! The only module that knows the YAML libraries.

mod config;
mod yaml;

pub use config::*;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::source::{Source, Span};

/// Inputs above this are refused before parsing (`too-large`): real circle.yml files are a few
/// kilobytes (the largest of the corpus about 20 KB); 1 MiB keeps every input, however hostile,
/// within a couple of seconds and a few hundred megabytes (bench/hostile.sh measures it).
pub const MAX_INPUT_BYTES: usize = 1024 * 1024;

/// Parses the source; `None` when an error left nothing to build on (the diagnostics say why).
pub fn parse(source: &Source, diags: &mut Diagnostics) -> Option<Config> {
    if source.text.len() > MAX_INPUT_BYTES {
        diags.push(Diagnostic::error(
            Code::TooLarge,
            None,
            format!(
                "`{}` is {} bytes; yml2sh reads files up to {} bytes",
                source.name,
                source.text.len(),
                MAX_INPUT_BYTES
            ),
        ));
        return None;
    }
    let root = match yaml::load(&source.text) {
        Ok(Some(root)) => root,
        Ok(None) => {
            diags.push(
                Diagnostic::error(Code::EmptyFile, Span::new(0, 0), "the file holds no configuration")
                    .with_help("a circle.yml is a mapping of sections such as `machine:`, `dependencies:` and `test:`"),
            );
            return None;
        }
        Err(e) => {
            let mut d = Diagnostic::error(e.code, e.span, e.message.clone());
            if e.message_mentions_mapping_values() {
                d = d.with_help(
                    "a command that contains `: ` must be quoted, and modifiers must be indented one level deeper than their command",
                );
            }
            diags.push(d);
            return None;
        }
    };
    config::build(&root, diags)
}

impl yaml::YamlError {
    fn message_mentions_mapping_values(&self) -> bool {
        self.message.contains("mapping values are not allowed")
    }
}
