//! Lower stage pass: commands written for CircleCI 1.0's Docker 1.9 → the same commands for a
//! current Docker (spec §11, §13). Each rewrite keeps the user's text in `Command::original` and
//! is a located warning showing both; `--verbatim` skips the pass. A command that does not match
//! a rule exactly, word for word, is left byte-for-byte alone.

use std::ops::Range;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::ir::{Ir, ShellCode};

use super::shell::{self, Simple, Word};

/// One rewrite rule: its diagnostic code, what the warning says, and the matcher.
struct Rule {
    code: Code,
    message: &'static str,
    /// The edits for one simple command of `text`, if it matches.
    edits: fn(&str, &Simple<'_>) -> Option<Vec<Edit>>,
    /// Text every command the rule matches holds (a word it must see): a command without it
    /// is not read into words for this rule (the audit lowers thousands of configs).
    needle: &'static str,
}

const RULES: &[Rule] = &[
    Rule {
        code: Code::DockerLoginEmail,
        message: "`docker login --email` was removed from Docker; yml2sh drops it, and passes the password on stdin where nothing else feeds it",
        edits: login,
        needle: "docker",
    },
    Rule {
        code: Code::DockerLxcAttach,
        message: "the `lxc-attach` workaround for 1.0's missing `docker exec` needs LXC and root; yml2sh runs `docker exec`",
        edits: lxc_attach,
        needle: "lxc-attach",
    },
    Rule {
        code: Code::Docker0Bridge,
        message: "looking up the `docker0` address is 1.0's way to reach the host from a container; yml2sh uses `host-gateway` (Docker 20.10 or later)",
        edits: docker0,
        needle: "--add-host",
    },
];

#[derive(Clone, Debug, PartialEq, Eq)]
struct Edit {
    range: Range<usize>,
    with: String,
}

/// A rule's effect on one simple command, for the warning.
#[derive(Debug, PartialEq, Eq)]
struct Change {
    before: String,
    after: String,
}

pub(crate) fn run(ir: &mut Ir, diags: &mut Diagnostics) {
    // The needles' searchers, built once per process (a `str::contains` sets one up per call).
    static NEEDLES: std::sync::LazyLock<Vec<memchr::memmem::Finder<'static>>> =
        std::sync::LazyLock::new(|| {
            RULES
                .iter()
                .map(|r| memchr::memmem::Finder::new(r.needle))
                .collect()
        });
    for cmd in ir.commands_mut() {
        let code = cmd.code.as_str().as_bytes();
        if !NEEDLES.iter().any(|n| n.find(code).is_some()) {
            continue;
        }
        let mut text = cmd.code.as_str().to_string();
        for rule in RULES {
            if !text.contains(rule.needle) {
                continue;
            }
            let Some((next, changes)) = apply(rule, &text) else {
                continue;
            };
            for c in changes {
                diags.push(
                    Diagnostic::warning(rule.code, cmd.span, rule.message)
                        .with_label(format!("runs `{}`", c.after))
                        .with_help(format!(
                            "rewritten from `{}`; pass `--verbatim` to keep commands as written",
                            c.before
                        )),
                );
            }
            text = next;
        }
        if text != cmd.code.as_str() {
            let old = std::mem::replace(&mut cmd.code, ShellCode(text));
            // A second pass over an already rewritten command keeps the user's own text.
            cmd.original.get_or_insert(old);
        }
    }
}

/// Rewrites every simple command of `text` that `rule` matches; `None` when none does.
fn apply(rule: &Rule, text: &str) -> Option<(String, Vec<Change>)> {
    let commands = shell::simple_commands(text)?;
    let mut edits = vec![];
    let mut changes = vec![];
    for s in &commands {
        let Some(mut e) = (rule.edits)(text, s) else {
            continue;
        };
        e.sort_by_key(|e| e.range.start);
        let start = e
            .iter()
            .map(|e| e.range.start)
            .chain(s.words.first().map(|w| w.range.start))
            .min()
            .unwrap_or(0);
        let end = e
            .iter()
            .map(|e| e.range.end)
            .chain(s.words.last().map(|w| w.range.end))
            .max()
            .unwrap_or(0);
        let shifted: Vec<Edit> = e
            .iter()
            .map(|e| Edit {
                range: e.range.start - start..e.range.end - start,
                with: e.with.clone(),
            })
            .collect();
        changes.push(Change {
            before: text[start..end].to_string(),
            after: splice(&text[start..end], &shifted),
        });
        edits.extend(e);
    }
    if edits.is_empty() {
        return None;
    }
    edits.sort_by_key(|e| e.range.start);
    Some((splice(text, &edits), changes))
}

/// `text` with each (sorted, disjoint) edit applied.
fn splice(text: &str, edits: &[Edit]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for e in edits {
        out.push_str(&text[at..e.range.start]);
        out.push_str(&e.with);
        at = e.range.end;
    }
    out.push_str(&text[at..]);
    out
}

/// The index of the command name after `VAR=value` words and a plain `sudo`.
fn command_name(words: &[Word<'_>]) -> usize {
    let mut i = 0;
    while words.get(i).is_some_and(|w| is_assignment(w.raw)) {
        i += 1;
    }
    if words.get(i).is_some_and(|w| w.raw == "sudo") {
        i += 1;
        // Flags that take no argument and leave stdin alone (`-S` would read it).
        while words
            .get(i)
            .is_some_and(|w| matches!(w.raw, "-E" | "-H" | "-n"))
        {
            i += 1;
        }
    }
    i
}

fn is_assignment(raw: &str) -> bool {
    raw.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

fn is_program(raw: &str, name: &str) -> bool {
    raw == name || raw.strip_suffix(name).is_some_and(|p| p.ends_with('/'))
}

/// The range of a word together with the blanks before it, so removing it leaves one space.
fn with_leading_blanks(text: &str, r: &Range<usize>) -> Range<usize> {
    let before = &text[..r.start];
    let trimmed = before.trim_end_matches([' ', '\t']);
    trimmed.len()..r.end
}

/// `docker login -e EMAIL -u U -p P [SERVER]` → `printf '%s\n' P | docker login -u U
/// --password-stdin [SERVER]`. Only a login that uses `-e`/`--email` is touched: one without it
/// works on current Docker as it is.
fn login(text: &str, s: &Simple<'_>) -> Option<Vec<Edit>> {
    let w = &s.words;
    let name = command_name(w);
    if !is_program(w.get(name)?.raw, "docker") || w.get(name + 1)?.raw != "login" {
        return None;
    }
    let mut edits = vec![];
    let mut email = false;
    let mut password: Option<(&str, Range<usize>)> = None;
    let mut stdin_flag = false;
    let mut i = name + 2;
    while let Some(word) = w.get(i) {
        match word.raw {
            "-e" | "--email" => {
                let value = w.get(i + 1)?;
                edits.push(Edit {
                    range: with_leading_blanks(text, &(word.range.start..value.range.end)),
                    with: String::new(),
                });
                email = true;
                i += 1;
            }
            raw if raw.starts_with("--email=") => {
                edits.push(Edit {
                    range: with_leading_blanks(text, &word.range),
                    with: String::new(),
                });
                email = true;
            }
            "-p" | "--password" => {
                let value = w.get(i + 1)?;
                password = Some((value.raw, word.range.start..value.range.end));
                i += 1;
            }
            raw if raw.starts_with("--password=") => {
                password = Some((&raw["--password=".len()..], word.range.clone()));
            }
            "--password-stdin" => stdin_flag = true,
            "-u" | "--username" => i += 1,
            "--" => break,
            _ => {}
        }
        i += 1;
    }
    if !email {
        return None;
    }
    // The password can come on stdin only when nothing else feeds it.
    if let Some((value, range)) =
        password.filter(|_| !stdin_flag && !s.piped_in && !s.stdin_redirected)
    {
        edits.push(Edit {
            range,
            with: "--password-stdin".to_string(),
        });
        let at = w.first()?.range.start;
        edits.push(Edit {
            range: at..at,
            with: format!("printf '%s\\n' {value} | "),
        });
    }
    Some(edits)
}

/// `sudo lxc-attach -n "$(docker inspect --format "{{.Id}}" NAME)" -- CMD…` →
/// `docker exec NAME CMD…` (with `-i` when the command is given input).
fn lxc_attach(_text: &str, s: &Simple<'_>) -> Option<Vec<Edit>> {
    let w = &s.words;
    let first = w.first()?;
    let mut i = usize::from(first.raw == "sudo");
    while i > 0
        && w.get(i)
            .is_some_and(|w| matches!(w.raw, "-E" | "-H" | "-n"))
    {
        i += 1;
    }
    if !is_program(w.get(i)?.raw, "lxc-attach") {
        return None;
    }
    let mut target: Option<&str> = None;
    let mut dashdash = None;
    let mut j = i + 1;
    while let Some(word) = w.get(j) {
        match word.raw {
            "-n" | "--name" => {
                target = Some(w.get(j + 1)?.raw);
                j += 1;
            }
            raw if raw.starts_with("--name=") => target = Some(&raw["--name=".len()..]),
            raw if raw.starts_with("-n") => target = Some(&raw[2..]),
            "--" => {
                dashdash = Some(j);
                break;
            }
            // Any other lxc-attach option changes what runs: not ours to translate.
            _ => return None,
        }
        j += 1;
    }
    let dashdash = dashdash?;
    w.get(dashdash + 1)?;
    let name = inspected_container(target?)?;
    let stdin = if s.piped_in || s.stdin_redirected {
        "-i "
    } else {
        ""
    };
    Some(vec![Edit {
        range: first.range.start..w[dashdash].range.end,
        with: format!("docker exec {stdin}{name}"),
    }])
}

/// `"$(docker inspect --format "{{.Id}}" NAME)"` → `NAME`, as written.
fn inspected_container(raw: &str) -> Option<&str> {
    let (inner, _) = shell::substitution(raw)?;
    let commands = shell::simple_commands(inner)?;
    let [cmd] = commands.as_slice() else {
        return None;
    };
    let w = &cmd.words;
    if !is_program(w.first()?.raw, "docker") || w.get(1)?.raw != "inspect" {
        return None;
    }
    let is_id = |raw: &str| {
        shell::literal(raw).is_some_and(|v| matches!(v.as_str(), "{{.Id}}" | "{{ .Id }}"))
    };
    let mut format = false;
    let mut name = None;
    let mut i = 2;
    while let Some(word) = w.get(i) {
        match word.raw {
            "--format" | "-f" => {
                format = is_id(w.get(i + 1)?.raw);
                if !format {
                    return None;
                }
                i += 1;
            }
            raw if raw.starts_with("--format=") => {
                format = is_id(&raw["--format=".len()..]);
                if !format {
                    return None;
                }
            }
            "--type" => {
                if shell::literal(w.get(i + 1)?.raw)? != "container" {
                    return None;
                }
                i += 1;
            }
            "--type=container" => {}
            raw if raw.starts_with('-') => return None,
            raw if name.is_none() => name = Some(raw),
            // Two containers: lxc-attach would have failed.
            _ => return None,
        }
        i += 1;
    }
    name.filter(|_| format)
}

/// `--add-host NAME:$(ip addr show docker0 | … )` → `--add-host NAME:host-gateway`.
fn docker0(_text: &str, s: &Simple<'_>) -> Option<Vec<Edit>> {
    let mut edits = vec![];
    for (i, word) in s.words.iter().enumerate() {
        let value = if word.raw == "--add-host" {
            s.words.get(i + 1).cloned()
        } else {
            word.raw.strip_prefix("--add-host=").map(|rest| Word {
                raw: rest,
                range: word.range.start + "--add-host=".len()..word.range.end,
            })
        };
        if let Some(edit) = value.and_then(|v| bridge_address(&v)) {
            edits.push(edit);
        }
    }
    (!edits.is_empty()).then_some(edits)
}

/// The edit turning `db:$(…docker0…)`, `"db:$(…)"` or `db:"$(…)"` into `db:host-gateway`.
fn bridge_address(v: &Word<'_>) -> Option<Edit> {
    let r = v.raw;
    let at = r.find(['$', '`'])?;
    let end = shell::substitution_end(r, at)?;
    let (pre, post) = (&r[..at], &r[end..]);
    let (host, range) = if let Some(host) = pre.strip_suffix(":\"") {
        // `db:"$(…)"`: the quotes go with the substitution.
        (post == "\"").then_some((host, at - 1..end + 1))?
    } else if let Some(host) = pre.strip_prefix('"').and_then(|p| p.strip_suffix(':')) {
        (post == "\"").then_some((host, at..end))?
    } else {
        (post.is_empty()).then_some((pre.strip_suffix(':')?, at..end))?
    };
    if host.is_empty() || shell::literal(host)? != host {
        return None;
    }
    let inner_start = if r[at..].starts_with('$') {
        at + 2
    } else {
        at + 1
    };
    if !is_docker0_lookup(&r[inner_start..end - 1]) {
        return None;
    }
    Some(Edit {
        range: v.range.start + range.start..v.range.start + range.end,
        with: "host-gateway".to_string(),
    })
}

/// `ip [-4] addr show [dev] docker0 | <grep/awk/cut/sed…>…`, or the same with `ifconfig docker0`:
/// a pipeline that can only print docker0's IPv4 address.
fn is_docker0_lookup(inner: &str) -> bool {
    if !shell::is_single_pipeline(inner) || inner.contains("inet6") {
        return false;
    }
    let Some(commands) = shell::simple_commands(inner) else {
        return false;
    };
    let Some((first, rest)) = commands.split_first() else {
        return false;
    };
    if rest.is_empty() {
        return false;
    }
    let filters = ["grep", "egrep", "awk", "cut", "sed", "head", "tail", "tr"];
    let filters_ok = rest
        .iter()
        .all(|c| c.words.first().is_some_and(|w| filters.contains(&w.raw)));
    let Some(words) = first
        .words
        .iter()
        .map(|w| shell::literal(w.raw))
        .collect::<Option<Vec<String>>>()
    else {
        return false;
    };
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let lookup = match words.split_first() {
        Some((prog, args)) if is_program(prog, "ifconfig") => args == ["docker0"],
        Some((prog, args)) if is_program(prog, "ip") => is_ip_addr_show(args),
        _ => false,
    };
    lookup && filters_ok
}

fn is_ip_addr_show(args: &[&str]) -> bool {
    let mut a = args;
    loop {
        match a {
            ["-4" | "-o" | "-br", rest @ ..] => a = rest,
            ["-f" | "-family" | "--family", "inet", rest @ ..] => a = rest,
            _ => break,
        }
    }
    let [obj, rest @ ..] = a else { return false };
    if !matches!(*obj, "addr" | "address" | "a" | "ad") {
        return false;
    }
    let rest = match rest {
        ["show" | "s" | "sh" | "list" | "ls" | "l", r @ ..] => r,
        r => r,
    };
    let rest = match rest {
        ["dev", r @ ..] => r,
        r => r,
    };
    rest == ["docker0"]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(text: &str) -> String {
        let mut t = text.to_string();
        for rule in RULES {
            if let Some((next, _)) = apply(rule, &t) {
                t = next;
            }
        }
        t
    }

    /// (before, after): after == before means "left alone".
    const CASES: &[(&str, &str)] = &[
        // docker login
        (
            "docker login -e $DOCKER_EMAIL -u $DOCKER_USER -p $DOCKER_PASS",
            "printf '%s\\n' $DOCKER_PASS | docker login -u $DOCKER_USER --password-stdin",
        ),
        (
            "docker login -e $DOCKER_EMAIL -u $DOCKER_USER -p $DOCKER_PASS $EXTERNAL_REGISTRY_ENDPOINT",
            "printf '%s\\n' $DOCKER_PASS | docker login -u $DOCKER_USER --password-stdin $EXTERNAL_REGISTRY_ENDPOINT",
        ),
        (
            "docker login -u $DOCKER_USER -p $DOCKER_PASS -e $DOCKER_EMAIL",
            "printf '%s\\n' $DOCKER_PASS | docker login -u $DOCKER_USER --password-stdin",
        ),
        (
            "docker login -e \"$DOCKER_EMAIL\" -u \"$DOCKER_USER\" -p \"$DOCKER_PASS\"",
            "printf '%s\\n' \"$DOCKER_PASS\" | docker login -u \"$DOCKER_USER\" --password-stdin",
        ),
        (
            "docker  login   --email=me@x.org -u u --password='p w' quay.io",
            "printf '%s\\n' 'p w' | docker  login -u u --password-stdin quay.io",
        ),
        (
            "docker login --email me@x.org -u u -p \"$P\" && docker push a/b",
            "printf '%s\\n' \"$P\" | docker login -u u --password-stdin && docker push a/b",
        ),
        (
            "make build; sudo docker login -e x -u u -p p reg.io",
            "make build; printf '%s\\n' p | sudo docker login -u u --password-stdin reg.io",
        ),
        (
            "if docker login -e x -u u -p p; then echo ok; fi",
            "if printf '%s\\n' p | docker login -u u --password-stdin; then echo ok; fi",
        ),
        // stdin is taken: only the email goes.
        (
            "cat pw | docker login -e x -u u -p p",
            "cat pw | docker login -u u -p p",
        ),
        ("docker login -e x -u u", "docker login -u u"),
        (
            "echo \"$P\" | docker login -e x -u u --password-stdin",
            "echo \"$P\" | docker login -u u --password-stdin",
        ),
        // Not ours: no email, or not a login, or not at the top level.
        ("docker login -u $U -p $P", "docker login -u $U -p $P"),
        ("docker run -e FOO=1 -p 80:80 img", "docker run -e FOO=1 -p 80:80 img"),
        ("echo docker login -e x -p y", "echo docker login -e x -p y"),
        ("echo 'docker login -e x -p y'", "echo 'docker login -e x -p y'"),
        ("# docker login -e x -p y", "# docker login -e x -p y"),
        ("bash -c \"docker login -e x -p y\"", "bash -c \"docker login -e x -p y\""),
        ("docker-login -e x", "docker-login -e x"),
        ("docker login -e", "docker login -e"),
        ("cat <<EOF\ndocker login -e x\nEOF", "cat <<EOF\ndocker login -e x\nEOF"),
        // lxc-attach
        (
            "sudo lxc-attach -n \"$(docker inspect --format \"{{.Id}}\" $MY_CONTAINER_NAME)\" -- bash -c $MY_COMMAND",
            "docker exec $MY_CONTAINER_NAME bash -c $MY_COMMAND",
        ),
        (
            "sudo lxc-attach -n \"$(docker inspect --format '{{.Id}}' web)\" -- bash -c 'rake db:migrate'",
            "docker exec web bash -c 'rake db:migrate'",
        ),
        (
            "sudo  lxc-attach  --name=`docker inspect -f {{.Id}} web`  --  ls /",
            "docker exec web  ls /",
        ),
        (
            "lxc-attach -n $(docker inspect --format=\"{{ .Id }}\" db) -- psql < dump.sql",
            "docker exec -i db psql < dump.sql",
        ),
        (
            "sudo lxc-attach -n \"$(docker inspect --format \"{{.Name}}\" web)\" -- ls",
            "sudo lxc-attach -n \"$(docker inspect --format \"{{.Name}}\" web)\" -- ls",
        ),
        (
            "sudo lxc-attach -n \"$(docker inspect --format \"{{.Id}}\" web)\"",
            "sudo lxc-attach -n \"$(docker inspect --format \"{{.Id}}\" web)\"",
        ),
        (
            "sudo lxc-attach -e -n \"$(docker inspect --format \"{{.Id}}\" web)\" -- ls",
            "sudo lxc-attach -e -n \"$(docker inspect --format \"{{.Id}}\" web)\" -- ls",
        ),
        ("sudo lxc-attach -n mycontainer -- ls", "sudo lxc-attach -n mycontainer -- ls"),
        (
            "sudo lxc-attach -n \"$(docker inspect --format \"{{.Id}}\" a b)\" -- ls",
            "sudo lxc-attach -n \"$(docker inspect --format \"{{.Id}}\" a b)\" -- ls",
        ),
        // docker0
        (
            "docker run --add-host db:$(ip addr show docker0 | grep \"inet\\b\" | awk '{print $2}' | cut -d/ -f1) web bundle exec rspec",
            "docker run --add-host db:host-gateway web bundle exec rspec",
        ),
        (
            "docker run --add-host=db:\"$(ip -4 addr show dev docker0 | grep -Po 'inet \\K[\\d.]+')\" web",
            "docker run --add-host=db:host-gateway web",
        ),
        (
            "docker run --add-host \"db:`/sbin/ifconfig docker0 | grep 'inet addr' | cut -d: -f2 | awk '{print $1}'`\" web",
            "docker run --add-host \"db:host-gateway\" web",
        ),
        (
            "docker run --rm=false --add-host db:$(ip addr show docker0|grep 'inet\\b'|awk '{print $2}'|cut -d/ -f1) web",
            "docker run --rm=false --add-host db:host-gateway web",
        ),
        // Not docker0's IPv4, not an --add-host, or more than a lookup.
        (
            "docker run --add-host db:$(ip addr show eth0 | grep inet | cut -d/ -f1) web",
            "docker run --add-host db:$(ip addr show eth0 | grep inet | cut -d/ -f1) web",
        ),
        (
            "docker run --add-host db:$(ip addr show docker0 | grep inet6 | cut -d/ -f1) web",
            "docker run --add-host db:$(ip addr show docker0 | grep inet6 | cut -d/ -f1) web",
        ),
        (
            "docker run -e DB=$(ip addr show docker0 | grep inet | cut -d/ -f1) web",
            "docker run -e DB=$(ip addr show docker0 | grep inet | cut -d/ -f1) web",
        ),
        (
            "docker run --add-host db:$(ip addr show docker0; rm -rf x | cut -d/ -f1) web",
            "docker run --add-host db:$(ip addr show docker0; rm -rf x | cut -d/ -f1) web",
        ),
        (
            "docker run --add-host db:$(ip addr show docker0) web",
            "docker run --add-host db:$(ip addr show docker0) web",
        ),
        (
            "docker run --add-host db:$(ip addr show docker0 | grep inet | cut -d/ -f1)x web",
            "docker run --add-host db:$(ip addr show docker0 | grep inet | cut -d/ -f1)x web",
        ),
        (
            "docker run --add-host $H:$(ip addr show docker0 | grep inet | cut -d/ -f1) web",
            "docker run --add-host $H:$(ip addr show docker0 | grep inet | cut -d/ -f1) web",
        ),
        // --rm=false is harmless on current Docker: kept.
        ("docker build --rm=false -t x .", "docker build --rm=false -t x ."),
    ];

    #[test]
    fn before_after_table() {
        for (before, after) in CASES {
            assert_eq!(rewrite(before), *after, "for {before:?}");
        }
    }

    #[test]
    fn a_rule_matches_only_text_holding_its_needle() {
        for (before, _) in CASES {
            for rule in RULES {
                if apply(rule, before).is_some() {
                    assert!(before.contains(rule.needle), "{before:?}");
                }
            }
        }
    }

    #[test]
    fn rewrites_are_idempotent() {
        for (before, _) in CASES {
            let once = rewrite(before);
            assert_eq!(rewrite(&once), once, "for {before:?}");
        }
    }

    #[test]
    fn changes_show_the_command_before_and_after() {
        let rule = &RULES[0];
        let (_, changes) = apply(rule, "make; docker login -e x -u u -p p r && push").unwrap();
        assert_eq!(
            changes,
            [Change {
                before: "docker login -e x -u u -p p r".into(),
                after: "printf '%s\\n' p | docker login -u u --password-stdin r".into(),
            }]
        );
    }
}
