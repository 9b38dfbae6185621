//! Unit tests of detection and planning over an in-memory deployment ([`MemSource`]): no disk.

use std::path::Path;

use crate::checklist::{self, CheckOptions, Verdict};
use crate::{Error, FileKind, HardenOptions, Layout, LayoutKind, MemSource, Source, Tree};

/// The upstream compose file the planner tests start from (also `report_tests`).
pub(crate) const COMPOSE: &str = r#"services:
  db:
    container_name: supabase-db
    image: supabase/postgres:15.8.1.060
    volumes:
      - ./volumes/db/data:/var/lib/postgresql/data:Z
    command: ["postgres", "-c", "config_file=/etc/postgresql/postgresql.conf"]
  supavisor:
    container_name: supabase-pooler
    image: supabase/supavisor:2.7.2
    ports:
      - ${POSTGRES_PORT}:5432
      - ${POOLER_PROXY_PORT_TRANSACTION}:6543
    volumes:
      - ./volumes/pooler/pooler.exs:/etc/pooler/pooler.exs:ro,z
    command: ["/bin/sh", "-c", "/app/bin/server"]
"#;

/// Upstream's create-only pooler.exs (also `report_tests`).
pub(crate) const POOLER_EXS: &str = r#"params = %{
  "external_id" => System.get_env("POOLER_TENANT_ID"),
  "db_host" => "db"
}

if !Supavisor.Tenants.get_tenant_by_external_id(params["external_id"]) do
  {:ok, _} = Supavisor.Tenants.create_tenant(params)
end
"#;

fn upstream() -> MemSource {
    MemSource::new("/srv/supabase")
        .file("docker-compose.yml", COMPOSE)
        .file("volumes/pooler/pooler.exs", POOLER_EXS)
        .dir("volumes/db/data", 0o700, 105, 106)
}

/// The source with every planned change written over it, as `apply` would leave it.
pub(crate) fn applied(mut src: MemSource, plan: &crate::Plan) -> MemSource {
    for c in &plan.changes {
        let owner = c.owner.unwrap_or((1000, 1000));
        src = src.file_with(&c.path, c.after.clone(), c.mode, owner);
    }
    for d in &plan.dirs {
        if src.metadata(&d.path).is_none() {
            src = src.dir(&d.path, d.mode, 0, 0);
        }
    }
    src
}

#[test]
fn detects_upstream_and_coolify_by_service_names() {
    let layout = Layout::detect(&upstream(), None).unwrap();
    assert_eq!(layout.kind, LayoutKind::Upstream);
    assert_eq!(layout.db.key, "db");
    assert_eq!(
        layout.pgdata_host.as_deref(),
        Some(Path::new("volumes/db/data"))
    );
    let coolify = COMPOSE
        .replace("  db:\n", "  supabase-db:\n")
        .replace("  supavisor:\n", "  supabase-supavisor:\n");
    let src = MemSource::new("c").file("compose.yaml", coolify);
    let layout = Layout::detect(&src, None).unwrap();
    assert_eq!(layout.kind, LayoutKind::Coolify);
    assert_eq!(layout.compose, Path::new("compose.yaml"));
}

#[test]
fn unknown_layout_names_the_services_found() {
    let src = MemSource::new("/x").file(
        "docker-compose.yml",
        "services:\n  web:\n    image: nginx\n",
    );
    let err = Layout::detect(&src, None).unwrap_err();
    assert!(matches!(err, Error::UnknownLayout { .. }), "{err:?}");
    assert!(err.to_string().contains("has services: web"), "{err}");
    let empty = MemSource::new("/x");
    assert!(
        Layout::detect(&empty, None)
            .unwrap_err()
            .to_string()
            .contains("no compose file found")
    );
}

