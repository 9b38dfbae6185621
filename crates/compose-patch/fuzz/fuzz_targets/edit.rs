//! Fuzz target: any text that parses as a compose file, any of the edits, on every
//! service. The crate may refuse an edit, but it must never panic, never return
//! text that is not valid YAML, and never drop a comment line.
#![no_main]

use compose_patch::{ComposeFile, Edit, Selinux, VolumeMount};
use libfuzzer_sys::fuzz_target;

fn comment_lines(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    v.sort();
    v
}

fn contains_all(haystack: &[String], needles: &[String]) -> bool {
    // Both sorted: multiset inclusion.
    let mut i = 0;
    for n in needles {
        while i < haystack.len() && &haystack[i] < n {
            i += 1;
        }
        if i >= haystack.len() || &haystack[i] != n {
            return false;
        }
        i += 1;
    }
    true
}

fn edits_for(service: &str, sel: u8, file: &ComposeFile) -> Vec<Edit> {
    let values = ["on", "a b", "x'y", "#c", "${A:-b}", "1.5", "/p/q"];
    let v = values[usize::from(sel) % values.len()];
    let targets = ["/var/lib/postgresql/data", "/etc/pooler/pooler.exs", "/etc/ssl/server.crt"];
    let t = targets[usize::from(sel >> 3) % targets.len()];
    let mut mount = VolumeMount::new(format!("./v/{sel}"), t);
    if sel & 1 == 1 {
        mount = mount.read_only();
    }
    if sel & 2 == 2 {
        mount = mount.with_selinux(Selinux::Private);
    }
    let mut out = vec![
        Edit::CommandSettings { service: service.into(), settings: vec![("ssl".into(), v.into())] },
        Edit::Volume { service: service.into(), mount },
        Edit::Env { service: service.into(), key: "GLOBAL_DOWNSTREAM_CERT_PATH".into(), value: v.into() },
        Edit::Port {
            service: service.into(),
            mapping: ["5432:5432", "6543", "127.0.0.1:6543:6543/tcp"][usize::from(sel) % 3].into(),
        },
    ];
    for vol in file.volumes(service).unwrap_or_default() {
        if let Ok(Some(content)) = file.inline_content(service, &vol.target) {
            // Keep every old line so comment-looking lines inside stay.
            out.push(Edit::InlineContent {
                service: service.into(),
                target: vol.target.clone(),
                content: format!("{content}# appended {sel}\n"),
            });
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let Ok(mut file) = ComposeFile::parse(text) else { return };
    let before = comment_lines(text);
    let services: Vec<String> = file.services().into_iter().map(|s| s.key).collect();
    for (i, s) in services.iter().enumerate() {
        for e in edits_for(s, sel.wrapping_add(i as u8), &file) {
            let _ = file.apply(&e);
            let out = file.text();
            if let Err(err) = yaml_serde::from_str::<yaml_serde::Value>(out) {
                panic!("edit {e:?} produced invalid yaml: {err}\n{out}");
            }
            assert!(contains_all(&comment_lines(out), &before), "edit {e:?} lost a comment:\n{out}");
        }
    }
});
