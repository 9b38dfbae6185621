//! The stable ids of a plan's steps ([`StepId`]) and of the checklist's items ([`CheckId`]).
//!
//! Each is an enum, so code that matches on an id does not compile with a typo; each serialises
//! (and prints) as the string the JSON contracts (`harden --json` `steps[].id`, `check --json`
//! `items[].id`) have always carried, and compares equal to it.

use std::fmt;

/// An enum of string ids: `as_str`, `Display` (honouring width and alignment), `Serialize` as the
/// string, and equality with `&str`.
macro_rules! string_ids {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every id, in declaration order.
            pub const ALL: &[Self] = &[$(Self::$variant,)+];

            /// The id as the JSON contracts spell it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}

string_ids! {
    /// The id of one step of a harden plan, in plan order.
    StepId {
        /// `copy`: the source folder copied to `--out`.
        Copy = "copy",
        /// `certificates`: the CA, server certificate and key.
        Certificates = "certificates",
        /// `pg-hba`: `pg_hba.conf`.
        PgHba = "pg-hba",
        /// `db-service`: the db service in the compose file.
        DbService = "db-service",
        /// `pooler-service`: Supavisor's service in the compose file.
        PoolerService = "pooler-service",
        /// `pooler-tenant`: Supavisor's tenant script.
        PoolerTenant = "pooler-tenant",
        /// `pgbouncer-service`: PgBouncer's service and its copy of the key.
        PgbouncerService = "pgbouncer-service",
    }
}

string_ids! {
    /// The id of one checklist item.
    CheckId {
        /// The `db-command` item.
        DbCommand = "db-command",
        /// The `pgdata` item.
        Pgdata = "pgdata",
        /// The `db-mounts` item.
        DbMounts = "db-mounts",
        /// The `file-mounts` item.
        FileMounts = "file-mounts",
        /// The `certificates` item.
        Certificates = "certificates",
        /// The `certificate-sans` item.
        CertificateSans = "certificate-sans",
        /// The `certificate-expiry` item.
        CertificateExpiry = "certificate-expiry",
        /// The `certificate-chain` item.
        CertificateChain = "certificate-chain",
        /// The `key-matches` item.
        KeyMatches = "key-matches",
        /// The `key-permissions` item.
        KeyPermissions = "key-permissions",
        /// The `ca-key` item.
        CaKey = "ca-key",
        /// The `hba-valid` item.
        HbaValid = "hba-valid",
        /// The `hba-lint` item.
        HbaLint = "hba-lint",
        /// The `hba-trust` item.
        HbaTrust = "hba-trust",
        /// The `pooler-service` item.
        PoolerService = "pooler-service",
        /// The `pooler-tls` item.
        PoolerTls = "pooler-tls",
        /// The `pooler-key` item.
        PoolerKey = "pooler-key",
        /// The `pooler-ports` item.
        PoolerPorts = "pooler-ports",
        /// The `pooler-enforce-ssl` item.
        PoolerEnforceSsl = "pooler-enforce-ssl",
        /// The `pooler-tenant-logic` item.
        PoolerTenantLogic = "pooler-tenant-logic",
        /// The `compose-model` item (`compose_v2`).
        ComposeModel = "compose-model",
        /// The `coolify-compose` item ([`crate::via_coolify`]).
        CoolifyCompose = "coolify-compose",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_print_and_serialise_as_the_contract_strings() {
        for id in StepId::ALL {
            assert_eq!(serde_json::to_value(id).unwrap(), id.as_str());
            assert_eq!(format!("{id}"), id.as_str());
        }
        assert_eq!(format!("{:<8}|", StepId::PgHba), "pg-hba  |");
        assert_eq!(StepId::PgbouncerService, "pgbouncer-service");
        assert_eq!(
            serde_json::to_string(&CheckId::PoolerEnforceSsl).unwrap(),
            "\"pooler-enforce-ssl\""
        );
        let mut seen = std::collections::BTreeSet::new();
        assert!(CheckId::ALL.iter().all(|c| seen.insert(c.as_str())));
    }
}