#[test]
fn fresh_deployment_plans_every_step_with_a_private_key_for_the_db_owner() {
    let src = upstream();
    let layout = Layout::detect(&src, None).unwrap();
    let tree = Tree::over(Box::new(src), None);
    let mut opts = HardenOptions::new((105, 106));
    opts.extra_sans = vec!["db.example.com".into()];
    let (plan, staging) = crate::plan(&tree, &layout, &opts).unwrap();
    let ids: Vec<_> = plan.steps.iter().map(|s| s.id).collect();
    assert_eq!(
        ids,
        [
            "certificates",
            "pg-hba",
            "db-service",
            "pooler-service",
            "pooler-tenant"
        ]
    );
    let key = plan
        .changes
        .iter()
        .find(|c| c.path == Path::new("volumes/tls/server.key"))
        .expect("a server key is planned");
    assert_eq!(
        (key.kind, key.mode, key.owner),
        (FileKind::PrivateKey, 0o600, Some((105, 106)))
    );
    let cert = plan
        .changes
        .iter()
        .find(|c| c.path == Path::new("volumes/tls/server.crt"))
        .expect("a server certificate is planned");
    let info = pgtls_certs::inspect(&cert.after).unwrap();
    for san in [
        "db",
        "supabase-db",
        "supavisor",
        "supabase-pooler",
        "db.example.com",
    ] {
        assert!(
            info.sans.iter().any(|s| s.contains(san)),
            "{san} in {:?}",
            info.sans
        );
    }
    // the db command gains ssl=on and the cert paths
    let compose = staging.read_text(&layout.compose).unwrap().unwrap();
    assert!(compose.contains("ssl=on"), "{compose}");
    // a create-only pooler.exs is named as a trap
    let tenant = plan.steps.iter().find(|s| s.id == "pooler-tenant").unwrap();
    assert!(!tenant.warnings.is_empty(), "{tenant:?}");
    // the checklist of the planned state passes the certificate and hba items
    let checks = checklist::run(
        &staging,
        &crate::layout::detect_text(tree.src(), &layout.compose, &compose, Some(layout.kind))
            .unwrap(),
        &CheckOptions {
            db_user: Some(crate::owner::DbUser {
                uid: 105,
                gid: 106,
                groups: Vec::new(),
                source: crate::owner::OwnerSource::Flag,
            }),
            sans: crate::harden::wanted_sans(&layout, &opts.extra_sans),
            expiry_warn_days: 30,
            trust: None,
            pg_major: None,
        },
    );
    for id in [
        "certificates",
        "certificate-chain",
        "key-matches",
        "hba-valid",
    ] {
        let item = checks.items.iter().find(|i| i.id == id);
        assert_eq!(
            item.map(|i| i.verdict),
            Some(Verdict::Pass),
            "{id}: {item:?}"
        );
    }
}

#[test]
fn planning_its_own_result_changes_nothing() {
    let src = upstream();
    let layout = Layout::detect(&src, None).unwrap();
    let tree = Tree::over(Box::new(src.clone()), None);
    let opts = HardenOptions::new((105, 106));
    let (plan, _) = crate::plan(&tree, &layout, &opts).unwrap();
    assert!(plan.changed());

    let after = applied(src, &plan);
    let layout = Layout::detect(&after, None).unwrap();
    let tree = Tree::over(Box::new(after), None);
    let (again, _) = crate::plan(&tree, &layout, &opts).unwrap();
    let paths: Vec<_> = again.changes.iter().map(|c| c.path.clone()).collect();
    assert!(!again.changed(), "second plan changes {paths:?}");
}

#[test]
fn half_present_ca_is_refused() {
    let src = upstream().file("volumes/tls-ca/ca.crt", "-----BEGIN CERTIFICATE-----\n");
    let layout = Layout::detect(&src, None).unwrap();
    let tree = Tree::over(Box::new(src), None);
    let err = crate::plan(&tree, &layout, &HardenOptions::new((105, 106))).unwrap_err();
    assert!(err.is_refusal(), "{err:?}");
    assert!(err.to_string().contains("restore the CA key"), "{err}");
}

#[test]
fn a_copy_into_another_source_starts_from_it() {
    let src = upstream();
    let layout = Layout::detect(&src, None).unwrap();
    let tree = Tree::over(Box::new(src), Some(Box::new(MemSource::new("/out"))));
    assert!(!tree.in_place());
    let (plan, _) = crate::plan(&tree, &layout, &HardenOptions::new((105, 106))).unwrap();
    assert_eq!(plan.steps.first().map(|s| s.id.as_str()), Some("copy"));
    // every source file lands in the destination: edited, or copied unchanged
    assert!(
        plan.changes
            .iter()
            .any(|c| c.path == Path::new("volumes/pooler/pooler.exs"))
    );
    assert!(
        plan.changes
            .iter()
            .any(|c| c.kind == FileKind::Text && c.path == Path::new("docker-compose.yml"))
    );
}

