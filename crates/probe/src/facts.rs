//! Plain facts gathered by the I/O layer, judged by [`crate::judge`]. No sockets, no OpenSSL
//! handles: what a connection saw, as data, so every verdict can be unit-tested.

use crate::report::CertificateInfo;

/// One error OpenSSL's chain verification reported during the handshake (the verify
/// callback saw it and let the handshake go on, so the facts can still be reported).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChainError {
    /// Depth in the chain: 0 is the leaf.
    pub(crate) depth: u32,
    /// OpenSSL's `X509_V_ERR_*` code.
    pub(crate) code: i32,
    /// OpenSSL's text for it, e.g. `EE certificate key too weak`.
    pub(crate) reason: String,
}

/// `X509_V_ERR_*` codes the judges treat specially (OpenSSL 3 `x509_vfy.h`).
pub(crate) mod x509_err {
    pub(crate) const CERT_NOT_YET_VALID: i32 = 9;
    pub(crate) const CERT_HAS_EXPIRED: i32 = 10;
    pub(crate) const INVALID_PURPOSE: i32 = 26;
    pub(crate) const EE_KEY_TOO_SMALL: i32 = 66;
    pub(crate) const CA_KEY_TOO_SMALL: i32 = 67;
    pub(crate) const CA_MD_TOO_WEAK: i32 = 68;
}

impl ChainError {
    /// A validity-window error: the `expiry` check reports those.
    pub(crate) fn is_time(&self) -> bool {
        matches!(
            self.code,
            x509_err::CERT_NOT_YET_VALID | x509_err::CERT_HAS_EXPIRED
        )
    }

    /// A policy error no client on this host accepts whatever it trusts: a weak key or
    /// digest, or a certificate not for TLS servers.
    pub(crate) fn is_policy(&self) -> bool {
        matches!(
            self.code,
            x509_err::INVALID_PURPOSE
                | x509_err::EE_KEY_TOO_SMALL
                | x509_err::CA_KEY_TOO_SMALL
                | x509_err::CA_MD_TOO_WEAK
        )
    }
}

/// A subject alternative name, raw as in the certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum San {
    /// `dNSName` bytes.
    Dns(Vec<u8>),
    /// `iPAddress` bytes (4 or 16 when well-formed).
    Ip(Vec<u8>),
}

/// What host-name matching looks at: the SANs in certificate order and the first CN.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Names {
    pub(crate) sans: Vec<San>,
    pub(crate) common_name: Option<Vec<u8>>,
}

/// Facts about the leaf certificate beyond [`CertificateInfo`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CertFacts {
    pub(crate) info: CertificateInfo,
    pub(crate) names: Names,
    pub(crate) not_before_unix: i64,
    pub(crate) not_after_unix: i64,
}

/// What the first connection's handshake produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HandshakeFacts {
    pub(crate) protocol: String,
    pub(crate) cipher: String,
    pub(crate) alpn: Option<String>,
    /// The leaf's facts, `None` when the server presented no certificate.
    pub(crate) leaf: Option<CertFacts>,
    /// Errors of OpenSSL's verification of the presented chain (empty: it verified).
    pub(crate) chain_errors: Vec<ChainError>,
}

/// What the first connection learnt before any handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Contact {
    /// No TCP connection: `timeout` when the deadline passed (nothing learnt), else refused,
    /// unreachable, or a name that does not resolve.
    ConnectFailed { timeout: bool, detail: String },
    /// Connected, but no reply byte came: timed out or closed.
    NoReply { timeout: bool, detail: String },
    /// The reply byte, the server's error text when it was `E`, and how many bytes followed
    /// an `S` before the handshake.
    Reply {
        byte: u8,
        error_message: Option<String>,
        extra_bytes: usize,
    },
}

/// The outcome of the first handshake, when one was attempted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HandshakeOutcome {
    Done(Box<HandshakeFacts>),
    Failed(String),
    TimedOut,
}
