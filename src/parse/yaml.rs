//! Parse stage, YAML layer: text → located node tree (the only place that touches libyaml).
//!
//! Everything above this module sees YAML only as [`Node`]s: scalars keep the
//! text exactly as YAML decodes it (no implicit typing, so `2.10` stays
//! `"2.10"`), aliases and `<<` merge keys are already resolved, and every node
//! carries the byte [`Span`] of the text it came from so that later stages can
//! point diagnostics at the right place.
//!
//! Limits, all reported as [`YamlError`]s rather than panics or exhaustion:
//! nesting deeper than [`MAX_DEPTH`] collections (`yaml-too-deep`), alias
//! expansion beyond [`MAX_NODES`] nodes (`yaml-alias-bomb`), aliases to
//! unknown anchors (`yaml-unknown-anchor`), libyaml syntax errors
//! (`yaml-syntax`) and more than one non-empty document (`multiple-documents`).
//!
//! Two libyaml gaps are papered over without moving any offset the caller
//! sees: a leading BOM, and bare `: value` entries (empty keys); see [`Source`].

use crate::diagnostic::Code;
use crate::source::Span;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::rc::Rc;

/// Deepest allowed nesting of sequences and mappings, counting alias expansions.
/// Later stages walk the tree recursively; this keeps them far from the stack limit.
pub(crate) const MAX_DEPTH: usize = 128;

/// Most nodes a document may produce, counting every copy made by an alias.
/// A real circle.yml has a few hundred; this only stops "billion laughs".
pub(crate) const MAX_NODES: usize = 100_000;

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
    let mut source = Source::new(text);
    loop {
        let parser = match libyaml::Parser::new(&source.parsed) {
            Some(parser) => parser,
            None => {
                return Err(YamlError::new(
                    Code::YamlSyntax,
                    "could not initialise the YAML parser",
                    Span::new(0, 0),
                ))
            }
        };
        let mut composer = Composer {
            source: &source,
            parser,
            anchors: HashMap::new(),
            produced: 0,
            bare_colon: None,
        };
        match composer.stream() {
            Ok(root) => return Ok(root.map(|root| root.to_node())),
            Err(error) => match composer.bare_colon {
                // A colon right after an insertion is one the rewrite did not
                // help (e.g. under-indented): report libyaml's error.
                Some(at)
                    if source.inserted.len() < MAX_EMPTY_KEYS
                        && !source.inserted.iter().any(|&(s, l)| s + l == at) =>
                {
                    drop(composer);
                    source.insert_empty_key(at);
                }
                _ => return Err(error),
            },
        }
    }
}

/// Bare `: value` lines (empty keys) rewritten in one stream before giving up.
const MAX_EMPTY_KEYS: usize = 64;

/// The text handed to libyaml, and how its offsets map back to the caller's.
///
/// Two things are not parsed as written. A BOM is cut off, because with the
/// encoding forced to UTF-8 libyaml counts it as a column and then rejects the
/// indentation of the second line. And libyaml-rs rejects an empty implicit
/// key (`: 2.1.2` as a mapping entry, "did not find expected key") although
/// YAML allows it; such a colon gets an explicit empty key `?` inserted on the
/// line before it, which parses to the same tree.
struct Source<'a> {
    original: &'a str,
    parsed: Cow<'a, str>,
    /// Bytes cut from the front of `original` (the BOM).
    base: usize,
    /// Inserted text as (start, length) in `parsed`, sorted by start.
    inserted: Vec<(usize, usize)>,
}

