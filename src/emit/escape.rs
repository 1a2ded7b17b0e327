//! Emit stage helper: quoting of data for each target, as pure functions. Command text is code
//! and never passes through here; everything else (names, branches, paths, values) does.

/// A single shell word that bash reads back as exactly `s` (single quotes; `'` as `'\''`).
pub fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./=:@%+,".contains(c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
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

/// Text placed in a make recipe: make expands `$`, so each becomes `$$`.
pub fn make_recipe(s: &str) -> String {
    s.replace('$', "$$")
}

/// A make variable value kept literal: `$` doubled, `#` escaped (it would start a comment).
pub fn make_var(s: &str) -> String {
    s.replace('$', "$$").replace('#', r"\#")
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

/// A heredoc delimiter that does not occur as a line of `body`.
pub fn heredoc_tag(body: &str, base: &str) -> String {
    let mut tag = base.to_string();
    let mut n = 0;
    while body.lines().any(|l| l == tag) {
        n += 1;
        tag = format!("{base}_{n}");
    }
    tag
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
            ("it's", r"'it'\''s'"),
            ("$HOME", "'$HOME'"),
            ("`x`", "'`x`'"),
            ("a\nb", "'a\nb'"),
            ("{{ x }}", "'{{ x }}'"),
        ] {
            assert_eq!(sh_quote(input), want, "{input:?}");
        }
    }

    #[test]
    fn sh_quote_round_trips_through_bash() {
        let nasty = "it's \"$HOME\" `id` $(id) \\ \n {{ .Id }} ; rm -rf /";
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!("printf %s {}", sh_quote(nasty)))
            .output()
            .expect("bash runs");
        assert_eq!(String::from_utf8_lossy(&out.stdout), nasty);
    }

    #[test]
    fn dquote_live_keeps_dollar() {
        assert_eq!(sh_dquote_live(r#"a"b\c`d`$HOME"#), r#"a\"b\\c\`d\`$HOME"#);
    }

    #[test]
    fn make_and_gha_escapes() {
        assert_eq!(make_recipe("echo $HOME $$"), "echo $$HOME $$$$");
        assert_eq!(make_var("a#b$c"), r"a\#b$$c");
        assert_eq!(gha_literal("echo ${{ x }}"), "echo ${{ '${{' }} x }}");
        assert_eq!(yaml_str("a\"b\\\n\u{1}"), r#""a\"b\\\n\x01""#);
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
    }
}
