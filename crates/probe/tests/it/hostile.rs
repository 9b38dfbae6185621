//! Hostile and broken servers on 127.0.0.1: each gives a classified verdict in bounded time.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openssl::pkey::PKey;
use openssl::ssl::{Ssl, SslAcceptor, SslMethod, SslOptions, SslVersion};
use openssl::x509::X509;
use pgtls_probe::{CheckId, ProbeOptions, Target, TargetReport, TargetVerdict, Verdict, probe};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::certs::{Leaf, Pki};

const TIMEOUT: Duration = Duration::from_secs(1);
/// Generous bound on one probe against a hostile server (checks run with 1 s deadlines).
const BOUND: Duration = Duration::from_secs(6);

/// Serves every connection with `handler` until the test ends; returns the port.
async fn serve<F, Fut>(handler: F) -> u16
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let handler = Arc::new(handler);
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            let h = Arc::clone(&handler);
            tokio::spawn(async move { h(s).await });
        }
    });
    port
}

/// What the client sent first.
enum First {
    SslRequest(Vec<u8>),
    Startup,
    ClientHello,
    Nothing,
}

/// Reads the first packet; `SslRequest` carries any bytes that came with it.
async fn first(s: &mut TcpStream) -> First {
    let mut head = [0u8; 8];
    if s.peek(&mut head[..1]).await.unwrap_or(0) == 0 {
        return First::Nothing;
    }
    if head[0] == 0x16 {
        return First::ClientHello;
    }
    if s.read_exact(&mut head).await.is_err() {
        return First::Nothing;
    }
    let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let code = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
    if len == 8 && code == 80_877_103 {
        // Give pipelined bytes a moment to arrive, then take what is there.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let mut extra = vec![0u8; 1024];
        let n = match tokio::time::timeout(Duration::from_millis(5), s.read(&mut extra)).await {
            Ok(Ok(n)) => n,
            _ => 0,
        };
        extra.truncate(n);
        return First::SslRequest(extra);
    }
    let mut rest = vec![0u8; len.saturating_sub(8).min(10_000)];
    let _ = s.read_exact(&mut rest).await;
    First::Startup
}

pub(crate) fn error_response(code: &str, msg: &str) -> Vec<u8> {
    let mut body = Vec::new();
    for (k, v) in [(b'S', "FATAL"), (b'C', code), (b'M', msg)] {
        body.push(k);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut out = vec![b'E'];
    out.extend_from_slice(&u32::try_from(body.len() + 4).unwrap().to_be_bytes());
    out.extend_from_slice(&body);
    out
}

fn acceptor(leaf: &Leaf) -> Arc<SslAcceptor> {
    let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).unwrap();
    b.set_certificate(&X509::from_pem(&leaf.cert).unwrap())
        .unwrap();
    b.set_private_key(&PKey::private_key_from_pem(&leaf.key).unwrap())
        .unwrap();
    Arc::new(b.build())
}

/// A well-behaved TLS endpoint (like PgBouncer with `client_tls_sslmode=require`) serving `leaf`.
async fn tls_server(leaf: &Leaf, extra_after_s: &'static [u8]) -> u16 {
    tls_server_answering(leaf, extra_after_s, error_response("08P01", "SSL required")).await
}

/// Like [`tls_server`], answering a plaintext StartupMessage with `startup_reply`.
async fn tls_server_answering(
    leaf: &Leaf,
    extra_after_s: &'static [u8],
    startup_reply: Vec<u8>,
) -> u16 {
    tls_server_with(acceptor(leaf), extra_after_s, startup_reply).await
}

/// Like [`tls_server_answering`], with a given TLS acceptor.
pub(crate) async fn tls_server_with(
    acc: Arc<SslAcceptor>,
    extra_after_s: &'static [u8],
    startup_reply: Vec<u8>,
) -> u16 {
    let startup_reply = Arc::new(startup_reply);
    serve(move |mut s| {
        let acc = Arc::clone(&acc);
        let startup_reply = Arc::clone(&startup_reply);
        async move {
            match first(&mut s).await {
                First::SslRequest(extra) => {
                    let mut reply = b"S".to_vec();
                    reply.extend_from_slice(extra_after_s);
                    let _ = s.write_all(&reply).await;
                    if !extra.is_empty() {
                        let _ = s
                            .write_all(&error_response(
                                "08P01",
                                "received unencrypted data after SSL request",
                            ))
                            .await;
                        return;
                    }
                    let ssl = Ssl::new(acc.context()).unwrap();
                    let mut tls = tokio_openssl::SslStream::new(ssl, s).unwrap();
                    if Pin::new(&mut tls).accept().await.is_ok() {
                        let mut sink = [0u8; 512];
                        while matches!(tls.read(&mut sink).await, Ok(n) if n > 0) {}
                    }
                }
                First::Startup => {
                    let _ = s.write_all(&startup_reply).await;
                }
                First::ClientHello | First::Nothing => {}
            }
        }
    })
    .await
}

