//! Parse stage, AST layer: located YAML nodes → [`Config`], checking shapes and keys against
//! CircleCI 1.0's reference (spec §2–§3, §6.1) and reporting what it cannot take.

use foldhash::{HashMap, HashMapExt};

use indexmap::IndexMap;
use std::fmt;

use super::yaml::{Node, Style, Value};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::source::Span;

/// A value and where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located<T> {
    pub value: T,
    pub span: Span,
}

pub type Text = Located<String>;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    pub machine: Option<Machine>,
    pub checkout: Option<PhaseSection>,
    pub dependencies: Option<PhaseSection>,
    pub database: Option<PhaseSection>,
    pub compile: Option<PhaseSection>,
    pub test: Option<PhaseSection>,
    pub teardown: Option<PhaseSection>,
    pub deployment: Vec<DeploymentSection>,
    pub general: General,
    pub webhooks: Vec<Text>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Machine {
    pub pre: Option<CommandList>,
    pub post: Option<CommandList>,
    pub environment: Vec<EnvEntry>,
    pub timezone: Option<Text>,
    pub hosts: Vec<(Text, Text)>,
    pub services: Vec<Text>,
    /// `ruby`, `node`, … with the raw version text (`2.10` stays `2.10`).
    pub languages: Vec<(Text, Text)>,
}

/// One of the phases with `pre`/`override`/`post`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PhaseSection {
    /// The section's key (`test:`), where diagnostics about the whole section point.
    pub span: Span,
    pub pre: Option<CommandList>,
    pub override_: Option<CommandList>,
    pub post: Option<CommandList>,
    pub cache_directories: Vec<Text>,
}

