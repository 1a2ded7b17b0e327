//! Lower stage helper: command text → simple commands made of words with byte ranges, for the
//! rewrite passes. Not a shell parser: enough of bash's quoting to find word boundaries, and a
//! refusal (`None`) for anything it does not follow (heredocs, unclosed quotes), so a rewrite
//! never acts on text it misread.

use foldhash::{HashMap, HashMapExt};
use std::cell::RefCell;
use std::ops::Range;
use std::rc::Rc;

/// One word as written, with its quotes; `range` indexes the scanned text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Word<'a> {
    pub raw: &'a str,
    pub range: Range<usize>,
}

/// A simple command: words up to the next `;`, `&&`, `||`, `|`, `&`, newline or paren.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Simple<'a> {
    /// Arguments (the command name first), without redirections or leading keywords.
    pub words: Vec<Word<'a>>,
    /// Its output feeds no one's input, but its input is another command's output.
    pub piped_in: bool,
    /// It has a `<` redirection of its own.
    pub stdin_redirected: bool,
    /// The targets of its output redirections (`> f`, `>> f`, `&> f`), as written.
    pub writes: Vec<Word<'a>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok {
    Word,
    /// `|` (not `||`).
    Pipe,
    /// `;`, `&`, `&&`, `||`, newline, `(`, `)`.
    Sep,
    /// `<`, `<&`, `<>`, `<<<`.
    RedirIn,
    /// `>`, `>>`, `>&`, `>|`, `&>`.
    RedirOut,
}

/// Words that may open a command before its name (`if docker login …; then`).
const KEYWORDS: &[&str] = &[
    "if", "then", "elif", "else", "do", "while", "until", "!", "{", "time",
];

/// Token lists by text, kept while one config is lowered: host, languages, modernize and vars
/// each read the same commands, and each text is tokenised once. Texts are kept up to
/// [`REMEMBERED_BYTES`] in all (linear memory whatever the input).
type Remembered = (usize, HashMap<Box<str>, Rc<Tokens>>);

/// A text's tokens, or `None` where [`tokens`] refuses it.
type Tokens = Option<Vec<(Tok, Range<usize>)>>;

const REMEMBERED_BYTES: usize = 4 << 20;

thread_local! {
    static REMEMBERED: RefCell<Remembered> = RefCell::new((0, HashMap::new()));
}

/// Forgets the token lists of the texts seen so far (lowering calls it for each config).
pub(crate) fn forget() {
    REMEMBERED.with(|r| {
        let mut r = r.borrow_mut();
        r.0 = 0;
        r.1.clear();
    });
}

fn remembered_tokens(text: &str) -> Rc<Tokens> {
    REMEMBERED.with(|r| {
        let mut r = r.borrow_mut();
        if let Some(t) = r.1.get(text) {
            return Rc::clone(t);
        }
        let t = Rc::new(tokens(text));
        if r.0 + text.len() <= REMEMBERED_BYTES {
            r.0 += text.len();
            r.1.insert(text.into(), Rc::clone(&t));
        }
        t
    })
}

pub(crate) fn simple_commands(text: &str) -> Option<Vec<Simple<'_>>> {
    let remembered = remembered_tokens(text);
    let toks = remembered.as_ref().as_ref()?;
    // Sized once: growing each list word by word was a fifth of this function's time.
    let ends = |t: &(Tok, Range<usize>)| matches!(t.0, Tok::Pipe | Tok::Sep);
    let mut out = Vec::with_capacity(toks.iter().filter(|t| ends(t)).count() + 1);
    let mut cur = Simple::default();
    let mut redirect_target = false;
    let mut redirect_out = false;
    for (i, &(tok, ref range)) in toks.iter().enumerate() {
        let range = range.clone();
        match tok {
            Tok::Word if redirect_target => {
                redirect_target = false;
                if redirect_out {
                    cur.writes.push(Word {
                        raw: &text[range.clone()],
                        range,
                    });
                }
            }
            Tok::Word => {
                let raw = &text[range.clone()];
                if cur.words.is_empty() && KEYWORDS.contains(&raw) {
                    continue;
                }
                if cur.words.capacity() == 0 {
                    let words = toks[i..].iter().take_while(|t| !ends(t)).count();
                    cur.words.reserve_exact(words);
                }
                cur.words.push(Word { raw, range });
            }
            Tok::RedirIn => {
                cur.stdin_redirected = true;
                redirect_target = true;
                redirect_out = false;
            }
            Tok::RedirOut => {
                // `>&2` duplicates a descriptor: no file is written.
                redirect_target = true;
                redirect_out = !text[range.clone()].ends_with('&');
            }
            Tok::Pipe | Tok::Sep => {
                let piped = tok == Tok::Pipe;
                if !cur.words.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                cur.piped_in = piped;
                redirect_target = false;
            }
        }
    }
    if !cur.words.is_empty() {
        out.push(cur);
    }
    Some(out)
}

