//! The whole pooler.exs hardening step as one call, with a report for the CLI's plan.

use serde::Serialize;

use crate::analyze::TenantLogic;
use crate::embed::{Host, TenantFile};
use crate::error::Result;
use crate::script::Script;

/// What [`harden`] should do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HardenOptions {
    /// Set `enforce_ssl` to `true`.
    pub enforce_ssl: bool,
    /// Turn on upstream TLS with the CA PEM at this path inside the container
    /// ([`Script::set_upstream_tls`]).
    pub upstream_ca: Option<String>,
    /// Rewrite create-only tenant logic into an upsert ([`Script::rewrite_to_upsert`]).
    pub upsert: bool,
    /// Set the tenant's `sni_hostname` (Supavisor 2.9+ finds the tenant by the host name a TLS
    /// client sends; [`Script::set_sni_hostname`] refuses an IP address).
    pub sni_hostname: Option<String>,
}

/// One change made by [`harden`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// A stable identifier: `enforce-ssl`, `upstream-tls`, `sni-hostname` or `upsert`.
    pub id: &'static str,
    /// A human sentence.
    pub detail: String,
    /// The 1-based line, in the new text, of the parameters map (key edits) or of the new
    /// `update_tenant` call (upsert).
    pub line: usize,
}

/// The outcome of [`harden`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HardenReport {
    /// The new script text (equal to the input when nothing changed).
    pub text: String,
    /// Whether `text` differs from the input.
    pub changed: bool,
    /// What changed, in order.
    pub changes: Vec<Change>,
    /// Things the user must know or do (lowercase sentences, no trailing period).
    pub warnings: Vec<String>,
    /// The tenant logic after the edit.
    pub tenant_logic: TenantLogic,
    /// Whether the code is a `pooler.exs` file or sits in a shell script's `supavisor eval '...'`.
    pub host: Host,
}

