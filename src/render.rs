//! Render stage: diagnostics → text for people (rustc style), GitHub annotations, or JSON.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::ops::Range;

use annotate_snippets::renderer::{AnsiColor, Effects};
use annotate_snippets::{Level, Renderer, Snippet};

use crate::diagnostic::{Diagnostic, Severity};
use crate::source::Source;

/// Diagnostics the way rustc prints them, followed by a one-line count.
pub fn human(source: &Source, diags: &[Diagnostic], color: bool) -> String {
    human_drawn(source, diags, color, true)
}

/// [`human`]; with `direct`, the simplest pictures are written by [`draw_simple`] rather than
/// by annotate-snippets (the same text: a test compares the two).
fn human_drawn(source: &Source, diags: &[Diagnostic], color: bool, direct: bool) -> String {
    let mut out = String::new();
    for d in diags {
        let level = level(d.severity);
        let renderer = renderer(d.severity, color);
        // Bound outside the message, which borrows the (possibly owned) text.
        let located = d.span.map(|span| locate(source, span.start, span.end));
        // A span on a very long line is named, not drawn: drawing copies the line each time.
        let too_long = match (d.span, &located) {
            (Some(span), Some(None)) => {
                let (line, column) = source.line_col(span.start);
                Some(format!(
                    "at {}:{line}:{column} (the line is too long to show)",
                    source.name
                ))
            }
            _ => None,
        };
        let located = located.flatten();
        // Config text quoted in a message never reaches the terminal as an escape sequence.
        let (title, label, help) = (
            visible(&d.message),
            visible(d.label.as_deref().unwrap_or("")),
            d.help.as_deref().map(visible),
        );
        if let (true, false, Some(at)) = (direct, color, &located) {
            if let Some(picture) = draw_simple(d, &source.name, at, &title, &label, help.as_deref())
            {
                out.push_str(&picture);
                out.push_str("\n\n");
                continue;
            }
        }
        let mut message = level.title(&title).id(d.code.as_str());
        if let Some(at) = &too_long {
            message = message.footer(Level::Note.title(at));
        }
        if let Some(at) = &located {
            let label = label.as_ref();
            message = message.snippet(
                Snippet::source(&at.text)
                    .line_start(at.line_start)
                    .origin(&source.name)
                    .fold(at.fold)
                    .annotation(Level::Error.span(at.range.clone()).label(label)),
            );
        }
        if let Some(help) = &help {
            message = message.footer(Level::Help.title(help));
        }
        let _ = writeln!(out, "{}", renderer.render(message));
        out.push('\n');
    }
    if let Some(summary) = summary(&source.name, diags) {
        out.push_str(&summary);
        out.push('\n');
    }
    out
}

/// What annotate-snippets draws, uncoloured, for the simplest diagnostic: one short located
/// line with a non-empty span, and every text printable ASCII. Written directly: annotate-snippets
/// took over a second for 87,000 such warnings. `None` for anything else.
fn draw_simple(
    d: &Diagnostic,
    origin: &str,
    at: &Located,
    title: &str,
    label: &str,
    help: Option<&str>,
) -> Option<String> {
    let printable = |s: &str| s.bytes().all(|b| (0x20..0x7f).contains(&b));
    let line = at.text.as_ref();
    let simple = !title.is_empty()
        && [origin, title, label, line, help.unwrap_or("")]
            .into_iter()
            .all(printable)
        && help.is_none_or(|h| !h.is_empty() && !h.ends_with(' '))
        && !line.ends_with(' ')
        && !title.ends_with(' ')
        && !label.ends_with(' ')
        && at.range.start < at.range.end
        && at.range.end <= line.len()
        // annotate-snippets cuts lines wider than the terminal it assumes (140 columns), and
        // indentation past 26 columns.
        && line.len() + label.len() <= 100
        && line.len() - line.trim_start_matches(' ').len() <= 20;
    if !simple {
        return None;
    }
    let level = d.severity.as_str();
    let number = at.line_start.to_string();
    let pad = " ".repeat(number.len());
    let mut out = String::with_capacity(256 + line.len() * 2 + help.map_or(0, str::len));
    let _ = writeln!(out, "{level}[{}]: {title}", d.code.as_str());
    let _ = writeln!(out, "{pad}--> {origin}:{number}:{}", at.range.start + 1);
    let _ = writeln!(out, "{pad} |");
    let _ = writeln!(out, "{number} | {line}");
    let _ = write!(
        out,
        "{pad} | {}{}",
        " ".repeat(at.range.start),
        "^".repeat(at.range.end - at.range.start)
    );
    if !label.is_empty() {
        let _ = write!(out, " {label}");
    }
    let _ = write!(out, "\n{pad} |");
    if let Some(help) = help {
        let _ = write!(out, "\n{pad} = help: {help}");
    }
    Some(out)
}