/// True when `text` is one pipeline: no operator but `|` between its commands.
pub(crate) fn is_single_pipeline(text: &str) -> bool {
    remembered_tokens(text)
        .as_ref()
        .as_ref()
        .is_some_and(|t| !t.iter().any(|(k, _)| *k == Tok::Sep))
}

fn tokens(text: &str) -> Tokens {
    let b = text.as_bytes();
    let mut out = vec![];
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\r' => i += 1,
            b'\\' if b.get(i + 1) == Some(&b'\n') => i += 2,
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'\n' | b';' | b'(' | b')' => {
                out.push((Tok::Sep, i..i + 1));
                i += 1;
            }
            b'|' | b'&' => {
                let two = b.get(i + 1) == Some(&c);
                let (tok, len) = match (c, two) {
                    (b'|', false) => (Tok::Pipe, 1),
                    (b'&', false) if b.get(i + 1) == Some(&b'>') => (Tok::RedirOut, 2),
                    (_, two) => (Tok::Sep, if two { 2 } else { 1 }),
                };
                out.push((tok, i..i + len));
                i += len;
            }
            b'<' => {
                // A heredoc's body would be read as commands: refuse.
                if b.get(i + 1) == Some(&b'<') && b.get(i + 2) != Some(&b'<') {
                    return None;
                }
                let len = 1 + b[i + 1..]
                    .iter()
                    .take_while(|&&x| x == b'<' || x == b'&' || x == b'>')
                    .count();
                out.push((Tok::RedirIn, i..i + len));
                i += len;
            }
            b'>' => {
                let len = 1 + b[i + 1..]
                    .iter()
                    .take_while(|&&x| x == b'>' || x == b'&' || x == b'|')
                    .count();
                out.push((Tok::RedirOut, i..i + len));
                i += len;
            }
            _ => {
                let start = i;
                i = word_end(b, i)?;
                // `2>file`: a descriptor number glued to a redirection is not an argument.
                let fd = b[start..i].iter().all(u8::is_ascii_digit)
                    && matches!(b.get(i), Some(b'<' | b'>'));
                if !fd {
                    out.push((Tok::Word, start..i));
                }
            }
        }
    }
    Some(out)
}

/// The end of the word starting at `i`.
fn word_end(b: &[u8], mut i: usize) -> Option<usize> {
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' | b'\r' | b'\n' | b';' | b'&' | b'|' | b'<' | b'>' | b'(' | b')' => break,
            b'\\' => i += 2,
            b'\'' => i = single_quote_end(b, i)?,
            b'"' => i = double_quote_end(b, i)?,
            b'`' => i = backtick_end(b, i)?,
            b'$' if b.get(i + 1) == Some(&b'(') => i = subst_end(b, i + 1)?,
            b'$' if b.get(i + 1) == Some(&b'{') => i = brace_end(b, i + 1)?,
            _ => i += 1,
        }
    }
    Some(i.min(b.len()))
}

fn single_quote_end(b: &[u8], i: usize) -> Option<usize> {
    let close = b[i + 1..].iter().position(|&x| x == b'\'')?;
    Some(i + 1 + close + 1)
}

