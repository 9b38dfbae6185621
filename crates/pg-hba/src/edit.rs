//! Editing: insert, replace and remove records, and opt-in column alignment.
//!
//! New records take the columns of their nearest neighbours; every other line keeps its
//! bytes. Records are never reordered.

use crate::document::{Document, Line, Record};
use crate::error::{Error, Result};
use crate::model::{Address, RecordKind, Rule};

/// Where [`Document::insert`] puts a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// Before the record starting at this line.
    Before(usize),
    /// After the record starting at this line.
    After(usize),
    /// After the last line of the file.
    End,
}

/// Alignment slots: type, database, user, address, mask, method (options are not aligned).
const SLOTS: usize = 6;
const TAB: usize = 8;

fn slots_of(rule: &Rule) -> Vec<usize> {
    let mut s = vec![0, 1, 2];
    match &rule.address {
        Some(Address::Mask { .. }) => s.extend([3, 4]),
        Some(_) => s.push(3),
        None => {}
    }
    s.push(5);
    let n = rule.to_fields().len();
    while s.len() < n {
        s.push(SLOTS);
    }
    s
}

/// Visual column of byte offset `at` in `text` (tabs to the next multiple of 8).
fn visual_col(text: &str, at: usize) -> usize {
    let mut col = 0;
    for c in text.get(..at).unwrap_or(text).chars() {
        col = if c == '\t' {
            (col / TAB + 1) * TAB
        } else {
            col + 1
        };
    }
    col
}

/// Columns of the aligned slots of a single-line valid rule record.
fn columns_of(rec: &Record) -> Option<[Option<usize>; SLOTS]> {
    let rule = rec.rule()?;
    if rec.physical != 1 {
        return None;
    }
    let text = rec.logical_text();
    let mut cols = [None; SLOTS];
    let slots = slots_of(rule);
    for (field, slot) in rec.token_fields().iter().zip(slots) {
        if slot < SLOTS {
            cols[slot] = Some(visual_col(text, field.start));
        }
    }
    Some(cols)
}

/// Render fields at the given columns (at least one space between fields).
fn render(fields: &[String], slots: &[usize], cols: &[Option<usize>; SLOTS]) -> String {
    let mut out = String::new();
    let mut width = 0;
    for (i, (text, slot)) in fields.iter().zip(slots).enumerate() {
        let target = cols.get(*slot).copied().flatten();
        let pad = match target {
            Some(t) if t > width => t - width,
            _ if i == 0 => 0,
            _ => 1,
        };
        out.extend(std::iter::repeat_n(' ', pad));
        width += pad + text.chars().count();
        out.push_str(text);
    }
    out
}