/// `hba-trust`: the planned `pg_hba.conf` refuses plaintext from the gateway and the proxy harden
/// knew of; a proxy recreated with another address since then fails the item.
#[test]
fn hba_trust_passes_for_known_exclusions_and_fails_for_a_new_proxy_address() {
    use crate::trust::{Exclusion, TrustSource, TrustedNetworks};
    let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
    let layout = Layout::detect(&upstream(), None).unwrap();
    let tree = Tree::over(Box::new(upstream()), None);
    let mut opts = HardenOptions::new((105, 106));
    opts.trusted = vec!["172.19.0.0/16".into()];
    opts.excluded = vec![ip("172.19.0.1"), ip("172.19.0.7")];
    let (plan, _) = crate::plan(&tree, &layout, &opts).unwrap();
    let after = applied(upstream(), &plan);
    let compose = after.read_text(&layout.compose).unwrap().unwrap();
    let layout_after = crate::layout::detect_text(
        Path::new("/srv/supabase"),
        &layout.compose,
        &compose,
        Some(layout.kind),
    )
    .unwrap();
    let tree_after = Tree::over(Box::new(after), None);
    let staging = crate::Staging::new(&tree_after);
    let exclusion = |a: &str| Exclusion {
        addr: ip(a),
        why: "proxy container x-proxy on n: it forwards".into(),
    };
    let verdict = |excluded: Vec<Exclusion>| {
        let trust = TrustedNetworks {
            source: TrustSource::Flag,
            cidrs: opts.trusted.clone(),
            excluded,
            engine: String::new(),
            warnings: Vec::new(),
        };
        let checks = checklist::run(
            &staging,
            &layout_after,
            &CheckOptions {
                db_user: None,
                sans: Vec::new(),
                expiry_warn_days: 30,
                trust: Some(trust),
                pg_major: None,
            },
        );
        let item = checks.items.iter().find(|i| i.id == "hba-trust").cloned();
        item.map(|i| (i.verdict, i.detail))
    };
    let (v, detail) = verdict(vec![exclusion("172.19.0.1"), exclusion("172.19.0.7")]).unwrap();
    assert_eq!(v, Verdict::Pass, "{detail}");
    let (v, detail) = verdict(vec![exclusion("172.19.0.1"), exclusion("172.19.0.8")]).unwrap();
    assert_eq!(v, Verdict::Fail, "{detail}");
    assert!(
        detail.contains("172.19.0.8 (proxy container x-proxy on n)"),
        "{detail}"
    );
}

/// The compose an earlier pgtls wrote (git 006f07b): `pg_hba.conf` and the pooler's cert and key
/// each mounted as one file.
fn old_hardened() -> MemSource {
    let compose = COMPOSE
        .replace(
            "      - ./volumes/db/data:/var/lib/postgresql/data:Z\n",
            "      - ./volumes/db/data:/var/lib/postgresql/data:Z\n      - ./volumes/tls:/etc/postgresql-tls:ro,z\n      - ./volumes/db/pg_hba.conf:/etc/postgresql-hba/pg_hba.conf:ro,z\n",
        )
        .replace(
            r#""config_file=/etc/postgresql/postgresql.conf"]"#,
            r#""config_file=/etc/postgresql/postgresql.conf", "-c", "hba_file=/etc/postgresql-hba/pg_hba.conf", "-c", "ssl=on", "-c", "ssl_cert_file=/etc/postgresql-tls/server.crt", "-c", "ssl_key_file=/etc/postgresql-tls/server.key", "-c", "ssl_ca_file=/etc/postgresql-tls/ca.crt"]"#,
        )
        .replace(
            "      - ./volumes/pooler/pooler.exs:/etc/pooler/pooler.exs:ro,z\n",
            "      - ./volumes/pooler/pooler.exs:/etc/pooler/pooler.exs:ro,z\n      - ./volumes/tls/server.crt:/etc/ssl/server.crt:ro,z\n      - ./volumes/tls/server.key:/etc/ssl/server.key:ro,z\n    environment:\n      GLOBAL_DOWNSTREAM_CERT_PATH: /etc/ssl/server.crt\n      GLOBAL_DOWNSTREAM_KEY_PATH: /etc/ssl/server.key\n",
        );
    upstream().file("docker-compose.yml", compose).file(
        "volumes/db/pg_hba.conf",
        pg_hba::SUPABASE_DEFAULT_HBA.replace("trust\n", "trust # mine\n"),
    )
}

