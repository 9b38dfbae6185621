//! The PostgreSQL wire codec used by the probe: pure functions, no I/O.
//!
//! Only the messages a TLS probe needs are covered: the four "special" startup packets a
//! client sends first (SSLRequest, GSSENCRequest, StartupMessage, CancelRequest), the one-byte
//! replies to the encryption requests, and the backend messages that can answer a
//! StartupMessage before authentication (ErrorResponse, NoticeResponse,
//! NegotiateProtocolVersion, Authentication*). Every other message is framed and returned as
//! [`BackendMessage::Other`] without interpreting its body.
//!
//! Decoding never panics and never allocates more than [`MAX_MESSAGE_LEN`] for one message,
//! whatever the input (a fuzz target checks this).

use crate::error::{Error, Result};

/// The SSLRequest code, `1234 << 16 | 5679`.
pub const SSL_REQUEST_CODE: i32 = 80_877_103;
/// The GSSENCRequest code, `1234 << 16 | 5680`.
pub const GSSENC_REQUEST_CODE: i32 = 80_877_104;
/// The CancelRequest code, `1234 << 16 | 5678`.
pub const CANCEL_REQUEST_CODE: i32 = 80_877_102;
/// Protocol version 3.0 as sent in a StartupMessage.
pub const PROTOCOL_3_0: i32 = 196_608;
/// The largest backend message (including its 4-byte length) the decoder accepts.
///
/// Startup-phase replies are a few hundred bytes; anything near this bound is hostile.
pub const MAX_MESSAGE_LEN: usize = 65_536;
/// The largest StartupMessage the encoder produces (PostgreSQL's own limit is 10 000 bytes).
pub const MAX_STARTUP_LEN: usize = 10_000;

/// The 8-byte SSLRequest packet (`00 00 00 08 04 d2 16 2f`).
pub fn ssl_request() -> [u8; 8] {
    special_packet(SSL_REQUEST_CODE)
}

/// The 8-byte GSSENCRequest packet.
pub fn gssenc_request() -> [u8; 8] {
    special_packet(GSSENC_REQUEST_CODE)
}

fn special_packet(code: i32) -> [u8; 8] {
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&8i32.to_be_bytes());
    out[4..].copy_from_slice(&code.to_be_bytes());
    out
}

/// A CancelRequest for a backend's process id and secret key (protocol 3.0, 16 bytes).
pub fn cancel_request(process_id: i32, secret_key: i32) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[..4].copy_from_slice(&16i32.to_be_bytes());
    out[4..8].copy_from_slice(&CANCEL_REQUEST_CODE.to_be_bytes());
    out[8..12].copy_from_slice(&process_id.to_be_bytes());
    out[12..].copy_from_slice(&secret_key.to_be_bytes());
    out
}

