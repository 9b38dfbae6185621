//! Lines of the things a merged value can come from: each service key, each key inside a
//! service, each item of a list and each entry of a map under that key. Read from the lossless
//! tree, so they are the lines a user sees in an editor.

use std::collections::BTreeMap;

use crate::cst::{self, Kind, Node};
use crate::text::line_of;

/// Lines of one key of a service.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyLines {
    pub line: usize,
    /// Line of each sequence item, in order.
    pub items: Vec<usize>,
    /// Line of each mapping entry, by key text.
    pub entries: BTreeMap<String, usize>,
}

/// Lines of one service.
#[derive(Debug, Clone, Default)]
pub(crate) struct ServiceLines {
    pub line: usize,
    pub keys: BTreeMap<String, KeyLines>,
}

/// Lines of one file: services by key, plus the top-level keys.
#[derive(Debug, Clone, Default)]
pub(crate) struct FileLines {
    pub top: BTreeMap<String, KeyLines>,
    pub services: BTreeMap<String, ServiceLines>,
}

fn key_text(text: &str, node: &Node) -> String {
    text.get(node.range.clone())
        .unwrap_or("")
        .trim()
        .trim_matches(['"', '\''])
        .to_owned()
}

fn key_lines(text: &str, line: usize, value: Option<&Node>) -> KeyLines {
    let mut kl = KeyLines {
        line,
        ..KeyLines::default()
    };
    match value.map(|v| &v.kind) {
        Some(Kind::Seq { items, .. }) => {
            kl.items = items.iter().map(|i| line_of(text, i.start)).collect();
        }
        Some(Kind::Map { entries, .. }) => {
            for e in entries {
                kl.entries
                    .insert(key_text(text, &e.key), line_of(text, e.key.range.start));
            }
        }
        _ => {}
    }
    kl
}

pub(crate) fn file_lines(text: &str) -> FileLines {
    let mut out = FileLines::default();
    let Ok(Some(root)) = cst::parse(text) else {
        return out;
    };
    let Kind::Map { entries, .. } = &root.kind else {
        return out;
    };
    for e in entries {
        let k = key_text(text, &e.key);
        let line = line_of(text, e.key.range.start);
        out.top
            .insert(k.clone(), key_lines(text, line, e.value.as_ref()));
        if k != "services" {
            continue;
        }
        let Some(Kind::Map { entries: svcs, .. }) = e.value.as_ref().map(|v| &v.kind) else {
            continue;
        };
        for s in svcs {
            let mut sl = ServiceLines {
                line: line_of(text, s.key.range.start),
                keys: BTreeMap::new(),
            };
            if let Some(Kind::Map { entries: keys, .. }) = s.value.as_ref().map(|v| &v.kind) {
                for k in keys {
                    sl.keys.insert(
                        key_text(text, &k.key),
                        key_lines(text, line_of(text, k.key.range.start), k.value.as_ref()),
                    );
                }
            }
            out.services.insert(key_text(text, &s.key), sl);
        }
    }
    out
}
