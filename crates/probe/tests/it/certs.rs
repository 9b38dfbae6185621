//! Test certificates made with the `openssl` command-line tool.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A private CA and the files made from it, in a temporary directory.
pub struct Pki {
    dir: tempfile::TempDir,
}

/// A certificate and its key, as PEM bytes and paths.
pub struct Leaf {
    pub cert: Vec<u8>,
    pub key: Vec<u8>,
}

fn run(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("running openssl");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Pki {
    /// A new P-256 CA (`ca.crt`, `ca.key`).
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        run(
            dir.path(),
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-days",
                "30",
                "-subj",
                "/CN=pgtls test CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        );
        Self { dir }
    }

    pub fn ca_path(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    pub fn ca_pem(&self) -> Vec<u8> {
        std::fs::read(self.ca_path()).expect("ca.crt")
    }

    /// A leaf signed by the CA with these SANs (`DNS:localhost,IP:127.0.0.1`), valid `days`
    /// (`-1` gives a certificate that expired yesterday).
    pub fn leaf(&self, name: &str, sans: &str, days: i32) -> Leaf {
        let d = self.dir.path();
        std::fs::write(
            d.join(format!("{name}.ext")),
            format!("subjectAltName={sans}\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n"),
        )
        .expect("ext file");
        run(
            d,
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
                "-subj",
                &format!("/CN={name}"),
            ],
        );
        run(
            d,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &format!("{name}.crt"),
                "-days",
                &days.to_string(),
                "-extfile",
                &format!("{name}.ext"),
            ],
        );
        self.read(name)
    }

    /// A self-signed certificate (not issued by the CA).
    pub fn self_signed(&self, name: &str, sans: &str) -> Leaf {
        run(
            self.dir.path(),
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.crt"),
                "-days",
                "30",
                "-subj",
                &format!("/CN={name}"),
                "-addext",
                &format!("subjectAltName={sans}"),
            ],
        );
        self.read(name)
    }

    fn read(&self, name: &str) -> Leaf {
        let d = self.dir.path();
        Leaf {
            cert: std::fs::read(d.join(format!("{name}.crt"))).expect("crt"),
            key: std::fs::read(d.join(format!("{name}.key"))).expect("key"),
        }
    }
}
