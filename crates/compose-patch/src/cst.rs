//! A small, position-carrying view of the lossless syntax tree.
//!
//! `yaml-edit` parses the text into a rowan tree that keeps every byte. This module
//! walks that tree once and keeps only what the editors need: for every node its
//! byte range, whether an anchor or tag is attached, and its children. Values are
//! never decoded here; the typed view (`yaml_serde`) is the authority on meaning and
//! the two are matched up by position (mapping entry index, sequence item index).

use std::ops::Range;

use rowan::ast::AstNode;
use yaml_edit::{Parse, SyntaxKind as K, YamlFile};

type SyntaxNode = rowan::SyntaxNode<yaml_edit::Lang>;

/// How a scalar is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Plain,
    Single,
    Double,
    Literal,
    Folded,
}

/// One node of the document with its source range.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// Range of the node itself (without anchor or tag).
    pub range: Range<usize>,
    /// Offset of an anchor (`&name`) attached to the node, if any.
    pub anchor: Option<usize>,
    /// Whether an explicit tag is attached.
    pub tagged: bool,
    pub kind: Kind,
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Scalar(Style),
    Seq { flow: bool, items: Vec<Item> },
    Map { flow: bool, entries: Vec<Entry> },
    Alias,
}

/// A sequence item: `start` is the offset of its `-` (block) or of the item (flow).
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub start: usize,
    pub node: Option<Node>,
}

/// A mapping entry.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub key: Node,
    /// Offset just after the `:` that ends the key.
    pub colon_end: usize,
    pub value: Option<Node>,
    /// Whether the key is the merge key `<<`.
    pub merge: bool,
}

/// Problems the lossless parser reports for text the typed parser accepted.
#[derive(Debug, Clone)]
pub(crate) struct CstError {
    pub offset: usize,
    pub message: String,
}

fn range_of(node: &SyntaxNode) -> Range<usize> {
    let r = node.text_range();
    usize::from(r.start())..usize::from(r.end())
}

fn is_content(kind: K) -> bool {
    matches!(
        kind,
        K::SCALAR | K::MAPPING | K::SEQUENCE | K::ALIAS | K::TAGGED_NODE
    )
}

fn kind_of(node: &SyntaxNode) -> K {
    node.kind()
}

/// Parse `text` and return the root node of its single document (None for an
/// empty document).
pub(crate) fn parse(text: &str) -> Result<Option<Node>, CstError> {
    let parsed = Parse::<YamlFile>::parse_yaml(text);
    let root = parsed.tree().syntax().clone();
    if let Some(err) = find_error(&root) {
        return Err(err);
    }
    let docs: Vec<SyntaxNode> = root
        .children()
        .filter(|n| kind_of(n) == K::DOCUMENT)
        .collect();
    if docs.len() > 1 {
        return Err(CstError {
            offset: docs.get(1).map_or(0, |d| range_of(d).start),
            message: "more than one document".to_owned(),
        });
    }
    let Some(doc) = docs.first() else {
        return Ok(None);
    };
    content_of(doc)
}

fn find_error(root: &SyntaxNode) -> Option<CstError> {
    for node in root.descendants() {
        if kind_of(&node) == K::ERROR {
            return Some(CstError {
                offset: range_of(&node).start,
                message: format!("cannot read {:?}", node.text().to_string()),
            });
        }
    }
    for tok in root
        .descendants_with_tokens()
        .filter_map(rowan::NodeOrToken::into_token)
    {
        if tok.kind() == K::UNTERMINATED_STRING {
            return Some(CstError {
                offset: usize::from(tok.text_range().start()),
                message: "unterminated string".to_owned(),
            });
        }
    }
    None
}