/// One GitHub Actions workflow command per diagnostic, so findings show up on the diff.
pub fn github(source: &Source, diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        let command = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            // GitHub has no "note"; "notice" is its lowest level.
            Severity::Note => "notice",
        };
        let mut props = vec![format!("file={}", github_property(&source.name))];
        if let Some(span) = d.span {
            let (line, col) = source.line_col(span.start);
            let (end_line, end_col) = source.line_col(span.end);
            props.push(format!("line={line}"));
            props.push(format!("col={col}"));
            props.push(format!("endLine={end_line}"));
            props.push(format!("endColumn={end_col}"));
        }
        props.push(format!("title={}", github_property(d.code.as_str())));
        let mut text = d.message.clone();
        if let Some(help) = &d.help {
            let _ = write!(text, " (help: {help})");
        }
        let _ = writeln!(
            out,
            "::{command} {}::{}",
            props.join(","),
            github_message(&text)
        );
    }
    out
}

/// One diagnostic as JSON: the fields `Diagnostic` serializes, then where it is in lines and
/// columns (1-based, columns in characters; `null` when unlocated).
#[derive(serde::Serialize)]
struct JsonDiagnostic<'a> {
    #[serde(flatten)]
    diagnostic: &'a Diagnostic,
    file: &'a str,
    line: Option<usize>,
    column: Option<usize>,
    end_line: Option<usize>,
    end_column: Option<usize>,
}

/// A JSON array with one object per line, keys always in the same order.
pub fn json(source: &Source, diags: &[Diagnostic]) -> String {
    json_files(&[(source, diags)])
}

/// One line per diagnostic, `file:line:col: severity[code]: message`, for editors and grep.
pub fn short(source: &Source, diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        let at = match d.span {
            Some(span) => {
                let (line, col) = source.line_col(span.start);
                format!("{}:{line}:{col}", source.name)
            }
            None => source.name.clone(),
        };
        // One line: a newline inside a message would start a line that looks like a finding.
        let message = visible(&d.message.replace(['\n', '\r'], " ")).into_owned();
        let _ = writeln!(
            out,
            "{at}: {}[{}]: {message}",
            d.severity.as_str(),
            d.code.as_str()
        );
    }
    out
}

/// Several files' diagnostics as one JSON array (the objects of [`json`], in file order).
pub fn json_files(files: &[(&Source, &[Diagnostic])]) -> String {
    // Written into one string as it goes: lines joined afterwards held the report three times.
    let mut out = String::from("[\n");
    let mut first = true;
    let mut buf = Vec::new();
    for (source, diags) in files {
        for d in *diags {
            let start = d.span.map(|span| source.line_col(span.start));
            let end = d.span.map(|span| source.line_col(span.end));
            let object = JsonDiagnostic {
                diagnostic: d,
                file: &source.name,
                line: start.map(|(line, _)| line),
                column: start.map(|(_, column)| column),
                end_line: end.map(|(line, _)| line),
                end_column: end.map(|(_, column)| column),
            };
            out.push_str(if first { "  " } else { ",\n  " });
            first = false;
            // Serializing plain strings, numbers and options cannot fail; serde_json writes UTF-8.
            buf.clear();
            let _ = serde_json::to_writer(&mut buf, &object);
            out.push_str(std::str::from_utf8(&buf).unwrap_or_default());
        }
    }
    if first {
        return "[]\n".to_owned();
    }
    out.push_str("\n]\n");
    out
}

