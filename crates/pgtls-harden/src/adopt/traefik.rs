//! Reading a certificate and key out of Traefik's ACME store (`acme.json`), for `certs adopt
//! --from-traefik`.

use base64::Engine as _;

use crate::error::{Error, Result};

/// The certificate and key for `domain` in a Traefik `acme.json` (v2 and v3 share the format),
/// from the resolver `resolver` or, when `None`, from whichever resolver holds it (refused when
/// several do). `domain` matches an entry's `main` or one of its `sans`.
pub fn from_traefik_acme(
    text: &str,
    domain: &str,
    resolver: Option<&str>,
) -> Result<(String, String, String)> {
    let bad = |why: String| Error::Refused(format!("acme.json: {why}"));
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        bad(format!(
            "not JSON (line {}, column {}): {e}",
            e.line(),
            e.column()
        ))
    })?;
    let resolvers = v
        .as_object()
        .ok_or_else(|| bad("the top level is not an object of resolver names".into()))?;
    let mut found = Vec::new();
    for (name, data) in resolvers {
        if resolver.is_some_and(|r| r != name) {
            continue;
        }
        // Traefik 1.x kept {"Account": {...}, "DomainsCertificate": ...} at the top: say so
        if name == "DomainsCertificate" || name == "Account" && data.get("Email").is_some() {
            return Err(bad(
                "this is Traefik 1.x's format (Account/DomainsCertificate at the top); Traefik 2 and 3 key the file by resolver name".into(),
            ));
        }
        let Some(certs) = data.get("Certificates").and_then(|c| c.as_array()) else {
            continue;
        };
        for c in certs {
            let d = c.get("domain");
            let main = d.and_then(|d| d.get("main")).and_then(|m| m.as_str());
            let sans = d
                .and_then(|d| d.get("sans"))
                .and_then(|s| s.as_array())
                .map(|a| a.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>())
                .unwrap_or_default();
            let hit = main.is_some_and(|m| m.eq_ignore_ascii_case(domain))
                || sans.iter().any(|s| s.eq_ignore_ascii_case(domain));
            if hit {
                found.push((name.clone(), main.unwrap_or(domain).to_owned(), c));
            }
        }
    }
    let (name, main, c) = match found.as_slice() {
        [] => {
            let names: Vec<&String> = resolvers.keys().collect();
            return Err(bad(format!(
                "no certificate for `{domain}`{} (resolvers: {})",
                resolver
                    .map(|r| format!(" in resolver `{r}`"))
                    .unwrap_or_default(),
                names
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        [one] => one,
        many => {
            return Err(bad(format!(
                "`{domain}` is in several resolvers ({}): pass --resolver NAME",
                many.iter()
                    .map(|(n, _, _)| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    };
    let field = |k: &str| -> Result<String> {
        let b64 = c
            .get(k)
            .and_then(|x| x.as_str())
            .ok_or_else(|| bad(format!("the entry for `{main}` has no `{k}`")))?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|e| bad(format!("`{k}` of `{main}` is not base64: {e}")))?;
        String::from_utf8(bytes).map_err(|_| bad(format!("`{k}` of `{main}` is not PEM text")))
    };
    Ok((
        field("certificate")?,
        field("key")?,
        format!("Traefik acme.json, resolver `{name}`, domain `{main}`"),
    ))
}