impl Document {
    fn line_ending(&self) -> &'static str {
        let crlf = self
            .lines
            .iter()
            .find(|l| l.raw().ends_with('\n'))
            .is_some_and(|l| l.raw().ends_with("\r\n"));
        if crlf { "\r\n" } else { "\n" }
    }

    /// Alignment columns near line index `idx`: the nearest valid single-line rules before,
    /// then after; each slot from the nearest record that has it.
    fn columns_near(&self, idx: usize) -> [Option<usize>; SLOTS] {
        let mut cols = [None; SLOTS];
        let before = self.lines[..idx.min(self.lines.len())].iter().rev();
        let after = self.lines.iter().skip(idx);
        for line in before.take(50).chain(after.take(50)) {
            if let Line::Record(r) = line
                && let Some(c) = columns_of(r)
            {
                for (slot, col) in cols.iter_mut().zip(c) {
                    if slot.is_none() {
                        *slot = col;
                    }
                }
            }
            if cols.iter().all(Option::is_some) {
                break;
            }
        }
        cols
    }

    fn reparse(&mut self, text: &str) {
        *self = Document::parse(text, self.options.clone());
    }

    fn rendered(&self, rule: &Rule, idx: usize) -> String {
        let fields = rule.to_fields();
        render(&fields, &slots_of(rule), &self.columns_near(idx))
    }

    /// Insert `rule`, aligned to its neighbours. Returns the new record's line number.
    pub fn insert(&mut self, at: Position, rule: &Rule) -> Result<usize> {
        let idx = match at {
            Position::Before(line) => self.index_of(line)?,
            Position::After(line) => self.index_of(line)? + 1,
            Position::End => self.lines.len(),
        };
        let text = self.rendered(rule, idx);
        check_rendered(&text, rule, &self.options)?;
        Ok(self.insert_line_at(idx, &text))
    }

    /// Insert a record given as `pg_hba.conf` text (one line, no terminator), kept verbatim.
    /// It must be a valid rule for the document's version.
    pub fn insert_text(&mut self, at: Position, text: &str) -> Result<usize> {
        check_text(text, &self.options)?;
        let idx = match at {
            Position::Before(line) => self.index_of(line)?,
            Position::After(line) => self.index_of(line)? + 1,
            Position::End => self.lines.len(),
        };
        Ok(self.insert_line_at(idx, text))
    }

    fn insert_line_at(&mut self, idx: usize, text: &str) -> usize {
        let eol = self.line_ending();
        // The common case, spliced in without re-reading the document: a line before an
        // existing line, or after a last line that ends with a line break. (The text was
        // checked to be one valid single-line record; the line before it cannot continue
        // into it, since only a file's last line can end in an unfinished continuation.)
        let at_end_ok = self.lines.last().is_none_or(|l| {
            l.raw().ends_with('\n') && !l.raw().trim_end_matches(['\r', '\n']).ends_with('\\')
        });
        if idx < self.lines.len() || at_end_ok {
            let idx = idx.min(self.lines.len());
            let new_text = format!("{text}{eol}");
            let prefix: usize = self.lines[..idx].iter().map(Line::physical).sum();
            let parsed = Document::parse(&new_text, self.options.clone());
            if let [Line::Record(rec)] = parsed.lines.as_slice() {
                let mut rec = rec.clone();
                rec.line = prefix + 1;
                for l in &mut self.lines[idx..] {
                    l.shift(1);
                }
                self.lines.insert(idx, Line::Record(rec));
                return prefix + 1;
            }
        }
        let mut raws: Vec<String> = self.lines.iter().map(|l| l.raw().to_owned()).collect();
        let mut new_line = text.to_owned();
        if idx >= raws.len() {
            if let Some(last) = raws.last_mut() {
                let ends = last.ends_with('\n');
                let dangling = last.trim_end_matches(['\r', '\n']).ends_with('\\');
                if !ends {
                    last.push_str(eol);
                }
                if dangling {
                    // An unfinished continuation would swallow the new line: give it an
                    // empty line to eat.
                    last.push_str(eol);
                }
                if ends {
                    new_line.push_str(eol);
                }
            } else {
                new_line.push_str(eol);
            }
            raws.push(new_line);
        } else {
            new_line.push_str(eol);
            raws.insert(idx, new_line);
        }
        let prefix: usize = raws[..idx.min(raws.len() - 1)]
            .iter()
            .map(|r| physical_count(r))
            .sum();
        let text: String = raws.concat();
        self.reparse(&text);
        self.records()
            .map(Record::line)
            .find(|&l| l > prefix)
            .unwrap_or(prefix + 1)
    }

    /// Replace the record at `line` with `rule`, keeping the old record's columns and its
    /// trailing comment. Returns the line number (unchanged).
    pub fn replace(&mut self, line: usize, rule: &Rule) -> Result<usize> {
        let idx = self.index_of(line)?;
        let Line::Record(old) = &self.lines[idx] else {
            return Err(Error::NoRecordAtLine {
                file: self.options.file_name.clone(),
                line,
            });
        };
        let mut cols = columns_of(old).unwrap_or([None; SLOTS]);
        let near = self.columns_near(idx);
        for (c, n) in cols.iter_mut().zip(near) {
            if c.is_none() {
                *c = n;
            }
        }
        let fields = rule.to_fields();
        let mut text = render(&fields, &slots_of(rule), &cols);
        check_rendered(&text, rule, &self.options)?;
        if old.physical == 1
            && let Some(last) = old.token_fields().last()
        {
            text.push_str(old.logical_text().get(last.end..).unwrap_or(""));
        }
        let terminator = old
            .raw
            .get(old.raw.trim_end_matches(['\r', '\n']).len()..)
            .unwrap_or("")
            .to_owned();
        let mut raws: Vec<String> = self.lines.iter().map(|l| l.raw().to_owned()).collect();
        raws[idx] = text + &terminator;
        self.reparse(&raws.concat());
        Ok(line)
    }

    /// Change only the connection type of the record at `line`, editing its first token in
    /// place (and taking up the difference in the following blanks where there is room).
    pub fn set_connection_type(&mut self, line: usize, to: crate::ConnectionType) -> Result<()> {
        self.set_connection_types(&[line], to)
    }

    /// [`Document::set_connection_type`] for many records at once: one pass over the
    /// document and one re-read, however many records change.
    pub(crate) fn set_connection_types(
        &mut self,
        lines: &[usize],
        to: crate::ConnectionType,
    ) -> Result<()> {
        let index: std::collections::HashMap<usize, usize> = self
            .lines
            .iter()
            .enumerate()
            .filter_map(|(i, l)| match l {
                Line::Record(r) => Some((r.line, i)),
                Line::Other { .. } => None,
            })
            .collect();
        let mut raws: Vec<Option<String>> = vec![None; self.lines.len()];
        let mut replaced = Vec::new();
        for &line in lines {
            let no_record = || Error::NoRecordAtLine {
                file: self.options.file_name.clone(),
                line,
            };
            let idx = *index.get(&line).ok_or_else(no_record)?;
            let Some(Line::Record(old)) = self.lines.get(idx) else {
                return Err(no_record());
            };
            if let Some(text) = connection_type_text(old, to) {
                raws[idx] = Some(text);
            } else {
                let mut rule = old.rule().cloned().ok_or_else(no_record)?;
                rule.connection = to;
                replaced.push((line, rule));
            }
        }
        if raws.iter().any(Option::is_some) {
            let text: String = self
                .lines
                .iter()
                .zip(&raws)
                .map(|(l, new)| new.as_deref().unwrap_or_else(|| l.raw()))
                .collect();
            self.reparse(&text);
        }
        // Records whose first token sits on a continuation: rewritten whole.
        for (line, rule) in replaced {
            self.replace(line, &rule)?;
        }
        Ok(())
    }

    /// Remove the record at `line` (its whole logical line).
    pub fn remove(&mut self, line: usize) -> Result<()> {
        let idx = self.index_of(line)?;
        let mut raws: Vec<String> = self.lines.iter().map(|l| l.raw().to_owned()).collect();
        let removed = raws.remove(idx);
        // Removing the unterminated last line: drop the terminator now ending the file only
        // if the file had none before.
        if idx == raws.len()
            && !removed.ends_with('\n')
            && let Some(last) = raws.last_mut()
        {
            let keep = last.trim_end_matches(['\r', '\n']).len();
            if !last[..keep].ends_with('\\') {
                last.truncate(keep);
            }
        }
        self.reparse(&raws.concat());
        Ok(())
    }

    /// Opt-in formatting: align the columns of every valid single-line rule (type, database,
    /// user, address, mask, method at tab stops), keeping each field's text, trailing
    /// comments, blank and comment lines, invalid lines and continued lines unchanged.
    /// Idempotent.
    pub fn align_columns(&mut self) {
        let mut widths = [0usize; SLOTS];
        let mut rows = Vec::new();
        for (idx, line) in self.lines.iter().enumerate() {
            let Line::Record(r) = line else { continue };
            let Some(rule) = r.rule() else { continue };
            if r.physical != 1 {
                continue;
            }
            let text = r.logical_text();
            let slots = slots_of(rule);
            let tf = r.token_fields();
            let fields: Vec<String> = tf
                .iter()
                .map(|f| text.get(f.start..f.end).unwrap_or("").to_owned())
                .collect();
            for (f, s) in fields.iter().zip(&slots) {
                if *s < SLOTS {
                    widths[*s] = widths[*s].max(f.chars().count());
                }
            }
            let trailing = tf
                .last()
                .and_then(|f| text.get(f.end..))
                .unwrap_or("")
                .to_owned();
            let terminator = r.raw.get(text.len()..).unwrap_or("").to_owned();
            rows.push((idx, fields, slots, trailing, terminator));
        }
        let mut cols = [None; SLOTS];
        let mut at = 0;
        for s in 0..SLOTS {
            cols[s] = Some(at);
            if widths[s] > 0 {
                at = (at + widths[s]) / TAB * TAB + TAB;
            }
        }
        // Only the blanks between fields change (each field keeps its text, comma lists
        // included), so every record keeps its meaning and line number: no re-read.
        for (idx, fields, slots, trailing, terminator) in rows {
            let mut text = render(&fields, &slots, &cols);
            text.push_str(&trailing);
            text.push_str(&terminator);
            if let Some(Line::Record(r)) = self.lines.get_mut(idx) {
                r.raw = text;
            }
        }
    }
}