#[test]
fn single_file_mounts_of_an_earlier_pgtls_are_migrated_to_folders() {
    let src = old_hardened();
    let layout = Layout::detect(&src, None).unwrap();
    let pinned = crate::mounts::pinned_files(&layout);
    let what: Vec<&str> = pinned.iter().map(|p| p.what).collect();
    assert_eq!(what, ["pg_hba.conf", "pooler certificate", "pooler key"]);
    let loc = crate::harden::hba_location(&layout);
    assert_eq!(loc.host, Path::new(crate::harden::HBA_HOST));
    assert!(matches!(loc.mount, crate::harden::HbaMount::Migrate { .. }));

    let tree = Tree::over(Box::new(src.clone()), None);
    let (plan, _s) = crate::plan(&tree, &layout, &HardenOptions::new((105, 106))).unwrap();
    let compose = plan
        .changes
        .iter()
        .find(|c| c.path == Path::new("docker-compose.yml"))
        .map(|c| String::from_utf8(c.after.clone()).unwrap())
        .unwrap();
    assert!(
        compose.contains("- ./volumes/db/hba:/etc/postgresql-hba:ro,z\n"),
        "{compose}"
    );
    assert!(!compose.contains("pg_hba.conf:/etc"), "{compose}");
    assert!(
        compose.contains("- ./volumes/tls:/etc/pooler-tls:ro,z\n"),
        "{compose}"
    );
    assert!(!compose.contains("/etc/ssl/server"), "{compose}");
    assert!(compose.contains("GLOBAL_DOWNSTREAM_CERT_PATH: /etc/pooler-tls/server.crt"));
    assert!(compose.contains("hba_file=/etc/postgresql-hba/pg_hba.conf"));
    // the content moved, the user's comment with it; the old file is not touched
    let hba = plan
        .changes
        .iter()
        .find(|c| c.path == Path::new(crate::harden::HBA_HOST))
        .unwrap();
    assert!(String::from_utf8_lossy(&hba.after).contains("# mine"));
    assert!(
        !plan
            .changes
            .iter()
            .any(|c| c.path == Path::new("volumes/db/pg_hba.conf"))
    );
    let notes: Vec<&String> = plan.steps.iter().flat_map(|s| &s.notes).collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("moved to volumes/db/hba/pg_hba.conf")),
        "{notes:?}"
    );

    // after applying: nothing pinned, the checklist agrees, a rerun changes nothing
    let after = applied(src, &plan);
    let layout = Layout::detect(&after, None).unwrap();
    assert!(crate::mounts::pinned_files(&layout).is_empty());
    assert_eq!(
        crate::harden::hba_location(&layout).mount,
        crate::harden::HbaMount::Folder
    );
    let tree = Tree::over(Box::new(after), None);
    let (again, staging) = crate::plan(&tree, &layout, &HardenOptions::new((105, 106))).unwrap();
    assert!(
        !again.changed(),
        "{:?}",
        again.changes.iter().map(|c| &c.path).collect::<Vec<_>>()
    );
    let list = checklist::run(
        &staging,
        &layout,
        &CheckOptions {
            db_user: None,
            sans: Vec::new(),
            expiry_warn_days: 30,
            trust: None,
            pg_major: None,
        },
    );
    let item = list.items.iter().find(|i| i.id == "file-mounts").unwrap();
    assert_eq!(item.verdict, Verdict::Pass, "{}", item.detail);
}

#[test]
fn the_checklist_flags_single_file_mounts() {
    let src = old_hardened();
    let layout = Layout::detect(&src, None).unwrap();
    let tree = Tree::over(Box::new(src), None);
    let staging = crate::Staging::new(&tree);
    let list = checklist::run(
        &staging,
        &layout,
        &CheckOptions {
            db_user: None,
            sans: Vec::new(),
            expiry_warn_days: 30,
            trust: None,
            pg_major: None,
        },
    );
    let item = list.items.iter().find(|i| i.id == "file-mounts").unwrap();
    assert_eq!(item.verdict, Verdict::Fail);
    assert!(
        item.detail
            .contains("./volumes/db/pg_hba.conf -> /etc/postgresql-hba/pg_hba.conf"),
        "{}",
        item.detail
    );
    assert!(
        item.detail.contains("/etc/ssl/server.key"),
        "{}",
        item.detail
    );
}
