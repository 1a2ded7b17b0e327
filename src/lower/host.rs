//! Lower stage pass (for `yml2sh check`): commands → `host-change` notes for the ones that change
//! the machine they run on (`sudo`, package managers, writes to `/etc`, `/usr`, rc files such as
//! `~/.circlerc`). CircleCI threw its container away after every build; build.sh and the
//! Makefile run on the user's own machine, where these changes stay.

use super::shell::{self, Simple, Word};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::ir::{Command, Ir};
use crate::source::{Source, Span};

/// Commands that install packages or change system services.
const SYSTEM_TOOLS: &[&str] = &[
    "apt-get",
    "apt",
    "aptitude",
    "dpkg",
    "add-apt-repository",
    "apt-key",
    "update-alternatives",
    "service",
    "systemctl",
    "update-rc.d",
    "ldconfig",
];

/// Commands that write their last path argument (the destination).
const DESTINATION_LAST: &[&str] = &["cp", "mv", "ln", "install", "rsync"];

/// Commands that write (create, remove, change) every path argument.
const WRITE_ALL: &[&str] = &[
    "rm", "rmdir", "mkdir", "touch", "chmod", "chown", "chgrp", "tee",
];

/// Commands that write the value of one option: `tar -C DIR`, `curl -o FILE`.
const WRITE_OPTION: &[(&str, &str)] = &[
    ("tar", "-C"),
    ("unzip", "-d"),
    ("curl", "-o"),
    ("curl", "--output"),
    ("wget", "-O"),
    ("wget", "-P"),
];

/// Outside the build's own directories: system trees shared by every project on the machine.
const SYSTEM_DIRS: &[&str] = &["/etc", "/usr", "/opt", "/bin", "/sbin", "/lib", "/var/lib"];

/// Files in the home directory that every later shell (and build) reads.
const RC_FILES: &[&str] = &[
    ".circlerc",
    ".bashrc",
    ".bash_profile",
    ".profile",
    ".zshrc",
];

pub(crate) fn run(source: &Source, ir: &Ir, diags: &mut Diagnostics) {
    for c in ir.commands() {
        let text = c.code.as_str();
        if !might_change_host(text) {
            continue;
        }
        // Text the quote-aware reader refuses (a heredoc, say) is read line by line instead.
        let simples = shell::simple_commands(text).unwrap_or_else(|| {
            text.lines()
                .filter_map(|line| {
                    let start = line.as_ptr() as usize - text.as_ptr() as usize;
                    shell::simple_commands(line).map(|v| {
                        v.into_iter()
                            .map(|s| shift(s, start, text))
                            .collect::<Vec<_>>()
                    })
                })
                .flatten()
                .collect()
        });
        for s in &simples {
            if let Some((reason, help)) = host_change(s) {
                let first = s.words.first().map_or(0..0, |w| w.range.clone());
                let last = s.words.last().map_or(0..0, |w| w.range.clone());
                let end = s
                    .writes
                    .iter()
                    .map(|w| w.range.end)
                    .fold(last.end, usize::max);
                let span = locate(source, c, first.start, end);
                diags.push(
                    Diagnostic::note(
                        Code::HostChange,
                        span,
                        format!("{reason}; build.sh and the Makefile do this on the machine they run on"),
                    )
                    .with_label("changes the host")
                    .with_help(help),
                );
            }
        }
    }
}

/// A cheap first look (most commands mention none of these), so the audit of thousands of
/// configs does not tokenize every command.
fn might_change_host(text: &str) -> bool {
    static WORDS: shell::Needles = shell::Needles::new(&[
        "sudo",
        "apt",
        "dpkg",
        "service",
        "systemctl",
        "update-",
        "ldconfig",
        "/etc",
        "/usr",
        "/opt",
        "/bin",
        "/sbin",
        "/lib",
        "/var/lib",
        "rc",
        "profile",
    ]);
    WORDS.found_in(text)
}

/// Re-bases a simple command read from one line onto the whole command text.
fn shift<'a>(mut s: Simple<'a>, by: usize, text: &'a str) -> Simple<'a> {
    let fix = |w: &mut Word<'a>| {
        w.range = w.range.start + by..w.range.end + by;
        w.raw = &text[w.range.clone()];
    };
    s.words.iter_mut().for_each(fix);
    s.writes.iter_mut().for_each(fix);
    s
}

