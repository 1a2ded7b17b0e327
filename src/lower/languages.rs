//! Lower stage pass: `machine.<language>` versions → [`Ir::languages`] (the release a maintained
//! installer provides for each, or an `unsupported-language` warning), [`Ir::macos`] and
//! [`Ir::git_push_commands`]: what the machine a build runs on must provide.
//!
//! "Maintained installer" means the official setup actions (setup-node, setup-python, …) and the
//! community ones GitHub's docs point to; build.sh and the Makefile use the machine's own
//! toolchain, so this decides what a migrated build can pin.

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::ir::{Ir, Language, Section, Step};

use super::shell;

/// Commands of Xcode's toolchain: a build that runs one needs macOS.
const XCODE_TOOLS: &[&str] = &["xcodebuild", "xctool", "xcrun", "xcode-select", "xcpretty"];
/// What every name of [`XCODE_TOOLS`] starts with.
const XCODE_PREFIX: &str = "xc";

pub(crate) fn run(ir: &mut Ir, diags: &mut Diagnostics) {
    let mut languages = vec![];
    for step in ir.phases.iter().flat_map(|p| &p.steps) {
        let Step::Language { name, version } = step else {
            continue;
        };
        let span = ir
            .language_spans
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| *s);
        let install = match install(name, version) {
            Ok((v, note)) => {
                if let Some(w) = note {
                    diags.push(
                        Diagnostic::warning(Code::UnsupportedLanguage, span, w)
                            .with_label("not available on GitHub's runners"),
                    );
                }
                Some(v)
            }
            Err(why) => {
                diags.push(
                    Diagnostic::warning(
                        Code::UnsupportedLanguage,
                        span,
                        format!("{why}; the workflow uses the runner's default {name}"),
                    )
                    .with_label("not available on GitHub's runners")
                    .with_help(
                        "pick a version the setup action provides, and test the build on it",
                    ),
                );
                None
            }
        };
        languages.push(Language {
            name: name.clone(),
            version: version.clone(),
            install,
            span,
        });
    }
    // Every tool's name starts with `xc` (a unit test says so): a command without it runs none,
    // and is not read into words.
    let xcode_command = ir.commands().any(|c| {
        c.code.as_str().contains(XCODE_PREFIX)
            && shell::simple_commands(c.code.as_str()).is_some_and(|cmds| {
                cmds.iter().any(|s| {
                    let name = s.words.first().map_or("", |w| w.raw);
                    let name = name.rsplit('/').next().unwrap_or(name);
                    XCODE_TOOLS.contains(&name)
                })
            })
    });
    ir.macos = xcode_command || languages.iter().any(|l| l.name == "xcode");
    ir.git_push_commands = ir
        .deployments
        .iter()
        .flat_map(|d| &d.commands)
        .filter(|c| c.section != Section::Generated)
        .filter(|c| {
            shell::simple_commands(c.code.as_str()).is_some_and(|cmds| {
                cmds.iter().any(|s| {
                    let w: Vec<&str> = s.words.iter().map(|w| w.raw).collect();
                    w.first() == Some(&"git") && w.contains(&"push")
                })
            })
        })
        .map(|c| c.id)
        .collect();
    ir.languages = languages;
}

/// Lock files of dependency managers, in the order a cache key lists them.
const LOCKFILES: &[&str] = &[
    "Gemfile.lock",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "requirements.txt",
    "Pipfile.lock",
    "poetry.lock",
    "composer.lock",
    "pom.xml",
    "build.gradle",
    "build.gradle.kts",
    "project.clj",
    "build.sbt",
    "stack.yaml.lock",
    "cabal.project.freeze",
    "go.sum",
    "Godeps/Godeps.json",
    "glide.lock",
    "Podfile.lock",
    "Cartfile.resolved",
    "Cargo.lock",
    "mix.lock",
];

