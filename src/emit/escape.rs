//! Emit stage helper: quoting of data for each target, as pure functions. Command text is code
//! and never passes through here; everything else (names, branches, paths, values) does.

/// A single shell word that bash reads back as exactly `s`. Plain when it can be, `'…'` when
/// nothing in it looks like an expansion, else ANSI-C `$'…'`: there `$`, backticks and `~`
/// are plainly literal (to a reader and to shellcheck) and newlines show as `\n`.
pub fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./=:@%+,".contains(c))
    {
        return s.to_string();
    }
    let ansi = s.starts_with('~')
        || s.chars()
            .any(|c| matches!(c, '$' | '`' | '\'' | '\\') || c.is_control());
    if !ansi {
        return format!("'{s}'");
    }
    let mut out = String::from("$'");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Like [`sh_quote`] but never bare, for assignments: `X=test` reads to shellcheck (and
/// people) like a command.
pub fn sh_quote_always(s: &str) -> String {
    let q = sh_quote(s);
    if q.starts_with('\'') || q.starts_with("$'") {
        q
    } else {
        format!("'{s}'")
    }
}

/// Words for a bash array or the arguments of a call: each quoted, one space between.
pub fn sh_words(words: &[String]) -> String {
    let mut out = String::new();
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&sh_quote(w));
    }
    out
}

/// A bash call from its words, each quoted; long calls wrap before each `--option` (but the
/// short `--port N` pairs) so a reviewer reads one setting a line.
pub fn sh_call(words: &[String], indent: &str) -> String {
    let mut out = String::new();
    let wrap = words.iter().map(String::len).sum::<usize>() > 80;
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            if wrap && w.starts_with("--") && w != "--port" {
                out.push_str(" \\\n");
                out.push_str(indent);
                out.push_str("    ");
            } else {
                out.push(' ');
            }
        }
        out.push_str(&sh_quote(w));
    }
    out
}

/// The inside of a double-quoted bash word where `$VAR` and `$(…)` stay live but quotes,
/// backslashes and backticks are literal: how CircleCI exported `machine.environment`
/// (spec §7.2: `export KEY="VALUE"`).
pub fn sh_dquote_live(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        match c {
            '"' | '\\' | '`' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// The inside of a double-quoted bash word where only `$NAME` and `${…}` parameter expansions
/// stay live: `$(…)`, `$((…))`, backticks, quotes and backslashes are literal. For data that
/// CircleCI expanded variables in (`pwd`) but that must never run a command.
pub fn sh_dquote_vars(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\\' | '`' => {
                out.push('\\');
                out.push(c);
            }
            '$' => {
                let live = chars
                    .peek()
                    .is_some_and(|&n| n == '{' || n == '_' || n.is_ascii_alphabetic());
                if !live {
                    out.push('\\');
                }
                out.push('$');
                if chars.peek() == Some(&'{') {
                    // Inside `${…}` only a name and plain words: a nested `$(` stays literal.
                    out.push(chars.next().unwrap());
                    for c in chars.by_ref() {
                        match c {
                            '}' => {
                                out.push('}');
                                break;
                            }
                            '"' | '\\' | '`' | '$' => {
                                out.push('\\');
                                out.push(c);
                            }
                            _ => out.push(c),
                        }
                    }
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// Text placed in a make recipe: make expands `$`, so each becomes `$$`.
pub fn make_recipe(s: &str) -> String {
    s.replace('$', "$$")
}

/// A make variable value kept literal: `$` doubled, `#` escaped (it would start a comment).
pub fn make_var(s: &str) -> String {
    s.replace('$', "$$").replace('#', r"\#")
}

/// A shell word inside a make recipe line: [`sh_quote`] (one physical line, never ending in a
/// backslash) with `$` doubled for make.
pub fn make_sh(s: &str) -> String {
    make_recipe(&sh_quote(s))
}

/// The value of a one-line make variable that expands to `s` for display (`make -n`): `$`
/// doubled, `#` and newlines as `$(y2s_hash)` and `$(y2s_nl)`, an empty `$()` where make would
/// drop leading blanks or read a trailing backslash as a continuation, and control characters
/// but tab shown as `?` (never obeyed by a terminal).
pub fn make_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    if s.starts_with([' ', '\t']) {
        out.push_str("$()");
    }
    for c in s.chars() {
        match c {
            '$' => out.push_str("$$"),
            '#' => out.push_str("$(y2s_hash)"),
            '\n' => out.push_str("$(y2s_nl)"),
            '\t' => out.push('\t'),
            c if c.is_control() => out.push('?'),
            c => out.push(c),
        }
    }
    if out.ends_with(['\\', ' ', '\t']) {
        out.push_str("$()");
    }
    out
}