async fn run_probe(port: u16, opts: &ProbeOptions) -> (TargetReport, Duration) {
    let t0 = Instant::now();
    let r = probe(&Target::new("127.0.0.1", port), opts).await;
    let took = t0.elapsed();
    assert!(
        took < BOUND,
        "probe took {took:?}:\n{}",
        pgtls_probe::render_target(&r, false)
    );
    (r, took)
}

fn verdict(r: &TargetReport, id: CheckId) -> Verdict {
    r.check(id)
        .unwrap_or_else(|| panic!("no {id} check"))
        .verdict
}

fn detail(r: &TargetReport, id: CheckId) -> String {
    r.check(id).unwrap().detail.clone()
}

fn opts() -> ProbeOptions {
    ProbeOptions::default()
        .with_timeout(TIMEOUT)
        .with_deep(true)
}

#[tokio::test]
async fn garbage_reply_fails_tls_offered() {
    let port = serve(|mut s| async move {
        let _ = first(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            .await;
    })
    .await;
    let (r, _) = run_probe(port, &opts()).await;
    assert_eq!(verdict(&r, CheckId::TlsOffered), Verdict::Fail);
    assert!(
        detail(&r, CheckId::TlsOffered).contains("0x48"),
        "{}",
        detail(&r, CheckId::TlsOffered)
    );
    assert_eq!(verdict(&r, CheckId::Handshake), Verdict::Skipped);
    assert_eq!(
        verdict(&r, CheckId::PlaintextRefused),
        Verdict::Inconclusive
    );
    assert!(detail(&r, CheckId::PlaintextRefused).contains("malformed reply"));
    assert_eq!(r.verdict, TargetVerdict::Fail);
}

#[tokio::test]
async fn absurd_length_is_rejected_without_buffering() {
    let port = serve(|mut s| async move {
        let _ = first(&mut s).await;
        let _ = s
            .write_all(&[b'E', 0x7f, 0xff, 0xff, 0xff, b'S', b'F'])
            .await;
        // Keep the connection open: a reader that trusted the length would wait forever.
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let (r, took) = run_probe(port, &opts()).await;
    assert_eq!(verdict(&r, CheckId::TlsOffered), Verdict::Fail);
    assert_eq!(
        verdict(&r, CheckId::PlaintextRefused),
        Verdict::Inconclusive
    );
    assert!(
        detail(&r, CheckId::PlaintextRefused).contains("length 2147483647"),
        "{}",
        detail(&r, CheckId::PlaintextRefused)
    );
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[tokio::test]
async fn slow_drip_times_out() {
    let port = serve(|mut s| async move {
        match first(&mut s).await {
            First::SslRequest(_) => {
                let _ = s.write_all(b"N").await;
            }
            First::Startup => {
                for b in error_response("28000", "a very slowly dripped refusal, no encryption") {
                    if s.write_all(&[b]).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
            _ => {}
        }
    })
    .await;
    let (r, _) = run_probe(port, &opts()).await;
    assert_eq!(verdict(&r, CheckId::TlsOffered), Verdict::Fail);
    assert_eq!(
        verdict(&r, CheckId::PlaintextRefused),
        Verdict::Inconclusive
    );
    assert!(
        detail(&r, CheckId::PlaintextRefused).contains("within 1s"),
        "{}",
        detail(&r, CheckId::PlaintextRefused)
    );
}

#[tokio::test]
async fn immediate_close_is_classified() {
    let port = serve(|s| async move { drop(s) }).await;
    let (r, _) = run_probe(port, &opts()).await;
    assert_eq!(verdict(&r, CheckId::TlsOffered), Verdict::Fail);
    assert!(detail(&r, CheckId::TlsOffered).contains("closed"));
    assert_eq!(
        verdict(&r, CheckId::PlaintextRefused),
        Verdict::Inconclusive
    );
    assert_eq!(r.verdict, TargetVerdict::Fail);
}

#[tokio::test]
async fn closed_port_is_an_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let (r, _) = run_probe(port, &opts()).await;
    assert_eq!(r.verdict, TargetVerdict::Error);
    assert!(detail(&r, CheckId::TlsOffered).contains("could not connect"));
}

#[tokio::test]
async fn tls_alert_fails_the_handshake() {
    let port = serve(|mut s| async move {
        if let First::SslRequest(_) = first(&mut s).await {
            // S, then a fatal handshake_failure alert instead of a ServerHello.
            let _ = s.write_all(b"S").await;
            let mut hello = [0u8; 512];
            let _ = s.read(&mut hello).await;
            let _ = s
                .write_all(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28])
                .await;
        }
    })
    .await;
    let (r, _) = run_probe(port, &opts()).await;
    assert_eq!(verdict(&r, CheckId::TlsOffered), Verdict::Pass);
    assert_eq!(verdict(&r, CheckId::Handshake), Verdict::Fail);
    assert!(
        detail(&r, CheckId::Handshake).contains("alert handshake failure"),
        "{}",
        detail(&r, CheckId::Handshake)
    );
    assert_eq!(r.verdict, TargetVerdict::Fail);
}

#[tokio::test]
async fn extra_bytes_after_s_are_a_mitm_sign() {
    let pki = Pki::new();
    let leaf = pki.leaf("localhost", "DNS:localhost,IP:127.0.0.1", 30);
    let port = tls_server(&leaf, b"\x00\x01garbage").await;
    let (r, _) = run_probe(port, &opts()).await;
    assert_eq!(verdict(&r, CheckId::TlsOffered), Verdict::Pass);
    assert_eq!(verdict(&r, CheckId::NoBufferedBytes), Verdict::Fail);
    assert!(detail(&r, CheckId::NoBufferedBytes).contains("CVE-2021-23222"));
    assert_eq!(r.verdict, TargetVerdict::Fail);
}

#[tokio::test]
async fn good_tls_endpoint_passes_with_ca() {
    let pki = Pki::new();
    let leaf = pki.leaf("localhost", "DNS:localhost,IP:127.0.0.1", 30);
    let port = tls_server(&leaf, b"").await;
    let o = opts().with_ca_pem(&pki.ca_pem(), "ca.crt").unwrap();
    let (r, _) = run_probe(port, &o).await;
    let text = pgtls_probe::render_target(&r, false);
    for id in [
        CheckId::TlsOffered,
        CheckId::NoBufferedBytes,
        CheckId::Handshake,
        CheckId::Certificate,
        CheckId::Chain,
        CheckId::Hostname,
        CheckId::Expiry,
        CheckId::TlsVersions,
        CheckId::PlaintextRefused,
        CheckId::PipelinedData,
    ] {
        assert_eq!(verdict(&r, id), Verdict::Pass, "{id}:\n{text}");
    }
    assert_eq!(verdict(&r, CheckId::DirectTls), Verdict::Skipped, "{text}");
    assert_eq!(verdict(&r, CheckId::Authenticated), Verdict::Skipped);
    assert_eq!(r.verdict, TargetVerdict::Pass, "{text}");
    let json: serde_json::Value = serde_json::to_value(&r).unwrap();
    let cert = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "certificate")
        .unwrap();
    assert_eq!(cert["key"], "EC P-256");
    assert_eq!(
        cert["key_type"], "ECDSA P-256",
        "spelled as certs inspect --json"
    );
    assert_eq!(cert["sans_typed"], cert["sans"]);
    assert_eq!(
        cert["sans"],
        serde_json::json!(["DNS:localhost", "IP:127.0.0.1"])
    );
    assert!(cert["days_left"].as_i64().unwrap() >= 28);
    let versions = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "tls-versions")
        .unwrap();
    assert_eq!(
        versions["accepted"],
        serde_json::json!(["TLSv1.2", "TLSv1.3"]),
        "{versions}"
    );
    let pt = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "plaintext-refused")
        .unwrap();
    assert_eq!(pt["sqlstate"], "08P01");
    assert_eq!(pt["server_message"], "SSL required");
}

#[tokio::test]
async fn expired_certificate_fails_expiry_only() {
    let pki = Pki::new();
    let leaf = pki.leaf("localhost", "DNS:localhost,IP:127.0.0.1", -1);
    let port = tls_server(&leaf, b"").await;
    let o = opts().with_ca_pem(&pki.ca_pem(), "ca.crt").unwrap();
    let (r, _) = run_probe(port, &o).await;
    assert_eq!(
        verdict(&r, CheckId::Expiry),
        Verdict::Fail,
        "{}",
        detail(&r, CheckId::Expiry)
    );
    assert!(detail(&r, CheckId::Expiry).contains("expired"));
    assert_eq!(verdict(&r, CheckId::Chain), Verdict::Pass);
    assert_eq!(verdict(&r, CheckId::Hostname), Verdict::Pass);
    assert_eq!(r.verdict, TargetVerdict::Fail);
}

#[tokio::test]
async fn self_signed_certificate_fails_the_chain() {
    let pki = Pki::new();
    let leaf = pki.self_signed("localhost", "DNS:localhost,IP:127.0.0.1");
    let port = tls_server(&leaf, b"").await;
    let o = opts().with_ca_pem(&pki.ca_pem(), "ca.crt").unwrap();
    let (r, _) = run_probe(port, &o).await;
    // `openssl req -x509` marks it CA:TRUE: reported, with the webpki note.
    assert_eq!(is_ca(&r), Some(true));
    assert!(
        detail(&r, CheckId::Certificate)
            .contains("a CA certificate used as the server certificate")
    );
    assert_eq!(verdict(&r, CheckId::Chain), Verdict::Fail);
    assert!(
        detail(&r, CheckId::Chain).contains("self-signed"),
        "{}",
        detail(&r, CheckId::Chain)
    );
    assert_eq!(r.verdict, TargetVerdict::Fail);
    // Without a CA the same server is not failed for its private chain.
    let (r, _) = run_probe(port, &opts()).await;
    assert_eq!(verdict(&r, CheckId::Chain), Verdict::Inconclusive);
    assert_eq!(
        r.verdict,
        TargetVerdict::Pass,
        "{}",
        pgtls_probe::render_target(&r, false)
    );
}

#[tokio::test]
async fn wrong_host_certificate_fails_hostname() {
    let pki = Pki::new();
    let leaf = pki.leaf("other", "DNS:db.example.com", 30);
    let port = tls_server(&leaf, b"").await;
    let o = opts().with_ca_pem(&pki.ca_pem(), "ca.crt").unwrap();
    let (r, _) = run_probe(port, &o).await;
    assert_eq!(verdict(&r, CheckId::Chain), Verdict::Pass);
    assert_eq!(verdict(&r, CheckId::Hostname), Verdict::Fail);
    assert!(detail(&r, CheckId::Hostname).contains("\"127.0.0.1\""));
    assert_eq!(r.verdict, TargetVerdict::Fail);
}

#[tokio::test]
async fn many_targets_keep_input_order_under_a_concurrency_limit() {
    let closed = serve(|s| async move { drop(s) }).await;
    let garbage = serve(|mut s| async move {
        let _ = first(&mut s).await;
        let _ = s.write_all(b"xx").await;
    })
    .await;
    let targets = vec![
        Target::new("127.0.0.1", garbage),
        Target::new("127.0.0.1", closed),
        Target::new("127.0.0.1", garbage),
    ];
    let reports = pgtls_probe::probe_many(&targets, &opts().with_concurrency(2)).await;
    let names: Vec<String> = reports.iter().map(|r| r.target.clone()).collect();
    let want: Vec<String> = targets.iter().map(ToString::to_string).collect();
    assert_eq!(names, want);
    assert!(detail(&reports[1], CheckId::TlsOffered).contains("closed"));
    assert!(detail(&reports[0], CheckId::TlsOffered).contains("0x78"));
}

#[tokio::test]
async fn silent_server_is_inconclusive_not_a_hang() {
    let port = serve(|mut s| async move {
        let mut sink = [0u8; 64];
        while matches!(s.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
    let (r, _) = run_probe(port, &opts()).await;
    assert_eq!(verdict(&r, CheckId::TlsOffered), Verdict::Inconclusive);
    assert!(detail(&r, CheckId::TlsOffered).contains("within 1s"));
    assert_eq!(
        verdict(&r, CheckId::PlaintextRefused),
        Verdict::Inconclusive
    );
    assert_eq!(r.verdict, TargetVerdict::Inconclusive);
}

#[tokio::test]
async fn ipv6_loopback_target() {
    // Skipped where the machine has no IPv6 loopback.
    let Ok(listener) = TcpListener::bind("[::1]:0").await else {
        eprintln!("no ::1 here; skipping");
        return;
    };
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let First::SslRequest(_) = first(&mut s).await {
                    let _ = s.write_all(b"N").await;
                }
            });
        }
    });
    let target = Target::parse(&format!("[::1]:{port}")).unwrap().remove(0);
    let r = probe(&target, &opts()).await;
    assert_eq!(r.target, format!("[::1]:{port}"));
    assert_eq!(verdict(&r, CheckId::TlsOffered), Verdict::Fail);
    assert!(detail(&r, CheckId::TlsOffered).contains("answered N"));
}