/// A list of commands; an empty or null list is kept (it means "nothing", not "absent").
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommandList {
    pub span: Span,
    pub commands: Vec<CommandNode>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandNode {
    pub text: Text,
    pub modifiers: ModifierNodes,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModifierNodes {
    pub timeout: Option<Located<u64>>,
    pub pwd: Option<Text>,
    pub environment: Vec<EnvEntry>,
    pub parallel: Option<Located<bool>>,
    pub files: Vec<Text>,
    pub background: Option<Located<bool>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvEntry {
    pub name: Text,
    pub value: Text,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeploymentSection {
    pub name: Text,
    pub branch: Vec<Text>,
    pub tag: Vec<Text>,
    pub owner: Option<Text>,
    pub commands: Option<CommandList>,
    pub heroku_app: Option<Text>,
    pub codedeploy: Option<Span>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct General {
    pub branches_only: Vec<Text>,
    pub branches_ignore: Vec<Text>,
    pub build_dir: Option<Text>,
    pub artifacts: Vec<Text>,
}

const SECTIONS: &[&str] = &[
    "machine",
    "checkout",
    "dependencies",
    "database",
    "compile",
    "test",
    "deployment",
    "general",
    "notify",
    "experimental",
    "teardown",
];

const LANGUAGES: &[&str] = &[
    "ruby", "node", "python", "php", "java", "ghc", "xcode", "go",
];

const MODIFIERS: &[&str] = &[
    "timeout",
    "pwd",
    "environment",
    "parallel",
    "files",
    "background",
];

/// Entry point: the document root must be a mapping of sections.
pub(super) fn build(root: &Node, diags: &mut Diagnostics) -> Option<Config> {
    let errors_before = diags.iter().filter(|d| d.is_error()).count();
    if root.is_null() {
        diags.push(Diagnostic::error(
            Code::EmptyFile,
            root.span,
            "the file holds no configuration",
        ));
        return None;
    }
    let Some(top) = map_entries(root, &"the top level", diags) else {
        diags.push(
            Diagnostic::error(
                Code::ExpectedMap,
                root.span,
                format!("expected a mapping of sections at the top level, found a {}", root.kind()),
            )
            .with_help("a circle.yml is a mapping of sections such as `machine:`, `dependencies:` and `test:`"),
        );
        return None;
    };
    let mut config = Config::default();
    for (name, (key, value)) in &top {
        match name.as_str() {
            "machine" => config.machine = Some(machine(value, diags)),
            "checkout" => config.checkout = phase(key, value, "checkout", &["post"], diags),
            "dependencies" => {
                config.dependencies = phase(
                    key,
                    value,
                    "dependencies",
                    &["pre", "override", "post", "cache_directories", "bundler"],
                    diags,
                )
            }
            "database" => {
                config.database = phase(key, value, "database", &["pre", "override", "post"], diags)
            }
            "compile" => {
                config.compile = phase(key, value, "compile", &["pre", "override", "post"], diags)
            }
            "test" => {
                config.test = phase(
                    key,
                    value,
                    "test",
                    &["pre", "override", "post", "minitest_globs"],
                    diags,
                )
            }
            "teardown" => {
                diags.push(
                    Diagnostic::warning(
                        Code::UndocumentedSection,
                        key.span,
                        "`teardown` is not documented by CircleCI 1.0",
                    )
                    .with_label("run after the build, whatever its outcome")
                    .with_help("yml2sh runs `teardown.pre` after the build and deployment, even when they failed, before artifacts are collected"),
                );
                config.teardown = phase(key, value, "teardown", &["pre"], diags);
            }
            "deployment" => config.deployment = deployment(value, diags),
            "general" => config.general = general(value, diags),
            "notify" => config.webhooks = notify(value, diags),
            "experimental" => {} // chat notification filters only (spec §3.10): nothing runs
            other => {
                let mut d = Diagnostic::warning(
                    Code::UnknownSection,
                    key.span,
                    format!("unknown section `{other}`; CircleCI 1.0 ignored it"),
                )
                .with_label("not a CircleCI 1.0 section");
                if let Some(s) = suggest(other, SECTIONS) {
                    d = d.with_help(format!("did you mean `{s}`?"));
                }
                diags.push(d);
            }
        }
    }
    let errors_after = diags.iter().filter(|d| d.is_error()).count();
    (errors_after == errors_before).then_some(config)
}

/// A mapping's entries by key text, warning on duplicates (the last one wins, as in CircleCI).
/// `None` when the node is not a mapping (the caller reports it).
fn map_entries<'a>(
    node: &'a Node,
    what: &dyn fmt::Display,
    diags: &mut Diagnostics,
) -> Option<IndexMap<String, (&'a Node, &'a Node)>> {
    let Value::Map(pairs) = &node.value else {
        return None;
    };
    // Which entry of each name wins (the last), found first so that building the map never
    // moves entries (removing from an IndexMap shifts: 40,000 duplicates were quadratic).
    let mut named: Vec<(String, &Node, &Node)> = Vec::with_capacity(pairs.len());
    let mut last: HashMap<&str, usize> = HashMap::new();
    for (k, v) in pairs {
        match &k.value {
            Value::Scalar(s) if !k.is_null() => named.push((s.text.clone(), k, v)),
            _ => {
                diags.push(
                    Diagnostic::warning(
                        Code::UnknownKey,
                        k.span,
                        format!("a key with no name in {what}; CircleCI ignored it"),
                    )
                    .with_label("empty key"),
                );
            }
        }
    }
    for (i, (name, k, _)) in named.iter().enumerate() {
        if last.insert(name, i).is_some() {
            diags.push(
                Diagnostic::warning(
                    Code::DuplicateKey,
                    k.span,
                    format!("`{name}` appears twice in {what}; CircleCI used the last one"),
                )
                .with_label("this one wins")
                .with_help(format!("merge the two `{name}` entries into one")),
            );
        }
    }
    // In the order of each name's last appearance, as "last one wins" reads.
    let winners: Vec<bool> = named
        .iter()
        .enumerate()
        .map(|(i, (name, _, _))| last.get(name.as_str()) == Some(&i))
        .collect();
    let mut out: IndexMap<String, (&Node, &Node)> = IndexMap::with_capacity(last.len());
    for ((name, k, v), wins) in named.into_iter().zip(winners) {
        if wins {
            out.insert(name, (k, v));
        }
    }
    Some(out)
}

fn expected(code: Code, node: &Node, what: &str, context: &dyn fmt::Display) -> Diagnostic {
    Diagnostic::error(
        code,
        node.span,
        format!("expected {what} for {context}, found a {}", node.kind()),
    )
}

fn unknown_key(key: &Node, name: &str, section: &str, known: &[&str]) -> Diagnostic {
    let mut d = Diagnostic::warning(
        Code::UnknownKey,
        key.span,
        format!("unknown key `{name}` in `{section}`; CircleCI 1.0 ignored it"),
    )
    .with_label(format!("not a key of `{section}`"));
    if let Some(s) = suggest(name, known) {
        d = d.with_help(format!("did you mean `{s}`?"));
    }
    d
}

fn text(node: &Node) -> Option<Text> {
    node.as_str().map(|s| Located {
        value: s.to_string(),
        span: node.span,
    })
}

/// A scalar as a string; `null` is the empty string; lists and maps are an error.
fn scalar(node: &Node, context: &dyn fmt::Display, diags: &mut Diagnostics) -> Option<Text> {
    if node.is_null() {
        return Some(Located {
            value: String::new(),
            span: node.span,
        });
    }
    match text(node) {
        Some(t) => Some(t),
        None => {
            diags.push(expected(Code::ExpectedString, node, "a string", context));
            None
        }
    }
}

/// A list of strings; a single string is accepted as a one-item list.
fn strings(node: &Node, context: &dyn fmt::Display, diags: &mut Diagnostics) -> Vec<Text> {
    match &node.value {
        _ if node.is_null() => vec![],
        Value::Scalar(_) => text(node).into_iter().collect(),
        Value::Seq(items) => items
            .iter()
            .filter_map(|i| scalar(i, context, diags))
            .collect(),
        Value::Map(_) => {
            diags.push(expected(
                Code::ExpectedList,
                node,
                "a list of strings",
                context,
            ));
            vec![]
        }
    }
}

/// YAML 1.1 booleans, as CircleCI's parser read them.
fn boolean(
    node: &Node,
    context: &dyn fmt::Display,
    diags: &mut Diagnostics,
) -> Option<Located<bool>> {
    let value = match node.as_str().map(str::to_ascii_lowercase).as_deref() {
        Some("true" | "yes" | "on" | "y") => true,
        Some("false" | "no" | "off" | "n") => false,
        _ => {
            diags.push(
                expected(Code::ExpectedBool, node, "`true` or `false`", context)
                    .with_label("not a boolean"),
            );
            return None;
        }
    };
    Some(Located {
        value,
        span: node.span,
    })
}

fn machine(node: &Node, diags: &mut Diagnostics) -> Machine {
    let mut m = Machine::default();
    if node.is_null() {
        return m;
    }
    let Some(entries) = map_entries(node, &"`machine`", diags) else {
        diags.push(expected(Code::ExpectedMap, node, "a mapping", &"`machine`"));
        return m;
    };
    let known = [
        &[
            "pre",
            "post",
            "environment",
            "timezone",
            "hosts",
            "services",
        ][..],
        LANGUAGES,
    ]
    .concat();
    for (name, (key, value)) in &entries {
        match name.as_str() {
            "pre" => m.pre = command_list(value, &"machine.pre", diags),
            "post" => m.post = command_list(value, &"machine.post", diags),
            "override" => diags.push(
                Diagnostic::warning(
                    Code::UnsupportedOverride,
                    key.span,
                    "`override` is not supported in `machine`; CircleCI ignored it",
                )
                .with_label("ignored")
                .with_help("use `machine.pre` or `machine.post`"),
            ),
            "environment" => m.environment = environment(value, &"machine.environment", diags),
            "timezone" => m.timezone = scalar(value, &"`machine.timezone`", diags),
            "hosts" => m.hosts = hosts(value, diags),
            "services" => m.services = strings(value, &"`machine.services`", diags),
            lang if LANGUAGES.contains(&lang) => {
                if let Some(v) = language_version(key, value, lang, diags) {
                    m.languages.push((
                        text(key).unwrap_or_else(|| Located {
                            value: lang.into(),
                            span: key.span,
                        }),
                        v,
                    ));
                }
            }
            phase @ ("checkout" | "dependencies" | "database" | "compile" | "test"
            | "deployment") => {
                diags.push(
                    Diagnostic::warning(
                        Code::PhaseUnderMachine,
                        key.span,
                        format!("`{phase}` is nested under `machine:`; CircleCI ignored it there"),
                    )
                    .with_label("not a key of `machine`")
                    .with_help(format!(
                        "move `{phase}:` to the top level (no indentation) to have it run"
                    )),
                );
            }
            other => diags.push(unknown_key(key, other, "machine", &known)),
        }
    }
    m
}

fn language_version(key: &Node, value: &Node, lang: &str, diags: &mut Diagnostics) -> Option<Text> {
    if value.is_null() {
        diags.push(
            Diagnostic::warning(
                Code::UnknownKey,
                key.span,
                format!("`machine.{lang}` has no `version`; the image default is used"),
            )
            .with_help(format!(
                "write `{lang}:` then, indented below it, `version: \"…\"`"
            )),
        );
        return None;
    }
    let entries = map_entries(value, &format_args!("`machine.{lang}`"), diags);
    let Some(entries) = entries else {
        diags.push(expected(
            Code::ExpectedMap,
            value,
            "a mapping with `version`",
            &format_args!("`machine.{lang}`"),
        ));
        return None;
    };
    let mut version = None;
    for (name, (k, v)) in &entries {
        if name == "version" {
            version = scalar(v, &format_args!("`machine.{lang}.version`"), diags);
        } else {
            diags.push(unknown_key(
                k,
                name,
                &format!("machine.{lang}"),
                &["version"],
            ));
        }
    }
    if lang == "go" {
        diags.push(
            Diagnostic::warning(
                Code::UnsupportedMachineKey,
                key.span,
                "CircleCI 1.0 did not support selecting the Go version in `machine`",
            )
            .with_label("ignored by CircleCI")
            .with_help("install the Go version you need in `dependencies.pre`"),
        );
    }
    version
}

fn hosts(node: &Node, diags: &mut Diagnostics) -> Vec<(Text, Text)> {
    if node.is_null() {
        return vec![];
    }
    let Some(entries) = map_entries(node, &"`machine.hosts`", diags) else {
        diags.push(expected(
            Code::ExpectedMap,
            node,
            "a mapping of hostname to address",
            &"`machine.hosts`",
        ));
        return vec![];
    };
    let mut out = vec![];
    for (name, (k, v)) in entries {
        let Some(addr) = scalar(v, &"a `machine.hosts` address", diags) else {
            continue;
        };
        let good_name = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        let good_addr = !addr.value.is_empty()
            && addr
                .value
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == '.' || c == ':');
        if !good_name || !good_addr {
            diags.push(
                Diagnostic::error(
                    Code::BadHosts,
                    if good_name { addr.span } else { k.span },
                    format!(
                        "`{name}: {}` is not a hostname and an IP address",
                        addr.value
                    ),
                )
                .with_help(
                    "hostnames may hold letters, digits, `-` and `.`; addresses are IPv4 or IPv6",
                ),
            );
            continue;
        }
        out.push((
            Located {
                value: name,
                span: k.span,
            },
            addr,
        ));
    }
    out
}

/// `environment:` as a mapping, or (seen in real configs) a string of `K=V` words.
fn environment(node: &Node, context: &dyn fmt::Display, diags: &mut Diagnostics) -> Vec<EnvEntry> {
    if node.is_null() {
        return vec![];
    }
    let mut out = vec![];
    match &node.value {
        Value::Map(_) => {
            let entries =
                map_entries(node, &format_args!("`{context}`"), diags).unwrap_or_default();
            for (name, (k, v)) in entries {
                let Some(value) = scalar(v, &format_args!("`{context}.{name}`"), diags) else {
                    continue;
                };
                if check_env_name(&name, k.span, diags) {
                    out.push(EnvEntry {
                        name: Located {
                            value: name,
                            span: k.span,
                        },
                        value,
                    });
                }
            }
        }
        Value::Scalar(s) => {
            diags.push(
                Diagnostic::warning(
                    Code::ExpectedMap,
                    node.span,
                    format!("`{context}` is a string, not a mapping; read as `NAME=value` words"),
                )
                .with_help("write one `NAME: value` per line, indented under `environment:`"),
            );
            for word in s.text.split_whitespace() {
                let (name, value) = word.split_once('=').unwrap_or((word, ""));
                if check_env_name(name, node.span, diags) {
                    out.push(EnvEntry {
                        name: Located {
                            value: name.to_string(),
                            span: node.span,
                        },
                        value: Located {
                            value: value.to_string(),
                            span: node.span,
                        },
                    });
                }
            }
        }
        Value::Seq(items) => {
            // `- NAME=value` items: the Docker/compose habit.
            for item in items {
                let Some(t) = scalar(item, &format_args!("an item of `{context}`"), diags) else {
                    continue;
                };
                let (name, value) = t.value.split_once('=').unwrap_or((&t.value, ""));
                if check_env_name(name, item.span, diags) {
                    out.push(EnvEntry {
                        name: Located {
                            value: name.to_string(),
                            span: item.span,
                        },
                        value: Located {
                            value: value.to_string(),
                            span: item.span,
                        },
                    });
                }
            }
        }
    }
    out
}

pub(crate) fn is_posix_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn check_env_name(name: &str, span: Span, diags: &mut Diagnostics) -> bool {
    if is_posix_name(name) {
        return true;
    }
    diags.push(
        Diagnostic::error(
            Code::BadEnvName,
            span,
            format!("`{name}` is not a valid environment variable name"),
        )
        .with_label("not a POSIX name")
        .with_help("names hold ASCII letters, digits and `_`, and do not start with a digit"),
    );
    false
}

fn phase(
    key: &Node,
    node: &Node,
    name: &str,
    allowed: &[&str],
    diags: &mut Diagnostics,
) -> Option<PhaseSection> {
    let mut p = PhaseSection {
        span: key.span,
        ..PhaseSection::default()
    };
    if node.is_null() {
        return Some(p);
    }
    let Some(entries) = map_entries(node, &format_args!("`{name}`"), diags) else {
        let mut d = expected(
            Code::ExpectedMap,
            node,
            "a mapping with `pre`, `override` or `post`",
            &format_args!("`{name}`"),
        );
        if matches!(node.value, Value::Seq(_)) {
            d = d.with_help(format!(
                "put the list under `override:` (indented under `{name}:`)"
            ));
        }
        diags.push(d);
        return None;
    };
    for (key_name, (key, value)) in &entries {
        let ctx = format!("{name}.{key_name}");
        match key_name.as_str() {
            k if !allowed.contains(&k) && matches!(k, "pre" | "override") => diags.push(
                Diagnostic::warning(
                    if k == "pre" {
                        Code::UnsupportedPre
                    } else {
                        Code::UnsupportedOverride
                    },
                    key.span,
                    format!("`{k}` is not supported in `{name}`; CircleCI ignored it"),
                )
                .with_label("ignored")
                .with_help(format!("use `{name}.post`")),
            ),
            "pre" => p.pre = command_list(value, &ctx, diags),
            "override" => {
                p.override_ = command_list(value, &ctx, diags);
            }
            "post" => p.post = command_list(value, &ctx, diags),
            "cache_directories" => {
                p.cache_directories = strings(value, &format_args!("`{ctx}`"), diags)
            }
            "bundler" | "minitest_globs" => {} // inputs of inference only (spec §3.3, §3.6)
            other => diags.push(unknown_key(key, other, name, allowed)),
        }
    }
    Some(p)
}

/// A list of commands (spec §2: a scalar where a list is expected is an error).
fn command_list(
    node: &Node,
    context: &dyn fmt::Display,
    diags: &mut Diagnostics,
) -> Option<CommandList> {
    let mut list = CommandList {
        span: node.span,
        commands: vec![],
    };
    match &node.value {
        _ if node.is_null() => Some(list),
        Value::Seq(items) => {
            for item in items {
                if let Some(c) = command(item, context, diags) {
                    list.commands.push(c);
                }
            }
            Some(list)
        }
        Value::Scalar(s) => {
            diags.push(
                Diagnostic::error(
                    Code::StringAsList,
                    node.span,
                    format!("`{context}` must be a list of commands, found a string"),
                )
                .with_label("CircleCI refused this: \"commands must be a list\"")
                .with_help(format!(
                    "write it as a list item: `- {}`",
                    s.text.lines().next().unwrap_or("")
                )),
            );
            None
        }
        Value::Map(_) => {
            diags.push(
                expected(
                    Code::ExpectedList,
                    node,
                    "a list of commands",
                    &format_args!("`{context}`"),
                )
                .with_help("each command is a list item starting with `- `"),
            );
            None
        }
    }
}

fn command(
    item: &Node,
    context: &dyn fmt::Display,
    diags: &mut Diagnostics,
) -> Option<CommandNode> {
    match &item.value {
        _ if item.is_null() => {
            diags.push(
                Diagnostic::warning(
                    Code::EmptyCommand,
                    item.span,
                    format!("an empty command in `{context}`; nothing runs for it"),
                )
                .with_label("no command text"),
            );
            None
        }
        Value::Scalar(_) => Some(CommandNode {
            text: text(item)?,
            modifiers: ModifierNodes::default(),
        }),
        Value::Seq(_) => {
            diags.push(expected(
                Code::ExpectedString,
                item,
                "a command",
                &format_args!("an item of `{context}`"),
            ));
            None
        }
        Value::Map(pairs) => {
            if pairs.len() != 1 {
                let names: Vec<_> = pairs.iter().filter_map(|(k, _)| k.as_str()).collect();
                let mis_indented = names.iter().skip(1).any(|n| MODIFIERS.contains(n));
                let mut d = Diagnostic::error(
                    Code::CommandMap,
                    item.span,
                    format!(
                        "a command in `{context}` is a mapping with {} keys; a command takes one key, its text",
                        pairs.len()
                    ),
                );
                if mis_indented {
                    d = d.with_help("indent the modifiers one level deeper than the command text");
                } else {
                    d = d.with_help("quote the command if `: ` is part of its text");
                }
                diags.push(d);
                return None;
            }
            let (k, v) = &pairs[0];
            let Some(text) = text(k).filter(|_| !k.is_null()) else {
                diags.push(
                    Diagnostic::error(
                        Code::CommandMap,
                        k.span,
                        format!("a command in `{context}` has no text"),
                    )
                    .with_label("no command here"),
                );
                return None;
            };
            let modifiers = modifiers(v, context, diags)?;
            Some(CommandNode { text, modifiers })
        }
    }
}

fn modifiers(
    node: &Node,
    context: &dyn fmt::Display,
    diags: &mut Diagnostics,
) -> Option<ModifierNodes> {
    let mut m = ModifierNodes::default();
    if node.is_null() {
        // `- stack build :` — a command with an empty modifier map.
        return Some(m);
    }
    let Some(entries) = map_entries(node, &"the modifiers", diags) else {
        diags.push(
            Diagnostic::error(
                Code::ExpectedMap,
                node.span,
                format!(
                    "expected command modifiers in `{context}`, found a {}",
                    node.kind()
                ),
            )
            .with_label("the text before this `: ` was read as a command with modifiers")
            .with_help("quote the whole command if `: ` is part of its text"),
        );
        return None;
    };
    let mut ok = true;
    for (name, (key, value)) in &entries {
        match name.as_str() {
            "timeout" => match timeout(value, diags) {
                Some(t) => m.timeout = Some(t),
                None => ok = false,
            },
            "pwd" => m.pwd = scalar(value, &"`pwd`", diags),
            "environment" => m.environment = environment(value, &"environment", diags),
            "parallel" => m.parallel = boolean(value, &"`parallel`", diags),
            "files" => m.files = strings(value, &"`files`", diags),
            "background" => m.background = boolean(value, &"`background`", diags),
            other => {
                let mut d = Diagnostic::warning(
                    Code::UnknownModifier,
                    key.span,
                    format!("unknown modifier `{other}`; CircleCI 1.0 ignored it"),
                )
                .with_label("not a command modifier");
                if let Some(s) = suggest(other, MODIFIERS) {
                    d = d.with_help(format!("did you mean `{s}`?"));
                }
                diags.push(d);
            }
        }
    }
    ok.then_some(m)
}

fn timeout(node: &Node, diags: &mut Diagnostics) -> Option<Located<u64>> {
    let raw = node.as_str().unwrap_or("").trim();
    match raw.parse::<u64>() {
        Ok(n)
            if n > 0
                && matches!(
                    scalar_style(node),
                    Some(Style::Plain | Style::SingleQuoted | Style::DoubleQuoted)
                ) =>
        {
            Some(Located {
                value: n,
                span: node.span,
            })
        }
        _ => {
            diags.push(
                Diagnostic::error(
                    Code::BadTimeout,
                    node.span,
                    format!("`timeout` must be a positive whole number of seconds, found `{raw}`"),
                )
                .with_label("not a number of seconds")
                .with_help("write e.g. `timeout: 1200` (the default is 600)"),
            );
            None
        }
    }
}

fn scalar_style(node: &Node) -> Option<Style> {
    match &node.value {
        Value::Scalar(s) => Some(s.style),
        _ => None,
    }
}

fn deployment(node: &Node, diags: &mut Diagnostics) -> Vec<DeploymentSection> {
    if node.is_null() {
        return vec![];
    }
    let Some(entries) = map_entries(node, &"`deployment`", diags) else {
        diags.push(
            expected(Code::ExpectedMap, node, "a mapping of named subsections", &"`deployment`")
                .with_help("write `deployment:`, then a name such as `production:`, then `branch:` and `commands:` under it"),
        );
        return vec![];
    };
    let known = ["branch", "tag", "owner", "commands", "heroku", "codedeploy"];
    let mut out = vec![];
    for (name, (key, value)) in entries {
        let name = Located {
            value: name,
            span: key.span,
        };
        let mut d = DeploymentSection {
            name,
            branch: vec![],
            tag: vec![],
            owner: None,
            commands: None,
            heroku_app: None,
            codedeploy: None,
        };
        let ctx = format!("deployment.{}", d.name.value);
        let Some(fields) = map_entries(value, &format_args!("`{ctx}`"), diags) else {
            diags.push(expected(
                Code::ExpectedMap,
                value,
                "a mapping with `branch` and `commands`",
                &format_args!("`{ctx}`"),
            ));
            continue;
        };
        for (field, (k, v)) in &fields {
            match field.as_str() {
                "branch" => d.branch = strings(v, &format_args!("`{ctx}.branch`"), diags),
                "tag" => d.tag = strings(v, &format_args!("`{ctx}.tag`"), diags),
                "owner" => d.owner = scalar(v, &format_args!("`{ctx}.owner`"), diags),
                "commands" => d.commands = command_list(v, &format_args!("{ctx}.commands"), diags),
                "heroku" => {
                    let app = map_entries(v, &format_args!("`{ctx}.heroku`"), diags)
                        .and_then(|e| e.get("appname").map(|(_, n)| *n))
                        .and_then(|n| scalar(n, &"`heroku.appname`", diags));
                    if app.is_none() {
                        diags.push(expected(
                            Code::ExpectedMap,
                            v,
                            "a mapping with `appname`",
                            &format_args!("`{ctx}.heroku`"),
                        ));
                    }
                    d.heroku_app = app;
                }
                "codedeploy" => d.codedeploy = Some(v.span),
                other => diags.push(unknown_key(k, other, &ctx, &known)),
            }
        }
        out.push(d);
    }
    out
}

fn general(node: &Node, diags: &mut Diagnostics) -> General {
    let mut g = General::default();
    if node.is_null() {
        return g;
    }
    let Some(entries) = map_entries(node, &"`general`", diags) else {
        diags.push(expected(Code::ExpectedMap, node, "a mapping", &"`general`"));
        return g;
    };
    for (name, (key, value)) in &entries {
        match name.as_str() {
            "branches" => {
                if value.is_null() {
                    continue;
                }
                let Some(b) = map_entries(value, &"`general.branches`", diags) else {
                    diags.push(expected(
                        Code::ExpectedMap,
                        value,
                        "a mapping with `only` or `ignore`",
                        &"`general.branches`",
                    ));
                    continue;
                };
                for (k, (kn, v)) in &b {
                    match k.as_str() {
                        "only" => g.branches_only = strings(v, &"`general.branches.only`", diags),
                        "ignore" => {
                            g.branches_ignore = strings(v, &"`general.branches.ignore`", diags)
                        }
                        other => diags.push(unknown_key(
                            kn,
                            other,
                            "general.branches",
                            &["only", "ignore"],
                        )),
                    }
                }
            }
            "build_dir" => g.build_dir = scalar(value, &"`general.build_dir`", diags),
            "artifacts" => g.artifacts = strings(value, &"`general.artifacts`", diags),
            other => diags.push(unknown_key(
                key,
                other,
                "general",
                &["branches", "build_dir", "artifacts"],
            )),
        }
    }
    g
}

fn notify(node: &Node, diags: &mut Diagnostics) -> Vec<Text> {
    if node.is_null() {
        return vec![];
    }
    let Some(entries) = map_entries(node, &"`notify`", diags) else {
        diags.push(expected(
            Code::ExpectedMap,
            node,
            "a mapping with `webhooks`",
            &"`notify`",
        ));
        return vec![];
    };
    let mut out = vec![];
    for (name, (key, value)) in &entries {
        if name != "webhooks" {
            diags.push(unknown_key(key, name, "notify", &["webhooks"]));
            continue;
        }
        let Value::Seq(items) = &value.value else {
            if !value.is_null() {
                diags.push(expected(
                    Code::ExpectedList,
                    value,
                    "a list of `- url: …`",
                    &"`notify.webhooks`",
                ));
            }
            continue;
        };
        for item in items {
            let url = map_entries(item, &"a webhook", diags)
                .and_then(|e| e.get("url").map(|(_, n)| *n))
                .and_then(|n| scalar(n, &"a webhook `url`", diags));
            match url {
                Some(u) => out.push(u),
                None => diags.push(expected(Code::ExpectedMap, item, "`url: …`", &"a webhook")),
            }
        }
    }
    out
}

/// Longest word, in bytes, that gets a "did you mean" suggestion.
const MAX_SUGGESTED_LEN: usize = 64;

/// The closest known word, when it is close enough to be a likely typo.
pub(crate) fn suggest<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    // Known words are short: a long word is no typo of one (and edit distance costs the
    // product of the lengths: a 9 MB key took 27 s).
    if word.len() > MAX_SUGGESTED_LEN {
        return None;
    }
    known
        .iter()
        .filter(|k| word.len().abs_diff(k.len()) <= (k.len() / 3).max(1) * 4)
        .map(|k| (edit_distance(word, k), *k))
        .filter(|(d, k)| *d <= (k.len() / 3).max(1))
        .min()
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    // Two rows, reused: allocating a row per character was most of the cost of a file with
    // many unknown keys.
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur: Vec<usize> = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_catch_typos_only() {
        assert_eq!(
            suggest("overide", &["pre", "override", "post"]),
            Some("override")
        );
        assert_eq!(suggest("dependancies", SECTIONS), Some("dependencies"));
        assert_eq!(suggest("install", SECTIONS), None);
        assert_eq!(suggest("timout", MODIFIERS), Some("timeout"));
    }

    #[test]
    fn posix_names() {
        assert!(is_posix_name("_A1"));
        assert!(!is_posix_name("1A"));
        assert!(!is_posix_name("A-B"));
        assert!(!is_posix_name(""));
    }
}