/// The content node inside a wrapper (`DOCUMENT`, `VALUE`, `SEQUENCE_ENTRY`), with any
/// anchor or tag found in the wrapper's own tokens.
fn content_of(wrapper: &SyntaxNode) -> Result<Option<Node>, CstError> {
    let mut anchor = None;
    for el in wrapper.children_with_tokens() {
        match el {
            rowan::NodeOrToken::Token(t) => {
                if t.kind() == K::ANCHOR {
                    anchor = Some(usize::from(t.text_range().start()));
                }
            }
            rowan::NodeOrToken::Node(n) => {
                if is_content(kind_of(&n)) {
                    let mut node = build(&n)?;
                    if node.anchor.is_none() {
                        node.anchor = anchor;
                    }
                    return Ok(Some(node));
                }
            }
        }
    }
    Ok(None)
}

fn build(node: &SyntaxNode) -> Result<Node, CstError> {
    let range = range_of(node);
    match kind_of(node) {
        K::TAGGED_NODE => {
            let mut anchor = None;
            for t in node
                .children_with_tokens()
                .filter_map(rowan::NodeOrToken::into_token)
            {
                if t.kind() == K::ANCHOR {
                    anchor = Some(usize::from(t.text_range().start()));
                }
            }
            match node.children().find(|n| is_content(kind_of(n))) {
                Some(inner) => {
                    let mut built = build(&inner)?;
                    built.tagged = true;
                    if built.anchor.is_none() {
                        built.anchor = anchor;
                    }
                    Ok(built)
                }
                None => Ok(Node {
                    range,
                    anchor,
                    tagged: true,
                    kind: Kind::Scalar(Style::Plain),
                }),
            }
        }
        K::ALIAS => Ok(Node {
            range,
            anchor: None,
            tagged: false,
            kind: Kind::Alias,
        }),
        K::SCALAR => {
            let text = node.text().to_string();
            let style = match text.chars().next() {
                Some('\'') => Style::Single,
                Some('"') => Style::Double,
                Some('|') => Style::Literal,
                Some('>') => Style::Folded,
                _ => Style::Plain,
            };
            Ok(Node {
                range,
                anchor: None,
                tagged: false,
                kind: Kind::Scalar(style),
            })
        }
        K::SEQUENCE => {
            let flow = first_significant_token(node) == Some(K::LEFT_BRACKET);
            let mut items = Vec::new();
            for entry in node.children().filter(|n| kind_of(n) == K::SEQUENCE_ENTRY) {
                let start = usize::from(entry.text_range().start());
                let start = entry
                    .children_with_tokens()
                    .find(|el| {
                        !matches!(
                            el.kind(),
                            K::WHITESPACE | K::NEWLINE | K::INDENT | K::COMMENT
                        )
                    })
                    .map_or(start, |el| usize::from(el.text_range().start()));
                items.push(Item {
                    start,
                    node: content_of(&entry)?,
                });
            }
            Ok(Node {
                range,
                anchor: None,
                tagged: false,
                kind: Kind::Seq { flow, items },
            })
        }
        K::MAPPING => {
            let flow = first_significant_token(node) == Some(K::LEFT_BRACE);
            let mut entries = Vec::new();
            for entry in node.children().filter(|n| kind_of(n) == K::MAPPING_ENTRY) {
                let key_wrapper = entry.children().find(|n| kind_of(n) == K::KEY);
                let Some(key_wrapper) = key_wrapper else {
                    return Err(CstError {
                        offset: range_of(&entry).start,
                        message: "mapping entry without a key".to_owned(),
                    });
                };
                let merge = key_wrapper
                    .descendants_with_tokens()
                    .any(|el| el.kind() == K::MERGE_KEY);
                let key = content_of(&key_wrapper)?.ok_or_else(|| CstError {
                    offset: range_of(&key_wrapper).start,
                    message: "empty or complex mapping key".to_owned(),
                })?;
                let colon_end = entry
                    .descendants_with_tokens()
                    .filter_map(rowan::NodeOrToken::into_token)
                    .find(|t| {
                        t.kind() == K::COLON && usize::from(t.text_range().start()) >= key.range.end
                    })
                    .map(|t| usize::from(t.text_range().end()))
                    .ok_or_else(|| CstError {
                        offset: key.range.start,
                        message: "mapping key without `:`".to_owned(),
                    })?;
                let value = match entry.children().find(|n| kind_of(n) == K::VALUE) {
                    Some(v) => content_of(&v)?,
                    None => None,
                };
                entries.push(Entry {
                    key,
                    colon_end,
                    value,
                    merge,
                });
            }
            Ok(Node {
                range,
                anchor: None,
                tagged: false,
                kind: Kind::Map { flow, entries },
            })
        }
        other => Err(CstError {
            offset: range.start,
            message: format!("unexpected syntax node {other:?}"),
        }),
    }
}

