//! Scan arbitrary text; where a parameters map is found, apply every edit and check the
//! invariants: the result scans again, the value reads back, a second application changes
//! nothing, and set-then-remove of an absent key restores the input byte for byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pooler_exs::{Script, TenantLogic};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(script) = Script::parse(text) else {
        return;
    };
    assert_eq!(script.as_str(), text, "parse + print must be lossless");
    let logic = script.tenant_logic();
    let Ok(map) = script.params_map() else {
        return;
    };
    let had_ssl = map.get("enforce_ssl").is_some();
    let _ = script.inspect();

    let mut s = script.clone();
    s.set_bool("enforce_ssl", true).expect("set on a found map");
    assert_eq!(s.get("enforce_ssl").expect("map still found"), Some("true"));
    let once = s.to_string();
    assert!(!s.set_bool("enforce_ssl", true).expect("second set"), "set is idempotent");
    assert_eq!(s.as_str(), once);
    if !had_ssl {
        s.remove("enforce_ssl").expect("remove");
        assert_eq!(s.as_str(), text, "set then remove restores the input");
    }

    let mut t = script.clone();
    t.set_upstream_tls("/etc/pooler/certs/ca.crt").expect("upstream tls");
    let once = t.to_string();
    assert!(!t.set_upstream_tls("/etc/pooler/certs/ca.crt").expect("again"));
    assert_eq!(t.as_str(), once);

    let opts = pooler_exs::HardenOptions {
        enforce_ssl: true,
        upstream_ca: Some("/ca.pem".to_owned()),
        upsert: true,
        sni_hostname: None,
    };
    if let Ok(report) = pooler_exs::harden(text, &opts) {
        let again = pooler_exs::harden(&report.text, &opts).expect("harden its own output");
        assert!(!again.changed, "harden is idempotent");
        assert_eq!(again.text, report.text);
    }

    let mut u = script;
    if u.rewrite_to_upsert().is_ok() {
        if logic != TenantLogic::Upsert {
            assert_eq!(u.tenant_logic(), TenantLogic::Upsert, "rewrite gives an upsert");
        }
        let once = u.to_string();
        assert!(!u.rewrite_to_upsert().expect("rewrite again"));
        assert_eq!(u.as_str(), once);
    }
});
