//! Parse stage, YAML layer: text → located node tree (the only place that reads YAML).
//!
//! Everything above this module sees YAML only as [`Node`]s: scalars keep the
//! text exactly as YAML decodes it (no implicit typing, so `2.10` stays
//! `"2.10"`), aliases and `<<` merge keys are already resolved, and every node
//! carries the byte [`Span`] of the text it came from so that later stages can
//! point diagnostics at the right place.
//!
//! The events come from `saphyr-parser`, a maintained pure-Rust YAML 1.2 parser; the composer
//! below builds the tree from them. Limits, all reported as [`YamlError`]s rather than
//! panics or exhaustion: nesting deeper than [`MAX_DEPTH`] collections (`yaml-too-deep`), alias
//! expansion beyond [`MAX_ALIAS_NODES`] nodes or [`MAX_ALIAS_BYTES`] bytes of scalar text
//! (`yaml-alias-bomb`), aliases to unknown anchors (`yaml-unknown-anchor`), syntax errors
//! (`yaml-syntax`) and more than one non-empty document (`multiple-documents`). A file without
//! aliases is limited by its size only (`MAX_INPUT_BYTES`, checked before parsing).

use crate::diagnostic::Code;
use crate::source::Span;
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::fmt;
use std::rc::Rc;

/// Deepest allowed nesting of sequences and mappings, counting alias expansions.
/// Later stages walk the tree recursively; this keeps them far from the stack limit.
pub(crate) const MAX_DEPTH: usize = 128;

/// Most nodes aliases may add to a document, counting every copy an alias makes. A real
/// circle.yml has a few; this only stops "billion laughs". Nodes written in the file do not count.
pub(crate) const MAX_ALIAS_NODES: usize = 100_000;

/// Most bytes of scalar text aliases may add to a document, as much as the file itself may
/// hold: an alias of a 4 MB scalar used 2,000 times is 8 GB once expanded, yet few nodes.
pub(crate) const MAX_ALIAS_BYTES: usize = super::MAX_INPUT_BYTES;

