//! The report of `pgtls connstr`, human and JSON, from the [`ClientStrings`] built for a
//! [`Target`].

use crate::connstr::{ClientStrings, Target};
use crate::report::paint::{Lines, Paint, Style};

/// `pgtls connstr --json`: `host`, `tenant`, `sni`, `pooler`, `ca` and the `clients`.
pub fn json(t: &Target<'_>, all: &[ClientStrings]) -> serde_json::Value {
    serde_json::json!({
        "host": t.host,
        "tenant": t.tenant,
        "sni": t.sni,
        "pooler": t.pooler,
        "ca": t.ca,
        "clients": all,
    })
}

/// `pgtls connstr`: per client (a blank line between), its name and what it applies to, the
/// direct and pooled strings with their ports, its warnings and notes.
pub fn text(t: &Target<'_>, all: &[ClientStrings], p: Paint) -> String {
    let mut out = Lines::default();
    for (i, c) in all.iter().enumerate() {
        if i > 0 {
            out.line("");
        }
        let (name, applies) = (
            p.paint(Style::Bold, c.client),
            p.paint(Style::Dim, c.applies_to),
        );
        out.line(format!("{name}  {applies}"));
        out.line(format!("  direct ({}):  {}", t.port, c.direct));
        out.line(format!("  pooled ({}):  {}", t.pooler_port, c.pooled));
        for w in &c.warnings {
            out.line(format!("  {} {w}", p.mark("warn")));
        }
        for n in &c.notes {
            out.line(format!("  {} {n}", p.mark("note")));
        }
    }
    out.0
}