/// A SARIF 2.1.0 log of several files' diagnostics, as GitHub code scanning ingests it: one
/// rule per code met (id = the code, with its meaning and help), one result per diagnostic,
/// each located in its file (unlocated ones at line 1: GitHub needs a location).
pub fn sarif(files: &[(&Source, &[Diagnostic])]) -> String {
    use crate::diagnostic::Code;
    use serde_json::json;
    let used: Vec<Code> = Code::ALL
        .iter()
        .copied()
        .filter(|c| files.iter().any(|(_, ds)| ds.iter().any(|d| d.code == *c)))
        .collect();
    let rules: Vec<serde_json::Value> = used
        .iter()
        .map(|c| {
            json!({
                "id": c.as_str(),
                "name": format!("{c:?}"),
                "shortDescription": { "text": c.meaning() },
                "fullDescription": { "text": c.meaning() },
                "help": {
                    "text": c.help(),
                    "markdown": c.help(),
                },
                "properties": { "tags": ["circleci", "ci-config"] },
            })
        })
        .collect();
    let mut results = vec![];
    for (source, diags) in files {
        for d in *diags {
            let (start, end) = match d.span {
                Some(span) => (source.line_col(span.start), source.line_col(span.end)),
                None => ((1, 1), (1, 1)),
            };
            let mut text = d.message.clone();
            if let Some(help) = &d.help {
                let _ = write!(text, "\nhelp: {help}");
            }
            let level = d.severity.as_str();
            let mut region = json!({ "startLine": start.0, "startColumn": start.1 });
            if end > start {
                region["endLine"] = json!(end.0);
                region["endColumn"] = json!(end.1);
            }
            results.push(json!({
                "ruleId": d.code.as_str(),
                "ruleIndex": used.iter().position(|c| *c == d.code).unwrap_or(0),
                "level": level,
                "message": { "text": text },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {
                            "uri": sarif_uri(&source.name),
                            "uriBaseId": "%SRCROOT%",
                        },
                        "region": region,
                    }
                }],
            }));
        }
    }
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "yml2sh",
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    });
    let mut text = serde_json::to_string_pretty(&log).unwrap_or_default();
    text.push('\n');
    text
}

/// A file name as a relative URI reference: `/` kept, everything but unreserved bytes
/// percent-encoded (RFC 3986), so `my dir/circle.yml` is `my%20dir/circle.yml`.
fn sarif_uri(name: &str) -> String {
    let mut out = String::new();
    let name = name.strip_prefix("./").unwrap_or(name);
    for b in name.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char);
            }
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// annotate-snippets draws only error annotations with `^`, the way rustc
/// draws every primary span, so annotations are always given as errors and,
/// in color, the error style is swapped for the diagnostic's own.
fn renderer(severity: Severity, color: bool) -> Renderer {
    if !color {
        return Renderer::plain();
    }
    let styled = Renderer::styled();
    match severity {
        Severity::Error => styled,
        Severity::Warning => styled.error(AnsiColor::Yellow.on_default().effects(Effects::BOLD)),
        Severity::Note => styled.error(AnsiColor::BrightGreen.on_default().effects(Effects::BOLD)),
    }
}

fn level(severity: Severity) -> Level {
    match severity {
        Severity::Error => Level::Error,
        Severity::Warning => Level::Warning,
        Severity::Note => Level::Note,
    }
}