/// A YAML node together with the bytes of the input it was read from.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Node {
    pub value: Value,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Scalar(Scalar),
    Seq(Vec<Node>),
    /// In file order, duplicates kept: the caller warns and keeps the last.
    Map(Vec<(Node, Node)>),
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Scalar {
    /// The decoded text (escapes processed, folding and chomping applied), never typed.
    pub text: String,
    pub style: Style,
    /// The resolved tag, e.g. `tag:yaml.org,2002:str` for `!!str`; `None` when untagged.
    pub tag: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

const NULL_TAG: &str = "tag:yaml.org,2002:null";

impl Node {
    /// True for the YAML 1.1/1.2 core null spellings. Only plain untagged
    /// scalars qualify: `"null"` or `!!str null` are deliberately strings.
    pub fn is_null(&self) -> bool {
        match &self.value {
            Value::Scalar(s) => match &s.tag {
                Some(tag) => tag == NULL_TAG,
                None => {
                    s.style == Style::Plain
                        && matches!(s.text.as_str(), "" | "~" | "null" | "Null" | "NULL")
                }
            },
            _ => false,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(s) => Some(&s.text),
            _ => None,
        }
    }

    /// A word for messages such as "expected a map, found a list".
    pub fn kind(&self) -> &'static str {
        match &self.value {
            Value::Scalar(_) if self.is_null() => "null",
            Value::Scalar(_) => "string",
            Value::Seq(_) => "list",
            Value::Map(_) => "map",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct YamlError {
    pub message: String,
    pub span: Span,
    pub code: Code,
}

impl YamlError {
    fn new(code: Code, message: impl Into<String>, span: Span) -> YamlError {
        YamlError {
            message: message.into(),
            span,
            code,
        }
    }
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for YamlError {}

/// Parses the whole stream. `Ok(None)` means there is nothing in it: no
/// document, or only empty ones (a file holding just comments, or just `---`).
pub(crate) fn load(text: &str) -> Result<Option<Node>, YamlError> {
    // ASCII first, a byte at a time (nearly every config is all printable ASCII); from the
    // first other byte, which starts a character, character by character.
    let ascii = text
        .bytes()
        .position(|b| !matches!(b, b'\t' | b'\n' | b'\r' | b' '..=b'~'))
        .unwrap_or(text.len());
    let odd = text[ascii..]
        .char_indices()
        .find(|&(_, c)| !is_printable(c))
        .map(|(at, c)| (ascii + at, c));
    if let Some((at, c)) = odd {
        // YAML allows only printable characters in a stream (escapes in double quotes may
        // still write others); a NUL or control character is refused, at its place.
        return Err(YamlError::new(
            Code::YamlSyntax,
            format!(
                "control characters are not allowed (U+{:04X}); write it as an escape in a double-quoted string",
                u32::from(c)
            ),
            Span::new(at, at + c.len_utf8()),
        ));
    }
    let mut composer = Composer {
        text,
        offsets: Offsets::new(text),
        events: events::Events::new(text),
        anchors: HashMap::new(),
        aliased_nodes: 0,
        aliased_bytes: 0,
        items: Vec::new(),
        pairs: Vec::new(),
    };
    let root = composer.stream();
    // Without the anchors' references, a node used once is moved into the tree, not copied.
    drop(composer);
    root.map(|root| root.map(Tmp::into_node))
}

/// YAML 1.2's c-printable: tab, line feed, carriage return, NEL and the printable rest of Unicode.
fn is_printable(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7e}' | '\u{85}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

/// The parser counts positions in characters; spans are in bytes. For ASCII text the two are
/// the same; otherwise each non-ASCII character records how many extra bytes precede the next.
struct Offsets {
    /// (character index just after a non-ASCII character, extra bytes so far), increasing.
    extra: Vec<(usize, usize)>,
    len: usize,
}

impl Offsets {
    fn new(text: &str) -> Offsets {
        let mut extra = Vec::new();
        if !text.is_ascii() {
            let mut total = 0;
            for (i, c) in text.chars().enumerate() {
                if !c.is_ascii() {
                    total += c.len_utf8() - 1;
                    extra.push((i + 1, total));
                }
            }
        }
        Offsets {
            extra,
            len: text.len(),
        }
    }

    /// The byte offset of a character index (clamped to the text).
    fn byte(&self, chars: usize) -> usize {
        let before = self.extra.partition_point(|&(at, _)| at <= chars);
        let extra = before.checked_sub(1).map_or(0, |i| self.extra[i].1);
        chars.saturating_add(extra).min(self.len)
    }
}

// ---------------------------------------------------------------------------
// Composition: events → tree.
//
// Nodes are first built as `Rc<Tmp>` so that an alias costs one pointer copy,
// however many times it is used; the owned `Node` tree is materialised once at
// the end, and by then `produced` has proved its size is bounded.

struct Tmp {
    value: TmpValue,
    span: Span,
    /// Node count of the fully expanded subtree.
    size: usize,
    /// Bytes of scalar text in the fully expanded subtree.
    bytes: usize,
    /// Collection levels in the fully expanded subtree (0 for a scalar).
    height: usize,
}

enum TmpValue {
    Scalar(Scalar),
    Seq(Vec<Rc<Tmp>>),
    Map(Vec<(Rc<Tmp>, Rc<Tmp>)>),
}

impl Tmp {
    fn to_node(&self) -> Node {
        // Recursion is bounded by MAX_DEPTH, which covers alias expansions too.
        let value = match &self.value {
            TmpValue::Scalar(s) => Value::Scalar(s.clone()),
            TmpValue::Seq(items) => Value::Seq(items.iter().map(|n| n.to_node()).collect()),
            TmpValue::Map(pairs) => Value::Map(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_node(), v.to_node()))
                    .collect(),
            ),
        };
        Node {
            value,
            span: self.span,
        }
    }

    /// [`Tmp::to_node`], moving what no alias shares instead of copying it (most nodes: the
    /// scalars' text is not allocated a second time).
    fn into_node(this: Rc<Tmp>) -> Node {
        let tmp = match Rc::try_unwrap(this) {
            Ok(tmp) => tmp,
            Err(shared) => return shared.to_node(),
        };
        let value = match tmp.value {
            TmpValue::Scalar(s) => Value::Scalar(s),
            TmpValue::Seq(items) => Value::Seq(items.into_iter().map(Tmp::into_node).collect()),
            TmpValue::Map(pairs) => Value::Map(
                pairs
                    .into_iter()
                    .map(|(k, v)| (Tmp::into_node(k), Tmp::into_node(v)))
                    .collect(),
            ),
        };
        Node {
            value,
            span: tmp.span,
        }
    }

    fn scalar(&self) -> Option<&Scalar> {
        match &self.value {
            TmpValue::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// Identity of a key for merge precedence. Only scalar keys take part
    /// (circle.yml has no others); comparing collection keys structurally
    /// would cost time quadratic in alias-expanded sizes for no benefit.
    fn key_id(&self) -> Option<Option<&str>> {
        let s = self.scalar()?;
        if s.tag.as_deref() == Some(NULL_TAG)
            || (s.tag.is_none()
                && s.style == Style::Plain
                && matches!(s.text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
        {
            Some(None)
        } else {
            Some(Some(&s.text))
        }
    }

    fn is_merge_key(&self) -> bool {
        matches!(self.scalar(), Some(s) if s.style == Style::Plain && s.tag.is_none() && s.text == "<<")
    }
}

struct Composer<'a> {
    text: &'a str,
    offsets: Offsets,
    events: events::Events<'a>,
    /// Complete nodes of the current document by anchor id (the parser gives each `&name` its
    /// own id, and an alias the id of the latest `&name` before it).
    anchors: HashMap<usize, Rc<Tmp>>,
    /// Nodes and scalar bytes that aliases added to this document.
    aliased_nodes: usize,
    aliased_bytes: usize,
    /// The items and pairs of the collections being composed, innermost last: each
    /// collection's are moved out into a vector of their exact size once it ends, so no
    /// collection's vector grows (and is copied) item by item.
    items: Vec<Rc<Tmp>>,
    pairs: Vec<(Rc<Tmp>, Rc<Tmp>)>,
}

impl Composer<'_> {
    fn next(&mut self) -> Result<events::Event, YamlError> {
        self.events.next().map_err(|e| self.syntax_error(e))
    }

    fn syntax_error(&self, e: events::SyntaxError) -> YamlError {
        let start = floor_boundary(self.text, self.offsets.byte(e.index));
        // One character wide when there is one, so that editors show something.
        let end = self.text[start..]
            .chars()
            .next()
            .map_or(start, |c| start + c.len_utf8());
        let span = Span::new(start, end);
        if e.problem.contains("recursion limit exceeded") {
            return too_deep(span);
        }
        if e.problem.contains("unknown anchor") {
            let name = self.alias_name(span.start);
            let span = Span::new(span.start, span.start + 1 + name.len());
            return unknown_anchor(name, span);
        }
        YamlError::new(Code::YamlSyntax, e.problem, span)
    }

    /// The name of the alias written at `start` (`*name`).
    fn alias_name(&self, start: usize) -> &str {
        let rest = self.text[start..].strip_prefix('*').unwrap_or("");
        let end = rest
            .find(|c: char| c.is_whitespace() || matches!(c, ',' | '[' | ']' | '{' | '}'))
            .unwrap_or(rest.len());
        &rest[..end]
    }

    fn span(&self, event: &events::Event) -> Span {
        let start = floor_boundary(self.text, self.offsets.byte(event.start));
        let end = floor_boundary(self.text, self.offsets.byte(event.end));
        Span::new(start, end.max(start))
    }

    /// The parser never produces out-of-order events, but a bug there must not
    /// become a panic here.
    fn unexpected(&self, event: &events::Event) -> YamlError {
        YamlError::new(
            Code::YamlSyntax,
            format!("unexpected YAML event {:?}", event.kind),
            self.span(event),
        )
    }

    /// The parser puts an empty value (`key:` and nothing) at its colon; it is after it.
    fn place_empty_value(&self, event: &mut events::Event) {
        if let events::Kind::Scalar { value, .. } = &event.kind {
            let at = self.offsets.byte(event.start);
            if value.is_empty() && event.start == event.end && self.text[at..].starts_with(':') {
                event.start += 1;
                event.end += 1;
            }
        }
    }

    /// Whether a collection starting at `start` (after its properties) is a flow one.
    fn is_flow(&self, start: usize) -> bool {
        matches!(self.text.as_bytes().get(start), Some(b'[' | b'{'))
    }

    fn stream(&mut self) -> Result<Option<Rc<Tmp>>, YamlError> {
        let first = self.next()?;
        if !matches!(first.kind, events::Kind::StreamStart) {
            return Err(self.unexpected(&first));
        }
        let mut root: Option<Rc<Tmp>> = None;
        loop {
            let event = self.next()?;
            match event.kind {
                events::Kind::StreamEnd => return Ok(root),
                events::Kind::DocumentStart => {}
                _ => return Err(self.unexpected(&event)),
            }
            let doc_span = self.span(&event);
            let body = self.next()?;
            // A document that is only `---` (or `...`) is an empty plain scalar;
            // such documents are not content and never conflict.
            let empty = matches!(
                &body.kind,
                events::Kind::Scalar { anchor: None, tag: None, value, style: Style::Plain }
                    if value.is_empty()
            );
            if !empty {
                if root.is_some() {
                    return Err(YamlError::new(
                        Code::MultipleDocuments,
                        "the file contains more than one YAML document; only one is allowed",
                        doc_span,
                    ));
                }
                self.anchors.clear();
                self.aliased_nodes = 0;
                self.aliased_bytes = 0;
                root = Some(self.compose(body, 0)?.0);
            }
            let end = self.next()?;
            if !matches!(end.kind, events::Kind::DocumentEnd) {
                return Err(self.unexpected(&end));
            }
        }
    }

    /// Builds the node starting with `event`; `depth` counts the collections
    /// around it. Also returns where the node's own text ends, which for an
    /// alias is the end of `*name`, not of the anchored node.
    fn compose(
        &mut self,
        event: events::Event,
        depth: usize,
    ) -> Result<(Rc<Tmp>, usize), YamlError> {
        let span = self.span(&event);
        let (anchor, node) = match event.kind {
            events::Kind::Alias { id } => {
                return Ok((self.alias(id, span, depth)?, span.end));
            }
            events::Kind::Scalar {
                anchor,
                tag,
                value,
                style,
            } => {
                let count = properties(&anchor, &tag);
                let span = self.skip_properties(span, count);
                let value = self.block_scalar_value(value, style, span);
                let span = self.block_scalar_span(span, style, count);
                let bytes = value.len();
                let node = Tmp {
                    value: TmpValue::Scalar(Scalar {
                        text: value,
                        style,
                        tag,
                    }),
                    span,
                    size: 1,
                    bytes,
                    height: 0,
                };
                (anchor, node)
            }
            events::Kind::SequenceStart { anchor, tag } => {
                let span = self.skip_properties(span, properties(&anchor, &tag));
                let flow = self.is_flow(span.start);
                self.check_depth(depth, span)?;
                let first = self.items.len();
                let mut last = None;
                let end = loop {
                    let event = self.next()?;
                    if let events::Kind::SequenceEnd = event.kind {
                        break event;
                    }
                    let (item, item_end) = self.compose(event, depth + 1)?;
                    self.items.push(item);
                    last = Some(item_end);
                };
                let items = self.items.split_off(first);
                let span = self.collection_span(span, &end, flow, last);
                (anchor, collection(TmpValue::Seq(items), span))
            }
            events::Kind::MappingStart { anchor, tag } => {
                let span = self.skip_properties(span, properties(&anchor, &tag));
                let flow = self.is_flow(span.start);
                self.check_depth(depth, span)?;
                let first = self.pairs.len();
                let mut last = None;
                let end = loop {
                    let event = self.next()?;
                    if let events::Kind::MappingEnd = event.kind {
                        break event;
                    }
                    let (key, _) = self.compose(event, depth + 1)?;
                    let mut event = self.next()?;
                    self.place_empty_value(&mut event);
                    let (value, value_end) = self.compose(event, depth + 1)?;
                    self.pairs.push((key, value));
                    last = Some(value_end);
                };
                let pairs = self.pairs.split_off(first);
                let span = self.collection_span(span, &end, flow, last);
                (anchor, collection(TmpValue::Map(merge(pairs)), span))
            }
            _ => return Err(self.unexpected(&event)),
        };
        let written_end = node.span.end;
        let node = Rc::new(node);
        if let Some(anchor) = anchor {
            self.anchors.insert(anchor, Rc::clone(&node));
        }
        Ok((node, written_end))
    }

    /// A flow collection ends at its closing bracket. A block collection's
    /// end event sits on the next token, past trailing blank lines and
    /// comments (often on the next key), so end it with its last entry.
    fn collection_span(
        &self,
        start: Span,
        end: &events::Event,
        flow: bool,
        last_child_end: Option<usize>,
    ) -> Span {
        let end_event = self.span(end);
        let end = match last_child_end {
            Some(child_end) if !flow => child_end,
            // The end event starts at the closing bracket and runs on over what follows it.
            _ if flow => self.text[end_event.start..]
                .chars()
                .next()
                .map_or(end_event.start, |c| end_event.start + c.len_utf8()),
            _ => end_event.end,
        };
        Span::new(start.start, end.max(start.start))
    }

    fn alias(&mut self, id: usize, span: Span, depth: usize) -> Result<Rc<Tmp>, YamlError> {
        // An anchor is registered only once its node is complete, so a
        // self-referencing alias is "unknown" here rather than a cycle.
        let Some(node) = self.anchors.get(&id).cloned() else {
            return Err(unknown_anchor(self.alias_name(span.start), span));
        };
        if depth + node.height > MAX_DEPTH {
            return Err(too_deep(span));
        }
        self.aliased_nodes = self.aliased_nodes.saturating_add(node.size);
        self.aliased_bytes = self.aliased_bytes.saturating_add(node.bytes);
        if self.aliased_nodes > MAX_ALIAS_NODES {
            return Err(YamlError::new(
                Code::YamlAliasBomb,
                format!("aliases expand to more than {MAX_ALIAS_NODES} nodes"),
                span,
            ));
        }
        if self.aliased_bytes > MAX_ALIAS_BYTES {
            return Err(YamlError::new(
                Code::YamlAliasBomb,
                format!("aliases expand to more than {MAX_ALIAS_BYTES} bytes of text"),
                span,
            ));
        }
        Ok(node)
    }

    fn check_depth(&self, depth: usize, span: Span) -> Result<(), YamlError> {
        if depth >= MAX_DEPTH {
            return Err(too_deep(span));
        }
        Ok(())
    }

    /// The parser starts a node at its anchor or tag; start it at the content
    /// instead, which is what a reader would point at.
    fn skip_properties(&self, span: Span, properties: usize) -> Span {
        let start = skip_properties(self.text, span.start, span.end, properties);
        Span::new(start, span.end)
    }

    /// A block scalar's end mark lies past its trailing blank lines; end it
    /// with its last non-blank character (keeping at least the `|`/`>`). Without
    /// properties the parser starts it at its content: start it at its `|`/`>`.
    fn block_scalar_span(&self, span: Span, style: Style, properties: usize) -> Span {
        if !matches!(style, Style::Literal | Style::Folded) {
            return span;
        }
        let start = if properties == 0 {
            block_indicator(self.text, span.start).unwrap_or(span.start)
        } else {
            span.start
        };
        let text = &self.text[start..span.end.max(start)];
        let trimmed = text.trim_end_matches([' ', '\t', '\r', '\n']);
        Span::new(start, start + trimmed.len().max(1).min(text.len()))
    }

    /// The parser adds a line break to a block scalar that ends the file without one; YAML
    /// keeps none there (the last line has no break to keep).
    fn block_scalar_value(&self, mut value: String, style: Style, span: Span) -> String {
        let at_end = self.text[span.end..]
            .trim_end_matches([' ', '\t'])
            .is_empty();
        if matches!(style, Style::Literal | Style::Folded)
            && at_end
            && !self.text.ends_with(['\n', '\r'])
            && value.ends_with('\n')
        {
            value.pop();
        }
        value
    }
}

/// Where the `|` or `>` of a block scalar whose content starts at `content` is: the last one on
/// the header line before it that only indicators, blanks or a comment follow.
fn block_indicator(text: &str, content: usize) -> Option<usize> {
    let before = text[..content].trim_end_matches([' ', '\t', '\r', '\n']);
    let line_start = before.rfind(['\n', '\r']).map_or(0, |i| i + 1);
    let line = &before[line_start..];
    line.char_indices()
        .rev()
        .filter(|&(_, c)| c == '|' || c == '>')
        .find(|&(i, _)| {
            let rest = line[i + 1..]
                .trim_start_matches(|c: char| c.is_ascii_digit() || c == '+' || c == '-');
            let rest = rest.trim_start_matches([' ', '\t']);
            rest.is_empty() || (rest.starts_with('#') && rest.len() < line.len() - i - 1)
        })
        .map(|(i, _)| line_start + i)
}

fn properties(anchor: &Option<usize>, tag: &Option<String>) -> usize {
    usize::from(anchor.is_some()) + usize::from(tag.is_some())
}

fn unknown_anchor(name: &str, span: Span) -> YamlError {
    YamlError::new(
        Code::YamlUnknownAnchor,
        format!("alias *{name} refers to an anchor &{name} that is not defined before it"),
        span,
    )
}

fn too_deep(span: Span) -> YamlError {
    YamlError::new(
        Code::YamlTooDeep,
        format!("YAML nesting is deeper than {MAX_DEPTH} levels"),
        span,
    )
}

fn collection(value: TmpValue, span: Span) -> Tmp {
    let (mut size, mut bytes, mut below) = (1usize, 0usize, 0usize);
    let mut add = |n: &Tmp| {
        size = size.saturating_add(n.size);
        bytes = bytes.saturating_add(n.bytes);
        below = below.max(n.height);
    };
    match &value {
        TmpValue::Seq(items) => items.iter().for_each(|n| add(n)),
        TmpValue::Map(pairs) => pairs.iter().for_each(|(k, v)| {
            add(k);
            add(v);
        }),
        TmpValue::Scalar(_) => {}
    }
    let height = 1 + below;
    Tmp {
        value,
        span,
        size,
        bytes,
        height,
    }
}

/// Resolves `<<` merge keys (YAML 1.1 merge type). The merged entries take
/// the place of the `<<` entry; keys written in the mapping itself win, and
/// among several merged maps the earlier one wins, as the spec says. A `<<`
/// whose value is neither a map nor a list of maps stays an ordinary entry,
/// so the caller can complain about it with its real location.
fn merge(pairs: Vec<(Rc<Tmp>, Rc<Tmp>)>) -> Vec<(Rc<Tmp>, Rc<Tmp>)> {
    let sources = |value: &Rc<Tmp>| -> Option<Vec<Rc<Tmp>>> {
        match &value.value {
            TmpValue::Map(_) => Some(vec![Rc::clone(value)]),
            TmpValue::Seq(items) if items.iter().all(|i| matches!(i.value, TmpValue::Map(_))) => {
                Some(items.clone())
            }
            _ => None,
        }
    };
    if !pairs
        .iter()
        .any(|(k, v)| k.is_merge_key() && sources(v).is_some())
    {
        return pairs;
    }
    let explicit: HashSet<Option<String>> = pairs
        .iter()
        .filter(|(k, v)| !(k.is_merge_key() && sources(v).is_some()))
        .filter_map(|(k, _)| k.key_id().map(|id| id.map(str::to_owned)))
        .collect();
    let mut merged: HashSet<Option<String>> = HashSet::new();
    let mut out = Vec::with_capacity(pairs.len());
    for (key, value) in pairs {
        let Some(maps) = key.is_merge_key().then(|| sources(&value)).flatten() else {
            out.push((key, value));
            continue;
        };
        for map in maps {
            let TmpValue::Map(entries) = &map.value else {
                continue;
            };
            // Duplicates inside one merged map are kept, like in any map.
            let mut this_map = HashSet::new();
            for (k, v) in entries {
                if let Some(id) = k.key_id().map(|id| id.map(str::to_owned)) {
                    if explicit.contains(&id) || merged.contains(&id) {
                        continue;
                    }
                    this_map.insert(id);
                }
                out.push((Rc::clone(k), Rc::clone(v)));
            }
            merged.extend(this_map);
        }
    }
    out
}

/// Moves past `count` node properties (`&anchor`, `!tag`) and the blanks,
/// line breaks and comments after each, never beyond `end`.
fn skip_properties(text: &str, start: usize, end: usize, count: usize) -> usize {
    let bytes = text.as_bytes();
    let blank = |b: u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let mut pos = start;
    for _ in 0..count {
        if !matches!(bytes.get(pos), Some(b'&' | b'!')) {
            break;
        }
        // No property form contains a blank, verbatim `!<...>` tags included.
        while pos < end && !blank(bytes[pos]) {
            pos += 1;
        }
        loop {
            while pos < end && blank(bytes[pos]) {
                pos += 1;
            }
            if pos < end && bytes[pos] == b'#' {
                while pos < end && bytes[pos] != b'\n' {
                    pos += 1;
                }
            } else {
                break;
            }
        }
    }
    // Only ASCII bytes were skipped, so `pos` is on a character boundary.
    pos.min(end)
}

/// Clamps an index to a valid slicing position of `text`.
fn floor_boundary(text: &str, index: usize) -> usize {
    let mut index = index.min(text.len());
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

// ---------------------------------------------------------------------------
// The event source: saphyr-parser's events, copied into owned values the composer matches on.

mod events {
    use super::Style;
    use saphyr_parser::{Event as SaphyrEvent, Parser, ScalarStyle, StrInput};

    #[derive(Debug)]
    pub(super) enum Kind {
        StreamStart,
        StreamEnd,
        DocumentStart,
        DocumentEnd,
        Alias {
            /// The anchor id the parser gave the `&name` this alias refers to.
            id: usize,
        },
        Scalar {
            anchor: Option<usize>,
            tag: Option<String>,
            value: String,
            style: Style,
        },
        SequenceStart {
            anchor: Option<usize>,
            tag: Option<String>,
        },
        SequenceEnd,
        MappingStart {
            anchor: Option<usize>,
            tag: Option<String>,
        },
        MappingEnd,
        /// An event this wrapper does not know.
        Other,
    }

    /// An event and where it is, in characters.
    pub(super) struct Event {
        pub kind: Kind,
        pub start: usize,
        pub end: usize,
    }

    pub(super) struct SyntaxError {
        pub problem: String,
        /// Character index of the problem in the input.
        pub index: usize,
    }

    pub(super) struct Events<'input> {
        parser: Parser<'input, StrInput<'input>>,
        /// Where the last event ended: an early end of events is reported there.
        last: usize,
    }

    impl<'input> Events<'input> {
        pub fn new(input: &'input str) -> Events<'input> {
            Events {
                parser: Parser::new_from_str(input),
                last: 0,
            }
        }

        pub fn next(&mut self) -> Result<Event, SyntaxError> {
            let (event, span) = match self.parser.next() {
                Some(Ok(next)) => next,
                Some(Err(e)) => {
                    return Err(SyntaxError {
                        problem: e.info().to_owned(),
                        index: e.marker().index(),
                    })
                }
                None => {
                    return Err(SyntaxError {
                        problem: "the YAML events ended early".to_owned(),
                        index: self.last,
                    })
                }
            };
            let anchor = |id: usize| (id > 0).then_some(id);
            let tag = |t: Option<std::borrow::Cow<'_, saphyr_parser::Tag>>| {
                t.map(|t| format!("{}{}", t.handle, t.suffix))
            };
            let kind = match event {
                SaphyrEvent::StreamStart => Kind::StreamStart,
                SaphyrEvent::StreamEnd => Kind::StreamEnd,
                SaphyrEvent::DocumentStart(_) => Kind::DocumentStart,
                SaphyrEvent::DocumentEnd => Kind::DocumentEnd,
                SaphyrEvent::Alias(id) => Kind::Alias { id },
                SaphyrEvent::Scalar(value, style, id, t) => Kind::Scalar {
                    anchor: anchor(id),
                    tag: tag(t),
                    value: value.into_owned(),
                    style: match style {
                        ScalarStyle::SingleQuoted => Style::SingleQuoted,
                        ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
                        ScalarStyle::Literal => Style::Literal,
                        ScalarStyle::Folded => Style::Folded,
                        _ => Style::Plain,
                    },
                },
                SaphyrEvent::SequenceStart(id, t) => Kind::SequenceStart {
                    anchor: anchor(id),
                    tag: tag(t),
                },
                SaphyrEvent::SequenceEnd => Kind::SequenceEnd,
                SaphyrEvent::MappingStart(id, t) => Kind::MappingStart {
                    anchor: anchor(id),
                    tag: tag(t),
                },
                SaphyrEvent::MappingEnd => Kind::MappingEnd,
                _ => Kind::Other,
            };
            self.last = span.end.index();
            Ok(Event {
                kind,
                start: span.start.index(),
                end: span.end.index(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Node {
        match load(text) {
            Ok(Some(node)) => node,
            other => panic!("expected a document, got {other:?}"),
        }
    }

    fn error(text: &str) -> YamlError {
        match load(text) {
            Err(e) => e,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    fn map(node: &Node) -> &[(Node, Node)] {
        match &node.value {
            Value::Map(pairs) => pairs,
            other => panic!("expected a map, got {other:?}"),
        }
    }

    fn seq(node: &Node) -> &[Node] {
        match &node.value {
            Value::Seq(items) => items,
            other => panic!("expected a list, got {other:?}"),
        }
    }

    fn get<'n>(node: &'n Node, key: &str) -> &'n Node {
        map(node)
            .iter()
            .rev()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("no key {key}"))
    }

    fn scalar(node: &Node) -> &Scalar {
        match &node.value {
            Value::Scalar(s) => s,
            other => panic!("expected a scalar, got {other:?}"),
        }
    }

    fn keys(node: &Node) -> Vec<&str> {
        map(node).iter().map(|(k, _)| k.as_str().unwrap()).collect()
    }

    fn at(text: &str, span: Span) -> &str {
        &text[span.start..span.end]
    }

    /// 1-based (line, column) of a byte offset.
    fn line_col(text: &str, offset: usize) -> (usize, usize) {
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = offset - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        (line, column)
    }

    #[test]
    fn spans_point_at_the_text() {
        // As written in the brief: the whole block indented by two.
        let text =
            "  test:\n    override:\n      - echo one\n      - ./run.sh:\n          timeout: 30\n";
        let root = parse(text);
        let overrides = get(get(&root, "test"), "override");
        let items = seq(overrides);
        assert_eq!(items[0].as_str(), Some("echo one"));
        assert_eq!(line_col(text, items[0].span.start), (3, 9));
        assert_eq!(items[0].span.start, text.find("echo one").unwrap());
        assert_eq!(at(text, items[0].span), "echo one");
        let (key, value) = &map(&items[1])[0];
        assert_eq!(at(text, key.span), "./run.sh");
        let (timeout, thirty) = &map(value)[0];
        assert_eq!(at(text, timeout.span), "timeout");
        assert_eq!(timeout.span.start, text.find("timeout").unwrap());
        assert_eq!(line_col(text, timeout.span.start), (5, 11));
        assert_eq!(at(text, thirty.span), "30");
        // A block mapping starts at its first key and ends with its last value.
        assert_eq!(at(text, value.span), "timeout: 30");
        assert_eq!(at(text, root.span), text.trim());
        assert_eq!(
            at(text, overrides.span),
            "- echo one\n      - ./run.sh:\n          timeout: 30"
        );

        // The same file without the extra indentation.
        let text = "test:\n  override:\n    - echo one\n    - ./run.sh:\n        timeout: 30\n";
        let root = parse(text);
        let items = seq(get(get(&root, "test"), "override"));
        assert_eq!(line_col(text, items[0].span.start), (3, 7));
        assert_eq!(at(text, items[0].span), "echo one");
        let timeout = &map(&map(&items[1])[0].1)[0].0;
        assert_eq!(
            timeout.span,
            Span::new(text.find("timeout").unwrap(), text.find(": 30").unwrap())
        );
    }

    #[test]
    fn block_collections_do_not_swallow_trailing_comments() {
        let text = "a:\n  b: 1\n\n# about c\nc: [1, {d: 2} ]  # flow\n";
        let root = parse(text);
        assert_eq!(at(text, get(&root, "a").span), "b: 1");
        assert_eq!(at(text, get(&root, "c").span), "[1, {d: 2} ]");
        assert_eq!(at(text, seq(get(&root, "c"))[1].span), "{d: 2}");
    }

    #[test]
    fn scalar_spans_cover_quotes_and_block_indicators_but_not_properties() {
        let text = "a: 'x'\nb: \"y\\n\"\nc: |\n  one\n  two\n\n\n# next\nd: &anchor\n  # note\n  !!str 1.0\ne: >-\n  folded\n";
        let root = parse(text);
        assert_eq!(at(text, get(&root, "a").span), "'x'");
        assert_eq!(at(text, get(&root, "b").span), "\"y\\n\"");
        assert_eq!(at(text, get(&root, "c").span), "|\n  one\n  two");
        assert_eq!(at(text, get(&root, "d").span), "1.0");
        assert_eq!(at(text, get(&root, "e").span), ">-\n  folded");
    }

    #[test]
    fn scalars_keep_raw_text() {
        let text = "version: 2.10\nb: true\nc: 010\nd: 'it''s'\ne: \"tab\\there \\u00e9\"\nf: |\n  l1\n  l2\ng: |-\n  l1\nh: |+\n  l1\n\ni: >\n  a\n  b\n\n  c\nj: plain\n  folded\n";
        let root = parse(text);
        let version = scalar(get(&root, "version"));
        assert_eq!(version.text, "2.10");
        assert_eq!(version.style, Style::Plain);
        assert_eq!(version.tag, None);
        assert_eq!(get(&root, "b").as_str(), Some("true"));
        assert_eq!(get(&root, "b").kind(), "string");
        assert_eq!(get(&root, "c").as_str(), Some("010"));
        assert_eq!(get(&root, "d").as_str(), Some("it's"));
        assert_eq!(scalar(get(&root, "d")).style, Style::SingleQuoted);
        assert_eq!(get(&root, "e").as_str(), Some("tab\there é"));
        assert_eq!(scalar(get(&root, "e")).style, Style::DoubleQuoted);
        assert_eq!(get(&root, "f").as_str(), Some("l1\nl2\n"));
        assert_eq!(scalar(get(&root, "f")).style, Style::Literal);
        assert_eq!(get(&root, "g").as_str(), Some("l1"));
        assert_eq!(get(&root, "h").as_str(), Some("l1\n\n"));
        assert_eq!(get(&root, "i").as_str(), Some("a b\nc\n"));
        assert_eq!(scalar(get(&root, "i")).style, Style::Folded);
        assert_eq!(get(&root, "j").as_str(), Some("plain folded"));
    }

    #[test]
    fn nulls_tags_and_kinds() {
        let text = "a:\nb: ~\nc: null\nd: Null\ne: NULL\nf: 'null'\ng: !!null x\nh: !!str null\ni: !!str 1.0\nj: []\nk: {}\nl: nul\n";
        let root = parse(text);
        for key in ["a", "b", "c", "d", "e", "g"] {
            assert!(get(&root, key).is_null(), "{key}");
            assert_eq!(get(&root, key).kind(), "null");
        }
        for key in ["f", "h", "i", "l"] {
            assert!(!get(&root, key).is_null(), "{key}");
            assert_eq!(get(&root, key).kind(), "string");
        }
        let i = scalar(get(&root, "i"));
        assert_eq!(i.text, "1.0");
        assert_eq!(i.tag.as_deref(), Some("tag:yaml.org,2002:str"));
        assert_eq!(get(&root, "j").kind(), "list");
        assert_eq!(get(&root, "k").kind(), "map");
        assert_eq!(get(&root, "j").as_str(), None);
        assert_eq!(root.kind(), "map");
    }

    #[test]
    fn duplicate_keys_are_kept_in_order() {
        let root = parse("a: 1\nb: 2\na: 3\n");
        assert_eq!(keys(&root), ["a", "b", "a"]);
        assert_eq!(get(&root, "a").as_str(), Some("3"));
    }

    #[test]
    fn aliases_clone_the_anchored_node() {
        let text = "base: &b\n  x: 1\n  y: [2]\nuse: *b\nlist: [&s one, *s]\n";
        let root = parse(text);
        assert_eq!(get(&root, "use"), get(&root, "base"));
        assert_eq!(at(text, get(&root, "use").span), "x: 1\n  y: [2]");
        let list = seq(get(&root, "list"));
        assert_eq!(list[1], list[0]);
        assert_eq!(at(text, list[1].span), "one");
    }

    #[test]
    fn unknown_and_self_referencing_aliases() {
        let text = "a: *nope\n";
        let e = error(text);
        assert_eq!(e.code, Code::YamlUnknownAnchor);
        assert_eq!(at(text, e.span), "*nope");
        assert_eq!(error("a: &x [*x]\n").code, Code::YamlUnknownAnchor);
    }

    #[test]
    fn billion_laughs_fails_fast() {
        let mut text = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        for level in 1..9u8 {
            let prev = (b'a' + level - 1) as char;
            let this = (b'a' + level) as char;
            let refs = vec![format!("*{prev}"); 9].join(",");
            text.push_str(&format!("{this}: &{this} [{refs}]\n"));
        }
        let started = std::time::Instant::now();
        let e = error(&text);
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        assert_eq!(e.code, Code::YamlAliasBomb);
        assert_eq!(e.message, "aliases expand to more than 100000 nodes");
        assert!(
            at(&text, e.span).starts_with('*'),
            "{:?}",
            at(&text, e.span)
        );
        // Five levels expand to about 75k nodes in all: still allowed.
        let smaller: String = text.lines().take(5).map(|l| format!("{l}\n")).collect();
        assert!(load(&smaller).is_ok());
    }

    #[test]
    fn merge_keys() {
        let text = "\
defaults: &d
  a: 1
  b: 2
other: &o
  b: 20
  c: 30
one:
  x: 0
  <<: *d
  a: 10
two:
  <<: [*o, *d]
  z: 9
odd:
  <<: 5
";
        let root = parse(text);
        let one = get(&root, "one");
        assert_eq!(keys(one), ["x", "b", "a"]);
        assert_eq!(get(one, "a").as_str(), Some("10"));
        assert_eq!(get(one, "b").as_str(), Some("2"));
        // The merged entry still points at where it is written.
        assert_eq!(at(text, map(one)[1].0.span), "b");
        assert_eq!(map(one)[1].0.span.start, text.find("b: 2").unwrap());
        let two = get(&root, "two");
        assert_eq!(keys(two), ["b", "c", "a", "z"]);
        assert_eq!(get(two, "b").as_str(), Some("20"));
        // Not a map or list of maps: left for the caller to report.
        assert_eq!(keys(get(&root, "odd")), ["<<"]);
        // A quoted "<<" is an ordinary key.
        assert_eq!(keys(&parse("d: &d {a: 1}\nm: {'<<': *d}\n"))[..1], ["d"]);
        assert_eq!(
            keys(get(&parse("d: &d {a: 1}\nm: {'<<': *d}\n"), "m")),
            ["<<"]
        );
    }

    #[test]
    fn depth_is_bounded() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(load(&ok).is_ok());
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        let e = error(&deep);
        assert_eq!(e.code, Code::YamlTooDeep);
        assert_eq!(e.span.start, MAX_DEPTH);
        // Unclosed and very deep: must stop at the limit, not overflow a stack.
        assert_eq!(error(&"[".repeat(100_000)).code, Code::YamlTooDeep);
        let block: String = (0..200).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
        assert_eq!(error(&block).code, Code::YamlTooDeep);
        // Aliases cannot be used to exceed the depth either.
        let half = 100;
        let nested = format!(
            "a: &a {}{}\nb: {}*a{}\n",
            "[".repeat(half),
            "]".repeat(half),
            "[".repeat(half),
            "]".repeat(half)
        );
        assert_eq!(error(&nested).code, Code::YamlTooDeep);
    }

    #[test]
    fn syntax_errors() {
        let text = "a: b: c\n";
        let e = error(text);
        assert_eq!(e.code, Code::YamlSyntax);
        assert_eq!(e.message, "mapping values are not allowed in this context");
        assert_eq!(e.span, Span::new(4, 5));

        // An unclosed quote is reported at the quote that opens it.
        let text = "a: \"unclosed\n  b: 1\n";
        let e = error(text);
        assert_eq!(e.code, Code::YamlSyntax);
        assert!(
            e.message.contains("found unexpected end of stream"),
            "{}",
            e.message
        );
        assert!(
            e.message.contains("while scanning a quoted scalar"),
            "{}",
            e.message
        );
        assert_eq!(e.span, Span::new(3, 4));
        let e = error("a: \"unclosed\nb: 1\n");
        assert!(e.message.contains("quoted scalar"), "{}", e.message);
        assert_eq!(e.span, Span::new(3, 4));

        let text = "a:\n  b: 1\n c: 2\n";
        let e = error(text);
        assert_eq!(e.code, Code::YamlSyntax);
        assert!(e.span.end - e.span.start <= 1);

        let e = error("a: \u{1}\n");
        assert_eq!(e.code, Code::YamlSyntax);
        assert_eq!(e.span, Span::new(3, 4));
    }

    #[test]
    fn documents() {
        assert_eq!(load("").unwrap(), None);
        assert_eq!(load("# just a comment\n\n").unwrap(), None);
        assert_eq!(load("---\n").unwrap(), None);
        assert_eq!(load("---\n...\n").unwrap(), None);
        assert_eq!(keys(&parse("---\na: 1\n")), ["a"]);
        assert_eq!(keys(&parse("a: 1\n---\n")), ["a"]);
        assert_eq!(parse("--- ~\n").kind(), "null");
        let text = "a: 1\n---\nb: 2\n";
        let e = error(text);
        assert_eq!(e.code, Code::MultipleDocuments);
        assert_eq!(at(text, e.span), "---");
        assert_eq!(e.span.start, 5);
        assert_eq!(
            error("---\na: 1\n---\nb: 2\n").code,
            Code::MultipleDocuments
        );
    }

    #[test]
    fn crlf_bom_tabs_and_no_final_newline() {
        let text = "\u{feff}a: 1\r\nb:\r\n  - \"x\\ty\"\r\n  - v\tw\r\nc: |\r\n  l1\r\n  l2";
        let root = parse(text);
        assert_eq!(keys(&root), ["a", "b", "c"]);
        assert_eq!(map(&root)[0].0.span, Span::new(3, 4));
        let b = seq(get(&root, "b"));
        assert_eq!(b[0].as_str(), Some("x\ty"));
        assert_eq!(b[1].as_str(), Some("v\tw"));
        assert_eq!(at(text, b[1].span), "v\tw");
        assert_eq!(get(&root, "c").as_str(), Some("l1\nl2"));
        // An error after a BOM still points at the right byte.
        let text = "\u{feff}a: b: c";
        assert_eq!(at(text, error(text).span), ":");
    }

    #[test]
    fn cr_only_line_breaks() {
        let text = "a: 1\rb:\r  - x\r  - |\r    l1\r    l2\r";
        let root = parse(text);
        assert_eq!(keys(&root), ["a", "b"]);
        let b = seq(get(&root, "b"));
        assert_eq!(at(text, b[0].span), "x");
        assert_eq!(b[1].as_str(), Some("l1\nl2\n"));
        assert_eq!(at(text, b[1].span), "|\r    l1\r    l2");
    }

    #[test]
    fn nul_and_control_characters_are_refused_where_they_are() {
        let text = "test:\n  override:\n    - echo a\0b\n";
        let e = error(text);
        assert_eq!(e.code, Code::YamlSyntax);
        assert_eq!(e.span.start, text.find('\0').unwrap());
        assert!(e.message.contains("U+0000"), "{}", e.message);
        // Written as an escape, a control character is text like any other.
        let root = parse("a: \"x\\u0001y\"\n");
        assert_eq!(get(&root, "a").as_str(), Some("x\u{1}y"));
    }

    #[test]
    fn many_bare_colons_parse_in_one_pass() {
        let mut text = String::from("a: 1\n");
        for i in 0..5000 {
            text.push_str(&format!(": v{i}\n"));
        }
        let root = parse(&text);
        assert_eq!(map(&root).len(), 5001);
    }

    #[test]
    fn non_ascii_text_keeps_byte_spans() {
        let text = "é: \"😀 x\"\nb: [ü, &a ö]\nc: *a\n";
        let root = parse(text);
        assert_eq!(at(text, get(&root, "é").span), "\"😀 x\"");
        assert_eq!(at(text, seq(get(&root, "b"))[1].span), "ö");
        assert_eq!(at(text, get(&root, "b").span), "[ü, &a ö]");
        assert_eq!(get(&root, "c").as_str(), Some("ö"));
        let e = error("é: [😀\n");
        assert_eq!(e.code, Code::YamlSyntax);
    }

    #[test]
    fn alias_budget_counts_expanded_bytes_not_written_nodes() {
        // Many nodes written out, no alias: only the size limit applies.
        let mut text = String::from("test:\n  override:\n");
        for i in 0..60_000 {
            text.push_str(&format!("    - echo {i}:\n        timeout: 5\n"));
        }
        assert!(load(&text).is_ok());
        // One big scalar used many times: refused by its expanded bytes.
        let big = "x".repeat(100_000);
        let mut text = format!("a: &a {big}\nb:\n");
        for _ in 0..20 {
            text.push_str("  - *a\n");
        }
        let e = error(&text);
        assert_eq!(e.code, Code::YamlAliasBomb);
        assert!(e.message.contains("bytes"), "{}", e.message);
    }

    #[test]
    fn complex_and_null_keys() {
        let text = "? |\n  multi\n  line\n: value\n";
        let root = parse(text);
        let (key, value) = &map(&root)[0];
        assert_eq!(key.as_str(), Some("multi\nline\n"));
        assert_eq!(scalar(key).style, Style::Literal);
        assert_eq!(at(text, key.span), "|\n  multi\n  line");
        assert_eq!(value.as_str(), Some("value"));

        let text = "machine:\r\n  ruby:\r\n    : 2.1.2\r\n  node: 1\r\n";
        let root = parse(text);
        let ruby = get(get(&root, "machine"), "ruby");
        let (key, value) = &map(ruby)[0];
        assert!(key.is_null());
        assert_eq!(
            key.span,
            Span::new(text.find(": 2").unwrap(), text.find(": 2").unwrap())
        );
        assert_eq!(value.as_str(), Some("2.1.2"));
        assert_eq!(at(text, value.span), "2.1.2");
        assert_eq!(at(text, get(get(&root, "machine"), "node").span), "1");

        let text = "a: 1\n: 2\n: 3\nb: x";
        let root = parse(text);
        assert_eq!(map(&root).len(), 4);
        assert_eq!(at(text, get(&root, "b").span), "x");
        // A misplaced colon is still a syntax error, at the colon.
        let text = "a:\n  b: |\n    x\n :\n";
        let e = error(text);
        assert_eq!(e.code, Code::YamlSyntax);
        assert_eq!(e.span.start, text.rfind(':').unwrap());
    }

    #[test]
    fn mutated_input_never_panics() {
        let sample = "\
machine:
  ruby:
    version: 2.1.2
  environment: &env
    FOO: \"bar\\n\"
dependencies:
  pre: [ 'a', \"b\" ]
  override:
    - |
      echo one
    - >-
      two
test:
  <<: *env
  override:
    - ./run.sh:
        timeout: 30
? complex
: ~
";
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize
        };
        let specials = b"-:?[]{},&*!|>'\"%@`#\n\r\t ~<";
        for _ in 0..600 {
            let mut bytes = sample.as_bytes().to_vec();
            for _ in 0..1 + next() % 6 {
                let pos = next() % bytes.len();
                match next() % 4 {
                    0 => bytes[pos] = specials[next() % specials.len()],
                    1 => bytes[pos] = next() as u8,
                    2 => bytes.insert(pos, specials[next() % specials.len()]),
                    _ => {
                        bytes.remove(pos);
                    }
                }
            }
            let text = String::from_utf8_lossy(&bytes);
            match load(&text) {
                Ok(Some(node)) => check_spans(&text, &node),
                Ok(None) => {}
                Err(e) => assert!(e.span.start <= e.span.end && e.span.end <= text.len()),
            }
        }
    }

    fn check_spans(text: &str, node: &Node) {
        assert!(node.span.start <= node.span.end && node.span.end <= text.len());
        assert!(text.is_char_boundary(node.span.start) && text.is_char_boundary(node.span.end));
        match &node.value {
            Value::Scalar(_) => {}
            Value::Seq(items) => items.iter().for_each(|n| check_spans(text, n)),
            Value::Map(pairs) => pairs.iter().for_each(|(k, v)| {
                check_spans(text, k);
                check_spans(text, v);
            }),
        }
    }
}