/// The record's source with its first token replaced by `to`, or `None` when the first
/// token does not sit in the first physical line as written (the caller rewrites the rule).
fn connection_type_text(old: &Record, to: crate::ConnectionType) -> Option<String> {
    let fields = old.token_fields();
    let first = fields.first().and_then(|f| f.tokens.first())?;
    let raw = &old.raw;
    let (start, end) = (first.start, first.end);
    if old.logical_text().get(..end) != raw.get(..end) {
        return None;
    }
    let new_tok = to.as_str();
    let old_len = end - start;
    let rest = raw.get(end..)?;
    let blanks = rest.bytes().take_while(|b| *b == b' ').count();
    let mut text = String::with_capacity(raw.len() + 8);
    text.push_str(raw.get(..start)?);
    text.push_str(new_tok);
    if new_tok.len() > old_len && blanks > new_tok.len() - old_len {
        text.push_str(rest.get(new_tok.len() - old_len..)?);
    } else if new_tok.len() < old_len && blanks > 0 {
        text.extend(std::iter::repeat_n(' ', old_len - new_tok.len()));
        text.push_str(rest);
    } else {
        text.push_str(rest);
    }
    Some(text)
}

fn physical_count(raw: &str) -> usize {
    let n = raw.matches('\n').count();
    if raw.ends_with('\n') { n } else { n + 1 }
}

