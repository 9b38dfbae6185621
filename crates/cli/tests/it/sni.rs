//! `pgtls pooler set --sni-hostname HOST`: the tenant's `sni_hostname` for Supavisor 2.9+'s
//! routing by SNI. An IP address is a usage error (clients send no SNI for one); a Supavisor
//! before 2.9.0 in the deployment's merged Compose model is refused (exit 1) with the reason;
//! on 2.9+ the script gets the key, once.

use std::path::Path;

use crate::support::{code, copy_dir, examples_dir, pgtls, stderr, stdout};

const HOST: &str = "pooler.example.com";

fn sni(script: &Path, host: &str) -> std::process::Output {
    pgtls([
        "pooler".as_ref(),
        "set".as_ref(),
        script.as_os_str(),
        "--sni-hostname".as_ref(),
        host.as_ref(),
    ])
}

#[test]
fn sni_hostname_refuses_an_ip_and_an_old_supavisor_and_sets_it_on_2_9() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&examples_dir().join("supabase"), tmp.path());
    let script = tmp.path().join("volumes/pooler/pooler.exs");
    let before = std::fs::read_to_string(&script).unwrap();

    // an IP address: a usage error naming the flag and why
    for ip in ["10.0.0.5", "::1", "[2001:db8::1]"] {
        let o = sni(&script, ip);
        assert_eq!(code(&o), 2, "{ip}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains("--sni-hostname") && err.contains("an IP address"),
            "{err}"
        );
    }

    // the example's pooler is Supavisor 2.7.2: refused, with the reason and the tag to move to
    let o = sni(&script, HOST);
    assert_eq!(code(&o), 1, "{}\n{}", stdout(&o), stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("Supavisor 2.7.2")
            && err.contains("2.9.0")
            && err.contains("supabase/supavisor:2.9.6"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&script).unwrap(), before);

    // an override moves the pooler to 2.9.10: the merged model decides, the key is set
    std::fs::write(
        tmp.path().join("docker-compose.override.yml"),
        "services:\n  supavisor:\n    image: supabase/supavisor:2.9.10\n",
    )
    .unwrap();
    let o = pgtls([
        "pooler".as_ref(),
        "set".as_ref(),
        script.as_os_str(),
        "--sni-hostname".as_ref(),
        HOST.as_ref(),
        "--dry-run".as_ref(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!("+  \"sni_hostname\" => \"{HOST}\"")),
        "{}",
        stdout(&o)
    );
    assert_eq!(std::fs::read_to_string(&script).unwrap(), before);
    let o = sni(&script, HOST);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("supabase/supavisor:2.9.10 routes by SNI"),
        "{}",
        stdout(&o)
    );
    let after = std::fs::read_to_string(&script).unwrap();
    assert!(
        after.contains(&format!("\"sni_hostname\" => \"{HOST}\"")),
        "{after}"
    );
    // once: a second run changes nothing
    let o = sni(&script, HOST);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&script).unwrap(), after);
}

#[test]
fn sni_hostname_on_a_script_outside_a_deployment_says_the_version_is_unknown() {
    let tmp = tempfile::tempdir().unwrap();
    let script = tmp.path().join("pooler.exs");
    std::fs::copy(
        examples_dir().join("supabase/volumes/pooler/pooler.exs"),
        &script,
    )
    .unwrap();
    let o = sni(&script, HOST);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("not known here") && stdout(&o).contains("2.9.0"),
        "{}",
        stdout(&o)
    );
    let after = std::fs::read_to_string(&script).unwrap();
    assert!(after.contains("\"sni_hostname\""), "{after}");
}