/// `circle.yml: 2 errors, 1 warning`, or `None` when there is nothing to count.
fn summary(name: &str, diags: &[Diagnostic]) -> Option<String> {
    let count = |s: Severity| diags.iter().filter(|d| d.severity == s).count();
    let parts: Vec<String> = [
        (count(Severity::Error), "error"),
        (count(Severity::Warning), "warning"),
        (count(Severity::Note), "note"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, word)| format!("{n} {word}{}", if n == 1 { "" } else { "s" }))
    .collect();
    if parts.is_empty() {
        None
    } else {
        Some(format!("{name}: {}", parts.join(", ")))
    }
}

/// What annotate-snippets is given to draw one span.
struct Located<'a> {
    text: Cow<'a, str>,
    range: Range<usize>,
    /// 1-based number of the first line of `text`.
    line_start: usize,
    fold: bool,
}

/// Lines longer than this are not drawn under a diagnostic (its location is given instead).
const LONG_LINE: usize = 4096;

/// The text to hand annotate-snippets and a byte range into it that it can draw; `None` when
/// the span's lines are longer than [`LONG_LINE`].
///
/// Spans come from other stages and may be empty, past the end, inside a CRLF
/// or cover a line ending; annotate-snippets draws no source line for a point
/// at the very end of the text or on an empty line, so such points are moved
/// or drawn on their own. Lines are found through the source's line index, so each
/// diagnostic costs the length of its own lines, not of the file before it.
fn locate(source: &Source, start: usize, end: usize) -> Option<Located<'_>> {
    let text = source.text.as_str();
    let mut start = floor_char_boundary(text, start.min(text.len()));
    let mut end = floor_char_boundary(text, end.clamp(start, text.len()));
    // The `\n` of a CRLF is invisible; its `\r` is where the line visibly ends.
    if text[start..].starts_with('\n') && text[..start].ends_with('\r') {
        start -= 1;
    }
    // A span that swallows its line's terminator would otherwise spill a
    // second, empty line into the picture.
    end = start + text[start..end].trim_end_matches(['\n', '\r']).len();
    if start == text.len() {
        // End of file after a final newline: point just past the last
        // character of the last line, as rustc does for "found end of file".
        start = text.trim_end_matches(['\n', '\r']).len();
        end = start;
    }
    if start == end {
        match text[start..].chars().next() {
            // Point at the character there so the caret is as wide as it (an
            // emoji takes two columns).
            Some(c) if !matches!(c, '\n' | '\r') => end = start + c.len_utf8(),
            // With folding on, annotate-snippets drops an empty line whose only
            // annotation is a point, so draw that line alone, unfolded.
            _ if start == 0 || text[..start].ends_with(['\n', '\r']) => {
                return Some(Located {
                    text: Cow::Borrowed("\n"),
                    range: 0..0,
                    line_start: source.line(start),
                    fold: false,
                });
            }
            // At a line ending annotate-snippets draws one caret just past the
            // line's last character, which is what we want.
            _ => {}
        }
    }
    // Only the span's own lines, without the last one's terminator: with the
    // whole file, folding in annotate-snippets 0.11 leaves the `\r` of a CRLF
    // in the drawn line.
    let first_line = source.line(start);
    let first = source.line_start(first_line);
    let mut last = source.line_start(source.line(end) + 1);
    if text[..last].ends_with('\n') {
        last -= 1;
    }
    if text[..last].ends_with('\r') && last > end {
        last -= 1;
    }
    let last = last.max(end);
    if last - first > LONG_LINE {
        return None;
    }
    let shown = &text[first..last];
    // annotate-snippets breaks lines at `\n` only: a CR-only file's lines end at a lone `\r`.
    let shown = if shown.contains('\r') {
        let cr_only = |i: usize| shown.as_bytes().get(i + 1) != Some(&b'\n');
        let bytes: Vec<u8> = shown
            .bytes()
            .enumerate()
            .map(|(i, b)| if b == b'\r' && cr_only(i) { b'\n' } else { b })
            .collect();
        Cow::Owned(String::from_utf8(bytes).unwrap_or_else(|_| shown.to_owned()))
    } else {
        Cow::Borrowed(shown)
    };
    Some(Located {
        text: match shown {
            Cow::Borrowed(s) => tabs_as_spaces(s),
            Cow::Owned(s) => Cow::Owned(tabs_as_spaces(&s).into_owned()),
        },
        range: start - first..end - first,
        line_start: first_line,
        fold: true,
    })
}

