use pg_hba::supabase_default_hardened;

#[test]
fn supabase_default_hardened_golden() {
    let (text, warnings) = supabase_default_hardened().unwrap();
    println!("{text}");
    let golden = "\
# trust local connections
local all  supabase_admin     scram-sha-256
local all  all                peer map=supabase_map
host  all  all  127.0.0.1/32  trust
host  all  all  ::1/128       trust

# IPv4 external connections
host  all  all  10.0.0.0/8  scram-sha-256
host  all  all  172.16.0.0/12  scram-sha-256
host  all  all  192.168.0.0/16  scram-sha-256
hostssl  all  all  0.0.0.0/0     scram-sha-256

# IPv6 external connections
hostssl  all  all  ::0/0     scram-sha-256
hostnossl all all  0.0.0.0/0 reject
hostnossl all all  ::/0      reject
";
    assert_eq!(text, golden);
    assert!(warnings.is_empty(), "{warnings:?}");
}

mod exclusions {
    use std::net::IpAddr;

    use pg_hba::{
        Connection, Document, Encryption, Outcome, ParseOptions, Policy, SUPABASE_DEFAULT_HBA,
        explain,
    };

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// A compose network with IPv4 and IPv6 subnets, its gateways and a proxy container.
    fn policy() -> Policy {
        Policy::with_trusted(["172.18.0.0/16", "fd00:5eed:e2e::/64"])
            .unwrap()
            .excluding([ip("172.18.0.1"), ip("172.18.0.9"), ip("fd00:5eed:e2e::1")])
    }

    fn hardened() -> Document {
        let doc = Document::parse(SUPABASE_DEFAULT_HBA, ParseOptions::default());
        policy().apply(&doc).unwrap().0
    }

    fn outcome(doc: &Document, addr: &str, enc: Encryption) -> (Outcome, Option<usize>) {
        let e = explain(
            doc,
            &Connection::host(ip(addr), "postgres", "postgres").with_encryption(enc),
        );
        (e.outcome, e.line)
    }

    #[test]
    fn exclusions_come_before_the_trust_lines() {
        let doc = hardened();
        let text = doc.to_string();
        println!("{text}");
        let at = |needle: &str| {
            text.lines()
                .position(|l| l.split_whitespace().collect::<Vec<_>>().join(" ") == needle)
                .unwrap_or_else(|| panic!("no line {needle:?} in\n{text}"))
        };
        let trust4 = at("host all all 172.18.0.0/16 scram-sha-256");
        let trust6 = at("host all all fd00:5eed:e2e::/64 scram-sha-256");
        for reject in [
            "hostnossl all all 172.18.0.1/32 reject",
            "hostnossl all all 172.18.0.9/32 reject",
        ] {
            assert!(at(reject) < trust4, "{reject} after the trust line\n{text}");
        }
        assert!(at("hostnossl all all fd00:5eed:e2e::1/128 reject") < trust6);
        // narrowed: the image's private-range lines no longer admit plaintext
        at("hostssl all all 10.0.0.0/8 scram-sha-256");
        at("hostssl all all 172.16.0.0/12 scram-sha-256");
        at("hostssl all all 192.168.0.0/16 scram-sha-256");
    }

    #[test]
    fn explain_agrees_for_each_address() {
        let doc = hardened();
        let plain = Encryption::None;
        let tls = Encryption::Ssl;
        for gw in ["172.18.0.1", "172.18.0.9", "fd00:5eed:e2e::1"] {
            assert_eq!(
                outcome(&doc, gw, plain).0,
                Outcome::Reject,
                "{gw} plaintext"
            );
            assert_eq!(outcome(&doc, gw, tls).0, Outcome::Allow, "{gw} TLS");
        }
        for service in ["172.18.0.3", "fd00:5eed:e2e::3"] {
            assert_eq!(outcome(&doc, service, plain).0, Outcome::Allow, "{service}");
            assert_eq!(outcome(&doc, service, tls).0, Outcome::Allow, "{service}");
        }
        for outside in [
            "10.0.0.5",
            "172.17.0.2",
            "192.168.1.4",
            "198.18.213.2",
            "2001:db8::7",
        ] {
            assert_eq!(
                outcome(&doc, outside, plain).0,
                Outcome::Reject,
                "{outside}"
            );
            assert_eq!(
                outcome(&doc, outside, tls).0,
                Outcome::Allow,
                "{outside} TLS"
            );
        }
    }

    #[test]
    fn rerun_changes_nothing() {
        let once = hardened();
        let (twice, warnings) = policy().apply(&once).unwrap();
        assert_eq!(once.to_string(), twice.to_string());
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn an_excluded_address_outside_every_trusted_network_adds_no_line() {
        let doc = Document::parse(SUPABASE_DEFAULT_HBA, ParseOptions::default());
        let p = Policy::with_trusted(["172.18.0.0/16"])
            .unwrap()
            .excluding([ip("10.9.9.9")]);
        let text = p.apply(&doc).unwrap().0.to_string();
        assert!(!text.contains("10.9.9.9"), "{text}");
    }

    #[test]
    fn default_trust_keeps_the_image_ranges() {
        let doc = Document::parse(SUPABASE_DEFAULT_HBA, ParseOptions::default());
        let p = Policy::default().excluding([ip("172.17.0.1")]);
        let (out, _) = p.apply(&doc).unwrap();
        let text = out.to_string();
        assert!(
            text.contains("host  all  all  10.0.0.0/8  scram-sha-256"),
            "{text}"
        );
        let (o, line) = outcome(&out, "172.17.0.1", Encryption::None);
        assert_eq!(o, Outcome::Reject);
        let (_, trust_line) = outcome(&out, "172.17.0.2", Encryption::None);
        assert!(line < trust_line, "{text}");
    }
}