#[tokio::test]
async fn supavisor_refusal_passes_and_unknown_tenant_is_inconclusive() {
    let pki = Pki::new();
    let leaf = pki.leaf("localhost", "DNS:localhost,IP:127.0.0.1", 30);
    let port = tls_server_answering(
        &leaf,
        b"",
        error_response("XX000", "SSL connection is required"),
    )
    .await;
    let (r, _) = run_probe(port, &opts()).await;
    assert_eq!(verdict(&r, CheckId::PlaintextRefused), Verdict::Pass);
    let j = serde_json::to_value(&r).unwrap();
    let pt = j["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "plaintext-refused")
        .unwrap();
    assert_eq!(pt["refusal"], "supavisor-ssl-required");
    assert_eq!(pt["sqlstate"], "XX000");

    let port = tls_server_answering(
        &leaf,
        b"",
        error_response("XX000", "Tenant or user not found"),
    )
    .await;
    let (r, _) = run_probe(port, &opts()).await;
    let pt = r.check(CheckId::PlaintextRefused).unwrap();
    assert_eq!(pt.verdict, Verdict::Inconclusive);
    assert!(
        pt.detail.contains("Tenant or user not found"),
        "{}",
        pt.detail
    );
    assert!(pt.fix.as_deref().unwrap().contains("--tenant"));
    assert_eq!(r.verdict, TargetVerdict::Inconclusive);
}

#[tokio::test]
async fn plaintext_auth_request_after_negotiate_protocol_version_fails() {
    let pki = Pki::new();
    let leaf = pki.leaf("localhost", "DNS:localhost,IP:127.0.0.1", 30);
    // NegotiateProtocolVersion (minor 0, one unknown option), then AuthenticationMD5Password.
    let mut reply = vec![b'v'];
    let mut body = 0u32.to_be_bytes().to_vec();
    body.extend_from_slice(&1u32.to_be_bytes());
    body.extend_from_slice(b"_pq_.x\0");
    reply.extend_from_slice(&u32::try_from(body.len() + 4).unwrap().to_be_bytes());
    reply.extend_from_slice(&body);
    reply.extend_from_slice(&[b'R', 0, 0, 0, 12, 0, 0, 0, 5, 1, 2, 3, 4]);
    let port = tls_server_answering(&leaf, b"", reply).await;
    let (r, _) = run_probe(port, &opts()).await;
    let pt = r.check(CheckId::PlaintextRefused).unwrap();
    assert_eq!(pt.verdict, Verdict::Fail, "{}", pt.detail);
    assert!(pt.detail.contains("MD5 password"), "{}", pt.detail);
    assert_eq!(r.verdict, TargetVerdict::Fail);
}

#[tokio::test]
async fn certificate_close_to_expiry_fails_expiry() {
    let pki = Pki::new();
    let leaf = pki.leaf("localhost", "DNS:localhost,IP:127.0.0.1", 5);
    let port = tls_server(&leaf, b"").await;
    let o = opts().with_ca_pem(&pki.ca_pem(), "ca.crt").unwrap();
    let (r, _) = run_probe(port, &o).await;
    assert_eq!(verdict(&r, CheckId::Expiry), Verdict::Fail);
    let d = detail(&r, CheckId::Expiry);
    assert!(
        d.contains("expires in 4 day(s)") || d.contains("expires in 5 day(s)"),
        "{d}"
    );
    let relaxed = o.clone().with_expiry_warn_days(3);
    let (r, _) = run_probe(port, &relaxed).await;
    assert_eq!(verdict(&r, CheckId::Expiry), Verdict::Pass);
    assert_eq!(r.verdict, TargetVerdict::Pass);
}

/// A server accepting TLS `min..=max`, old versions enabled at security level 0.
fn acceptor_versions(leaf: &Leaf, min: SslVersion, max: SslVersion) -> Arc<SslAcceptor> {
    let mut b = SslAcceptor::mozilla_intermediate(SslMethod::tls_server()).unwrap();
    b.set_certificate(&X509::from_pem(&leaf.cert).unwrap())
        .unwrap();
    b.set_private_key(&PKey::private_key_from_pem(&leaf.key).unwrap())
        .unwrap();
    // mozilla_intermediate (v4) turns TLS 1.3 off.
    b.clear_options(SslOptions::NO_TLSV1_3);
    b.set_min_proto_version(Some(min)).unwrap();
    b.set_max_proto_version(Some(max)).unwrap();
    b.set_cipher_list("ALL:@SECLEVEL=0").unwrap();
    Arc::new(b.build())
}

fn versions_json(r: &TargetReport) -> (Vec<String>, Vec<String>) {
    let j = serde_json::to_value(r.check(CheckId::TlsVersions).unwrap()).unwrap();
    let list = |k: &str| -> Vec<String> {
        j[k].as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    (list("accepted"), list("refused"))
}

#[tokio::test]
async fn old_tls_versions_accepted_are_each_caught() {
    let pki = Pki::new();
    let leaf = pki.leaf("localhost", "DNS:localhost,IP:127.0.0.1", 30);
    // Every version: the 1.0/1.1 handshake chooses 1.1, so 1.0 is tested on its own too.
    let acc = acceptor_versions(&leaf, SslVersion::TLS1, SslVersion::TLS1_3);
    let port = tls_server_with(acc, b"", error_response("08P01", "SSL required")).await;
    let (r, _) = run_probe(port, &opts()).await;
    let (accepted, refused) = versions_json(&r);
    assert_eq!(
        accepted,
        ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"],
        "{}",
        detail(&r, CheckId::TlsVersions)
    );
    assert!(refused.is_empty(), "{refused:?}");
    assert_eq!(verdict(&r, CheckId::TlsVersions), Verdict::Fail);
    assert_eq!(r.verdict, TargetVerdict::Fail);

    // TLS 1.0 only: the 1.0/1.1 handshake chooses 1.0, which also shows 1.1 is refused.
    let acc = acceptor_versions(&leaf, SslVersion::TLS1, SslVersion::TLS1);
    let port = tls_server_with(acc, b"", error_response("08P01", "SSL required")).await;
    let (r, _) = run_probe(port, &opts()).await;
    let (accepted, refused) = versions_json(&r);
    assert_eq!(accepted, ["TLSv1"], "{}", detail(&r, CheckId::TlsVersions));
    assert_eq!(refused, ["TLSv1.1", "TLSv1.2", "TLSv1.3"]);
    assert_eq!(verdict(&r, CheckId::TlsVersions), Verdict::Fail);

    // TLS 1.2 only: the first connection did not negotiate 1.3, so 1.3 is tested on its own.
    let acc = acceptor_versions(&leaf, SslVersion::TLS1_2, SslVersion::TLS1_2);
    let port = tls_server_with(acc, b"", error_response("08P01", "SSL required")).await;
    let (r, _) = run_probe(port, &opts()).await;
    let (accepted, refused) = versions_json(&r);
    assert_eq!(accepted, ["TLSv1.2"]);
    assert_eq!(refused, ["TLSv1", "TLSv1.1", "TLSv1.3"]);
    assert_eq!(verdict(&r, CheckId::TlsVersions), Verdict::Pass);
}

/// A server that answers SSLRequest + pipelined bytes with `S`, then, a moment later (after
/// the probe's `ClientHello` is on its way), `late` in plaintext.
async fn late_plaintext_after_s(late: Vec<u8>) -> u16 {
    let late = Arc::new(late);
    serve(move |mut s| {
        let late = Arc::clone(&late);
        async move {
            if let First::SslRequest(extra) = first(&mut s).await
                && !extra.is_empty()
            {
                let _ = s.write_all(b"S").await;
                tokio::time::sleep(Duration::from_millis(30)).await;
                let _ = s.write_all(&late).await;
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    })
    .await
}

#[tokio::test]
async fn late_plaintext_answer_after_s_is_still_classified() {
    // Processing the pipelined startup in plaintext (AuthenticationOk) fails the check...
    let port = late_plaintext_after_s(b"R\0\0\0\x08\0\0\0\0".to_vec()).await;
    let (r, took) = run_probe(port, &opts()).await;
    assert_eq!(
        verdict(&r, CheckId::PipelinedData),
        Verdict::Fail,
        "{}",
        detail(&r, CheckId::PipelinedData)
    );
    assert!(took < Duration::from_secs(2), "{took:?}");
    // ...refusing it in plaintext passes, with the server's message.
    let port = late_plaintext_after_s(error_response(
        "08P01",
        "received unencrypted data after SSL request",
    ))
    .await;
    let (r, _) = run_probe(port, &opts()).await;
    let c = r.check(CheckId::PipelinedData).unwrap();
    assert_eq!(c.verdict, Verdict::Pass, "{}", c.detail);
    assert!(
        c.detail.contains("received unencrypted data"),
        "{}",
        c.detail
    );
}

fn is_ca(r: &TargetReport) -> Option<bool> {
    serde_json::to_value(r.check(CheckId::Certificate).unwrap()).unwrap()["is_ca"].as_bool()
}

#[tokio::test]
async fn leaf_certificate_is_not_a_ca() {
    let pki = Pki::new();
    let leaf = pki.leaf("localhost", "DNS:localhost,IP:127.0.0.1", 30);
    let port = tls_server(&leaf, b"").await;
    let (r, _) = run_probe(port, &opts()).await;
    assert_eq!(is_ca(&r), Some(false));
    assert!(!detail(&r, CheckId::Certificate).contains("CA certificate"));
}

/// A PgBouncer-like endpoint that stalls its first `stalled` connections past the deadline,
/// then behaves: the probe of a busy fleet that timed out is retried once, and passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_under_load_is_retried_once_and_never_a_fail() {
    let pki = Pki::new();
    let leaf = pki.leaf("localhost", "DNS:localhost,IP:127.0.0.1", 30);
    let acc = acceptor(&leaf);
    let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let stalled = 4; // both targets' two default-mode connections
    let port = serve({
        let seen = Arc::clone(&seen);
        move |mut s| {
            let acc = Arc::clone(&acc);
            let n = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                if n < stalled {
                    tokio::time::sleep(Duration::from_secs(3)).await;
                    return;
                }
                match first(&mut s).await {
                    First::SslRequest(_) => {
                        let _ = s.write_all(b"S").await;
                        let ssl = Ssl::new(acc.context()).unwrap();
                        let mut tls = tokio_openssl::SslStream::new(ssl, s).unwrap();
                        if Pin::new(&mut tls).accept().await.is_ok() {
                            let mut sink = [0u8; 512];
                            while matches!(tls.read(&mut sink).await, Ok(n) if n > 0) {}
                        }
                    }
                    First::Startup => {
                        let _ = s.write_all(&error_response("08P01", "SSL required")).await;
                    }
                    First::ClientHello | First::Nothing => {}
                }
            }
        }
    })
    .await;
    let targets = [
        Target::new("127.0.0.1", port),
        Target::new("127.0.0.1", port),
    ];
    let o = ProbeOptions::default()
        .with_ca_pem(&pki.ca_pem(), "ca.crt")
        .unwrap()
        .with_timeout(Duration::from_millis(400))
        .with_concurrency(2);
    let reports = pgtls_probe::probe_many(&targets, &o).await;
    for r in &reports {
        let text = pgtls_probe::render_target(r, false);
        assert_eq!(r.attempts, 2, "{text}");
        assert_eq!(r.verdict, TargetVerdict::Pass, "{text}");
    }
    // Without the retry the same stall is inconclusive, never a fail.
    seen.store(0, std::sync::atomic::Ordering::SeqCst);
    let reports = pgtls_probe::probe_many(&targets, &o.with_retry(false)).await;
    for r in &reports {
        let text = pgtls_probe::render_target(r, false);
        assert_eq!(r.attempts, 1);
        assert_eq!(r.verdict, TargetVerdict::Inconclusive, "{text}");
        assert!(
            r.checks.iter().all(|c| c.verdict != Verdict::Fail),
            "{text}"
        );
        assert!(r.timed_out());
    }
}