impl<'a> Source<'a> {
    fn new(original: &'a str) -> Source<'a> {
        let (parsed, base) = match original.strip_prefix('\u{feff}') {
            Some(rest) => (rest, original.len() - rest.len()),
            None => (original, 0),
        };
        Source {
            original,
            parsed: Cow::Borrowed(parsed),
            base,
            inserted: Vec::new(),
        }
    }

    /// Maps a libyaml index to a char boundary of `original`; positions inside
    /// inserted text map to where it was inserted.
    fn original_index(&self, parsed: usize) -> usize {
        let mut removed = 0;
        let mut index = parsed;
        for &(start, len) in &self.inserted {
            if parsed >= start + len {
                removed += len;
            } else {
                index = index.min(start);
                break;
            }
        }
        floor_boundary(self.original, (index - removed).saturating_add(self.base))
    }

    fn span(&self, start: usize, end: usize) -> Span {
        let start = self.original_index(start);
        Span::new(start, self.original_index(end).max(start))
    }

    /// Whether libyaml's "did not find expected key" at `at` is a colon that
    /// opens its line and is followed by a blank: an empty implicit key.
    fn is_bare_colon(&self, at: usize) -> bool {
        let bytes = self.parsed.as_bytes();
        let line_start = bytes[..at.min(bytes.len())]
            .iter()
            .rposition(|&b| b == b'\n' || b == b'\r')
            .map_or(0, |i| i + 1);
        bytes.get(at) == Some(&b':')
            && matches!(bytes.get(at + 1), None | Some(b' ' | b'\t' | b'\r' | b'\n'))
            && bytes[line_start..at].iter().all(|&b| b == b' ')
    }

    fn insert_empty_key(&mut self, at: usize) {
        let line_start = self.parsed[..at].rfind(['\n', '\r']).map_or(0, |i| i + 1);
        let text = format!("?\n{}", " ".repeat(at - line_start));
        let len = text.len();
        self.parsed.to_mut().insert_str(at, &text);
        for entry in &mut self.inserted {
            if entry.0 >= at {
                entry.0 += len;
            }
        }
        let position = self.inserted.partition_point(|&(start, _)| start < at);
        self.inserted.insert(position, (at, len));
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
    source: &'a Source<'a>,
    parser: libyaml::Parser<'a>,
    /// Anchors of the current document; a later definition replaces an earlier one.
    anchors: HashMap<String, Rc<Tmp>>,
    /// Nodes produced so far in this document, alias expansions included.
    produced: usize,
    /// Set when the syntax error is an empty implicit key `load` can rewrite.
    bare_colon: Option<usize>,
}

impl Composer<'_> {
    fn next(&mut self) -> Result<libyaml::Event, YamlError> {
        match self.parser.next() {
            Ok(event) => Ok(event),
            Err(e) => {
                if e.problem == "did not find expected key" && self.source.is_bare_colon(e.index) {
                    self.bare_colon = Some(e.index);
                }
                Err(self.syntax_error(e))
            }
        }
    }

    fn syntax_error(&self, e: libyaml::SyntaxError) -> YamlError {
        let message = match &e.context {
            Some(context) => format!("{} ({})", e.problem, context),
            None => e.problem.clone(),
        };
        let text = self.source.original;
        let start = self.source.original_index(e.index);
        // One character wide when there is one, so that editors show something.
        let end = text[start..]
            .chars()
            .next()
            .map_or(start, |c| start + c.len_utf8());
        YamlError::new(Code::YamlSyntax, message, Span::new(start, end))
    }

    fn span(&self, event: &libyaml::Event) -> Span {
        self.source.span(event.start.index, event.end.index)
    }

    /// libyaml never produces out-of-order events, but a bug there must not
    /// become a panic here.
    fn unexpected(&self, event: &libyaml::Event) -> YamlError {
        YamlError::new(
            Code::YamlSyntax,
            format!("unexpected YAML event {:?}", event.kind),
            self.span(event),
        )
    }

    fn stream(&mut self) -> Result<Option<Rc<Tmp>>, YamlError> {
        let first = self.next()?;
        if !matches!(first.kind, libyaml::Kind::StreamStart) {
            return Err(self.unexpected(&first));
        }
        let mut root: Option<Rc<Tmp>> = None;
        loop {
            let event = self.next()?;
            match event.kind {
                libyaml::Kind::StreamEnd => return Ok(root),
                libyaml::Kind::DocumentStart => {}
                _ => return Err(self.unexpected(&event)),
            }
            let doc_span = self.span(&event);
            let body = self.next()?;
            // A document that is only `---` (or `...`) is an empty plain scalar
            // for libyaml; such documents are not content and never conflict.
            let empty = matches!(
                &body.kind,
                libyaml::Kind::Scalar { anchor: None, tag: None, value, style: Style::Plain }
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
                self.produced = 0;
                root = Some(self.compose(body, 0)?.0);
            }
            let end = self.next()?;
            if !matches!(end.kind, libyaml::Kind::DocumentEnd) {
                return Err(self.unexpected(&end));
            }
        }
    }

    /// Builds the node starting with `event`; `depth` counts the collections
    /// around it. Also returns where the node's own text ends, which for an
    /// alias is the end of `*name`, not of the anchored node.
    fn compose(
        &mut self,
        event: libyaml::Event,
        depth: usize,
    ) -> Result<(Rc<Tmp>, usize), YamlError> {
        let span = self.span(&event);
        let (anchor, node) = match event.kind {
            libyaml::Kind::Alias { anchor } => {
                return Ok((self.alias(&anchor, span, depth)?, span.end));
            }
            libyaml::Kind::Scalar {
                anchor,
                tag,
                value,
                style,
            } => {
                self.produce(1, span)?;
                let span = self.skip_properties(span, properties(&anchor, &tag));
                let span = self.block_scalar_span(span, style);
                let node = Tmp {
                    value: TmpValue::Scalar(Scalar {
                        text: value,
                        style,
                        tag,
                    }),
                    span,
                    size: 1,
                    height: 0,
                };
                (anchor, node)
            }
            libyaml::Kind::SequenceStart { anchor, tag, flow } => {
                let span = self.skip_properties(span, properties(&anchor, &tag));
                self.check_depth(depth, span)?;
                self.produce(1, span)?;
                let mut items = Vec::new();
                let mut last = None;
                let end = loop {
                    let event = self.next()?;
                    if let libyaml::Kind::SequenceEnd = event.kind {
                        break event;
                    }
                    let (item, item_end) = self.compose(event, depth + 1)?;
                    items.push(item);
                    last = Some(item_end);
                };
                let span = self.collection_span(span, &end, flow, last);
                (anchor, collection(TmpValue::Seq(items), span))
            }
            libyaml::Kind::MappingStart { anchor, tag, flow } => {
                let span = self.skip_properties(span, properties(&anchor, &tag));
                self.check_depth(depth, span)?;
                self.produce(1, span)?;
                let mut pairs = Vec::new();
                let mut last = None;
                let end = loop {
                    let event = self.next()?;
                    if let libyaml::Kind::MappingEnd = event.kind {
                        break event;
                    }
                    let (key, _) = self.compose(event, depth + 1)?;
                    let event = self.next()?;
                    let (value, value_end) = self.compose(event, depth + 1)?;
                    pairs.push((key, value));
                    last = Some(value_end);
                };
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
        end: &libyaml::Event,
        flow: bool,
        last_child_end: Option<usize>,
    ) -> Span {
        let end = match last_child_end {
            Some(child_end) if !flow => child_end,
            _ => self.span(end).end,
        };
        Span::new(start.start, end.max(start.start))
    }

    fn alias(&mut self, anchor: &str, span: Span, depth: usize) -> Result<Rc<Tmp>, YamlError> {
        // An anchor is registered only once its node is complete, so a
        // self-referencing alias is "unknown" here rather than a cycle.
        let Some(node) = self.anchors.get(anchor).cloned() else {
            return Err(YamlError::new(
                Code::YamlUnknownAnchor,
                format!(
                    "alias *{anchor} refers to an anchor &{anchor} that is not defined before it"
                ),
                span,
            ));
        };
        if depth + node.height > MAX_DEPTH {
            return Err(too_deep(span));
        }
        self.produce(node.size, span)?;
        Ok(node)
    }

    fn produce(&mut self, nodes: usize, span: Span) -> Result<(), YamlError> {
        self.produced = self.produced.saturating_add(nodes);
        if self.produced > MAX_NODES {
            return Err(YamlError::new(
                Code::YamlAliasBomb,
                format!("aliases expand to more than {MAX_NODES} nodes"),
                span,
            ));
        }
        Ok(())
    }

    fn check_depth(&self, depth: usize, span: Span) -> Result<(), YamlError> {
        if depth >= MAX_DEPTH {
            return Err(too_deep(span));
        }
        Ok(())
    }

    /// libyaml starts a node at its anchor or tag; start it at the content
    /// instead, which is what a reader would point at.
    fn skip_properties(&self, span: Span, properties: usize) -> Span {
        let start = skip_properties(self.source.original, span.start, span.end, properties);
        Span::new(start, span.end)
    }

    /// A block scalar's end mark lies past its trailing blank lines; end it
    /// with its last non-blank character (keeping at least the `|`/`>`).
    fn block_scalar_span(&self, span: Span, style: Style) -> Span {
        if !matches!(style, Style::Literal | Style::Folded) {
            return span;
        }
        let text = &self.source.original[span.start..span.end];
        let trimmed = text.trim_end_matches([' ', '\t', '\r', '\n']);
        Span::new(
            span.start,
            span.start + trimmed.len().max(1).min(text.len()),
        )
    }
}

fn properties(anchor: &Option<String>, tag: &Option<String>) -> usize {
    usize::from(anchor.is_some()) + usize::from(tag.is_some())
}

fn too_deep(span: Span) -> YamlError {
    YamlError::new(
        Code::YamlTooDeep,
        format!("YAML nesting is deeper than {MAX_DEPTH} levels"),
        span,
    )
}

fn collection(value: TmpValue, span: Span) -> Tmp {
    let children: Vec<&Rc<Tmp>> = match &value {
        TmpValue::Seq(items) => items.iter().collect(),
        TmpValue::Map(pairs) => pairs.iter().flat_map(|(k, v)| [k, v]).collect(),
        TmpValue::Scalar(_) => Vec::new(),
    };
    let size = children
        .iter()
        .fold(1usize, |acc, n| acc.saturating_add(n.size));
    let height = 1 + children.iter().map(|n| n.height).max().unwrap_or(0);
    Tmp {
        value,
        span,
        size,
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

/// Clamps a libyaml index to a valid slicing position of `text`.
fn floor_boundary(text: &str, index: usize) -> usize {
    let mut index = index.min(text.len());
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

// ---------------------------------------------------------------------------
// The libyaml wrapper: the only `unsafe` code in the module.
//
// libyaml-rs is libyaml transpiled from C, so it keeps C's ownership rules:
// the parser must stay at one address (it keeps a pointer to itself as the
// read-handler data), the input must outlive it, each event owns malloc'd
// strings that `yaml_event_delete` frees, and `yaml_parser_delete` frees the
// parser's buffers. The wrapper copies every event into owned Rust values and
// deletes it before returning, so no libyaml memory escapes.

mod libyaml {
    use super::Style;
    use libyaml_rs as sys;
    use std::ffi::CStr;
    use std::marker::PhantomData;
    use std::mem::MaybeUninit;
    use std::os::raw::c_char;

    #[derive(Clone, Copy, Debug, Default)]
    pub(super) struct Mark {
        pub index: usize,
    }

    #[derive(Debug)]
    pub(super) enum Kind {
        StreamStart,
        StreamEnd,
        DocumentStart,
        DocumentEnd,
        Alias {
            anchor: String,
        },
        Scalar {
            anchor: Option<String>,
            tag: Option<String>,
            value: String,
            style: Style,
        },
        SequenceStart {
            anchor: Option<String>,
            tag: Option<String>,
            flow: bool,
        },
        SequenceEnd,
        MappingStart {
            anchor: Option<String>,
            tag: Option<String>,
            flow: bool,
        },
        MappingEnd,
        /// YAML_NO_EVENT or a type this wrapper does not know.
        Other,
    }

    pub(super) struct Event {
        pub kind: Kind,
        pub start: Mark,
        pub end: Mark,
    }

    pub(super) struct SyntaxError {
        pub problem: String,
        pub context: Option<String>,
        /// Byte offset of the problem in the input.
        pub index: usize,
    }

    pub(super) struct Parser<'input> {
        // Boxed so the parser never moves (see above); initialised in `new`.
        sys: Box<MaybeUninit<sys::yaml_parser_t>>,
        // libyaml reads the input through a raw pointer: tie it to the borrow.
        input: PhantomData<&'input str>,
    }

    impl<'input> Parser<'input> {
        /// `None` only if libyaml cannot allocate its buffers.
        pub fn new(input: &'input str) -> Option<Parser<'input>> {
            let mut sys = Box::new(MaybeUninit::<sys::yaml_parser_t>::uninit());
            let parser = sys.as_mut_ptr();
            // SAFETY: `parser` points to writable memory of the right size,
            // which yaml_parser_initialize fully initialises (it zeroes it
            // first). The input pointer stays valid for 'input, which outlives
            // the parser; a zero-length input is never dereferenced.
            unsafe {
                if sys::yaml_parser_initialize(parser).fail {
                    // Nothing to delete: libyaml cleans up after a failed init.
                    return None;
                }
                // Input is a &str, so skip libyaml's encoding sniffing; that
                // also keeps a BOM counted in mark indices, which stay byte
                // offsets into `input`.
                sys::yaml_parser_set_encoding(parser, sys::YAML_UTF8_ENCODING);
                sys::yaml_parser_set_input_string(parser, input.as_ptr(), input.len() as u64);
            }
            Some(Parser {
                sys,
                input: PhantomData,
            })
        }

        pub fn next(&mut self) -> Result<Event, SyntaxError> {
            let parser = self.sys.as_mut_ptr();
            let mut event = MaybeUninit::<sys::yaml_event_t>::uninit();
            // SAFETY: the parser was initialised in `new` and is not deleted
            // before drop. On success yaml_parser_parse initialises `event`;
            // it is read only then, and deleted right after being copied, on
            // every path. On failure libyaml has already freed the partial
            // event. The error strings are static C strings owned by libyaml.
            unsafe {
                if (&*parser).error != sys::YAML_NO_ERROR
                    || sys::yaml_parser_parse(parser, event.as_mut_ptr()).fail
                {
                    return Err(error(&*parser));
                }
                let event = event.as_mut_ptr();
                let converted = convert(&*event);
                sys::yaml_event_delete(event);
                Ok(converted)
            }
        }
    }

    impl Drop for Parser<'_> {
        fn drop(&mut self) {
            // SAFETY: initialised in `new`, deleted exactly once, here.
            unsafe { sys::yaml_parser_delete(self.sys.as_mut_ptr()) }
        }
    }

    /// SAFETY: `parser` must be an initialised parser in the error state.
    unsafe fn error(parser: &sys::yaml_parser_t) -> SyntaxError {
        let problem = unsafe { string(parser.problem) }
            .unwrap_or_else(|| "the YAML parser failed".to_owned());
        let context = unsafe { string(parser.context) };
        // Reader errors (e.g. a control character) have no mark, only an offset.
        let index = if parser.error == sys::YAML_READER_ERROR {
            parser.problem_offset
        } else {
            parser.problem_mark.index
        };
        SyntaxError {
            problem,
            context,
            index: index as usize,
        }
    }

    /// SAFETY: `event` must be a valid event returned by yaml_parser_parse.
    unsafe fn convert(event: &sys::yaml_event_t) -> Event {
        let kind = match event.type_ {
            sys::YAML_STREAM_START_EVENT => Kind::StreamStart,
            sys::YAML_STREAM_END_EVENT => Kind::StreamEnd,
            sys::YAML_DOCUMENT_START_EVENT => Kind::DocumentStart,
            sys::YAML_DOCUMENT_END_EVENT => Kind::DocumentEnd,
            sys::YAML_ALIAS_EVENT => Kind::Alias {
                anchor: unsafe { string(event.data.alias.anchor.cast()) }.unwrap_or_default(),
            },
            sys::YAML_SCALAR_EVENT => {
                let data = unsafe { &event.data.scalar };
                let value = if data.value.is_null() {
                    String::new()
                } else {
                    let bytes =
                        unsafe { std::slice::from_raw_parts(data.value, data.length as usize) };
                    String::from_utf8_lossy(bytes).into_owned()
                };
                Kind::Scalar {
                    anchor: unsafe { string(data.anchor.cast()) },
                    tag: unsafe { string(data.tag.cast()) },
                    value,
                    style: match data.style {
                        sys::YAML_SINGLE_QUOTED_SCALAR_STYLE => Style::SingleQuoted,
                        sys::YAML_DOUBLE_QUOTED_SCALAR_STYLE => Style::DoubleQuoted,
                        sys::YAML_LITERAL_SCALAR_STYLE => Style::Literal,
                        sys::YAML_FOLDED_SCALAR_STYLE => Style::Folded,
                        _ => Style::Plain,
                    },
                }
            }
            sys::YAML_SEQUENCE_START_EVENT => Kind::SequenceStart {
                anchor: unsafe { string(event.data.sequence_start.anchor.cast()) },
                tag: unsafe { string(event.data.sequence_start.tag.cast()) },
                flow: unsafe { event.data.sequence_start.style } == sys::YAML_FLOW_SEQUENCE_STYLE,
            },
            sys::YAML_SEQUENCE_END_EVENT => Kind::SequenceEnd,
            sys::YAML_MAPPING_START_EVENT => Kind::MappingStart {
                anchor: unsafe { string(event.data.mapping_start.anchor.cast()) },
                tag: unsafe { string(event.data.mapping_start.tag.cast()) },
                flow: unsafe { event.data.mapping_start.style } == sys::YAML_FLOW_MAPPING_STYLE,
            },
            sys::YAML_MAPPING_END_EVENT => Kind::MappingEnd,
            _ => Kind::Other,
        };
        Event {
            kind,
            start: Mark {
                index: event.start_mark.index as usize,
            },
            end: Mark {
                index: event.end_mark.index as usize,
            },
        }
    }

    /// SAFETY: `ptr` must be null or a NUL-terminated string.
    unsafe fn string(ptr: *const c_char) -> Option<String> {
        if ptr.is_null() {
            return None;
        }
        let bytes = unsafe { CStr::from_ptr(ptr) }.to_bytes();
        Some(String::from_utf8_lossy(bytes).into_owned())
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

        let text = "a: \"unclosed\nb: 1\n";
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
        assert_eq!(e.span, Span::new(text.len(), text.len()));

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
