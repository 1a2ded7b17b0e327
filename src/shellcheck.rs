//! Review stage (`yml2sh check --shellcheck`): each command of the IR → `shellcheck` findings,
//! located in the circle.yml (block scalars included), as actionlint does for `run:`. Optional:
//! it runs only when asked and when `shellcheck` is on PATH.

use std::process::{Command as Process, Stdio};

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::ir::{Command, Ir};
use crate::lower::host::locate_in;
use crate::source::Source;

/// Whether `shellcheck` can be run.
pub fn available() -> bool {
    Process::new("shellcheck")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// How many scripts one `shellcheck` is given: its argument list stays short, and a config of
/// a few dozen commands costs one process.
const BATCH: usize = 500;

/// Every command, checked as the bash script CircleCI ran: a fresh `bash` that already has the
/// variables the config defines (`machine.environment`, modifiers, assignments of earlier
/// commands) and CircleCI's own, so shellcheck does not call those unassigned. Each command is
/// a file of its own in a temporary directory, and one shellcheck run checks them all
/// (`--format=json1` names each finding's file).
pub fn run(source: &Source, ir: &Ir, diags: &mut Diagnostics) {
    let mut known: Vec<String> = ir.environment.iter().map(|e| e.name.clone()).collect();
    for v in &ir.vars.commands {
        known.extend(v.defines.iter().cloned());
        known.extend(v.circle.iter().cloned());
    }
    known.sort();
    known.dedup();
    // Those with line 0 were written by yml2sh, not the user.
    let commands: Vec<&Command> = ir.commands().filter(|c| c.line != 0).collect();
    if commands.is_empty() {
        return;
    }
    // The scripts cannot be written (TMPDIR unwritable, a full disk): said, not a silent pass.
    let unwritten = |e: std::io::Error, diags: &mut Diagnostics| {
        diags.push(Diagnostic::note(
            Code::Shellcheck,
            None,
            format!(
                "shellcheck checked nothing: cannot write its scripts in a temporary directory (TMPDIR): {}",
                e.kind()
            ),
        ));
    };
    let dir = match tempfile::Builder::new()
        .prefix("yml2sh-shellcheck-")
        .tempdir()
    {
        Ok(dir) => dir,
        Err(e) => return unwritten(e, diags),
    };
    if let Err(e) = std::fs::write(dir.path().join(".shellcheckrc"), rc_text()) {
        return unwritten(e, diags);
    }
    let mut heads = vec![];
    for (i, c) in commands.iter().enumerate() {
        let head = prelude(&known, c);
        heads.push(head.matches('\n').count());
        let text = format!("{head}{}\n", c.code.as_str());
        if let Err(e) = std::fs::write(dir.path().join(file_name(i)), text) {
            return unwritten(e, diags);
        }
    }
    // Each script's findings, in shellcheck's order.
    let mut found: Vec<Vec<serde_json::Value>> = vec![vec![]; commands.len()];
    for first in (0..commands.len()).step_by(BATCH) {
        let last = (first + BATCH).min(commands.len());
        let Ok(out) = Process::new("shellcheck")
            .args(["--format=json1", "--shell=bash", "--"])
            .args((first..last).map(file_name))
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .output()
        else {
            return;
        };
        let Ok(mut report) = serde_json::from_slice::<serde_json::Value>(&out.stdout) else {
            continue;
        };
        let comments = match report["comments"].take() {
            serde_json::Value::Array(v) => v,
            _ => vec![],
        };
        for f in comments {
            let index = f["file"]
                .as_str()
                .and_then(|n| n.strip_suffix(".sh"))
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|i| (first..last).contains(i));
            if let Some(i) = index {
                found[i].push(f);
            }
        }
    }
    for ((c, head_lines), comments) in commands.iter().zip(heads).zip(found) {
        findings(source, c, head_lines, &comments, diags);
    }
}

fn file_name(i: usize) -> String {
    format!("{i}.sh")
}

/// The configuration shellcheck reads for a script on standard input, as yml2sh used to give
/// it: the first `.shellcheckrc` (or `shellcheckrc`) in the current directory or above, else
/// `~/.shellcheckrc`, else `$XDG_CONFIG_HOME/shellcheckrc`. Copied beside the scripts (empty
/// when there is none), so shellcheck never looks above their temporary directory instead.
fn rc_text() -> String {
    let mut candidates = vec![];
    if let Ok(cwd) = std::env::current_dir() {
        for d in cwd.ancestors() {
            candidates.push(d.join(".shellcheckrc"));
            candidates.push(d.join("shellcheckrc"));
        }
    }
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    if let Some(h) = &home {
        candidates.push(h.join(".shellcheckrc"));
    }
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(std::path::PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| home.map(|h| h.join(".config")));
    if let Some(c) = config {
        candidates.push(c.join("shellcheckrc"));
    }
    candidates
        .iter()
        .find(|p| p.is_file())
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default()
}

/// The lines put before a command's text; findings on them are not the user's.
fn prelude(known: &[String], c: &Command) -> String {
    let mut names: Vec<&str> = known.iter().map(String::as_str).collect();
    names.extend(c.modifiers.environment.iter().map(|e| e.name.as_str()));
    let mut text = String::from("#!/bin/bash\n");
    if names.is_empty() {
        text.push_str(":\n");
    } else {
        text.push_str(&format!("export {}\n", names.join(" ")));
    }
    text
}

/// One command's findings (json1 comments on its script), located in the circle.yml.
fn findings(
    source: &Source,
    c: &Command,
    head_lines: usize,
    comments: &[serde_json::Value],
    diags: &mut Diagnostics,
) {
    let code = c.code.as_str();
    let lines: Vec<usize> = std::iter::once(0)
        .chain(code.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    // (line, column) of the script → byte offset in the command's text.
    let offset = |line: u64, col: u64| -> Option<usize> {
        let l = usize::try_from(line).ok()?.checked_sub(head_lines + 1)?;
        let start = *lines.get(l)?;
        let end = lines.get(l + 1).map_or(code.len(), |n| n - 1);
        let text = &code[start..end];
        // Columns count characters; a column past the end is the end of the line.
        let col = usize::try_from(col).ok()?.saturating_sub(1);
        Some(start + text.char_indices().nth(col).map_or(text.len(), |(i, _)| i))
    };
    for f in comments {
        let (Some(start), Some(code_no)) = (
            offset(
                f["line"].as_u64().unwrap_or(0),
                f["column"].as_u64().unwrap_or(1),
            ),
            f["code"].as_u64(),
        ) else {
            continue;
        };
        let end = offset(
            f["endLine"].as_u64().unwrap_or(0),
            f["endColumn"].as_u64().unwrap_or(1),
        )
        .unwrap_or(start)
        .max(start);
        let span = locate_in(source, c.span, code, start, end);
        let message = format!(
            "SC{code_no}: {}",
            f["message"].as_str().unwrap_or("").trim_end_matches('.')
        );
        let d = match f["level"].as_str() {
            Some("error" | "warning") => Diagnostic::warning(Code::Shellcheck, span, message),
            _ => Diagnostic::note(Code::Shellcheck, span, message),
        };
        diags.push(
            d.with_label(format!("SC{code_no}"))
                .with_help(format!("https://www.shellcheck.net/wiki/SC{code_no}")),
        );
    }
}
