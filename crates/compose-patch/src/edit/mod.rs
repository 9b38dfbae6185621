//! Planning edits: for each edit, the text splices and the expected typed service.
//!
//! Every planner walks the lossless tree (positions) and the typed view (meaning)
//! side by side. It returns `None` when the file already says what the edit asks
//! for, else the splices to make and the service as it must read afterwards; the
//! driver in `file.rs` applies the splices, re-parses and compares.
//!
//! One planner per field (`command`, `volume`, `env`, `port`, `content`), over the shared
//! helpers in `splice`; the service they edit is located by [`crate::svc`], so this module
//! does not depend on `file.rs` (which drives it).

use std::ops::Range;

use yaml_serde::{Mapping, Value};

use crate::cst::{Item, Kind, Node, Style};
use crate::error::{Error, Result};
use crate::model::{Edit, Selinux, Volume, VolumeMount};
use crate::svc::Svc;
use crate::text::{
    after_line, column, double_quoted, indent_at, line_end, line_start, newline, render,
    shell_quote, shell_words, trim_back,
};

mod command;
mod content;
mod env;
mod port;
mod splice;
mod volume;

pub(crate) use self::command::{same_setting, settings_in};
pub(crate) use self::port::read_port;
pub(crate) use self::volume::{read_volume, same_target};
#[allow(clippy::wildcard_imports)]
use self::{command::*, content::*, env::*, port::*, splice::*, volume::*};

/// One replacement of a byte range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Splice {
    pub at: Range<usize>,
    pub text: String,
}

/// What an edit will do.
pub(crate) struct Plan {
    pub splices: Vec<Splice>,
    pub service: Mapping,
}

/// Apply splices (non-overlapping) to `text`.
pub(crate) fn splice(text: &str, splices: Vec<Splice>) -> String {
    // Apply from the end so earlier offsets stay valid; at equal offsets the splice
    // listed first ends up first in the text.
    let mut indexed: Vec<(usize, Splice)> = splices.into_iter().enumerate().collect();
    indexed.sort_by(|(ia, a), (ib, b)| b.at.start.cmp(&a.at.start).then(ib.cmp(ia)));
    let mut out = text.to_owned();
    for (_, s) in indexed {
        out.replace_range(s.at, &s.text);
    }
    out
}

pub(super) fn ins(at: usize, text: String) -> Splice {
    Splice { at: at..at, text }
}

pub(crate) fn plan(svc: &Svc<'_>, edit: &Edit) -> Result<Option<Plan>> {
    match edit {
        Edit::CommandSettings { settings, .. } => plan_command(svc, settings),
        Edit::Volume { mount, .. } => plan_volume(svc, mount),
        Edit::Env { key, value, .. } => plan_env(svc, key, value),
        Edit::Port { mapping, .. } => plan_port(svc, mapping),
        Edit::RemoveVolume { target, .. } => plan_remove_volume(svc, target),
        Edit::InlineContent {
            target, content, ..
        } => plan_content(svc, target, content),
    }
}