fn double_quote_end(b: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    while i < b.len() {
        match b[i] {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            b'`' => i = backtick_end(b, i)?,
            b'$' if b.get(i + 1) == Some(&b'(') => i = subst_end(b, i + 1)?,
            b'$' if b.get(i + 1) == Some(&b'{') => i = brace_end(b, i + 1)?,
            _ => i += 1,
        }
    }
    None
}

fn backtick_end(b: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    while i < b.len() {
        match b[i] {
            b'`' => return Some(i + 1),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    None
}

/// `i` is at the `(` of `$(`: the index after the matching `)`.
fn subst_end(b: &[u8], mut i: usize) -> Option<usize> {
    let mut depth = 0usize;
    while i < b.len() {
        match b[i] {
            b'(' => {
                depth += 1;
                i += 1;
            }
            b')' => {
                depth -= 1;
                i += 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            b'\\' => i += 2,
            b'\'' => i = single_quote_end(b, i)?,
            b'"' => i = double_quote_end(b, i)?,
            b'`' => i = backtick_end(b, i)?,
            b'#' if i > 0 && matches!(b[i - 1], b' ' | b'\t' | b'\n') => return None,
            _ => i += 1,
        }
    }
    None
}

/// `i` is at the `{` of `${`: the index after the matching `}`.
fn brace_end(b: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    while i < b.len() {
        match b[i] {
            b'}' => return Some(i + 1),
            b'\\' => i += 2,
            b'\'' => i = single_quote_end(b, i)?,
            b'"' => i = double_quote_end(b, i)?,
            _ => i += 1,
        }
    }
    None
}

/// Words looked for in many texts, each at least two bytes long, with a table of their first
/// two bytes: [`Needles::found_in`] is `words.iter().any(|w| text.contains(w))` in one pass over
/// the text, comparing a word only where its first two bytes are (a search per word, a dozen
/// words for every command, cost more than all the rest of the pass that asked).
pub(crate) struct Needles {
    words: &'static [&'static str],
    /// Bit `256 * a + b` is set when a word starts with the bytes `a`, `b`.
    pairs: [u64; 1024],
}

impl Needles {
    pub(crate) const fn new(words: &'static [&'static str]) -> Needles {
        let mut pairs = [0u64; 1024];
        let mut i = 0;
        while i < words.len() {
            let w = words[i].as_bytes();
            assert!(w.len() >= 2, "a needle of fewer than two bytes");
            let bit = 256 * w[0] as usize + w[1] as usize;
            pairs[bit / 64] |= 1 << (bit % 64);
            i += 1;
        }
        Needles { words, pairs }
    }

    #[cfg(test)]
    pub(crate) fn words(&self) -> &'static [&'static str] {
        self.words
    }

    pub(crate) fn found_in(&self, text: &str) -> bool {
        let b = text.as_bytes();
        b.windows(2).enumerate().any(|(i, pair)| {
            let bit = 256 * usize::from(pair[0]) + usize::from(pair[1]);
            self.pairs[bit / 64] >> (bit % 64) & 1 == 1
                && self.words.iter().any(|w| b[i..].starts_with(w.as_bytes()))
        })
    }
}

/// If `raw` is exactly one command substitution, `$(…)` or `` `…` ``, possibly inside double
/// quotes, its inner text and where that starts in `raw`.
pub(crate) fn substitution(raw: &str) -> Option<(&str, usize)> {
    let (body, off) = match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Some(inner) if raw.len() >= 2 => (inner, 1),
        _ => (raw, 0),
    };
    let b = body.as_bytes();
    let end = match b.first()? {
        b'$' if b.get(1) == Some(&b'(') => subst_end(b, 1)?,
        b'`' => backtick_end(b, 0)?,
        _ => return None,
    };
    if end != b.len() {
        return None;
    }
    let start = if b[0] == b'$' { 2 } else { 1 };
    Some((&body[start..body.len() - 1], off + start))
}

/// Where a command substitution starting at `i` of `raw` ends, if one starts there.
pub(crate) fn substitution_end(raw: &str, i: usize) -> Option<usize> {
    let b = raw.as_bytes();
    match b.get(i)? {
        b'$' if b.get(i + 1) == Some(&b'(') => subst_end(b, i + 1),
        b'`' => backtick_end(b, i),
        _ => None,
    }
}