/// A protocol 3.0 StartupMessage with `user`, `database` and, when given, `application_name`.
///
/// Fails when a value holds a NUL byte, `user` is empty, or the packet would exceed
/// [`MAX_STARTUP_LEN`].
pub fn startup_message(
    user: &str,
    database: &str,
    application_name: Option<&str>,
) -> Result<Vec<u8>> {
    let encode_err = |reason: String| Error::Encode {
        what: "StartupMessage",
        reason,
    };
    if user.is_empty() {
        return Err(encode_err("the user name is empty".into()));
    }
    let mut params: Vec<(&str, &str)> = vec![("user", user), ("database", database)];
    if let Some(app) = application_name {
        params.push(("application_name", app));
    }
    let mut body = Vec::with_capacity(64);
    body.extend_from_slice(&PROTOCOL_3_0.to_be_bytes());
    for (k, v) in params {
        if v.contains('\0') {
            return Err(encode_err(format!(
                "parameter {k} \"{}\" holds a NUL byte",
                v.escape_debug()
            )));
        }
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let len = body.len() + 4;
    if len > MAX_STARTUP_LEN {
        return Err(encode_err(format!(
            "packet of {len} bytes exceeds {MAX_STARTUP_LEN}"
        )));
    }
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&i32::try_from(len).unwrap_or(i32::MAX).to_be_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// The one-byte answer to an SSLRequest or GSSENCRequest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncryptionReply {
    /// `S`: the server will do a TLS handshake next.
    Ssl,
    /// `G`: the server will do GSSAPI encryption next.
    Gss,
    /// `N`: the server refuses encryption; the client may continue in plaintext.
    No,
    /// `E`: an ErrorResponse follows (a server too old to know the request, or a refusal).
    Error,
    /// Any other byte: not a PostgreSQL server, or a broken one.
    Other(u8),
}

impl EncryptionReply {
    /// Classifies the first byte the server sent.
    pub fn from_byte(b: u8) -> Self {
        match b {
            b'S' => Self::Ssl,
            b'G' => Self::Gss,
            b'N' => Self::No,
            b'E' => Self::Error,
            other => Self::Other(other),
        }
    }
}

/// Every field of an ErrorResponse or NoticeResponse.
///
/// Known field codes have their own member; unknown ones are kept in `other` in order.
/// Text is decoded as UTF-8 with invalid sequences replaced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ErrorFields {
    /// `S`: severity, possibly localised.
    pub severity: Option<String>,
    /// `V`: severity, never localised (PostgreSQL 9.6+).
    pub severity_nonlocalized: Option<String>,
    /// `C`: SQLSTATE code.
    pub code: Option<String>,
    /// `M`: the primary message.
    pub message: Option<String>,
    /// `D`: detail.
    pub detail: Option<String>,
    /// `H`: hint.
    pub hint: Option<String>,
    /// `P`: cursor position in the query.
    pub position: Option<String>,
    /// `p`: position in an internal query.
    pub internal_position: Option<String>,
    /// `q`: the internal query.
    pub internal_query: Option<String>,
    /// `W`: context.
    pub where_: Option<String>,
    /// `s`: schema name.
    pub schema: Option<String>,
    /// `t`: table name.
    pub table: Option<String>,
    /// `c`: column name.
    pub column: Option<String>,
    /// `d`: data type name.
    pub data_type: Option<String>,
    /// `n`: constraint name.
    pub constraint: Option<String>,
    /// `F`: source file.
    pub file: Option<String>,
    /// `L`: source line.
    pub line: Option<String>,
    /// `R`: source routine.
    pub routine: Option<String>,
    /// Fields with codes not listed above, in order.
    pub other: Vec<(u8, String)>,
}

impl ErrorFields {
    fn set(&mut self, code: u8, value: String) {
        let slot = match code {
            b'S' => &mut self.severity,
            b'V' => &mut self.severity_nonlocalized,
            b'C' => &mut self.code,
            b'M' => &mut self.message,
            b'D' => &mut self.detail,
            b'H' => &mut self.hint,
            b'P' => &mut self.position,
            b'p' => &mut self.internal_position,
            b'q' => &mut self.internal_query,
            b'W' => &mut self.where_,
            b's' => &mut self.schema,
            b't' => &mut self.table,
            b'c' => &mut self.column,
            b'd' => &mut self.data_type,
            b'n' => &mut self.constraint,
            b'F' => &mut self.file,
            b'L' => &mut self.line,
            b'R' => &mut self.routine,
            _ => {
                self.other.push((code, value));
                return;
            }
        };
        *slot = Some(value);
    }

    /// The severity to show: the non-localised one when present.
    pub fn severity(&self) -> Option<&str> {
        self.severity_nonlocalized
            .as_deref()
            .or(self.severity.as_deref())
    }
}

/// An Authentication request (message `R`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthRequest {
    /// 0: authentication succeeded without any credential (`trust`).
    Ok,
    /// 2: Kerberos V5 (obsolete).
    KerberosV5,
    /// 3: cleartext password.
    CleartextPassword,
    /// 5: MD5 password with a 4-byte salt.
    Md5Password {
        /// The salt.
        salt: [u8; 4],
    },
    /// 7: GSSAPI.
    Gss,
    /// 8: GSSAPI continuation data.
    GssContinue,
    /// 9: SSPI.
    Sspi,
    /// 10: SASL with the offered mechanisms.
    Sasl {
        /// Mechanism names, e.g. `SCRAM-SHA-256`.
        mechanisms: Vec<String>,
    },
    /// 11: SASL continuation.
    SaslContinue,
    /// 12: SASL final.
    SaslFinal,
    /// Any other code.
    Unknown(i32),
}

