//! Review stage (`yml2sh check --shellcheck`): each command of the IR → `shellcheck` findings,
//! located in the circle.yml (block scalars included), as actionlint does for `run:`. Optional:
//! it runs only when asked and when `shellcheck` is on PATH.

use std::io::Write;
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

/// Every command, checked as the bash script CircleCI ran: a fresh `bash` that already has the
/// variables the config defines (`machine.environment`, modifiers, assignments of earlier
/// commands) and CircleCI's own, so shellcheck does not call those unassigned.
pub fn run(source: &Source, ir: &Ir, diags: &mut Diagnostics) {
    let mut known: Vec<String> = ir.environment.iter().map(|e| e.name.clone()).collect();
    for v in &ir.vars.commands {
        known.extend(v.defines.iter().cloned());
        known.extend(v.circle.iter().cloned());
    }
    known.sort();
    known.dedup();
    for c in ir.commands() {
        if c.line == 0 {
            continue; // written by yml2sh, not the user
        }
        check_command(source, c, &known, diags);
    }
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

fn check_command(source: &Source, c: &Command, known: &[String], diags: &mut Diagnostics) {
    let code = c.code.as_str();
    let head = prelude(known, c);
    let head_lines = head.matches('\n').count();
    let Ok(mut child) = Process::new("shellcheck")
        .args(["--format=json1", "--shell=bash", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    else {
        return;
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(head.as_bytes());
        let _ = stdin.write_all(code.as_bytes());
        let _ = stdin.write_all(b"\n");
    }
    let Ok(out) = child.wait_with_output() else {
        return;
    };
    let Ok(report) = serde_json::from_slice::<serde_json::Value>(&out.stdout) else {
        return;
    };
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
    for f in report["comments"].as_array().into_iter().flatten() {
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
