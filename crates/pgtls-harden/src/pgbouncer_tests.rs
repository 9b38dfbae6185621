//! Unit tests of the PgBouncer variant over an in-memory deployment: detection, the plan (env
//! and mounted pgbouncer.ini), idempotence, the checklist and the renewal actions.

use std::path::Path;

use crate::plan_tests::applied;

use crate::PoolerKind;
use crate::checklist::{self, CheckOptions, Checklist, Verdict};
use crate::pgbouncer::PGBOUNCER_TLS_DIR;
use crate::{HardenOptions, Layout, LayoutKind, MemSource, Source, Tree};

/// docker-compose.yml with the PgBouncer service in the shape of upstream's
/// `docker/docker-compose.pgbouncer.yml` (supabase/supabase 27291ed, 2026): service `pgbouncer`,
/// container `supabase-pgbouncer`, `edoburu/pgbouncer:v1.25.2-p0`, port 6432 published on
/// `${POOLER_PROXY_PORT_TRANSACTION}`, settings in the environment. Our own file.
const COMPOSE: &str = r#"name: supabase
services:
  db:
    container_name: supabase-db
    image: supabase/postgres:17.6.1.136
    volumes:
      - ./volumes/db/data:/var/lib/postgresql/data:Z
    command: ["postgres", "-c", "config_file=/etc/postgresql/postgresql.conf"]
  pgbouncer:
    container_name: supabase-pgbouncer
    image: edoburu/pgbouncer:v1.25.2-p0
    restart: unless-stopped
    ports:
      - ${POOLER_PROXY_PORT_TRANSACTION}:6432
    depends_on:
      db:
        condition: service_healthy
    environment:
      DB_USER: ${POSTGRES_USER:-postgres}
      DB_PASSWORD: ${POSTGRES_PASSWORD}
      DB_HOST: ${POSTGRES_HOST}
      DB_PORT: ${POSTGRES_PORT}
      DB_NAME: ${POSTGRES_DB}
      LISTEN_PORT: 6432
      AUTH_TYPE: scram-sha-256
      POOL_MODE: transaction
      DEFAULT_POOL_SIZE: ${POOLER_DEFAULT_POOL_SIZE}
      MAX_CLIENT_CONN: ${POOLER_MAX_CLIENT_CONN}
"#;

const DOTENV: &str = "POSTGRES_HOST=db\nPOSTGRES_PORT=5432\nPOSTGRES_DB=postgres\nPOSTGRES_PASSWORD=secret\nPOOLER_PROXY_PORT_TRANSACTION=6543\n";

fn deployment(compose: &str) -> MemSource {
    MemSource::new("/srv/supabase")
        .file("docker-compose.yml", compose)
        .file(".env", DOTENV)
        .dir("volumes/db/data", 0o700, 105, 106)
}

fn check(src: MemSource) -> Checklist {
    let layout = Layout::detect(&src, None).unwrap();
    let tree = Tree::over(Box::new(src), None);
    let staging = crate::Staging::new(&tree);
    checklist::run(
        &staging,
        &layout,
        &CheckOptions {
            db_user: None,
            sans: Vec::new(),
            expiry_warn_days: 30,
            trust: None,
            pg_major: None,
        },
    )
}

fn item<'a>(list: &'a Checklist, id: &str) -> &'a checklist::Item {
    list.items
        .iter()
        .find(|i| i.id == id && i.detail.contains("PgBouncer"))
        .unwrap_or_else(|| panic!("no PgBouncer item {id} in {:#?}", list.items))
}

fn harden(src: &MemSource) -> (crate::Plan, MemSource) {
    let layout = Layout::detect(src, None).unwrap();
    let tree = Tree::over(Box::new(src.clone()), None);
    let (plan, _) = crate::plan(&tree, &layout, &HardenOptions::new((105, 106))).unwrap();
    let after = applied(src.clone(), &plan);
    (plan, after)
}

#[test]
fn pgbouncer_variant_is_detected_without_supavisor() {
    let layout = Layout::detect(&deployment(COMPOSE), None).unwrap();
    assert_eq!(layout.kind, LayoutKind::Upstream);
    assert!(layout.pooler.is_none());
    assert_eq!(layout.pgbouncer.as_ref().unwrap().key, "pgbouncer");
    assert_eq!(layout.pooler_kinds(), [PoolerKind::PgBouncer]);
    // by image alone, under another key
    let renamed = COMPOSE.replace(
        "  pgbouncer:\n    container_name: supabase-pgbouncer\n",
        "  pool:\n",
    );
    let layout = Layout::detect(&deployment(&renamed), None).unwrap();
    assert_eq!(layout.pgbouncer.unwrap().key, "pool");
}