impl AuthRequest {
    /// A short name: `ok`, `cleartext password`, `MD5`, `SASL (SCRAM-SHA-256)`, ...
    pub fn describe(&self) -> String {
        match self {
            Self::Ok => "ok (no credential needed)".into(),
            Self::KerberosV5 => "Kerberos V5".into(),
            Self::CleartextPassword => "cleartext password".into(),
            Self::Md5Password { .. } => "MD5 password".into(),
            Self::Gss => "GSSAPI".into(),
            Self::GssContinue => "GSSAPI continue".into(),
            Self::Sspi => "SSPI".into(),
            Self::Sasl { mechanisms } => format!("SASL ({})", mechanisms.join(", ")),
            Self::SaslContinue => "SASL continue".into(),
            Self::SaslFinal => "SASL final".into(),
            Self::Unknown(c) => format!("unknown method {c}"),
        }
    }
}

/// A decoded backend message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackendMessage {
    /// `E`.
    ErrorResponse(ErrorFields),
    /// `N`.
    NoticeResponse(ErrorFields),
    /// `R`.
    Authentication(AuthRequest),
    /// `v`: the server's newest supported minor version and the options it did not recognise.
    NegotiateProtocolVersion {
        /// Newest minor protocol version the server supports for the requested major.
        newest_minor: i32,
        /// Protocol options the server did not recognise.
        unrecognized: Vec<String>,
    },
    /// Any other message, framed but not interpreted.
    Other {
        /// The type byte.
        tag: u8,
        /// The body length (the length field minus 4).
        body_len: usize,
    },
}

impl BackendMessage {
    /// A short human description, e.g. `error "..."` or `a message of type 'Z' (1 byte)`.
    pub fn describe(&self) -> String {
        match self {
            Self::ErrorResponse(f) => {
                format!("error \"{}\"", f.message.as_deref().unwrap_or_default())
            }
            Self::NoticeResponse(f) => {
                format!("notice \"{}\"", f.message.as_deref().unwrap_or_default())
            }
            Self::Authentication(r) => format!("authentication request {}", r.describe()),
            Self::NegotiateProtocolVersion { newest_minor, .. } => {
                format!("a protocol version negotiation (newest minor version {newest_minor})")
            }
            Self::Other { tag, body_len } => {
                let unit = if *body_len == 1 { "byte" } else { "bytes" };
                format!("a message of type '{}' ({body_len} {unit})", tag_char(*tag))
            }
        }
    }
}

fn tag_char(tag: u8) -> char {
    if tag.is_ascii_graphic() {
        tag as char
    } else {
        '?'
    }
}

/// Decodes one backend message from the start of `buf`.
///
/// Returns `Ok(None)` when `buf` holds only part of a message (read more and call again), and
/// `Ok(Some((message, consumed)))` otherwise. The length is checked against
/// [`MAX_MESSAGE_LEN`] as soon as the 5-byte header is there, so a hostile length is rejected
/// before anything is buffered for it.
pub fn decode_message(buf: &[u8]) -> Result<Option<(BackendMessage, usize)>> {
    let Some((&tag, rest)) = buf.split_first() else {
        return Ok(None);
    };
    let Some(len_bytes) = rest.get(..4) else {
        return Ok(None);
    };
    let len = i32::from_be_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]);
    let len_ok = usize::try_from(len)
        .ok()
        .filter(|l| (4..=MAX_MESSAGE_LEN).contains(l));
    let Some(len) = len_ok else {
        return Err(Error::MessageLength {
            tag: tag_char(tag),
            len: i64::from(len),
            max: MAX_MESSAGE_LEN,
        });
    };
    let Some(body) = rest.get(4..len) else {
        return Ok(None);
    };
    let msg = decode_body(tag, body)?;
    Ok(Some((msg, len + 1)))
}

