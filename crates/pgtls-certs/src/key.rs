//! Key types: names, generation and loading of private keys.

use std::fmt;
use std::str::FromStr;

use rcgen::{KeyPair, PublicKeyData, RsaKeySize, SignatureAlgorithm};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;

use crate::error::{Error, Result};

/// The key algorithms this crate generates.
///
/// The default, ECDSA P-256 with SHA-256, is accepted by every PostgreSQL client in common use
/// (libpq/OpenSSL, pgjdbc, Npgsql, node-postgres, asyncpg, Prisma). RSA is there for legacy
/// clients; Ed25519 works with libpq but not with every driver (see [`KeyType::warning`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum KeyType {
    /// ECDSA on NIST P-256, signatures with SHA-256 (the default).
    #[default]
    EcdsaP256,
    /// ECDSA on NIST P-384, signatures with SHA-384.
    EcdsaP384,
    /// RSA 2048 bits, PKCS#1 v1.5 signatures with SHA-256.
    Rsa2048,
    /// RSA 3072 bits, PKCS#1 v1.5 signatures with SHA-256.
    Rsa3072,
    /// RSA 4096 bits, PKCS#1 v1.5 signatures with SHA-256.
    Rsa4096,
    /// Ed25519.
    Ed25519,
}

impl KeyType {
    /// Every supported key type, in the order of the CLI's `--key-type` help.
    pub const ALL: [KeyType; 6] = [
        KeyType::EcdsaP256,
        KeyType::EcdsaP384,
        KeyType::Rsa2048,
        KeyType::Rsa3072,
        KeyType::Rsa4096,
        KeyType::Ed25519,
    ];

    /// The CLI spelling: `ecdsa-p256`, `ecdsa-p384`, `rsa2048`, `rsa3072`, `rsa4096`, `ed25519`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::EcdsaP256 => "ecdsa-p256",
            KeyType::EcdsaP384 => "ecdsa-p384",
            KeyType::Rsa2048 => "rsa2048",
            KeyType::Rsa3072 => "rsa3072",
            KeyType::Rsa4096 => "rsa4096",
            KeyType::Ed25519 => "ed25519",
        }
    }

    /// A human description such as `ECDSA P-256` or `RSA 4096`, the same text
    /// [`CertInfo::key`](crate::CertInfo::key) shows.
    pub fn description(self) -> &'static str {
        match self {
            KeyType::EcdsaP256 => "ECDSA P-256",
            KeyType::EcdsaP384 => "ECDSA P-384",
            KeyType::Rsa2048 => "RSA 2048",
            KeyType::Rsa3072 => "RSA 3072",
            KeyType::Rsa4096 => "RSA 4096",
            KeyType::Ed25519 => "Ed25519",
        }
    }

    /// A warning to show the user when this key type is chosen, if any.
    pub fn warning(self) -> Option<&'static str> {
        match self {
            KeyType::Ed25519 => Some(
                "Ed25519: libpq 15 fails SCRAM logins over TLS with \"could not find digest for NID UNDEF\" \
                 unless clients set channel_binding=disable, and several drivers (pgjdbc, Npgsql, webpki-based \
                 clients) reject Ed25519 certificates; prefer ecdsa-p256",
            ),
            _ => None,
        }
    }

    /// Whether this is an RSA key type.
    pub fn is_rsa(self) -> bool {
        matches!(self, KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096)
    }

    pub(crate) fn generate(self) -> Result<KeyPair> {
        let generated = match self {
            KeyType::EcdsaP256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
            KeyType::EcdsaP384 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
            KeyType::Rsa2048 => {
                KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_2048)
            }
            KeyType::Rsa3072 => {
                KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_3072)
            }
            KeyType::Rsa4096 => {
                KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_4096)
            }
            KeyType::Ed25519 => KeyPair::generate_for(&rcgen::PKCS_ED25519).and_then(|k| {
                // aws-lc-rs writes Ed25519 keys as PKCS#8 v2 (RFC 5958, with the public key),
                // which OpenSSL 3.0 (and so PostgreSQL) cannot read: re-encode as v1
                let v1 = ed25519_pkcs8_v1(k.serialized_der())
                    .ok_or(rcgen::Error::CouldNotParseKeyPair)?;
                KeyPair::try_from(&PrivateKeyDer::Pkcs8(v1.into()))
            }),
        };
        generated.map_err(|e| Error::Generate {
            what: "private key",
            detail: e.to_string(),
        })
    }

    /// Identify the key type of a loaded key pair. RSA sizes other than 2048/3072/4096 and
    /// curves other than P-256/P-384 are refused.
    pub(crate) fn of(key: &KeyPair) -> Result<KeyType> {
        let alg: &SignatureAlgorithm = key.algorithm();
        if alg == &rcgen::PKCS_ECDSA_P256_SHA256 {
            Ok(KeyType::EcdsaP256)
        } else if alg == &rcgen::PKCS_ECDSA_P384_SHA384 {
            Ok(KeyType::EcdsaP384)
        } else if alg == &rcgen::PKCS_ED25519 {
            Ok(KeyType::Ed25519)
        } else if alg == &rcgen::PKCS_RSA_SHA256 {
            // der_bytes is the RSAPublicKey structure; its modulus length gives the size.
            match rsa_modulus_bits(key.der_bytes()) {
                Some(2048) => Ok(KeyType::Rsa2048),
                Some(3072) => Ok(KeyType::Rsa3072),
                Some(4096) => Ok(KeyType::Rsa4096),
                Some(bits) => Err(Error::Key {
                    detail: format!(
                        "RSA keys of {bits} bits are not supported (use 2048, 3072 or 4096)"
                    ),
                }),
                None => Err(Error::Key {
                    detail: "cannot read the RSA modulus".to_string(),
                }),
            }
        } else {
            Err(Error::Key {
                detail: "unsupported key algorithm (supported: ECDSA P-256/P-384, RSA, Ed25519)"
                    .to_string(),
            })
        }
    }
}

