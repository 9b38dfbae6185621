//! `sni_hostname`: Supavisor 2.9+ finds the tenant by the TLS SNI host name.

use pooler_exs::{Error, Script, check_sni_hostname};

use crate::support::{assert_lines_only_added, fixture};

#[test]
fn sni_hostname_is_set_in_the_one_tenant_scripts() {
    for name in [
        "valid/upstream-pooler.exs",
        "valid/coolify-pooler.exs",
        "valid/keyword-pooler.exs",
    ] {
        let before = fixture(name);
        let mut script = Script::parse(&before).unwrap();
        assert!(
            script.set_sni_hostname("pooler.example.com").unwrap(),
            "{name}"
        );
        assert_eq!(
            script.get("sni_hostname").unwrap(),
            Some("\"pooler.example.com\""),
            "{name}"
        );
        assert_eq!(
            script.inspect().unwrap().sni_hostname.as_deref(),
            Some("\"pooler.example.com\""),
            "{name}"
        );
        assert_lines_only_added(&before, script.as_str(), 1);
        // Idempotent; a new name replaces the value in place.
        assert!(
            !script.set_sni_hostname("pooler.example.com").unwrap(),
            "{name}"
        );
        assert!(script.set_sni_hostname("db.example.org").unwrap(), "{name}");
        assert_eq!(
            script.get("sni_hostname").unwrap(),
            Some("\"db.example.org\""),
            "{name}"
        );
        assert_lines_only_added(&before, script.as_str(), 1);
    }
}

#[test]
fn ip_addresses_are_refused_with_the_reason() {
    for ip in [
        "203.0.113.7",
        "::1",
        "[2001:db8::1]",
        "2001:db8::1",
        "10.0.0",
        "127.1",
    ] {
        let err = check_sni_hostname(ip).unwrap_err();
        assert!(
            matches!(err, Error::InvalidSniHostname { .. }),
            "{ip}: {err}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("an IP address") && msg.contains("SNI only for host names"),
            "{ip}: {msg}"
        );
    }
    let src = fixture("valid/upstream-pooler.exs");
    let mut script = Script::parse(&src).unwrap();
    assert!(script.set_sni_hostname("203.0.113.7").is_err());
    assert_eq!(script.as_str(), src, "nothing written on refusal");
}

#[test]
fn only_host_names_supavisor_can_match_are_accepted() {
    for ok in [
        "db",
        "pooler.example.com",
        "a-b.c1.example",
        "xn--bcher-kva.example",
    ] {
        check_sni_hostname(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    let long_label = format!("{}.example.com", "a".repeat(64));
    let long_name = ["abcdefghi"; 26].join(".");
    for (bad, why) in [
        ("", "empty"),
        ("Pooler.Example.com", "upper case"),
        ("pooler.example.com.", "ends with a dot"),
        ("pooler..example.com", "empty label"),
        (".example.com", "empty label"),
        ("-pooler.example.com", "starts or ends with `-`"),
        ("pooler-.example.com", "starts or ends with `-`"),
        ("*.example.com", "'*' is not allowed"),
        ("pooler_1.example.com", "'_' is not allowed"),
        ("bücher.example", "'ü' is not allowed"),
        ("pooler.example.com:6543", "without a port"),
        (long_label.as_str(), "longer than 63"),
        (long_name.as_str(), "at most 253"),
    ] {
        let err = check_sni_hostname(bad).unwrap_err().to_string();
        assert!(err.contains(why), "{bad:?}: expected {why:?} in {err}");
    }
}
