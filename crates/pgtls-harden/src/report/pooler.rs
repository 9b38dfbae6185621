//! The reports of `pgtls pooler inspect` and `pgtls pooler set`: what pooler-exs found in, or
//! changed in, a Supavisor tenant script.

use std::fmt::Write as _;

use pooler_exs::{HardenReport, Inspection, TenantLogic};

use super::paint::Paint;

/// `pooler inspect`'s human report: the params map, its keys, the TLS flags, the tenant logic,
/// and whether `enforce_ssl` reaches a tenant that already exists.
pub fn inspect_text(i: &Inspection, p: Paint) -> String {
    let bound = i
        .params_variable
        .as_deref()
        .map(|v| format!(", bound to `{v}`"))
        .unwrap_or_default();
    let reaches = i.enforce_ssl_reaches_existing_tenant;
    format!(
        "params map:   line {}{bound}\nkeys:         {}\nenforce_ssl:  {}\nupstream_ssl: {}\ntenant logic: {}\n{} enforce_ssl reaches an existing tenant: {}\n",
        i.params_line,
        i.params_keys.join(", "),
        i.enforce_ssl.describe(),
        i.upstream_ssl.describe(),
        i.tenant_logic.describe(),
        p.mark(if reaches { "pass" } else { "warn" }),
        if reaches { "yes" } else { "no" }
    )
}

/// `pooler set`'s lines after the diff: a line per change (with its script line), a line per
/// warning, and the fix when the script only creates the tenant.
pub fn set_text(report: &HardenReport, p: Paint) -> String {
    let mut out = String::new();
    for c in &report.changes {
        let _ = writeln!(
            out,
            "{} {} (script line {})",
            p.mark("changed"),
            c.detail,
            c.line
        );
    }
    for w in &report.warnings {
        let _ = writeln!(out, "{} {w}", p.mark("warn"));
    }
    if report.tenant_logic == TenantLogic::CreateOnly {
        out.push_str("  fix: add --upsert, or run the API call `pgtls harden <folder>` prints under Next steps\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pooler_exs::Script;

    const UPSTREAM: &str = include_str!("../../../../examples/supabase/volumes/pooler/pooler.exs");

    #[test]
    fn inspect_and_set_reports_of_the_upstream_script() {
        let p = Paint::PLAIN;
        let i = Script::parse(UPSTREAM).unwrap().inspect().unwrap();
        let text = inspect_text(&i, p);
        assert_eq!(text.lines().count(), 6, "{text}");
        assert!(
            text.starts_with(&format!("params map:   line {}", i.params_line)),
            "{text}"
        );
        assert!(text.contains("tenant logic: "), "{text}");
        assert!(text.ends_with(if i.enforce_ssl_reaches_existing_tenant {
            "yes\n"
        } else {
            "no\n"
        }));
        let edit = pooler_exs::harden(
            UPSTREAM,
            &pooler_exs::HardenOptions {
                enforce_ssl: true,
                ..pooler_exs::HardenOptions::default()
            },
        )
        .unwrap();
        let set = set_text(&edit, p);
        assert!(!edit.changes.is_empty());
        for c in &edit.changes {
            assert!(
                set.contains(&format!("{} (script line {})", c.detail, c.line)),
                "{set}"
            );
        }
        assert_eq!(
            set.contains("fix: add --upsert"),
            edit.tenant_logic == TenantLogic::CreateOnly,
            "{set}"
        );
    }
}