/// Decodes a message body given its type byte (the framing already removed).
pub fn decode_body(tag: u8, body: &[u8]) -> Result<BackendMessage> {
    let malformed = |reason: &str| Error::MalformedMessage {
        tag: tag_char(tag),
        reason: reason.into(),
    };
    match tag {
        b'E' | b'N' => {
            let fields = decode_error_fields(body).map_err(&malformed)?;
            Ok(if tag == b'E' {
                BackendMessage::ErrorResponse(fields)
            } else {
                BackendMessage::NoticeResponse(fields)
            })
        }
        b'R' => {
            let (code, rest) =
                read_i32(body).ok_or_else(|| malformed("missing authentication code"))?;
            let req = match code {
                0 => AuthRequest::Ok,
                2 => AuthRequest::KerberosV5,
                3 => AuthRequest::CleartextPassword,
                5 => {
                    let salt = rest
                        .get(..4)
                        .and_then(|s| <[u8; 4]>::try_from(s).ok())
                        .ok_or_else(|| malformed("MD5 request without a 4-byte salt"))?;
                    AuthRequest::Md5Password { salt }
                }
                7 => AuthRequest::Gss,
                8 => AuthRequest::GssContinue,
                9 => AuthRequest::Sspi,
                10 => {
                    let mut mechanisms = Vec::new();
                    let mut rest = rest;
                    loop {
                        let (s, after) = read_cstr(rest)
                            .ok_or_else(|| malformed("unterminated SASL mechanism"))?;
                        rest = after;
                        if s.is_empty() {
                            break;
                        }
                        mechanisms.push(s);
                    }
                    AuthRequest::Sasl { mechanisms }
                }
                11 => AuthRequest::SaslContinue,
                12 => AuthRequest::SaslFinal,
                other => AuthRequest::Unknown(other),
            };
            Ok(BackendMessage::Authentication(req))
        }
        b'v' => {
            let (newest_minor, rest) =
                read_i32(body).ok_or_else(|| malformed("missing minor version"))?;
            let (count, mut rest) =
                read_i32(rest).ok_or_else(|| malformed("missing option count"))?;
            let count = usize::try_from(count).map_err(|_| malformed("negative option count"))?;
            // Each option takes at least one byte (its terminator), which bounds the loop.
            if count > rest.len() {
                return Err(malformed("option count exceeds the message body"));
            }
            let mut unrecognized = Vec::with_capacity(count);
            for _ in 0..count {
                let (s, after) =
                    read_cstr(rest).ok_or_else(|| malformed("unterminated option name"))?;
                unrecognized.push(s);
                rest = after;
            }
            Ok(BackendMessage::NegotiateProtocolVersion {
                newest_minor,
                unrecognized,
            })
        }
        _ => Ok(BackendMessage::Other {
            tag,
            body_len: body.len(),
        }),
    }
}

fn decode_error_fields(mut body: &[u8]) -> std::result::Result<ErrorFields, &'static str> {
    let mut fields = ErrorFields::default();
    loop {
        let Some((&code, rest)) = body.split_first() else {
            return Err("missing the final NUL terminator");
        };
        if code == 0 {
            return Ok(fields);
        }
        let (value, after) = read_cstr(rest).ok_or("unterminated field value")?;
        fields.set(code, value);
        body = after;
    }
}

fn read_i32(buf: &[u8]) -> Option<(i32, &[u8])> {
    let bytes = buf.get(..4)?;
    let v = i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    Some((v, buf.get(4..)?))
}

