//! Text: a compiled output as it is written, with yml2sh's own static text (the runtime a
//! build.sh carries) referenced where it goes instead of copied in. A small build.sh is 70 KB,
//! 60 of them the runtime: copying it into one string cost a fresh page every 4 KB, which on a
//! typical config was a tenth of a whole `yml2sh -f bash` (bench/compile).

use std::fmt;
use std::io::Write;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Text {
    rendered: String,
    /// Static text to write at a byte offset of `rendered`, by offset.
    inserts: Vec<(usize, &'static str)>,
}

impl Text {
    /// `rendered` with each `(offset, text)` written at its offset (offsets in order, on
    /// character boundaries).
    pub(crate) fn new(rendered: String, inserts: Vec<(usize, &'static str)>) -> Text {
        debug_assert!(inserts.windows(2).all(|w| w[0].0 <= w[1].0));
        debug_assert!(inserts.iter().all(|(at, _)| rendered.is_char_boundary(*at)));
        Text { rendered, inserts }
    }

    /// The pieces, in order: written one after another they are the text.
    pub fn parts(&self) -> impl Iterator<Item = &str> {
        let mut from = 0;
        let mut parts = Vec::with_capacity(2 * self.inserts.len() + 1);
        for &(at, text) in &self.inserts {
            parts.push(&self.rendered[from..at]);
            parts.push(text);
            from = at;
        }
        parts.push(&self.rendered[from..]);
        parts.into_iter().filter(|p| !p.is_empty())
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.rendered.len() + self.inserts.iter().map(|(_, t)| t.len()).sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes every piece to `w`, in order.
    pub fn write_to(&self, w: &mut impl Write) -> std::io::Result<()> {
        self.parts().try_for_each(|p| w.write_all(p.as_bytes()))
    }

    /// Whether `bytes` are this text, byte for byte (`--check`).
    pub fn is(&self, bytes: &[u8]) -> bool {
        let mut rest = bytes;
        bytes.len() == self.len()
            && self.parts().all(|p| match rest.strip_prefix(p.as_bytes()) {
                Some(tail) => {
                    rest = tail;
                    true
                }
                None => false,
            })
    }
}

impl From<String> for Text {
    fn from(rendered: String) -> Text {
        Text::new(rendered, vec![])
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.parts().try_for_each(|p| f.write_str(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pieces_are_the_text_in_order() {
        let text = Text::new("ab-cd".to_string(), vec![(0, "<"), (2, "[mid]"), (5, ">")]);
        assert_eq!(text.to_string(), "<ab[mid]-cd>");
        assert_eq!(text.len(), "<ab[mid]-cd>".len());
        let mut written = vec![];
        text.write_to(&mut written).unwrap();
        assert_eq!(written, b"<ab[mid]-cd>");
        assert!(text.is(b"<ab[mid]-cd>"));
        assert!(!text.is(b"<ab[mid]-cd"));
        assert!(!text.is(b"<ab[mid]-cd>>"));
        assert!(!text.is(b"<ab[miD]-cd>"));
        assert!(Text::from(String::new()).is(b""));
        assert!(Text::from(String::new()).is_empty());
    }
}