#[test]
fn env_variant_is_hardened_with_its_own_key_copy_and_idempotently() {
    let src = deployment(COMPOSE);
    let before = check(src.clone());
    let tls = item(&before, "pooler-tls");
    assert_eq!(tls.verdict, Verdict::Fail);
    assert!(
        tls.detail
            .contains("CLIENT_TLS_SSLMODE in service `pgbouncer` of docker-compose.yml is not set"),
        "{}",
        tls.detail
    );

    let (plan, after) = harden(&src);
    let compose = after
        .read_text(Path::new("docker-compose.yml"))
        .unwrap()
        .unwrap();
    for line in [
        "      CLIENT_TLS_SSLMODE: require\n",
        "      CLIENT_TLS_CERT_FILE: /etc/pgbouncer-tls/server.crt\n",
        "      CLIENT_TLS_KEY_FILE: /etc/pgbouncer-tls/server.key\n",
        "      CLIENT_TLS_PROTOCOLS: secure\n",
        // DB_HOST=${POSTGRES_HOST}=db is in the certificate: the hop to the db is verified
        "      SERVER_TLS_SSLMODE: verify-full\n",
        "      SERVER_TLS_CA_FILE: /etc/pgbouncer-tls/ca.crt\n",
        "./volumes/pgbouncer-tls:/etc/pgbouncer-tls:ro",
    ] {
        assert!(compose.contains(line), "{line:?} missing in\n{compose}");
    }
    // upstream's lines untouched
    assert!(compose.contains("      - ${POOLER_PROXY_PORT_TRANSACTION}:6432\n"));
    let key = plan
        .changes
        .iter()
        .find(|c| c.path == Path::new(PGBOUNCER_TLS_DIR).join("server.key"))
        .expect("a key copy for PgBouncer");
    assert_eq!((key.mode, key.owner), (0o600, Some((70, 70))));
    let main_key = plan
        .changes
        .iter()
        .find(|c| c.path == Path::new("volumes/tls/server.key"))
        .unwrap();
    assert_eq!(main_key.after, key.after, "the same key, two owners");
    assert_eq!(main_key.owner, Some((105, 106)));
    let step = plan
        .steps
        .iter()
        .find(|s| s.id == "pgbouncer-service")
        .unwrap();
    assert_eq!(step.status, crate::StepStatus::Changed);
    assert!(
        plan.next_steps
            .iter()
            .any(|s| s.contains("--force-recreate db pgbouncer")),
        "{:?}",
        plan.next_steps
    );

    let list = check(after.clone());
    assert_eq!(
        item(&list, "pooler-tls").verdict,
        Verdict::Pass,
        "{:#?}",
        list.items
    );
    assert_eq!(item(&list, "pooler-key").verdict, Verdict::Pass);
    assert_eq!(item(&list, "pooler-ports").verdict, Verdict::Pass);

    let (again, _) = harden(&after);
    let paths: Vec<_> = again.changes.iter().map(|c| c.path.clone()).collect();
    assert!(!again.changed(), "second plan changes {paths:?}");
}

#[test]
fn each_break_is_named() {
    let (_, after) = harden(&deployment(COMPOSE));
    let compose = after
        .read_text(Path::new("docker-compose.yml"))
        .unwrap()
        .unwrap();
    // plaintext left on, in the file Compose reads
    let off = after.clone().file(
        "docker-compose.yml",
        compose.replace("CLIENT_TLS_SSLMODE: require", "CLIENT_TLS_SSLMODE: disable"),
    );
    let list = check(off);
    let tls = item(&list, "pooler-tls");
    assert_eq!(tls.verdict, Verdict::Fail);
    assert!(
        tls.detail.contains(
            "CLIENT_TLS_SSLMODE in service `pgbouncer` of docker-compose.yml:31 is `disable`"
        ),
        "{}",
        tls.detail
    );
    // the key copy owned by the db's uid: unreadable by uid 70
    let key = after
        .read(Path::new("volumes/pgbouncer-tls/server.key"))
        .unwrap()
        .unwrap();
    let db_owned =
        after
            .clone()
            .file_with("volumes/pgbouncer-tls/server.key", key, 0o600, (105, 106));
    let list = check(db_owned);
    let k = item(&list, "pooler-key");
    assert_eq!(k.verdict, Verdict::Fail);
    assert!(k.detail.contains("cannot read it"), "{}", k.detail);
    assert!(
        k.fix.as_deref().unwrap().starts_with("chown 70:70 "),
        "{:?}",
        k.fix
    );
}

