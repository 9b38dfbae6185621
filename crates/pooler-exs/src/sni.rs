//! The tenant's `sni_hostname`: Supavisor 2.9+ routes a TLS client to a tenant by the host name
//! the client sent in SNI.
//!
//! What Supavisor does with it (supabase/supavisor at 03e5cc56, v2.9.10 and later; routing
//! since v2.9.0, bd4eff25 "SNI-based tenant routing"):
//! - `lib/supavisor/tenants/tenant.ex`: `field(:sni_hostname, :string)`, cast by the changeset,
//!   optional, with no unique constraint (migration `20230718175315_add_sni_host.exs`).
//! - `client_handler.ex`: the SNI comes from `:ssl.connection_information(sock, [:sni_hostname])`
//!   (`HandlerHelpers.try_get_sni`); a plain TCP client has none.
//! - `tenants.ex`: with no `.tenant` suffix in the user name, the tenant is the one whose
//!   `sni_hostname` equals the SNI exactly (`Repo.get_by(sni_hostname: ...)`, and
//!   `t.sni_hostname == ^sni_hostname` in the user query): byte for byte, and two tenants with
//!   the same value make the lookup fail.
//! - `db_handler.ex` / `auth_query.ex`: with `upstream_verify: :peer`, Supavisor also sends it as
//!   the SNI of its own TLS connection to PostgreSQL (`sni_hostname || db_host`); the host name
//!   is not checked there (`match_fun` always true), so this only changes what PostgreSQL sees.
//!
//! Clients send SNI for host names only: libpq skips it when the host is all digits and dots
//! or contains `:` (`fe-secure-openssl.c`), and RFC 6066 forbids IP literals in SNI. A tenant
//! whose `sni_hostname` is an IP address is never found that way, so it is refused here.

use std::net::IpAddr;

use crate::error::{Error, Result};
use crate::script::Script;
use crate::value::ValueExpr;

/// The map key.
pub const SNI_KEY: &str = "sni_hostname";

/// Check that `host` is a DNS host name a client can send in SNI and that Supavisor can match:
/// not an IP address, ASCII letters, digits and `-` in dot-separated labels of 1 to 63
/// characters (253 in all), no leading or trailing `-`, no trailing dot, lower case.
pub fn check_sni_hostname(host: &str) -> Result<()> {
    let refuse = |reason: String| {
        Err(Error::InvalidSniHostname {
            value: host.to_owned(),
            reason,
        })
    };
    if host.is_empty() {
        return refuse("empty: SNI routing needs the host name clients connect to".into());
    }
    let unbracketed = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let ip_like = unbracketed.parse::<IpAddr>().is_ok()
        || host.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if ip_like {
        return refuse(format!(
            "an IP address: TLS clients send SNI only for host names (libpq never sends one for an IP literal, RFC 6066 forbids it), so Supavisor would never route a connection to this tenant; give the DNS name clients use for the pooler (one that resolves to {unbracketed}), and keep the `user.tenant` form for clients that connect by IP"
        ));
    }
    if host.contains(':') {
        return refuse(
            "contains `:`: give the host name alone, without a port (libpq sends no SNI for a host with `:` in it)"
                .into(),
        );
    }
    if host.ends_with('.') {
        return refuse(format!(
            "ends with a dot: Supavisor compares the name a client sends byte for byte; write {:?}",
            host.trim_end_matches('.')
        ));
    }
    if host.len() > 253 {
        return refuse(format!(
            "{} characters: a host name has at most 253",
            host.len()
        ));
    }
    if let Some(c) = host
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.'))
    {
        return refuse(format!(
            "{c:?} is not allowed in a host name (ASCII letters, digits, `-` and `.`; write an internationalised name in its xn-- form)"
        ));
    }
    for label in host.split('.') {
        if label.is_empty() {
            return refuse("an empty label (two dots in a row, or a leading dot)".into());
        }
        if label.len() > 63 {
            return refuse(format!("the label {label:?} is longer than 63 characters"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return refuse(format!("the label {label:?} starts or ends with `-`"));
        }
    }
    if host.bytes().any(|b| b.is_ascii_uppercase()) {
        return refuse(format!(
            "upper case: Supavisor compares the name a client sends byte for byte, and clients send the host as written in their connection string; use {:?}",
            host.to_ascii_lowercase()
        ));
    }
    Ok(())
}

impl Script {
    /// Set the tenant's `sni_hostname` to `host` ([`check_sni_hostname`] first). Returns whether
    /// the text changed.
    ///
    /// Refused with [`Error::SharedByLoop`] when the parameters map is built once per database
    /// (upstream's registry script, [`crate::ParamsMap::loop_line`]): one literal would give
    /// every tenant the same name, and Supavisor's lookup by SNI fails when two tenants share
    /// one.
    pub fn set_sni_hostname(&mut self, host: &str) -> Result<bool> {
        check_sni_hostname(host)?;
        if let Some(line) = self.params_map()?.loop_line() {
            return Err(Error::SharedByLoop {
                key: SNI_KEY.to_owned(),
                line,
                reason: "Supavisor finds a tenant by SNI with Repo.get_by(sni_hostname: ...), which fails when two tenants have the same value; give each database its own host name in the script (for example from its registry entry) instead".to_owned(),
            });
        }
        self.set(SNI_KEY, &ValueExpr::string(host))
    }
}