fn read_cstr(buf: &[u8]) -> Option<(String, &[u8])> {
    let end = buf.iter().position(|&b| b == 0)?;
    let s = String::from_utf8_lossy(buf.get(..end)?).into_owned();
    Some((s, buf.get(end + 1..)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frame(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![tag];
        v.extend_from_slice(&i32::try_from(body.len() + 4).unwrap().to_be_bytes());
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn ssl_request_bytes_match_the_protocol() {
        assert_eq!(ssl_request(), [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
        assert_eq!(gssenc_request(), [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30]);
        assert_eq!(
            cancel_request(0x0102_0304, -1),
            [
                0, 0, 0, 16, 0x04, 0xd2, 0x16, 0x2e, 1, 2, 3, 4, 0xff, 0xff, 0xff, 0xff
            ]
        );
    }

    #[test]
    fn startup_message_layout() {
        let m = startup_message("postgres", "db", Some("x")).unwrap();
        let mut want = Vec::new();
        want.extend_from_slice(&[0, 3, 0, 0]);
        want.extend_from_slice(b"user\0postgres\0database\0db\0application_name\0x\0\0");
        let len = i32::try_from(want.len() + 4).unwrap();
        assert_eq!(m[..4], len.to_be_bytes());
        assert_eq!(&m[4..], &want[..]);
    }

    #[test]
    fn startup_message_rejects_nul_and_empty_user() {
        assert!(matches!(
            startup_message("a\0b", "d", None),
            Err(Error::Encode { .. })
        ));
        assert!(matches!(
            startup_message("", "d", None),
            Err(Error::Encode { .. })
        ));
        let long = "x".repeat(MAX_STARTUP_LEN);
        assert!(matches!(
            startup_message(&long, "d", None),
            Err(Error::Encode { .. })
        ));
    }

    #[test]
    fn encryption_replies() {
        assert_eq!(EncryptionReply::from_byte(b'S'), EncryptionReply::Ssl);
        assert_eq!(EncryptionReply::from_byte(b'N'), EncryptionReply::No);
        assert_eq!(EncryptionReply::from_byte(b'G'), EncryptionReply::Gss);
        assert_eq!(EncryptionReply::from_byte(b'E'), EncryptionReply::Error);
        assert_eq!(
            EncryptionReply::from_byte(b'H'),
            EncryptionReply::Other(b'H')
        );
    }

    #[test]
    fn decodes_a_pg_hba_reject_with_every_field() {
        let body = b"SFATAL\0VFATAL\0C28000\0Mpg_hba.conf rejects connection for host \"127.0.0.1\", user \"postgres\", database \"postgres\", no encryption\0Fauth.c\0L543\0RClientAuthentication\0Zzz\0\0";
        let bytes = frame(b'E', body);
        let (msg, used) = decode_message(&bytes).unwrap().unwrap();
        assert_eq!(used, bytes.len());
        let BackendMessage::ErrorResponse(f) = msg else {
            panic!("not an error: {msg:?}")
        };
        assert_eq!(f.severity(), Some("FATAL"));
        assert_eq!(f.code.as_deref(), Some("28000"));
        assert!(f.message.as_deref().unwrap().ends_with("no encryption"));
        assert_eq!(f.file.as_deref(), Some("auth.c"));
        assert_eq!(f.line.as_deref(), Some("543"));
        assert_eq!(f.routine.as_deref(), Some("ClientAuthentication"));
        assert_eq!(f.other, vec![(b'Z', "zz".to_string())]);
    }

    #[test]
    fn decodes_every_documented_error_field() {
        let codes = b"SVCMDHPpqWstcdnFLR";
        let mut body = Vec::new();
        for &c in codes {
            body.push(c);
            body.extend_from_slice(format!("v{}", c as char).as_bytes());
            body.push(0);
        }
        body.push(0);
        let (msg, _) = decode_message(&frame(b'N', &body)).unwrap().unwrap();
        let BackendMessage::NoticeResponse(f) = msg else {
            panic!()
        };
        let all = [
            &f.severity,
            &f.severity_nonlocalized,
            &f.code,
            &f.message,
            &f.detail,
            &f.hint,
            &f.position,
            &f.internal_position,
            &f.internal_query,
            &f.where_,
            &f.schema,
            &f.table,
            &f.column,
            &f.data_type,
            &f.constraint,
            &f.file,
            &f.line,
            &f.routine,
        ];
        for (slot, &c) in all.iter().zip(codes) {
            assert_eq!(slot.as_deref(), Some(format!("v{}", c as char).as_str()));
        }
        assert!(f.other.is_empty());
    }

    #[test]
    fn decodes_authentication_requests() {
        let mut body = 10i32.to_be_bytes().to_vec();
        body.extend_from_slice(b"SCRAM-SHA-256\0SCRAM-SHA-256-PLUS\0\0");
        let (msg, _) = decode_message(&frame(b'R', &body)).unwrap().unwrap();
        assert_eq!(
            msg,
            BackendMessage::Authentication(AuthRequest::Sasl {
                mechanisms: vec!["SCRAM-SHA-256".into(), "SCRAM-SHA-256-PLUS".into()]
            })
        );
        let mut md5 = 5i32.to_be_bytes().to_vec();
        md5.extend_from_slice(&[1, 2, 3, 4]);
        let (msg, _) = decode_message(&frame(b'R', &md5)).unwrap().unwrap();
        assert_eq!(
            msg,
            BackendMessage::Authentication(AuthRequest::Md5Password { salt: [1, 2, 3, 4] })
        );
        let (msg, _) = decode_message(&frame(b'R', &0i32.to_be_bytes()))
            .unwrap()
            .unwrap();
        assert_eq!(msg, BackendMessage::Authentication(AuthRequest::Ok));
        assert!(decode_message(&frame(b'R', &[0, 0])).is_err());
        assert!(decode_message(&frame(b'R', &5i32.to_be_bytes())).is_err());
    }

    #[test]
    fn decodes_negotiate_protocol_version() {
        let mut body = 0i32.to_be_bytes().to_vec();
        body.extend_from_slice(&2i32.to_be_bytes());
        body.extend_from_slice(b"_pq_.a\0_pq_.b\0");
        let (msg, _) = decode_message(&frame(b'v', &body)).unwrap().unwrap();
        assert_eq!(
            msg,
            BackendMessage::NegotiateProtocolVersion {
                newest_minor: 0,
                unrecognized: vec!["_pq_.a".into(), "_pq_.b".into()]
            }
        );
        let mut bad = 0i32.to_be_bytes().to_vec();
        bad.extend_from_slice(&i32::MAX.to_be_bytes());
        assert!(decode_message(&frame(b'v', &bad)).is_err());
    }

    #[test]
    fn partial_input_asks_for_more() {
        let bytes = frame(b'E', b"SFATAL\0\0");
        for cut in 0..bytes.len() {
            assert_eq!(decode_message(&bytes[..cut]).unwrap(), None, "cut at {cut}");
        }
    }

    #[test]
    fn absurd_lengths_are_rejected_from_the_header() {
        let err = decode_message(&[b'E', 0x7f, 0xff, 0xff, 0xff]).unwrap_err();
        assert_eq!(
            err,
            Error::MessageLength {
                tag: 'E',
                len: i64::from(i32::MAX),
                max: MAX_MESSAGE_LEN
            }
        );
        assert!(decode_message(&[b'E', 0, 0, 0, 3]).is_err());
        assert!(decode_message(&[b'E', 0xff, 0xff, 0xff, 0xff]).is_err());
        assert_eq!(
            err.to_string(),
            "message 'E' has length 2147483647, outside 4..=65536"
        );
    }

    #[test]
    fn unterminated_error_is_malformed() {
        let err = decode_message(&frame(b'E', b"SFATAL")).unwrap_err();
        assert!(
            matches!(err, Error::MalformedMessage { tag: 'E', .. }),
            "{err:?}"
        );
    }

    #[test]
    fn other_messages_are_framed() {
        let (msg, used) = decode_message(&frame(b'K', &[0; 8])).unwrap().unwrap();
        assert_eq!(
            msg,
            BackendMessage::Other {
                tag: b'K',
                body_len: 8
            }
        );
        assert_eq!(used, 13);
    }

    proptest! {
        #[test]
        fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(Some((_, used))) = decode_message(&bytes) {
                prop_assert!(used <= bytes.len());
                prop_assert!(used >= 5);
            }
        }

        #[test]
        fn error_fields_round_trip(msg in "[^\\x00]{0,80}", code in "[0-9A-Z]{5}") {
            let mut body = Vec::new();
            body.extend_from_slice(b"SFATAL\0C");
            body.extend_from_slice(code.as_bytes());
            body.push(0);
            body.push(b'M');
            body.extend_from_slice(msg.as_bytes());
            body.extend_from_slice(b"\0\0");
            let (decoded, _) = decode_message(&frame(b'E', &body)).unwrap().unwrap();
            let BackendMessage::ErrorResponse(f) = decoded else { panic!() };
            prop_assert_eq!(f.message.as_deref(), Some(msg.as_str()));
            prop_assert_eq!(f.code.as_deref(), Some(code.as_str()));
        }

        #[test]
        fn startup_message_length_is_consistent(user in "[a-z.]{1,40}", db in "[a-z]{0,40}") {
            let m = startup_message(&user, &db, None).unwrap();
            let len = i32::from_be_bytes([m[0], m[1], m[2], m[3]]);
            prop_assert_eq!(usize::try_from(len).unwrap(), m.len());
        }
    }
}