/// Why this simple command changes the host, and what to do about it.
fn host_change(s: &Simple<'_>) -> Option<(String, &'static str)> {
    let words: Vec<&str> = s
        .words
        .iter()
        .map(|w| w.raw)
        .skip_while(|w| is_assignment(w))
        .collect();
    let (sudo, rest) = match words.split_first() {
        Some((&"sudo", rest)) => (true, sudo_command(rest)),
        _ => (false, &words[..]),
    };
    let name = rest.first().map(|w| w.rsplit('/').next().unwrap_or(w));
    let mut written: Vec<&str> = s.writes.iter().map(|w| w.raw).collect();
    if let Some(name) = name {
        let args = &rest[1..];
        let mut paths = args.iter().copied().filter(|w| !w.starts_with('-'));
        let in_place = name == "sed" && args.iter().any(|a| a.starts_with("-i"));
        if DESTINATION_LAST.contains(&name) {
            written.extend(paths.next_back());
        } else if WRITE_ALL.contains(&name) || in_place {
            written.extend(paths);
        }
        for (tool, option) in WRITE_OPTION {
            if *tool == name {
                let values = args.windows(2).filter(|w| w[0] == *option).map(|w| w[1]);
                written.extend(values);
            }
        }
    }
    for target in written {
        let path = unquote(target);
        if let Some(rc) = rc_file(&path) {
            return Some((
                format!("writes `~/{rc}`, which every later shell of this user reads"),
                "on CircleCI the home directory was thrown away after the build; here the change stays for every later build of every project (run the build under a separate HOME, or in a container)",
            ));
        }
        if let Some(dir) = SYSTEM_DIRS
            .iter()
            .find(|d| path == **d || path.starts_with(&format!("{d}/")))
        {
            return Some((
                format!("writes `{path}` under `{dir}`, outside the build"),
                "CircleCI ran this in a throwaway container; run the build in a container or VM to keep this machine as it is",
            ));
        }
    }
    if let Some(n) = name.filter(|n| SYSTEM_TOOLS.contains(n)) {
        return Some((
            format!(
                "`{}{n}` changes the machine's packages or services",
                if sudo { "sudo " } else { "" }
            ),
            "CircleCI ran this in a throwaway container; run the build in a container or VM to keep this machine as it is",
        ));
    }
    if sudo {
        let what = rest
            .first()
            .map_or("sudo".to_string(), |w| format!("sudo {w}"));
        return Some((
            format!("`{what}` runs as root"),
            "CircleCI's user had passwordless sudo in a throwaway container; here it asks for your password and acts on your machine",
        ));
    }
    None
}

/// The command `sudo` runs: after its options (and their values) and any `NAME=value`.
fn sudo_command<'a, 'b>(args: &'b [&'a str]) -> &'b [&'a str] {
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if *a == "--" {
            return &args[i + 1..];
        }
        if a.starts_with('-') {
            // Options that take a value as the next word.
            i += if matches!(
                *a,
                "-u" | "-g" | "-C" | "-D" | "-h" | "-p" | "-r" | "-t" | "-U"
            ) {
                2
            } else {
                1
            };
        } else if is_assignment(a) {
            i += 1;
        } else {
            break;
        }
    }
    &args[i.min(args.len())..]
}

fn is_assignment(w: &str) -> bool {
    w.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// The word without its quotes (expansions kept as text: `$HOME/x` stays `$HOME/x`).
fn unquote(raw: &str) -> String {
    raw.chars().filter(|c| !matches!(c, '"' | '\'')).collect()
}

/// `~/.circlerc`, `$HOME/.bashrc`, `${HOME}/.profile`, `/home/ubuntu/.circlerc` → the file name.
fn rc_file(path: &str) -> Option<&'static str> {
    let rest = ["~/", "$HOME/", "${HOME}/", "/home/ubuntu/"]
        .iter()
        .find_map(|home| path.strip_prefix(home))?;
    RC_FILES.iter().copied().find(|rc| rest == *rc)
}

/// The span in the circle.yml of bytes `start..end` of the command's text. Command text is the
/// YAML scalar's value: in a block or plain scalar each line of it appears in the file as
/// written, after the indentation, so the line is looked for in the scalar's lines.
pub(crate) fn locate(source: &Source, c: &Command, start: usize, end: usize) -> Span {
    locate_in(source, c.span, c.code.as_str(), start, end)
}

