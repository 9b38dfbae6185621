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

use crate::error::Result;
use crate::model::Edit;
use crate::svc::Svc;

mod command;
mod content;
mod env;
mod port;
mod splice;
mod volume;

pub(crate) use self::command::{same_setting, settings_in};
pub(crate) use self::port::read_port;
pub(crate) use self::splice::{Plan, splice};
pub(crate) use self::volume::{read_volume, same_target};
use self::{
    command::plan_command,
    content::plan_content,
    env::plan_env,
    port::plan_port,
    volume::{plan_remove_volume, plan_volume},
};

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
