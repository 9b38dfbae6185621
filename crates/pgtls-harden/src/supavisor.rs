//! What the Supavisor version changes when pgtls turns TLS on (read in supabase/supavisor).
//!
//! - Before 2.9.6 a TLS client using libpq's asynchronous API (`PQconsumeInput`/`PQisBusy`)
//!   can hang: Supavisor wrote TLS records larger than libpq reads at once (fixed in 2.9.6,
//!   commit f4f19442, pull request #993). Coolify's template pins 2.7.4.
//! - 2.9.0 (commit fd358570) reads `DOWNSTREAM_SERVER_ECDSA_CERT`/`_KEY` beside
//!   `GLOBAL_DOWNSTREAM_CERT_PATH`/`_KEY_PATH` and offers every configured pair per handshake
//!   (`downstream_certs_keys`: the ECDSA pair first, then the global pair, each only when both
//!   its files are set); `config/runtime.exs` raises at boot when a set variable names a missing
//!   file. The global pair takes a certificate of any key type, so pgtls's one key (ECDSA P-256
//!   by default) needs no second pair: pgtls sets only the global pair, and never a variable
//!   for a file it does not write.
//! - 2.9.0 (commit bd4eff25) finds the tenant by the TLS host name (SNI, the tenant's
//!   `sni_hostname`) when the user name has no `.tenant` suffix: `pgtls connstr --sni`.

/// The release that fixed the libpq asynchronous API hang over TLS.
pub(crate) const ASYNC_HANG_FIXED: (u32, u32, u32) = (2, 9, 6);

/// The version in a Supavisor image tag (`supabase/supavisor:2.7.4` or `...:v2.9.10`);
/// `None` without a tag, for a variable, `latest` or a digest.
pub(crate) fn image_version(image: &str) -> Option<(u32, u32, u32)> {
    let image = image.split('@').next().unwrap_or(image);
    let name_end = image.rfind('/').map_or(0, |i| i + 1);
    let tag = image.get(name_end..)?.split_once(':')?.1;
    let tag = tag.strip_prefix('v').unwrap_or(tag);
    let core = tag.split(['-', '+']).next().unwrap_or(tag);
    let mut parts = core.split('.').map(|p| p.parse::<u32>().ok());
    let major = parts.next()??;
    let minor = parts.next()??;
    let patch = parts.next().unwrap_or(Some(0))?;
    Some((major, minor, patch))
}

/// Whether `image` is a Supavisor image.
pub(crate) fn is_supavisor(image: &str) -> bool {
    image
        .split(':')
        .next()
        .unwrap_or(image)
        .ends_with("supavisor")
}

/// The warning for turning TLS on in front of `image`, or `None` when it is 2.9.6 or later
/// (or not a Supavisor image).
pub(crate) fn tls_warning(image: Option<&str>) -> Option<String> {
    let image = image?;
    if !is_supavisor(image) {
        return None;
    }
    let (fa, fb, fc) = ASYNC_HANG_FIXED;
    let fix = format!(
        "set the pooler image to supabase/supavisor:{fa}.{fb}.{fc} or later (a {fa}.{fb}.x tag from {fa}.{fb}.{fc} on)"
    );
    match image_version(image) {
        Some(v) if v >= ASYNC_HANG_FIXED => None,
        Some((major, minor, patch)) => Some(format!(
            "Supavisor {major}.{minor}.{patch} ({image}) can hang clients that use libpq's asynchronous API (PQconsumeInput/PQisBusy) once TLS is on; fixed in {fa}.{fb}.{fc} (supabase/supavisor #993): {fix}"
        )),
        None => Some(format!(
            "the pooler image {image} names no version: Supavisor before {fa}.{fb}.{fc} can hang clients that use libpq's asynchronous API (PQconsumeInput/PQisBusy) once TLS is on (supabase/supavisor #993); make sure it is {fa}.{fb}.{fc} or later"
        )),
    }
}

/// Whether `image` is Supavisor 2.9.0 or later (SNI routing, the ECDSA pair).
pub(crate) fn has_sni_routing(image: &str) -> bool {
    is_supavisor(image) && image_version(image).is_some_and(|v| v >= (2, 9, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_warnings() {
        assert_eq!(image_version("supabase/supavisor:2.7.4"), Some((2, 7, 4)));
        assert_eq!(
            image_version("supabase/supavisor:v2.9.10"),
            Some((2, 9, 10))
        );
        assert_eq!(image_version("supabase/supavisor:${SUPAVISOR_TAG}"), None);
        assert_eq!(image_version("supabase/supavisor"), None);
        let w = tls_warning(Some("supabase/supavisor:2.7.4")).unwrap();
        assert!(w.contains("Supavisor 2.7.4"), "{w}");
        assert!(w.contains("supabase/supavisor:2.9.6 or later"), "{w}");
        assert!(w.contains("PQconsumeInput"), "{w}");
        assert!(tls_warning(Some("supabase/supavisor:2.9.5")).is_some());
        assert_eq!(tls_warning(Some("supabase/supavisor:2.9.6")), None);
        assert_eq!(tls_warning(Some("supabase/supavisor:2.9.10")), None);
        assert_eq!(tls_warning(Some("edoburu/pgbouncer:v1.25.2-p0")), None);
        assert!(
            tls_warning(Some("supabase/supavisor:latest"))
                .unwrap()
                .contains("names no version")
        );
        assert!(has_sni_routing("supabase/supavisor:2.9.0"));
        assert!(!has_sni_routing("supabase/supavisor:2.7.4"));
    }
}