/// Apply the requested edits to a pooler.exs text and report what changed and what to watch.
///
/// `text` may be a `pooler.exs` or a shell script running `supavisor eval '<code>'`
/// ([`TenantFile`]); an explicit `"enforce_ssl" => false` becomes `true` in place.
///
/// Idempotent: running it on its own output gives `changed == false` and the same text.
pub fn harden(text: &str, options: &HardenOptions) -> Result<HardenReport> {
    let mut file = TenantFile::parse(text)?;
    let host = file.host();
    let script = file.script_mut();
    // Fail early, before any edit, when there is no parameters map.
    script.params_map()?;
    let mut changes = Vec::new();
    let mut warnings = Vec::new();
    let map_line = |s: &Script| s.params_map().map_or(1, |m| m.line());

    if options.enforce_ssl && script.set_bool("enforce_ssl", true)? {
        changes.push(Change {
            id: "enforce-ssl",
            detail: "set enforce_ssl to true in the tenant parameters".to_owned(),
            line: map_line(script),
        });
    }
    if let Some(ca) = &options.upstream_ca {
        if script.set_upstream_tls(ca)? {
            changes.push(Change {
                id: "upstream-tls",
                detail: format!(
                    "set upstream_ssl, upstream_verify \"peer\" and upstream_tls_ca from {ca:?}"
                ),
                line: map_line(script),
            });
        }
        warnings.push(format!(
            "the script reads {ca:?} inside the pooler container at start (File.read! raises if it is missing): mount the CA there"
        ));
    }
    if let Some(host) = &options.sni_hostname
        && script.set_sni_hostname(host)?
    {
        changes.push(Change {
            id: "sni-hostname",
            detail: format!(
                "set sni_hostname to {host:?}: Supavisor 2.9+ finds this tenant by the host name a TLS client sends (SNI) when the user name has no .tenant suffix"
            ),
            line: map_line(script),
        });
    }
    if options.upsert && script.rewrite_to_upsert()? {
        let line = script
            .as_str()
            .lines()
            .position(|l| l.contains("update_tenant("))
            .map_or(1, |i| i + 1);
        changes.push(Change {
            id: "upsert",
            detail: "rewrote the create-only tenant logic into an upsert with Supavisor.Tenants.update_tenant/2".to_owned(),
            line,
        });
    }
    if let Some(line) = script.params_map()?.loop_line()
        && !changes.is_empty()
    {
        warnings.push(format!(
            "the tenant parameters are built once per database inside the loop at line {line} (one tenant per entry of the script's database registry): these settings apply to every one of those tenants"
        ));
    }
    let tenant_logic = script.tenant_logic();
    match tenant_logic {
        TenantLogic::CreateOnly => warnings.push(
            "the script only creates the tenant: its parameters (enforce_ssl included) reach an existing tenant only after an upsert rewrite or an update through Supavisor's API (PUT /api/tenants/<external_id>)"
                .to_owned(),
        ),
        TenantLogic::Unknown => warnings.push(
            "the tenant logic was not recognised: check that the script updates an existing tenant, or enforce_ssl applies only on a fresh database"
                .to_owned(),
        ),
        TenantLogic::Upsert => {}
    }
    let text_out = file.text()?;
    Ok(HardenReport {
        changed: text_out != text,
        text: text_out,
        changes,
        warnings,
        tenant_logic,
        host,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREATE_ONLY: &str = "params = %{\n  \"external_id\" => \"t\"\n}\n\nif !Supavisor.Tenants.get_tenant_by_external_id(params[\"external_id\"]) do\n  {:ok, _} = Supavisor.Tenants.create_tenant(params)\nend\n";

    #[test]
    fn sets_the_sni_hostname_once_and_refuses_an_ip() {
        let opts = HardenOptions {
            sni_hostname: Some("pooler.example.com".into()),
            ..Default::default()
        };
        let r = harden(CREATE_ONLY, &opts).unwrap();
        assert!(r.changed);
        assert_eq!(r.changes.len(), 1);
        assert_eq!(r.changes[0].id, "sni-hostname");
        assert!(
            r.text
                .contains("\"sni_hostname\" => \"pooler.example.com\""),
            "{}",
            r.text
        );
        let again = harden(&r.text, &opts).unwrap();
        assert!(!again.changed && again.changes.is_empty());
        let ip = HardenOptions {
            sni_hostname: Some("192.0.2.7".into()),
            ..Default::default()
        };
        assert!(matches!(
            harden(CREATE_ONLY, &ip),
            Err(crate::Error::InvalidSniHostname { .. })
        ));
    }

    #[test]
    fn reports_changes_and_warnings_and_is_idempotent() {
        let opts = HardenOptions {
            enforce_ssl: true,
            upstream_ca: None,
            upsert: false,
            sni_hostname: None,
        };
        let r = harden(CREATE_ONLY, &opts).unwrap();
        assert!(r.changed);
        assert_eq!(r.changes.len(), 1);
        assert_eq!(r.changes[0].id, "enforce-ssl");
        assert_eq!(r.changes[0].line, 1);
        assert_eq!(r.tenant_logic, TenantLogic::CreateOnly);
        assert!(r.warnings[0].starts_with("the script only creates the tenant"));

        let opts = HardenOptions {
            upsert: true,
            upstream_ca: Some("/etc/pooler/certs/ca.crt".to_owned()),
            ..opts
        };
        let r = harden(&r.text, &opts).unwrap();
        let ids: Vec<&str> = r.changes.iter().map(|c| c.id).collect();
        assert_eq!(ids, ["upstream-tls", "upsert"]);
        assert_eq!(r.changes[1].line, 11);
        assert_eq!(r.tenant_logic, TenantLogic::Upsert);
        assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);

        let again = harden(&r.text, &opts).unwrap();
        assert!(!again.changed);
        assert!(again.changes.is_empty());
        assert_eq!(again.text, r.text);
    }

    #[test]
    fn no_params_map_is_an_error_before_any_edit() {
        let e = harden("IO.puts(1)", &HardenOptions::default()).unwrap_err();
        assert_eq!(e, crate::Error::NoTenantCall);
    }
}