/// Text for one make comment line: control characters (a newline would end the comment) shown
/// escaped, and an odd run of backslashes at the end (which would continue the comment onto
/// the next line) made even.
pub fn make_comment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if (out.len() - out.trim_end_matches('\\').len()) % 2 == 1 {
        out.push('\\');
    }
    out
}

/// Text embedded in a Makefile as comment lines `#TAG| line` that the runtime reads back
/// (`y2s_make_split`): make ignores comments, so every byte survives, `$`, tabs, `endef` and
/// backslash-newlines included, which a `define` body would not keep. The caller leaves an
/// empty line after it: a last line ending in `\` continues a make comment, and then swallows
/// only that empty line.
pub fn make_block(text: &str, tag: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for line in text.split('\n') {
        out.push('#');
        out.push_str(tag);
        out.push('|');
        if !line.is_empty() {
            out.push(' ');
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// A name safe as a make target or a GitHub step id: lowercase ASCII, digits and `-`.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "x".into()
    } else {
        out
    }
}

/// Text in a GitHub workflow that GitHub must not evaluate: `${{` becomes an expression
/// that yields the literal `${{`.
pub fn gha_literal(s: &str) -> String {
    s.replace("${{", "${{ '${{' }}")
}

/// A YAML double-quoted scalar holding exactly `s`.
pub fn yaml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A YAML value holding exactly `s`, placed after `key: ` where the key sits at `indent - 2`
/// and the content lines are indented by `indent` spaces: a literal block (`|`) so scripts stay readable, or a double-quoted scalar
/// when the text holds characters a block cannot carry (control characters, `\r`, YAML 1.1
/// line breaks such as U+2028).
pub fn yaml_block(s: &str, indent: usize) -> String {
    let blockable = !s.is_empty()
        && s.chars().all(|c| {
            c == '\n'
                || c == '\t'
                || !(c.is_control() || matches!(c, '\u{feff}' | '\u{2028}' | '\u{2029}'))
        });
    if !blockable {
        return yaml_str(s);
    }
    let body = s.trim_end_matches('\n');
    if body.is_empty() {
        return yaml_str(s);
    }
    let chomp = match s.len() - body.len() {
        0 => "-",
        1 => "",
        _ => "+",
    };
    // YAML guesses the indentation from the first non-empty line; say it when that guess would
    // be wrong (content starting with a space, or whitespace-only lines before it).
    let lead = body
        .lines()
        .take_while(|l| l.trim().is_empty())
        .any(|l| !l.is_empty())
        || body
            .lines()
            .find(|l| !l.trim().is_empty())
            .is_some_and(|l| l.starts_with(' '));
    let mut out = format!("|{}{chomp}", if lead { "2" } else { "" });
    // The indicator counts from the key's column, which the caller puts two spaces to the left.
    let pad = " ".repeat(indent);
    for line in s[..s.len() - if chomp == "-" { 0 } else { 1 }].split('\n') {
        out.push('\n');
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
    }
    out
}

/// A YAML scalar for a name yml2sh controls (keys, ids, action references): bare when a plain
/// scalar reads back as the same string, double-quoted otherwise.
pub fn yaml_plain(s: &str) -> String {
    let bare = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./@-".contains(c))
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
        );
    if bare {
        s.to_string()
    } else {
        yaml_str(s)
    }
}

