//! Lower stage helper: branch/tag patterns → [`Pattern`], translating CircleCI's Java-style
//! `/regex/` into an anchored POSIX ERE that bash's `[[ =~ ]]` evaluates the same way.

use crate::ir::Pattern;

/// Reads a `branch`/`tag`/`only`/`ignore` entry: `/…/` is a regex, anything else a name.
pub(crate) fn parse(text: &str) -> Result<Pattern, String> {
    let t = text.trim();
    if t.len() >= 2 && t.starts_with('/') && t.ends_with('/') {
        let source = &t[1..t.len() - 1];
        let ere = java_to_ere(source)?;
        Ok(Pattern::Regex {
            source: source.to_string(),
            ere: format!("^({ere})$"),
        })
    } else {
        Ok(Pattern::Exact {
            name: text.to_string(),
        })
    }
}

/// Translates the Java regex subset seen in circle.yml files into POSIX ERE, or says why not.
pub(crate) fn java_to_ere(src: &str) -> Result<String, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let mut depth = 0usize;
    // Whether the previous token can take a quantifier.
    let mut atom = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                let Some(&n) = chars.get(i + 1) else {
                    return Err("it ends with a lone `\\`".into());
                };
                out.push_str(&escape_outside(n)?);
                i += 2;
                atom = true;
                continue;
            }
            '[' => {
                let (class, next) = bracket(&chars, i)?;
                out.push_str(&class);
                i = next;
                atom = true;
                continue;
            }
            '(' => {
                if chars.get(i + 1) == Some(&'?') {
                    if chars.get(i + 2) == Some(&':') {
                        out.push('(');
                        depth += 1;
                        i += 3;
                        atom = false;
                        continue;
                    }
                    return Err(
                        "lookaround and inline flags `(?…)` have no POSIX equivalent".into(),
                    );
                }
                depth += 1;
                out.push('(');
                atom = false;
            }
            ')' => {
                if depth == 0 {
                    return Err("it has an unmatched `)`".into());
                }
                depth -= 1;
                out.push(')');
                atom = true;
            }
            '*' | '+' | '?' | '{' => {
                if !atom {
                    return Err(format!("`{c}` has nothing to repeat"));
                }
                if c == '{' {
                    let end = chars[i..]
                        .iter()
                        .position(|&x| x == '}')
                        .map(|p| p + i)
                        .ok_or("it has an unclosed `{`")?;
                    let body: String = chars[i + 1..end].iter().collect();
                    let valid = !body.is_empty()
                        && body.split(',').count() <= 2
                        && body.chars().all(|x| x.is_ascii_digit() || x == ',')
                        && !body.starts_with(',');
                    if !valid {
                        return Err(format!("`{{{body}}}` is not a repetition count"));
                    }
                    out.push_str(&format!("{{{body}}}"));
                    i = end + 1;
                } else {
                    out.push(c);
                    i += 1;
                }
                // Lazy `*?` matches the same whole strings as greedy `*`; possessive `*+` does not.
                match chars.get(i) {
                    Some('?') => i += 1,
                    Some('+') => {
                        return Err("possessive quantifiers have no POSIX equivalent".into())
                    }
                    _ => {}
                }
                atom = false;
                continue;
            }
            _ => {
                out.push(c);
                atom = c != '|' && c != '^';
            }
        }
        i += 1;
    }
    if depth != 0 {
        return Err("it has an unclosed `(`".into());
    }
    Ok(out)
}

fn escape_outside(n: char) -> Result<String, String> {
    Ok(match n {
        'd' => "[0-9]".into(),
        'D' => "[^0-9]".into(),
        'w' => "[A-Za-z0-9_]".into(),
        'W' => "[^A-Za-z0-9_]".into(),
        's' => "[[:space:]]".into(),
        'S' => "[^[:space:]]".into(),
        't' => "\t".into(),
        'n' => "\n".into(),
        '.' | '*' | '+' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '|' | '^' | '$' | '\\' => {
            format!("\\{n}")
        }
        c if c.is_ascii_alphanumeric() => {
            return Err(format!("`\\{c}` has no POSIX equivalent"));
        }
        c => c.to_string(),
    })
}

/// A `[...]` class starting at `start`; returns the ERE text and the index after `]`.
fn bracket(chars: &[char], start: usize) -> Result<(String, usize), String> {
    let mut out = String::from("[");
    let mut i = start + 1;
    if chars.get(i) == Some(&'^') {
        out.push('^');
        i += 1;
    }
    let mut first = true;
    // POSIX has no escapes inside brackets: `]` must come first and `-` last to be literal.
    let (mut close, mut dash) = (false, false);
    let mut body = String::new();
    loop {
        let Some(&c) = chars.get(i) else {
            return Err("it has an unclosed `[`".into());
        };
        match c {
            ']' if !first => break,
            '\\' => {
                let n = *chars.get(i + 1).ok_or("it has an unclosed `[`")?;
                match n {
                    'd' => body.push_str("0-9"),
                    'w' => body.push_str("A-Za-z0-9_"),
                    's' => body.push_str("[:space:]"),
                    ']' => close = true,
                    '-' => dash = true,
                    '\\' => body.push('\\'),
                    c if c.is_ascii_alphanumeric() => {
                        return Err(format!("`\\{c}` inside `[…]` has no POSIX equivalent"));
                    }
                    c => body.push(c),
                }
                i += 2;
            }
            '[' if chars.get(i + 1) == Some(&':') => {
                let end = (i + 2..chars.len().saturating_sub(1))
                    .find(|&j| chars[j] == ':' && chars[j + 1] == ']')
                    .ok_or("it has an unclosed `[:`")?;
                body.extend(&chars[i..end + 2]);
                i = end + 2;
            }
            ']' => {
                close = true;
                i += 1;
            }
            c => {
                body.push(c);
                i += 1;
            }
        }
        first = false;
    }
    if close {
        out.push(']');
    }
    out.push_str(&body);
    if dash {
        out.push('-');
    }
    out.push(']');
    Ok((out, i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ere(s: &str) -> String {
        java_to_ere(s).unwrap()
    }

    #[test]
    fn translates_java_shorthands() {
        assert_eq!(
            ere(r"\d{4}-\d{2}-\d{2}(\.\d)?"),
            r"[0-9]{4}-[0-9]{2}-[0-9]{2}(\.[0-9])?"
        );
        assert_eq!(ere(r".*?"), ".*");
        assert_eq!(ere(r"(?:a|b)+"), "(a|b)+");
        assert_eq!(ere(r"v[\d.]+"), "v[0-9.]+");
        assert_eq!(ere(r"release\/.*"), "release/.*");
        assert_eq!(
            ere(r"^(master|feature.*|dockerpush.*)$"),
            "^(master|feature.*|dockerpush.*)$"
        );
    }

    #[test]
    fn rejects_what_posix_cannot_say() {
        for bad in [
            r"(?=x)", r"a\b", "(a", "a)", "*a", "[a", r"a*+", "a{,2}", "a\\",
        ] {
            assert!(java_to_ere(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn slashes_make_a_regex() {
        assert!(
            matches!(parse("/.*-stable/").unwrap(), Pattern::Regex { ere, .. } if ere == "^(.*-stable)$")
        );
        assert!(matches!(parse("master").unwrap(), Pattern::Exact { name } if name == "master"));
        assert!(matches!(parse("/").unwrap(), Pattern::Exact { .. }));
    }
}