/// `text` with its control characters but newline and tab written as `\u{…}` escapes.
fn visible(text: &str) -> Cow<'_, str> {
    if !text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if c.is_control() && c != '\n' && c != '\t' {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// Shows each tab as one space, keeping every byte offset and column number.
///
/// annotate-snippets 0.11 widens tabs in the source line but not in the caret
/// line, which would put carets after a tab in the wrong column; widening the
/// range to match would make the `-->` column disagree with [`Source::line_col`].
fn tabs_as_spaces(text: &str) -> Cow<'_, str> {
    if text.contains('\t') {
        Cow::Owned(text.replace('\t', " "))
    } else {
        Cow::Borrowed(text)
    }
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Escapes a workflow command's message, per GitHub's `escapeData`.
fn github_message(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value, per GitHub's `escapeProperty`.
fn github_property(s: &str) -> String {
    github_message(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Code;
    use crate::source::Span;

    const CIRCLE: &str = "machine:\n  timezone: UTC\n\ntest:\n  overide:\n    - make\n";

    /// The `.yml` files under `dir`, recursively.
    fn yml_under(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                yml_under(&p, out);
            } else if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
                out.push(p);
            }
        }
    }

    #[test]
    fn simple_pictures_are_drawn_as_annotate_snippets_draws_them() {
        // Every diagnostic of every fixture (and of the corpus, when given), plus spans at
        // awkward places: the direct drawing and annotate-snippets' must be the same text.
        let mut files = vec![];
        yml_under(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"),
            &mut files,
        );
        if let Some(dir) = std::env::var_os("YML2SH_CORPUS") {
            yml_under(std::path::Path::new(&dir), &mut files);
        }
        files.sort();
        let mut drawn = 0;
        for path in files {
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let Ok(source) = crate::source_from_bytes("circle.yml", bytes) else {
                continue;
            };
            let mut diags = crate::check(&source, &crate::Options::default()).into_sorted();
            // The same codes at every line start, line end and a span past its line.
            let text = &source.text;
            for (i, _) in text.match_indices('\n').take(200) {
                diags.push(Diagnostic::note(
                    Code::NoTests,
                    Span::new(i, i + 1),
                    "at a newline",
                ));
                diags.push(
                    Diagnostic::warning(Code::UnknownKey, Span::new(i + 1, i + 1), "empty")
                        .with_label("here"),
                );
                diags.push(
                    Diagnostic::error(Code::Io, Span::new(i.saturating_sub(3), i + 4), "across")
                        .with_label("two lines")
                        .with_help("help "),
                );
            }
            for d in &diags {
                let one = std::slice::from_ref(d);
                let direct = human_drawn(&source, one, false, true);
                let reference = human_drawn(&source, one, false, false);
                assert_eq!(direct, reference, "{}: {d:?}", path.display());
                let at = d
                    .span
                    .and_then(|span| locate(&source, span.start, span.end));
                let label = d.label.as_deref().unwrap_or("");
                if at.is_some_and(|at| {
                    draw_simple(d, "circle.yml", &at, &d.message, label, d.help.as_deref())
                        .is_some()
                }) {
                    drawn += 1;
                }
            }
        }
        assert!(drawn > 1000, "{drawn} diagnostics drawn directly");
    }

    fn unknown_key(src: &Source) -> Diagnostic {
        let start = src.text.find("overide").unwrap_or(0);
        Diagnostic::warning(
            Code::UnknownKey,
            Span::new(start, start + 7),
            "unknown key `overide` in `test`",
        )
        .with_label("not a key of `test`")
        .with_help("did you mean `override`?")
    }

    /// One warning with a label, rendered plain.
    fn show(text: &str, span: Span) -> String {
        let src = Source::new("circle.yml", text);
        let d = Diagnostic::warning(Code::UnknownKey, span, "m").with_label("here");
        human(&src, &[d], false)
    }

    #[test]
    fn human_matches_rustc_shape() {
        let src = Source::new("circle.yml", CIRCLE);
        let out = human(&src, &[unknown_key(&src)], false);
        assert_eq!(
            out,
            "warning[unknown-key]: unknown key `overide` in `test`\n \
             --> circle.yml:5:3\n  \
             |\n\
             5 |   overide:\n  \
             |   ^^^^^^^ not a key of `test`\n  \
             |\n  \
             = help: did you mean `override`?\n\
             \n\
             circle.yml: 1 warning\n"
        );
    }

    #[test]
    fn human_separates_diagnostics_and_counts_them() {
        let src = Source::new("circle.yml", CIRCLE);
        let diags = [
            Diagnostic::error(Code::BadTimeout, Span::new(0, 7), "first"),
            unknown_key(&src),
            Diagnostic::error(Code::NoTests, None, "second").with_help("add a test"),
        ];
        let out = human(&src, &diags, false);
        assert!(out.ends_with("\n\nerror[no-tests]: second\n = help: add a test\n\ncircle.yml: 2 errors, 1 warning\n"), "{out}");
        assert_eq!(out.matches("\n\n").count(), 3, "{out}");
        assert!(!out.contains("\n\n\n"), "{out}");
    }

    #[test]
    fn human_unlocated_is_title_and_help_only() {
        let src = Source::new("circle.yml", CIRCLE);
        let d = Diagnostic::note(Code::NoTests, None, "no tests").with_label("ignored");
        assert_eq!(
            human(&src, &[d], false),
            "note[no-tests]: no tests\n\ncircle.yml: 1 note\n"
        );
    }

    #[test]
    fn human_says_nothing_without_diagnostics() {
        assert_eq!(human(&Source::new("circle.yml", CIRCLE), &[], false), "");
    }

    #[test]
    fn summary_pluralises_and_omits_zeroes() {
        let w = Diagnostic::warning(Code::NoTests, None, "w");
        let n = Diagnostic::note(Code::NoTests, None, "n");
        let e = Diagnostic::error(Code::Io, None, "e");
        assert_eq!(summary("c.yml", &[]), None);
        assert_eq!(
            summary("c.yml", std::slice::from_ref(&w)).as_deref(),
            Some("c.yml: 1 warning")
        );
        assert_eq!(
            summary("c.yml", &[w.clone(), w, n.clone(), n]).as_deref(),
            Some("c.yml: 2 warnings, 2 notes")
        );
        assert_eq!(summary("c.yml", &[e]).as_deref(), Some("c.yml: 1 error"));
    }

    #[test]
    fn human_color_adds_escapes_only_when_asked() {
        let src = Source::new("circle.yml", CIRCLE);
        assert!(human(&src, &[unknown_key(&src)], true).contains('\u{1b}'));
        assert!(!human(&src, &[unknown_key(&src)], false).contains('\u{1b}'));
    }

    #[test]
    fn human_crlf_hides_carriage_returns_and_keeps_columns() {
        let crlf = CIRCLE.replace('\n', "\r\n");
        let src = Source::new("circle.yml", crlf.as_str());
        let out = human(&src, &[unknown_key(&src)], false);
        assert!(!out.contains('\r'), "{out:?}");
        assert!(out.contains(" --> circle.yml:5:3\n"), "{out}");
        assert!(
            out.contains("5 |   overide:\n  |   ^^^^^^^ not a key"),
            "{out}"
        );
    }

    #[test]
    fn human_crlf_span_over_line_ending() {
        // From the last character through `\r\n`: drawn on its own line only.
        let out = show("a: b\r\nc: d\r\n", Span::new(3, 6));
        assert!(out.contains("1 | a: b\n  |    ^ here\n"), "{out}");
        assert!(!out.contains("2 |"), "{out}");
        // A point on the `\n` of a CRLF lands where the line visibly ends.
        let out = show("a: b\r\nc: d\r\n", Span::new(5, 5));
        assert!(out.contains("--> circle.yml:1:5\n"), "{out}");
        assert!(out.contains("1 | a: b\n  |     ^ here\n"), "{out}");
    }

    #[test]
    fn human_zero_width_points_at_one_char() {
        let out = show("a: bc\n", Span::new(3, 3));
        assert!(out.contains("1 | a: bc\n  |    ^ here\n"), "{out}");
        // An emoji is two columns wide, and so is its caret.
        let out = show("a: 😀\n", Span::new(3, 3));
        assert!(out.contains("1 | a: 😀\n  |    ^^ here\n"), "{out}");
    }

    #[test]
    fn human_zero_width_at_eof() {
        for text in ["a: b", "a: b\n", "a: b\r\n", "a: b\n\n\n"] {
            let out = show(text, Span::new(text.len(), text.len()));
            assert!(
                out.contains("1 | a: b\n  |     ^ here\n"),
                "{text:?}: {out}"
            );
        }
        for span in [Span::new(0, 0), Span::new(5, 9)] {
            let out = show("", span);
            assert!(out.contains(" --> circle.yml:1:1\n"), "{out}");
            assert!(out.contains("^ here"), "{out}");
        }
        let out = show("\n\n", Span::new(2, 2));
        assert!(out.contains("^ here"), "{out}");
    }

    #[test]
    fn human_zero_width_on_empty_line_is_drawn() {
        let out = show("a: b\n\nc: d\n", Span::new(5, 5));
        assert!(out.contains(" --> circle.yml:2:1\n"), "{out}");
        assert!(out.contains("\n2 | "), "{out}");
        assert!(out.contains("^ here"), "{out}");
    }

    #[test]
    fn human_multi_line_span() {
        let out = show("a:\n  - b\n  - c\nd: e\n", Span::new(5, 15));
        assert!(out.contains(" --> circle.yml:2:3\n"), "{out}");
        assert!(
            out.contains("2 | /   - b\n3 | |   - c\n  | |_____^ here\n"),
            "{out}"
        );
        assert!(!out.contains("4 |"), "{out}");
    }

    #[test]
    fn human_multi_line_span_in_crlf_text() {
        let out = show("a:\r\n  - b\r\n  - c\r\nd: e\r\n", Span::new(6, 18));
        assert!(
            out.contains("2 | /   - b\n3 | |   - c\n  | |_____^ here\n"),
            "{out:?}"
        );
    }

    #[test]
    fn human_non_ascii_columns_count_characters() {
        let text = "é: 😀 x\n";
        let out = show(text, Span::new(9, 10));
        assert!(out.contains(" --> circle.yml:1:6\n"), "{out}");
        assert!(out.contains("1 | é: 😀 x\n  |       ^ here\n"), "{out}");
    }

    #[test]
    fn human_tabs_keep_carets_aligned() {
        let out = show("a:\tb\n", Span::new(3, 4));
        assert!(out.contains(" --> circle.yml:1:4\n"), "{out}");
        assert!(out.contains("1 | a: b\n  |    ^ here\n"), "{out}");
    }

    #[test]
    fn human_never_panics_on_odd_spans() {
        let texts = [
            "",
            "\n",
            "\r\n",
            "é",
            "a😀\r\nb",
            "a\n\r\n\n",
            "a\r\n\r\nb\r\nc\r\n",
            "\r",
        ];
        for text in texts {
            for start in 0..=text.len() + 2 {
                for end in 0..=text.len() + 2 {
                    let out = show(text, Span { start, end });
                    assert!(!out.contains('\r'), "{text:?} {start}..{end}: {out:?}");
                }
            }
        }
    }

    #[test]
    fn github_locates_and_titles() {
        let src = Source::new("circle.yml", CIRCLE);
        assert_eq!(
            github(&src, &[unknown_key(&src)]),
            "::warning file=circle.yml,line=5,col=3,endLine=5,endColumn=10,title=unknown-key::\
             unknown key `overide` in `test` (help: did you mean `override`?)\n"
        );
    }

    #[test]
    fn github_levels_and_unlocated() {
        let src = Source::new("circle.yml", CIRCLE);
        let diags = [
            Diagnostic::error(Code::Io, None, "e"),
            Diagnostic::note(Code::NoTests, None, "n"),
        ];
        assert_eq!(
            github(&src, &diags),
            "::error file=circle.yml,title=io::e\n::notice file=circle.yml,title=no-tests::n\n"
        );
        assert_eq!(github(&src, &[]), "");
    }

    #[test]
    fn github_escapes_message_and_properties() {
        let src = Source::new("dir,a:b%.yml", "é😀: x\r\ny\n");
        let d =
            Diagnostic::error(Code::BadRegex, Span::new(7, 11), "50% a:b,c\r\nd").with_help("x\ny");
        assert_eq!(
            github(&src, &[d]),
            "::error file=dir%2Ca%3Ab%25.yml,line=1,col=4,endLine=2,endColumn=1,title=bad-regex::\
             50%25 a:b,c%0D%0Ad (help: x%0Ay)\n"
        );
    }

    #[test]
    fn json_shape_and_nulls() {
        let src = Source::new("circle.yml", CIRCLE);
        let diags = [
            unknown_key(&src),
            Diagnostic::note(Code::NoTests, None, "n"),
        ];
        assert_eq!(
            json(&src, &diags),
            "[\n  {\"severity\":\"warning\",\"code\":\"unknown-key\",\
             \"span\":{\"start\":34,\"end\":41},\
             \"message\":\"unknown key `overide` in `test`\",\
             \"label\":\"not a key of `test`\",\"help\":\"did you mean `override`?\",\
             \"file\":\"circle.yml\",\"line\":5,\"column\":3,\"end_line\":5,\"end_column\":10},\n  \
             {\"severity\":\"note\",\"code\":\"no-tests\",\"span\":null,\"message\":\"n\",\
             \"label\":null,\"help\":null,\"file\":\"circle.yml\",\
             \"line\":null,\"column\":null,\"end_line\":null,\"end_column\":null}\n]\n"
        );
        assert_eq!(json(&src, &[]), "[]\n");
    }

    #[test]
    fn json_escapes_strings_and_counts_characters() {
        let src = Source::new("a\"b\\c.yml", "é😀: x\r\n");
        let d = Diagnostic::error(
            Code::BadRegex,
            Span::new(6, 9),
            "q\"\\\n\r\t\u{8}\u{c}\u{1}\u{1f}é😀\u{7f}/",
        );
        let message = d.message.clone();
        let out = json(&src, &[d]);
        let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed[0]["message"], message.as_str(), "round-trips");
        assert_eq!(parsed[0]["file"], "a\"b\\c.yml");
        assert!(out.contains(r#""file":"a\"b\\c.yml""#), "{out}");
        assert!(
            out.contains(r#""message":"q\"\\\n\r\t\b\f\u0001\u001fé😀"#),
            "{out}"
        );
        assert!(out.contains("\u{7f}/\""), "{out}");
        assert!(
            out.contains(r#""line":1,"column":3,"end_line":1,"end_column":6"#),
            "{out}"
        );
    }
}