/// `s` as a YAML plain scalar where YAML reads it back unchanged as a string (an `if:` condition,
/// a one-line command), else double-quoted.
pub fn yaml_inline(s: &str) -> String {
    let first = s.chars().next();
    let plain = first.is_some_and(|c| !"-?:,[]{}#&*!|>'\"%@`".contains(c) && !c.is_whitespace())
        && !s.ends_with([' ', ':'])
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.chars().any(|c| {
            c.is_control() || matches!(c, '\u{feff}' | '\u{2028}' | '\u{2029}' | '\u{85}')
        })
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n" | "~"
        )
        && s.parse::<f64>().is_err()
        && !s.starts_with("0x")
        && !s.starts_with("0o");
    if plain {
        s.to_string()
    } else {
        yaml_str(s)
    }
}

/// A heredoc delimiter that does not occur as a line of `body`: `base`, else `base_1`,
/// `base_2`… the first free one, found in one pass over the lines.
pub fn heredoc_tag(body: &str, base: &str) -> String {
    // taken[n]: `base` (n = 0) or `base_n` is a line. The answer is at most the line count.
    let mut taken = vec![false; body.lines().count() + 1];
    for line in body.lines() {
        let Some(rest) = line.strip_prefix(base) else {
            continue;
        };
        let n = if rest.is_empty() {
            Some(0)
        } else {
            rest.strip_prefix('_')
                .filter(|d| {
                    !d.is_empty() && !d.starts_with('0') && d.bytes().all(|b| b.is_ascii_digit())
                })
                .and_then(|d| d.parse::<usize>().ok())
        };
        if let Some(slot) = n.and_then(|n| taken.get_mut(n)) {
            *slot = true;
        }
    }
    match taken.iter().position(|&t| !t).unwrap_or(taken.len()) {
        0 => base.to_string(),
        n => format!("{base}_{n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sh_quote_table() {
        for (input, want) in [
            ("plain", "plain"),
            ("", "''"),
            ("a b", "'a b'"),
            ("it's", r"$'it\'s'"),
            ("$HOME", "$'$HOME'"),
            ("`x`", "$'`x`'"),
            ("a\nb", r"$'a\nb'"),
            ("~/x", "$'~/x'"),
            (r"a\b", r"$'a\\b'"),
            ("\u{1}", r"$'\x01'"),
            ("{{ x }}", "'{{ x }}'"),
        ] {
            assert_eq!(sh_quote(input), want, "{input:?}");
        }
    }

    #[test]
    fn sh_quote_round_trips_through_bash() {
        let nasty = "it's \"$HOME\" `id` $(id) \\ \n\t\u{1} {{ .Id }} ; rm -rf / é ~";
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!("printf %s {}", sh_quote(nasty)))
            .output()
            .expect("bash runs");
        assert_eq!(String::from_utf8_lossy(&out.stdout), nasty);
    }

    #[test]
    fn sh_words_table() {
        let words = |w: &[&str]| sh_words(&w.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(words(&[]), "");
        assert_eq!(words(&[""]), "''");
        assert_eq!(words(&["", "deploy", "a b"]), "'' deploy 'a b'");
        assert_eq!(words(&["it's", "2"]), "$'it\\'s' 2");
    }

    #[test]
    fn dquote_live_keeps_dollar() {
        assert_eq!(sh_dquote_live(r#"a"b\c`d`$HOME"#), r#"a\"b\\c\`d\`$HOME"#);
    }

    #[test]
    fn make_text_escapes() {
        assert_eq!(
            make_text(" a#$\n\x1b[31m\\"),
            "$() a$(y2s_hash)$$$(y2s_nl)?[31m\\$()"
        );
    }

    #[test]
    fn make_and_gha_escapes() {
        assert_eq!(make_recipe("echo $HOME $$"), "echo $$HOME $$$$");
        assert_eq!(make_var("a#b$c"), r"a\#b$$c");
        assert_eq!(gha_literal("echo ${{ x }}"), "echo ${{ '${{' }} x }}");
        assert_eq!(yaml_str("a\"b\\\n\u{1}"), r#""a\"b\\\n\x01""#);
    }

    #[test]
    fn yaml_block_round_trips() {
        for text in [
            "echo hi",
            "echo hi\n",
            "echo hi\n\n",
            "a\n\nb",
            "  indented first\nb",
            "\n\nafter blank lines",
            "  \nx",
            "tab\tinside\n\tleading tab",
            "trailing spaces   \n   ",
            "# not a comment\n- not a list\nkey: not a map",
            "carriage\r\nreturn",
            "bell\u{7}",
            "line\u{2028}separator",
            "",
            "\n",
        ] {
            let doc = format!("k:\n  run: {}\n  next: 1\n", yaml_block(text, 4));
            let v: serde_yaml::Value =
                serde_yaml::from_str(&doc).unwrap_or_else(|e| panic!("{doc}: {e}"));
            assert_eq!(v["k"]["run"].as_str(), Some(text), "{doc}");
        }
        assert_eq!(yaml_block("a\nb", 4), "|-\n    a\n    b");
        assert_eq!(yaml_block("a\n", 4), "|\n    a");
    }

    #[test]
    fn yaml_inline_reads_back() {
        for text in [
            "npm test",
            "${{ !cancelled() && steps.setup.outcome == 'success' }}",
            "success() && github.ref_name == 'master'",
            "!x",
            "a: b",
            "a #b",
            "- x",
            "true",
            "1.5",
            "12",
            "0x1f",
            "~",
            "[a]",
            "{a}",
            "'q'",
            "\"q\"",
            "trailing ",
            "",
            "echo hi # comment",
            "x:",
        ] {
            let doc = format!("k: {}\n", yaml_inline(text));
            let v: serde_yaml::Value =
                serde_yaml::from_str(&doc).unwrap_or_else(|e| panic!("{doc}: {e}"));
            assert_eq!(v["k"].as_str(), Some(text), "{doc}");
        }
        assert_eq!(yaml_inline("npm test"), "npm test");
    }

    #[test]
    fn yaml_plain_reads_back() {
        for (input, want) in [
            ("actions/checkout@v6", "actions/checkout@v6"),
            ("YML2SH_VALUE_GOPATH", "YML2SH_VALUE_GOPATH"),
            ("command-3", "command-3"),
            ("on", "\"on\""),
            ("0", "\"0\""),
            ("a b", "\"a b\""),
            ("", "\"\""),
        ] {
            assert_eq!(yaml_plain(input), want, "{input:?}");
        }
    }

    #[test]
    fn make_sh_and_block_table() {
        for (input, want) in [
            ("plain", "plain"),
            ("$HOME", "$$'$$HOME'"),
            ("a\nb", r"$$'a\nb'"),
            ("trailing\\", r"$$'trailing\\'"),
            ("# x", "'# x'"),
        ] {
            assert_eq!(make_sh(input), want, "{input:?}");
        }
        for (input, want) in [
            (
                "test.override, circle.yml line 3",
                "test.override, circle.yml line 3",
            ),
            ("owner a\nb\tc", r"owner a\nb\tc"),
            ("ends \\", r"ends \\"),
            ("ends \\\\", r"ends \\"),
            ("$x # y", "$x # y"),
        ] {
            assert_eq!(make_comment(input), want, "{input:?}");
        }
        for (text, tag, want) in [
            ("echo hi", "3", "#3| echo hi\n"),
            ("a\n\n  b\\", "12", "#12| a\n#12|\n#12|   b\\\n"),
            ("x\n", "env", "#env| x\n#env|\n"),
            ("", "", "#|\n"),
        ] {
            assert_eq!(make_block(text, tag), want, "{text:?}");
        }
    }

    #[test]
    fn slugs_are_safe() {
        assert_eq!(slug("my app; rm -rf /"), "my-app-rm-rf");
        assert_eq!(slug("$$$"), "x");
        assert_eq!(slug("Prod_EU"), "prod-eu");
    }

    #[test]
    fn heredoc_tag_avoids_body_lines() {
        assert_eq!(heredoc_tag("echo hi", "CMD"), "CMD");
        assert_eq!(heredoc_tag("CMD\nCMD_1", "CMD"), "CMD_2");
        assert_eq!(heredoc_tag("CMD_1\nCMD_01\nCMD", "CMD"), "CMD_2");
        assert_eq!(heredoc_tag("CMD_1\nCMD_2", "CMD"), "CMD");
        assert_eq!(heredoc_tag("CMD\r\nCMDX\n CMD", "CMD"), "CMD_1");
        let many: String = (0..20_000).map(|n| format!("CMD_{n}\n")).collect();
        assert_eq!(heredoc_tag(&format!("CMD\n{many}"), "CMD"), "CMD_20000");
    }
}