/// The RFC 8410 PKCS#8 v1 encoding of an Ed25519 private key given in any PKCS#8 version:
/// `SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32) } }`.
fn ed25519_pkcs8_v1(der: &[u8]) -> Option<Vec<u8>> {
    // algorithm identifier followed by the wrapped 32-byte seed, identical in v1 and v2
    const MARKER: [u8; 11] = [
        0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
    ];
    const V1_PREFIX: [u8; 16] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    let at = der.windows(MARKER.len()).position(|w| w == MARKER)? + MARKER.len();
    let seed = der.get(at..at + 32)?;
    let mut out = V1_PREFIX.to_vec();
    out.extend_from_slice(seed);
    Some(out)
}

/// Bit length of the modulus in a DER `RSAPublicKey ::= SEQUENCE { modulus INTEGER, e INTEGER }`.
fn rsa_modulus_bits(der: &[u8]) -> Option<usize> {
    use x509_parser::prelude::FromDer;
    let (_, key) = x509_parser::public_key::RSAPublicKey::from_der(der).ok()?;
    let modulus = key.modulus;
    let trimmed: &[u8] = match modulus.iter().position(|b| *b != 0) {
        Some(i) => modulus.get(i..)?,
        None => return None,
    };
    let first = *trimmed.first()?;
    Some((trimmed.len() - 1) * 8 + (8 - first.leading_zeros() as usize))
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyType {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let lower = s.trim().to_ascii_lowercase();
        let found = match lower.as_str() {
            "ecdsa-p256" | "p256" | "ec" | "ecdsa" => KeyType::EcdsaP256,
            "ecdsa-p384" | "p384" => KeyType::EcdsaP384,
            "rsa2048" | "rsa-2048" | "rsa" => KeyType::Rsa2048,
            "rsa3072" | "rsa-3072" => KeyType::Rsa3072,
            "rsa4096" | "rsa-4096" => KeyType::Rsa4096,
            "ed25519" => KeyType::Ed25519,
            _ => {
                return Err(Error::UnknownKeyType {
                    value: s.to_string(),
                });
            }
        };
        Ok(found)
    }
}

