//! Shared helpers for the runnable recipes in this folder (see the `[[example]]` targets):
//!
//! - `harden_supabase`: harden the bundled upstream deployment into a copy, then run the checklist;
//! - `harden_library`: the same through the pgtls-harden library API (detect, plan, apply, check);
//! - `rotate_server_cert`: renew a server certificate and prove, on the wire, that PostgreSQL
//!   serves the new one after `SELECT pg_reload_conf()`, without a restart;
//! - `audit_endpoints`: probe several PostgreSQL / PgBouncer endpoints at once;
//! - `hba_explain`: which `pg_hba.conf` line decides a connection, and what the client hears.
//!
//! Run one with `cargo run -p pgtls-examples --example harden_supabase`. The bundled
//! deployments live in `supabase/` (upstream layout) and `coolify/` (Coolify layout).

use std::path::PathBuf;

/// The folder of the bundled deployments (`examples/`).
pub fn bundled_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The bundled upstream-layout deployment (`examples/supabase`).
pub fn upstream_deployment() -> PathBuf {
    bundled_dir().join("supabase")
}

/// The bundled Coolify-layout deployment (`examples/coolify`).
pub fn coolify_deployment() -> PathBuf {
    bundled_dir().join("coolify")
}

/// Prints a section heading.
pub fn heading(title: &str) {
    println!("\n== {title}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_deployments_exist() {
        assert!(upstream_deployment().join("docker-compose.yml").is_file());
        assert!(
            upstream_deployment()
                .join("volumes/pooler/pooler.exs")
                .is_file()
        );
        assert!(upstream_deployment().join("volumes/db/data").is_dir());
        assert!(coolify_deployment().join("docker-compose.yml").is_file());
    }
}