/// The parts of a rule that decide what it matches and does (names compared by value, not
/// by how they were quoted).
fn meaning(rule: &Rule) -> impl PartialEq + use<> {
    let items = |v: &[crate::Item]| -> Vec<(std::mem::Discriminant<crate::Item>, String)> {
        v.iter()
            .map(|i| (std::mem::discriminant(i), i.view_string()))
            .collect()
    };
    let method = match (rule.connection, rule.method) {
        (crate::ConnectionType::Local, crate::Method::Ident) => crate::Method::Peer,
        (_, m) => m,
    };
    (
        rule.connection,
        items(&rule.databases),
        items(&rule.users),
        rule.address.clone(),
        method,
        rule.options.clone(),
    )
}

/// Check that `text` reads back as exactly `rule` (so an edit never writes a line that
/// PostgreSQL would reject or read differently, e.g. a name with a line break or NUL).
fn check_rendered(text: &str, rule: &Rule, options: &crate::ParseOptions) -> Result<()> {
    let parsed = check_text(text, options)?;
    if meaning(&parsed) == meaning(rule) {
        Ok(())
    } else {
        Err(Error::InvalidRecord {
            input: text.to_owned(),
            reason: "the rule cannot be written so that PostgreSQL reads it back unchanged"
                .to_owned(),
        })
    }
}

fn check_text(text: &str, options: &crate::ParseOptions) -> Result<Rule> {
    let doc = Document::parse(text, options.clone());
    let mut records = doc.records();
    match (records.next(), records.next()) {
        (Some(r), None) if r.physical == 1 && !text.contains('\n') => match &r.kind {
            RecordKind::Rule(rule) => Ok(rule.clone()),
            _ => Err(Error::InvalidRecord {
                input: text.to_owned(),
                reason: r.error.clone().unwrap_or_else(|| "not a rule".to_owned()),
            }),
        },
        _ => Err(Error::InvalidRecord {
            input: text.to_owned(),
            reason: "expected exactly one record on one line".to_owned(),
        }),
    }
}
