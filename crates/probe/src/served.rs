//! The certificate a server presents, fetched with one blocking PostgreSQL TLS handshake
//! (SSLRequest, `S`, TLS without verification): for confirming a rotation, not for trusting.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};

/// The PEM of the leaf certificate `addr` serves after an SSLRequest, within `timeout` per
/// step. The chain is not verified: callers compare it with the file they expect.
///
/// # Errors
/// A sentence naming what failed: connect, no `S` reply (with the byte), or the handshake.
pub fn served_certificate(addr: SocketAddr, timeout: Duration) -> Result<String, String> {
    let mut tcp = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    tcp.set_read_timeout(Some(timeout)).ok();
    tcp.set_write_timeout(Some(timeout)).ok();
    tcp.write_all(&crate::wire::ssl_request())
        .map_err(|e| format!("{addr}: sending SSLRequest: {e}"))?;
    let mut byte = [0u8; 1];
    tcp.read_exact(&mut byte)
        .map_err(|e| format!("{addr}: no reply to SSLRequest: {e}"))?;
    if byte[0] != b'S' {
        return Err(format!(
            "{addr} answered SSLRequest with {:?}, not S",
            char::from(byte[0])
        ));
    }
    let mut builder = SslConnector::builder(SslMethod::tls_client()).map_err(|e| e.to_string())?;
    builder.set_verify(SslVerifyMode::NONE);
    let mut config = builder.build().configure().map_err(|e| e.to_string())?;
    config.set_verify_hostname(false);
    config.set_use_server_name_indication(false);
    let tls = config
        .connect("unverified", tcp)
        .map_err(|e| format!("{addr}: TLS handshake: {e}"))?;
    let cert = tls
        .ssl()
        .peer_certificate()
        .ok_or_else(|| format!("{addr} presented no certificate"))?;
    let pem = cert.to_pem().map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&pem).into_owned())
}
