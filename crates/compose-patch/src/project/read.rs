//! Reading one file: parsed once, interpolated, its lines kept for provenance.

use std::collections::BTreeMap;
use std::rc::Rc;

use yaml_serde::{Mapping, Value};

use super::interp::Interpolator;
use super::lines::{self, FileLines};
use super::model::ProjectFiles;
use super::paths::perr;
use crate::error::Result;

/// One parsed, interpolated file.
pub(super) struct Doc {
    /// The document before interpolation (`${VAR}` references as written).
    pub(super) raw_root: Mapping,
    pub(super) root: Mapping,
    pub(super) lines: FileLines,
}

/// The files read so far (each parsed and interpolated once) and the interpolation state.
pub(super) struct Reader<'a> {
    files: &'a dyn ProjectFiles,
    /// Variables, and the warnings interpolation has raised.
    pub(super) interp: Interpolator,
    /// Every file read, in reading order.
    pub(super) read: Vec<String>,
    docs: BTreeMap<String, Rc<Doc>>,
}

impl<'a> Reader<'a> {
    pub(super) fn new(files: &'a dyn ProjectFiles, interp: Interpolator) -> Self {
        Self {
            files,
            interp,
            read: Vec::new(),
            docs: BTreeMap::new(),
        }
    }

    /// The file at `path`, parsed and interpolated; `named_by` is the file and line that named
    /// it (for the error when it does not exist).
    pub(super) fn doc(&mut self, path: &str, named_by: Option<(&str, usize)>) -> Result<Rc<Doc>> {
        if let Some(d) = self.docs.get(path) {
            return Ok(d.clone());
        }
        let text = self
            .files
            .read_file(path)
            .map_err(|e| perr(path, 0, e))?
            .ok_or_else(|| match named_by {
                Some((by, line)) => perr(by, line, format!("\"{path}\" does not exist")),
                None => perr(path, 0, "no such file"),
            })?;
        let value = crate::file::typed_view(&text)
            .map_err(|e| perr(path, e.line().unwrap_or(0), e.to_string()))?;
        let lines = lines::file_lines(&text);
        let root = match value {
            Value::Mapping(m) => m,
            Value::Null => Mapping::new(),
            _ => return Err(perr(path, 1, "the top level is not a mapping")),
        };
        let raw_root = root.clone();
        let root = self.interpolate_root(path, root, &lines)?;
        self.read.push(path.to_owned());
        let doc = Rc::new(Doc {
            raw_root,
            root,
            lines,
        });
        self.docs.insert(path.to_owned(), doc.clone());
        Ok(doc)
    }

    fn interpolate_root(
        &mut self,
        path: &str,
        root: Mapping,
        lines: &FileLines,
    ) -> Result<Mapping> {
        let mut out = Mapping::new();
        for (k, v) in root {
            let key = k.as_str().unwrap_or("").to_owned();
            let v = if key == "services" {
                match v {
                    Value::Mapping(svcs) => {
                        let mut o = Mapping::new();
                        for (sk, sv) in svcs {
                            let sname = sk.as_str().unwrap_or("").to_owned();
                            let sl = lines.services.get(&sname);
                            let line = sl.map_or(0, |s| s.line);
                            let sv = match sv {
                                Value::Mapping(m) => {
                                    let mut mo = Mapping::new();
                                    for (kk, kv) in m {
                                        let kname = kk.as_str().unwrap_or("");
                                        let kline = sl
                                            .and_then(|s| s.keys.get(kname))
                                            .map_or(line, |k| k.line);
                                        let kv = self
                                            .interp_value(kv)
                                            .map_err(|e| perr(path, kline, e))?;
                                        mo.insert(kk, kv);
                                    }
                                    Value::Mapping(mo)
                                }
                                other => {
                                    self.interp_value(other).map_err(|e| perr(path, line, e))?
                                }
                            };
                            o.insert(sk, sv);
                        }
                        Value::Mapping(o)
                    }
                    other => other,
                }
            } else {
                let line = lines.top.get(&key).map_or(0, |k| k.line);
                self.interp_value(v).map_err(|e| perr(path, line, e))?
            };
            out.insert(k, v);
        }
        Ok(out)
    }

    fn interp_value(&mut self, v: Value) -> std::result::Result<Value, String> {
        Ok(match v {
            Value::String(s) => Value::String(self.interp.interpolate(&s).map_err(|e| e.0)?),
            Value::Sequence(items) => Value::Sequence(
                items
                    .into_iter()
                    .map(|i| self.interp_value(i))
                    .collect::<std::result::Result<_, _>>()?,
            ),
            Value::Mapping(m) => {
                let mut o = Mapping::new();
                for (k, v) in m {
                    o.insert(k, self.interp_value(v)?);
                }
                Value::Mapping(o)
            }
            Value::Tagged(t) => {
                let t = *t;
                Value::Tagged(Box::new(yaml_serde::value::TaggedValue {
                    tag: t.tag,
                    value: self.interp_value(t.value)?,
                }))
            }
            other => other,
        })
    }
}
