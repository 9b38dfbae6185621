//! Each warning code, raised by the planner in the situation its long text describes (over an
//! in-memory deployment, [`MemSource`]).

use crate::plan_tests::{COMPOSE, POOLER_EXS as CREATE_ONLY};
use crate::report::Code;
use crate::{HardenOptions, Layout, MemSource, NoEngine, Plan, Source, Tree};

/// An upstream deployment that has run once (PGDATA initialised).
fn started(compose: &str, pooler_exs: &str) -> MemSource {
    MemSource::new("/srv/supabase")
        .file("docker-compose.yml", compose)
        .file("volumes/pooler/pooler.exs", pooler_exs)
        .dir("volumes/db/data", 0o700, 105, 106)
        .file_with("volumes/db/data/PG_VERSION", "15\n", 0o600, (105, 106))
}

fn plan_of(src: MemSource, out: Option<MemSource>, opts: &HardenOptions) -> Plan {
    let layout = Layout::detect(&src, None).unwrap();
    let tree = Tree::over(Box::new(src), out.map(|o| Box::new(o) as Box<dyn Source>));
    crate::plan(&tree, &layout, opts).unwrap().0
}

/// Every code the plan raised, the plan's and the steps'.
fn codes(plan: &Plan) -> Vec<Code> {
    let steps = plan.steps.iter().flat_map(|s| &s.warnings);
    plan.warnings.iter().chain(steps).map(|w| w.code).collect()
}

fn opts() -> HardenOptions {
    HardenOptions::new((105, 106))
}

#[test]
fn a_started_upstream_deployment_raises_only_the_standing_warnings() {
    let plan = plan_of(started(COMPOSE, CREATE_ONLY), None, &opts());
    assert_eq!(
        codes(&plan),
        [
            Code::RequireMitm,
            Code::KeyTwoReaders,
            // the fixture's pooler is Supavisor 2.7.2, before 2.9.6's fix (#25)
            Code::SupavisorAsyncHang,
            Code::TenantCreateOnly
        ],
        "{:#?}",
        plan.warnings
    );
    // a create_tenant without the guard the upstream script has: not recognised
    let unguarded = CREATE_ONLY.replace(
        "if !Supavisor.Tenants.get_tenant_by_external_id(params[\"external_id\"]) do\n  {:ok, _} = Supavisor.Tenants.create_tenant(params)\nend\n",
        "{:ok, _} = Supavisor.Tenants.create_tenant(params)\n",
    );
    let plan = plan_of(started(COMPOSE, &unguarded), None, &opts());
    assert!(
        codes(&plan).contains(&Code::TenantLogicUnknown),
        "{:?}",
        codes(&plan)
    );
}

#[test]
fn the_database_state_codes() {
    let fresh = MemSource::new("/srv/supabase")
        .file("docker-compose.yml", COMPOSE)
        .file("volumes/pooler/pooler.exs", CREATE_ONLY)
        .dir("volumes/db/data", 0o700, 105, 106);
    let plan = plan_of(fresh, None, &opts());
    assert_eq!(codes(&plan).first(), Some(&Code::DbNotStarted));
    let named = COMPOSE.replace("./volumes/db/data:", "db-data:");
    let plan = plan_of(started(&named, CREATE_ONLY), None, &opts());
    assert_eq!(codes(&plan).first(), Some(&Code::DbStateUnknown));
    let plan = plan_of(
        started(COMPOSE, CREATE_ONLY),
        Some(MemSource::new("/out")),
        &opts(),
    );
    assert!(
        codes(&plan).contains(&Code::CopyHasNoDb),
        "{:?}",
        codes(&plan)
    );
}

#[test]
fn the_key_codes() {
    let mut o = opts();
    o.docker_remap = Some("userns-remap".into());
    let plan = plan_of(started(COMPOSE, CREATE_ONLY), None, &o);
    let got = codes(&plan);
    assert!(got.contains(&Code::KeyRemapped) && !got.contains(&Code::KeyTwoReaders));
    let mut o = opts();
    o.key_type = Some(pgtls_certs::KeyType::Ed25519);
    let plan = plan_of(started(COMPOSE, CREATE_ONLY), None, &o);
    assert!(codes(&plan).contains(&Code::KeyType), "{:?}", codes(&plan));
    // the owner change only root can make
    let plan = plan_of(started(COMPOSE, CREATE_ONLY), None, &opts());
    let problem = crate::owner::owner_problem(&plan.changes, 1000);
    assert!(problem.is_some_and(|p| p.contains("105:106")));
}