/// The literal value of a word with no expansions: quotes and backslashes removed. `None` when
/// the word holds `$` or a backtick outside single quotes.
pub(crate) fn literal(raw: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = raw.chars();
    let mut in_double = false;
    while let Some(c) = chars.next() {
        match c {
            '\'' if !in_double => {
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    out.push(c);
                }
            }
            '"' => in_double = !in_double,
            '\\' => out.push(chars.next()?),
            '$' | '`' => return None,
            _ => out.push(c),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<Vec<&str>> {
        simple_commands(text)
            .unwrap()
            .into_iter()
            .map(|s| s.words.into_iter().map(|w| w.raw).collect())
            .collect()
    }

    #[test]
    fn splits_on_operators_and_respects_quotes() {
        assert_eq!(
            words("a 'b c' \"d $(e \"f\" g) h\" && i | j; k # l m"),
            [
                vec!["a", "'b c'", "\"d $(e \"f\" g) h\""],
                vec!["i"],
                vec!["j"],
                vec!["k"]
            ]
        );
        assert_eq!(
            words("if x; then y 2>/dev/null; fi"),
            [vec!["x"], vec!["y"], vec!["fi"]]
        );
        assert_eq!(words("a \\\n  b"), [vec!["a", "b"]]);
    }

    #[test]
    fn marks_pipes_and_redirections() {
        let s = simple_commands("a | b < in > out").unwrap();
        assert!(!s[0].piped_in);
        assert!(s[1].piped_in && s[1].stdin_redirected);
        assert_eq!(s[1].words.len(), 1);
        fn raws<'a>(s: &Simple<'a>) -> Vec<&'a str> {
            s.writes.iter().map(|w| w.raw).collect()
        }
        assert_eq!(raws(&s[1]), ["out"]);
        let s = simple_commands("echo x >> ~/.circlerc 2>&1 >&2 &> \"log\"").unwrap();
        assert_eq!(raws(&s[0]), ["~/.circlerc", "\"log\""]);
    }

    #[test]
    fn refuses_what_it_cannot_follow() {
        assert!(simple_commands("cat <<EOF\ndocker login -e x\nEOF").is_none());
        assert!(simple_commands("echo 'unclosed").is_none());
        assert!(simple_commands("echo \"$(unclosed\"").is_none());
    }

    #[test]
    fn needles_are_contains_of_any() {
        static WORDS: Needles = Needles::new(&["sudo", "rc", "/etc", "update-", "/var/lib"]);
        let texts = [
            "",
            "r",
            "rc",
            "echo rc",
            "sud",
            "xsudo x",
            "ls /et",
            "ls /etc/x",
            "apt-get update-",
            "/var/li",
            "cat /var/lib/x",
            "é/etc",
            "ssuuddoo",
            "update",
        ];
        for text in texts {
            let any = WORDS.words().iter().any(|w| text.contains(w));
            assert_eq!(WORDS.found_in(text), any, "{text:?}");
        }
    }

    #[test]
    fn substitutions() {
        assert_eq!(substitution("\"$(a \"b\")\""), Some(("a \"b\"", 3)));
        assert_eq!(substitution("$(a)"), Some(("a", 2)));
        assert_eq!(substitution("`a`"), Some(("a", 1)));
        assert_eq!(substitution("x$(a)"), None);
        assert_eq!(substitution("$(a)x"), None);
    }

    #[test]
    fn literals() {
        assert_eq!(literal("\"{{.Id}}\"").as_deref(), Some("{{.Id}}"));
        assert_eq!(literal("'{{.Id}}'").as_deref(), Some("{{.Id}}"));
        assert_eq!(
            literal("--format={{.Id}}").as_deref(),
            Some("--format={{.Id}}")
        );
        assert_eq!(literal("'$x'").as_deref(), Some("$x"));
        assert_eq!(literal("$x"), None);
        assert_eq!(literal("\"$x\""), None);
    }
}