#[test]
fn a_mounted_pgbouncer_ini_is_edited_instead_of_the_environment() {
    let compose = COMPOSE.replace(
        "    depends_on:\n",
        "    volumes:\n      - ./volumes/pgbouncer/pgbouncer.ini:/etc/pgbouncer/pgbouncer.ini:ro\n    depends_on:\n",
    );
    let ini = "[databases]\r\n* = host=db port=5432\r\n\r\n[pgbouncer]\r\nlisten_port = 6432\r\n;client_tls_sslmode = disable\r\nauth_type = scram-sha-256\r\n";
    let src = deployment(&compose).file("volumes/pgbouncer/pgbouncer.ini", ini);
    let list = check(src.clone());
    let tls = item(&list, "pooler-tls");
    assert_eq!(tls.verdict, Verdict::Fail);
    assert!(
        tls.detail
            .contains("client_tls_sslmode in volumes/pgbouncer/pgbouncer.ini is not set"),
        "{}",
        tls.detail
    );

    let (plan, after) = harden(&src);
    let edited = after
        .read_text(Path::new("volumes/pgbouncer/pgbouncer.ini"))
        .unwrap()
        .unwrap();
    assert_eq!(
        edited,
        "[databases]\r\n* = host=db port=5432\r\n\r\n[pgbouncer]\r\nlisten_port = 6432\r\n;client_tls_sslmode = disable\r\nauth_type = scram-sha-256\r\nclient_tls_sslmode = require\r\nclient_tls_cert_file = /etc/pgbouncer-tls/server.crt\r\nclient_tls_key_file = /etc/pgbouncer-tls/server.key\r\nclient_tls_protocols = secure\r\n"
    );
    let compose_after = after
        .read_text(Path::new("docker-compose.yml"))
        .unwrap()
        .unwrap();
    assert!(
        !compose_after.contains("CLIENT_TLS_SSLMODE"),
        "the image ignores env when an ini is mounted"
    );
    assert!(compose_after.contains("./volumes/pgbouncer-tls:/etc/pgbouncer-tls:ro"));
    let step = plan
        .steps
        .iter()
        .find(|s| s.id == "pgbouncer-service")
        .unwrap();
    assert!(
        step.files
            .iter()
            .any(|f| f == Path::new("volumes/pgbouncer/pgbouncer.ini"))
    );
    assert_eq!(
        item(&check(after.clone()), "pooler-tls").verdict,
        Verdict::Pass
    );
    let (again, _) = harden(&after);
    assert!(!again.changed());
}

#[test]
fn renewal_reloads_pgbouncer_with_sighup() {
    let layout = Layout::detect(&deployment(COMPOSE), None).unwrap();
    let a = crate::effect::actions(&layout, &[crate::effect::Change::Certificates]);
    let p = a
        .iter()
        .find(|a| a.service == "pgbouncer")
        .expect("a PgBouncer action");
    assert_eq!(p.kind, crate::effect::ActionKind::Reload);
    assert_eq!(p.command, "docker compose kill -s SIGHUP pgbouncer");
    assert!(
        p.alternative.as_deref().unwrap().contains("-p 6432"),
        "{:?}",
        p.alternative
    );
    assert!(
        crate::effect::actions(&layout, &[crate::effect::Change::Hba])
            .iter()
            .all(|a| a.service != "pgbouncer")
    );
}

#[test]
fn each_key_copy_has_its_reader() {
    let layout = Layout::detect(&deployment(COMPOSE), None).unwrap();
    let readers = crate::owner::key_readers(&layout, None);
    let who: Vec<_> = readers
        .iter()
        .map(|r| (r.service.as_str(), r.ids, r.key.display().to_string()))
        .collect();
    assert_eq!(
        who,
        [
            ("db", None, "volumes/tls/server.key".to_owned()),
            (
                "pgbouncer",
                Some((70, 70)),
                "volumes/pgbouncer-tls/server.key".to_owned()
            ),
        ]
    );
    assert_eq!(readers[1].program, pgtls_certs::KeyProgram::PgBouncer);
}