#[test]
fn an_exposed_ca_key_is_coded() {
    let src = started(COMPOSE, CREATE_ONLY);
    let plan = plan_of(src.clone(), None, &opts());
    let mut after = src;
    for c in &plan.changes {
        let exposed = c.path.ends_with("tls-ca/ca.key");
        let mode = if exposed { 0o644 } else { c.mode };
        after = after.file_with(&c.path, c.after.clone(), mode, (0, 0));
    }
    let plan = plan_of(after, None, &opts());
    assert!(
        codes(&plan).contains(&Code::CaKeyExposed),
        "{:?}",
        codes(&plan)
    );
}

#[test]
fn a_name_no_client_can_reach_is_coded() {
    let mut o = opts();
    o.extra_sans = vec!["supabase-supavisor".into()];
    let plan = plan_of(started(COMPOSE, CREATE_ONLY), None, &o);
    assert!(
        codes(&plan).contains(&Code::SanUnreachable),
        "{:?}",
        codes(&plan)
    );
}

#[test]
fn the_trust_codes_come_through_the_hba_step() {
    let src = started(COMPOSE, CREATE_ONLY);
    let layout = Layout::detect(&src, None).unwrap();
    let tree = Tree::over(Box::new(src), None);
    let trust = crate::trust::for_layout(&tree, &layout, &[], &NoEngine).unwrap();
    let mut o = opts();
    o.trust = Some(trust);
    let plan = crate::plan(&tree, &layout, &o).unwrap().0;
    let hba = plan.steps.iter().find(|s| s.id == "pg-hba").unwrap();
    let got: Vec<Code> = hba.warnings.iter().map(|w| w.code).collect();
    assert_eq!(got, [Code::TrustWide, Code::TrustProxyUnknown]);
}

#[test]
fn a_plaintext_rule_left_in_place_is_coded() {
    let compose = COMPOSE.replace(
        "      - ./volumes/db/data:/var/lib/postgresql/data:Z\n",
        "      - ./volumes/db/data:/var/lib/postgresql/data:Z\n      - ./volumes/db/hba:/etc/postgresql-hba:ro,z\n",
    ).replace(
        "\"config_file=/etc/postgresql/postgresql.conf\"]",
        "\"config_file=/etc/postgresql/postgresql.conf\", \"-c\", \"hba_file=/etc/postgresql-hba/pg_hba.conf\"]",
    );
    let hba = "local all all peer\nhost all all 127.0.0.1/32 trust\nhost all all 203.0.113.7/32 scram-sha-256\nhost all all 0.0.0.0/0 scram-sha-256\n";
    let src = started(&compose, CREATE_ONLY).file("volumes/db/hba/pg_hba.conf", hba);
    let plan = plan_of(src, None, &opts());
    let step = plan.steps.iter().find(|s| s.id == "pg-hba").unwrap();
    assert!(
        step.warnings
            .iter()
            .any(|w| w.code == Code::HbaPlaintextLeft && w.contains("203.0.113.7")),
        "{:?}",
        step.warnings
    );
}

#[test]
fn a_pooler_without_pooler_exs_is_coded() {
    let compose = COMPOSE.replace(
        "      - ./volumes/pooler/pooler.exs:/etc/pooler/pooler.exs:ro,z\n",
        "      - ./volumes/other:/etc/other:ro\n",
    );
    let plan = plan_of(started(&compose, CREATE_ONLY), None, &opts());
    assert!(
        codes(&plan).contains(&Code::PoolerExsMissing),
        "{:?}",
        codes(&plan)
    );
}

#[test]
fn supavisor_before_2_9_6_is_coded_and_later_is_not() {
    let plan = plan_of(started(COMPOSE, CREATE_ONLY), None, &opts());
    let hang: Vec<_> = plan
        .steps
        .iter()
        .flat_map(|s| &s.warnings)
        .filter(|w| w.code == Code::SupavisorAsyncHang)
        .collect();
    assert_eq!(hang.len(), 1, "{hang:?}");
    assert!(hang[0].text.contains("2.9.6"), "{}", hang[0].text);
    let fixed = COMPOSE.replace("supavisor:2.7.2", "supavisor:2.9.10");
    let plan = plan_of(started(&fixed, CREATE_ONLY), None, &opts());
    assert!(
        !codes(&plan).contains(&Code::SupavisorAsyncHang),
        "{:?}",
        codes(&plan)
    );
}
