//! A service located in both views of a compose file: the lossless tree (positions) and the
//! typed value (meaning), matched entry by entry. The planners in `edit` work on a [`Svc`]; the
//! driver in `file.rs` builds it. Neither this module nor `edit` depends on `file.rs`.

use yaml_serde::{Mapping, Value};

use crate::cst::{Entry, Node};
use crate::error::{Error, Result};
use crate::text::line_of;

/// A service located in both views.
pub(crate) struct Svc<'a> {
    pub text: &'a str,
    pub key: String,
    pub line: usize,
    pub node: &'a Node,
    pub map: &'a Mapping,
    /// All services (typed), for style decisions.
    pub all: &'a Mapping,
}

impl<'a> Svc<'a> {
    /// The entry for `key` in both views. A `<<` merge key in the service makes a
    /// missing key an error (the value may come from the merge).
    pub(crate) fn get(&self, key: &str) -> Result<Option<(&'a Entry, &'a Value)>> {
        let entries = self.node.entries().unwrap_or(&[]);
        let found = find_entry(self.text, self.node, self.map, key)?;
        let merged_has_key = |v: &Value| match v {
            Value::Mapping(m) => m.contains_key(key),
            Value::Sequence(s) => s.iter().any(|m| m.get(key).is_some()),
            _ => true,
        };
        if found.is_none()
            && let Some(m) = entries.iter().find(|e| e.merge)
            && self.map.get("<<").is_none_or(merged_has_key)
        {
            {
                return Err(Error::Alias {
                    service: self.key.clone(),
                    key: key.to_owned(),
                    line: line_of(self.text, m.key.range.start),
                    detail: "the service has a `<<` merge key, so the value may come from the merged mapping".to_owned(),
                });
            }
        }
        Ok(found)
    }

    pub(crate) fn line(&self, off: usize) -> usize {
        line_of(self.text, off)
    }
}

/// Find `key` in a block or flow mapping node matched with its typed mapping.
pub(crate) fn find_entry<'a>(
    text: &str,
    node: &'a Node,
    map: &'a Mapping,
    key: &str,
) -> Result<Option<(&'a Entry, &'a Value)>> {
    let entries = node.entries().unwrap_or(&[]);
    if entries.len() != map.len() {
        return Err(disagree(text, node.range.start, "mapping sizes differ"));
    }
    for (i, (k, v)) in map.iter().enumerate() {
        if k.as_str() == Some(key) {
            let entry = entries
                .get(i)
                .ok_or_else(|| disagree(text, node.range.start, "mapping sizes differ"))?;
            let key_text = text.get(entry.key.range.clone()).unwrap_or("");
            let decoded = yaml_serde::from_str::<Value>(key_text).ok();
            if decoded.as_ref() != Some(k) {
                return Err(disagree(text, entry.key.range.start, "keys differ"));
            }
            return Ok(Some((entry, v)));
        }
    }
    Ok(None)
}

pub(crate) fn disagree(text: &str, off: usize, what: &str) -> Error {
    Error::InvalidYaml {
        line: line_of(text, off),
        column: crate::text::column(text, off) + 1,
        message: format!("the lossless and the typed parser read this differently ({what})"),
    }
}