fn first_significant_token(node: &SyntaxNode) -> Option<K> {
    node.descendants_with_tokens()
        .filter_map(rowan::NodeOrToken::into_token)
        .map(|t| t.kind())
        .find(|k| !matches!(k, K::WHITESPACE | K::NEWLINE | K::INDENT | K::COMMENT))
}

impl Node {
    pub(crate) fn entries(&self) -> Option<&[Entry]> {
        match &self.kind {
            Kind::Map { entries, .. } => Some(entries),
            _ => None,
        }
    }

    pub(crate) fn items(&self) -> Option<&[Item]> {
        match &self.kind {
            Kind::Seq { items, .. } => Some(items),
            _ => None,
        }
    }

    pub(crate) fn style(&self) -> Option<Style> {
        match self.kind {
            Kind::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// A short human description of the node's shape.
    pub(crate) fn shape(&self) -> &'static str {
        if self.tagged {
            return "a tagged value (a Compose `!override`/`!reset` or another tag: pgtls does not edit through tags; edit it by hand)";
        }
        match &self.kind {
            Kind::Scalar(Style::Literal | Style::Folded) => "a block scalar",
            Kind::Scalar(_) => "a scalar",
            Kind::Seq { flow: true, .. } => "a flow sequence",
            Kind::Seq { flow: false, .. } => "a block sequence",
            Kind::Map { flow: true, .. } => "a flow mapping",
            Kind::Map { flow: false, .. } => "a block mapping",
            Kind::Alias => "an alias",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_sequence_with_comment_inside() {
        let text = "command:\n  [\n    \"a\",\n    \"b\" # c\n  ]\n";
        let root = parse(text).unwrap().unwrap();
        let entries = root.entries().unwrap();
        let seq = entries[0].value.as_ref().unwrap();
        let Kind::Seq { flow, items } = &seq.kind else {
            panic!("not a sequence")
        };
        assert!(*flow);
        assert_eq!(items.len(), 2);
        let b = items[1].node.as_ref().unwrap();
        assert_eq!(&text[b.range.clone()], "\"b\"");
        assert_eq!(b.style(), Some(Style::Double));
    }

    #[test]
    fn anchors_aliases_and_merge_keys_are_seen() {
        let text = "a: &x [1]\nb: *x\nc:\n  <<: *y\n";
        let root = parse(text).unwrap().unwrap();
        let e = root.entries().unwrap();
        assert!(e[0].value.as_ref().unwrap().anchor.is_some());
        assert!(matches!(e[1].value.as_ref().unwrap().kind, Kind::Alias));
        let inner = e[2].value.as_ref().unwrap().entries().unwrap();
        assert!(inner[0].merge);
    }

    #[test]
    fn block_sequence_item_starts_at_dash() {
        let text = "v:\n  - a\n  -\n    k: 1\n";
        let root = parse(text).unwrap().unwrap();
        let items = root.entries().unwrap()[0]
            .value
            .as_ref()
            .unwrap()
            .items()
            .unwrap()
            .to_vec();
        assert_eq!(&text[items[0].start..=items[0].start], "-");
        assert_eq!(&text[items[1].start..=items[1].start], "-");
        assert!(items[1].node.as_ref().unwrap().entries().is_some());
    }
}