/// The lock files the project directory holds (in the build directory), as paths from the
/// checkout: what a dependency cache is keyed on. `listed`: a directory inference already
/// listed, and its names (used when it is this one).
pub(crate) fn lockfiles(
    project: &std::path::Path,
    build_dir: Option<&str>,
    listed: super::Listing,
) -> Vec<String> {
    let prefix = build_dir.map(|b| format!("{b}/")).unwrap_or_default();
    let dir = project.join(&prefix);
    // One listing instead of a `stat` for each of the many names (`yml2sh audit` lowers
    // thousands of checkouts): only the names the directory holds are looked at.
    // An unreadable listing (or a cut one) proves nothing absent: then every name is tried.
    let names = match listed {
        Some((path, names)) if path == dir => Some(names),
        _ => super::infer::list(&dir),
    };
    LOCKFILES
        .iter()
        .filter(|f| super::infer::may_hold(names.as_ref(), f) && dir.join(f).is_file())
        .map(|f| format!("{prefix}{f}"))
        .collect()
}

/// The version a maintained installer gives for `machine.<name>: version` (with a warning when
/// it is only a near one), or why none does.
fn install(name: &str, version: &str) -> Result<(String, Option<String>), String> {
    let v = version.trim();
    let nums: Option<Vec<u32>> = v
        .trim_start_matches('v')
        .split('.')
        .map(|n| n.parse().ok())
        .collect();
    let nums = nums.filter(|n| (1..=3).contains(&n.len()));
    let at_least = |min: &[u32]| nums.as_ref().is_some_and(|n| n.as_slice() >= min);
    let no = |action: &str| Err(format!("{action} cannot provide {name} `{v}`"));
    let exact = || Ok((v.to_string(), None));
    match name {
        "node" if nums.is_some() => exact(),
        "node" => no("setup-node"),
        // python-versions builds CPython 3.9 and later for Ubuntu 24.04.
        "python" if at_least(&[3, 9]) => exact(),
        "python" => no("setup-python"),
        // setup-ruby has no Ruby older than 2.3 for Ubuntu 24.04.
        "ruby" if at_least(&[2, 3]) => exact(),
        "ruby" => no("setup-ruby"),
        "go" if nums.is_some() => exact(),
        "go" => no("setup-go"),
        "java" => {
            let major = v
                .strip_prefix("oraclejdk")
                .or_else(|| v.strip_prefix("openjdk"))
                .and_then(|n| n.parse::<u32>().ok());
            match major {
                // Temurin (8 and later) and Zulu (7) are OpenJDK builds of the same major.
                Some(n @ 7..) => Ok((n.to_string(), None)),
                _ => no("setup-java"),
            }
        }
        // setup-php takes major.minor only, and has 5.3 and later.
        "php" => match nums.as_deref() {
            Some([major, minor, rest @ ..]) if at_least(&[5, 3]) => Ok((
                format!("{major}.{minor}"),
                (!rest.is_empty()).then(|| {
                    format!("setup-php cannot pin PHP `{v}`; the workflow sets up the latest PHP {major}.{minor}")
                }),
            )),
            _ => no("setup-php"),
        },
        "ghc" if at_least(&[8]) => exact(),
        "ghc" => no("haskell-actions/setup"),
        // GitHub's macOS images keep only recent Xcodes (15 and later).
        "xcode" if at_least(&[15]) => exact(),
        "xcode" if nums.is_some() => Err(format!("GitHub's macOS images have no Xcode `{v}`")),
        "xcode" => Err(format!("`{v}` is not an Xcode version")),
        _ => Err(format!("yml2sh knows no setup action for `machine.{name}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_xcode_tool_starts_with_the_prefix_looked_for() {
        assert!(XCODE_TOOLS.iter().all(|t| t.starts_with(XCODE_PREFIX)));
    }

    #[test]
    fn languages_map_or_refuse() {
        assert!(install("node", "0.10.22").is_ok());
        assert!(install("python", "2.7.12").is_err());
        assert!(install("python", "3.11").is_ok());
        assert!(install("ruby", "1.9.3-p0-falcon").is_err());
        assert!(install("ruby", "2.4.0").is_ok());
        assert_eq!(install("java", "oraclejdk8"), Ok(("8".into(), None)));
        assert!(install("java", "openjdk6").is_err());
        assert!(matches!(install("php", "5.6.17"), Ok((v, Some(_))) if v == "5.6"));
        assert!(install("php", "5.2").is_err());
        assert!(install("php", "7.0").is_ok());
        assert!(install("xcode", "8.2").is_err());
        assert_eq!(install("xcode", "16.2"), Ok(("16.2".into(), None)));
    }
}
