//! Input text: a named source and byte spans into it, with line/column lookup for diagnostics.

/// A half-open byte range `start..end` into a [`Source`]'s text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start,
            end: end.max(start),
        }
    }

    /// The smallest span covering both.
    pub fn join(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

/// The text of one input file and the name diagnostics call it by.
#[derive(Clone, Debug)]
pub struct Source {
    pub name: String,
    pub text: String,
    line_starts: Vec<usize>,
    /// (byte offset just past a non-ASCII character, extra bytes it and those before it take
    /// beyond one per character), so a column costs a lookup, not a count along its line.
    wide: Vec<(usize, usize)>,
}

impl Source {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Source {
        let text = text.into();
        // A line ends at LF, CRLF or a lone CR (YAML's line breaks: a CR-only file has lines too).
        let bytes = text.as_bytes();
        let mut line_starts = vec![0];
        if memchr::memchr(b'\r', bytes).is_none() {
            // The usual file: LF only, found with memchr rather than byte by byte.
            line_starts.extend(memchr::memchr_iter(b'\n', bytes).map(|i| i + 1));
        } else {
            line_starts.extend(bytes.iter().enumerate().filter_map(|(i, &b)| {
                let ends = b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n'));
                ends.then_some(i + 1)
            }));
        }
        let mut wide = Vec::new();
        if !text.is_ascii() {
            let mut extra = 0;
            for (i, c) in text.char_indices().filter(|(_, c)| !c.is_ascii()) {
                extra += c.len_utf8() - 1;
                wide.push((i + c.len_utf8(), extra));
            }
        }
        Source {
            name: name.into(),
            text,
            line_starts,
            wide,
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line];
        let col = (offset - start) - (self.extra_before(offset) - self.extra_before(start));
        (line + 1, col + 1)
    }

    /// Bytes beyond one per character taken by the characters that end at or before `offset`.
    fn extra_before(&self, offset: usize) -> usize {
        let n = self.wide.partition_point(|&(end, _)| end <= offset);
        n.checked_sub(1).map_or(0, |i| self.wide[i].1)
    }

    /// 1-based line number of a byte offset.
    pub fn line(&self, offset: usize) -> usize {
        self.line_col(offset).0
    }

    /// Byte offset where a 1-based line starts.
    pub fn line_start(&self, line: usize) -> usize {
        self.line_starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(self.text.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        let s = Source::new("c.yml", "ab\ncdé\n\nx");
        assert_eq!(s.line_col(0), (1, 1));
        assert_eq!(s.line_col(1), (1, 2));
        assert_eq!(s.line_col(3), (2, 1));
        assert_eq!(s.line_col(7), (2, 4)); // after the two-byte é
        assert_eq!(s.line_col(8), (3, 1));
        assert_eq!(s.line_col(9), (4, 1));
        assert_eq!(s.line_col(99), (4, 2));
    }

    #[test]
    fn cr_only_and_crlf_files_have_lines() {
        let s = Source::new("c.yml", "a\rb\r\nc\nd");
        assert_eq!(s.line_col(0), (1, 1));
        assert_eq!(s.line_col(2), (2, 1));
        assert_eq!(s.line_col(3), (2, 2), "the CR of a CRLF ends no line");
        assert_eq!(s.line_col(5), (3, 1));
        assert_eq!(s.line_col(7), (4, 1));
        assert_eq!(s.line_start(3), 5);
    }

    #[test]
    fn join_covers_both() {
        assert_eq!(Span::new(4, 6).join(Span::new(1, 2)), Span::new(1, 6));
    }
}