pub(crate) fn locate_in(
    source: &Source,
    scalar: Span,
    text: &str,
    start: usize,
    end: usize,
) -> Span {
    let start = start.min(text.len());
    let end = end.clamp(start, text.len());
    let region_end = (scalar.end + 1).min(source.text.len());
    let Some(region) = source.text.get(scalar.start..region_end) else {
        return scalar;
    };
    // Walk the command's lines up to the one holding `start`, each found in a later line of
    // the file than the one before.
    let mut src_lines = line_offsets(region);
    let mut off = 0;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let trimmed = body.trim_start();
        let is_target = start < off + line.len() || off + line.len() == text.len();
        if !trimmed.is_empty() {
            let found = src_lines
                .by_ref()
                .find_map(|(at, src_line)| src_line.find(trimmed).map(|pos| at + pos));
            let Some(found) = found else { break };
            if is_target {
                let lead = body.len() - trimmed.len();
                let col = start.saturating_sub(off + lead);
                let at = scalar.start + found + col;
                let len = end.min(off + body.len()).saturating_sub(start).max(1);
                return Span::new(at, at + len);
            }
        }
        if is_target {
            break;
        }
        off += line.len();
    }
    // A folded or quoted scalar: its lines are not the file's. Look for the words themselves.
    let needle = &text[start..end];
    match region.find(needle) {
        Some(pos) if !needle.is_empty() => {
            Span::new(scalar.start + pos, scalar.start + pos + needle.len())
        }
        _ => scalar,
    }
}

fn line_offsets(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut off = 0;
    text.split_inclusive('\n').map(move |l| {
        let here = off;
        off += l.len();
        (here, l.trim_end_matches(['\n', '\r']))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(text: &str) -> Option<String> {
        let s = shell::simple_commands(text).unwrap();
        s.iter().find_map(host_change).map(|(r, _)| r)
    }

    #[test]
    fn finds_what_changes_the_host() {
        assert_eq!(
            reason("sudo apt-get install -y libpq-dev").as_deref(),
            Some("`sudo apt-get` changes the machine's packages or services")
        );
        assert_eq!(
            reason("echo 'export PATH=x' >> ~/.circlerc").as_deref(),
            Some("writes `~/.circlerc`, which every later shell of this user reads")
        );
        assert_eq!(
            reason("echo 1.2.3.4 db | sudo tee -a /etc/hosts").as_deref(),
            Some("writes `/etc/hosts` under `/etc`, outside the build")
        );
        assert_eq!(
            reason("sudo -E -u root make install").as_deref(),
            Some("`sudo make` runs as root")
        );
        assert_eq!(
            reason("cp bin/tool /usr/local/bin/").as_deref(),
            Some("writes `/usr/local/bin/` under `/usr`, outside the build")
        );
        assert_eq!(
            reason("echo x > \"$HOME/.bashrc\"").as_deref(),
            Some("writes `~/.bashrc`, which every later shell of this user reads")
        );
    }

    #[test]
    fn leaves_the_build_alone() {
        for text in [
            "make test",
            "cat /etc/hosts",
            "echo x > out.txt 2>&1",
            "cp /etc/hosts ./hosts.txt >&2",
            "grep sudo README",
            "FOO=sudo env",
        ] {
            assert_eq!(reason(text), None, "{text}");
        }
    }

    #[test]
    fn locates_inside_a_block_scalar() {
        let yml = "test:\n  override:\n    - |\n      make\n      sudo apt-get install x\n";
        let src = Source::new("c.yml", yml);
        let text = "make\nsudo apt-get install x\n";
        let scalar = Span::new(yml.find('|').unwrap(), yml.len());
        let at = text.find("sudo").unwrap();
        let span = locate_in(&src, scalar, text, at, at + 4);
        assert_eq!(src.line_col(span.start), (5, 7));
        assert_eq!(&yml[span.start..span.end], "sudo");
    }

    #[test]
    fn locates_inside_a_plain_scalar() {
        let yml = "test:\n  override:\n    - echo x >> ~/.circlerc\n";
        let src = Source::new("c.yml", yml);
        let start = yml.find("echo").unwrap();
        let text = "echo x >> ~/.circlerc";
        let span = locate_in(&src, Span::new(start, yml.len() - 1), text, 10, 21);
        assert_eq!(&yml[span.start..span.end], "~/.circlerc");
    }
}