/// Parse the first private key in PEM text: PKCS#8 (`PRIVATE KEY`), PKCS#1 (`RSA PRIVATE KEY`) or
/// SEC1 (`EC PRIVATE KEY`). Encrypted keys are not supported.
pub(crate) fn load_key(key_pem: &[u8]) -> Result<KeyPair> {
    let der = match PrivateKeyDer::from_pem_slice(key_pem) {
        Ok(der) => der,
        Err(rustls_pki_types::pem::Error::NoItemsFound) => {
            let detail = if String::from_utf8_lossy(key_pem).contains("ENCRYPTED PRIVATE KEY") {
                "the key is encrypted; decrypt it first (openssl pkey -in KEY -out PLAIN)"
                    .to_string()
            } else {
                return Err(Error::NoPem {
                    what: "private key",
                });
            };
            return Err(Error::Key { detail });
        }
        Err(e) => {
            return Err(Error::Pem {
                detail: e.to_string(),
            });
        }
    };
    KeyPair::try_from(&der).map_err(|e| Error::Key {
        detail: e.to_string(),
    })
}

/// A fresh random certificate serial number: 16 random bytes with the top bit cleared (positive,
/// at most 20 octets as RFC 5280 requires, and well over the 64 bits of entropy the CA/Browser
/// Forum asks for).
pub(crate) fn random_serial() -> Result<rcgen::SerialNumber> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    let path = std::path::Path::new("/dev/urandom");
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| Error::io("read", path, &e))?;
    bytes[0] &= 0x7f;
    if bytes[0] == 0 {
        // keep the encoding a fixed 16 octets: a leading zero octet would be dropped
        bytes[0] = 0x01;
    }
    Ok(rcgen::SerialNumber::from_slice(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_type_names_round_trip() {
        for kt in KeyType::ALL {
            assert_eq!(kt.as_str().parse::<KeyType>(), Ok(kt));
            assert_eq!(kt.to_string(), kt.as_str());
        }
        assert_eq!("ECDSA-P384".parse::<KeyType>(), Ok(KeyType::EcdsaP384));
        assert_eq!(
            "dsa".parse::<KeyType>(),
            Err(Error::UnknownKeyType {
                value: "dsa".to_string()
            })
        );
        assert_eq!(KeyType::default(), KeyType::EcdsaP256);
    }

    #[test]
    fn generated_keys_are_identified() {
        for kt in [
            KeyType::EcdsaP256,
            KeyType::EcdsaP384,
            KeyType::Ed25519,
            KeyType::Rsa2048,
        ] {
            let key = kt.generate().unwrap();
            assert_eq!(KeyType::of(&key).unwrap(), kt);
            let reloaded = load_key(key.serialize_pem().as_bytes()).unwrap();
            assert_eq!(KeyType::of(&reloaded).unwrap(), kt);
        }
    }

    #[test]
    fn ed25519_keys_are_pkcs8_v1() {
        let key = KeyType::Ed25519.generate().unwrap();
        let der = key.serialized_der();
        assert_eq!(der.len(), 48);
        assert_eq!(der.get(..5), Some(&[0x30, 0x2e, 0x02, 0x01, 0x00][..]));
    }

    #[test]
    fn only_ed25519_warns() {
        for kt in KeyType::ALL {
            assert_eq!(kt.warning().is_some(), kt == KeyType::Ed25519);
        }
    }

    #[test]
    fn missing_key_is_reported() {
        assert_eq!(
            load_key(b"hello").unwrap_err(),
            Error::NoPem {
                what: "private key"
            }
        );
    }

    #[test]
    fn serials_are_positive_and_distinct() {
        let a = random_serial().unwrap();
        let b = random_serial().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 16);
        assert!(a.to_bytes()[0] < 0x80 && a.to_bytes()[0] > 0);
    }
}
