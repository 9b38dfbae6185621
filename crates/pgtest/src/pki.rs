//! Test certificates made with the `openssl` command-line tool, so that servers in tests do
//! not depend on the certificate code under test.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A private P-256 CA (`ca.crt`, `ca.key`) and the files made from it, in a directory of its
/// own that is removed on drop.
#[derive(Debug)]
pub struct Pki {
    dir: PathBuf,
}

/// A certificate and its key, as PEM bytes.
#[derive(Debug, Clone)]
pub struct Leaf {
    /// The certificate (PEM).
    pub cert: Vec<u8>,
    /// The unencrypted private key (PEM).
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

const P256: [&str; 6] = [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-days",
];

impl Pki {
    /// A new CA: `CN=pgtls test CA`, `CA:TRUE`, keyCertSign/cRLSign, valid 30 days.
    ///
    /// # Panics
    /// When the directory cannot be made or `openssl` fails.
    pub fn new() -> Self {
        let dir = crate::fresh_dir("pki").expect("pgtest: a directory for test certificates");
        let mut args = vec!["req", "-x509"];
        args.extend(P256);
        args.extend([
            "30",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-subj",
            "/CN=pgtls test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        run(&dir, &args);
        Self { dir }
    }

    /// A CA made elsewhere (for example by `pgtls certs init`): `ca.crt` and `ca.key` of `dir`
    /// are copied into a folder of its own, so [`Pki::leaf`] signs with them and dropping it
    /// leaves `dir` alone.
    ///
    /// # Panics
    /// When the directory cannot be made or the CA files cannot be copied.
    pub fn adopt(dir: &Path) -> Self {
        let own = crate::fresh_dir("pki").expect("pgtest: a directory for test certificates");
        for f in ["ca.crt", "ca.key"] {
            std::fs::copy(dir.join(f), own.join(f)).expect("copying the CA");
        }
        Self { dir: own }
    }

    /// The CA certificate's path.
    pub fn ca_path(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }

    /// The CA certificate (PEM).
    ///
    /// # Panics
    /// When the file cannot be read.
    pub fn ca_pem(&self) -> Vec<u8> {
        std::fs::read(self.ca_path()).expect("ca.crt")
    }

    /// A server certificate `CN=name` signed by the CA with these SANs (for example
    /// `DNS:localhost,IP:127.0.0.1`), `CA:FALSE`, serverAuth, valid `days` (`-1` gives one that
    /// expired yesterday).
    ///
    /// # Panics
    /// When `openssl` fails.
    pub fn leaf(&self, name: &str, sans: &str, days: i32) -> Leaf {
        let d = &self.dir;
        std::fs::write(
            d.join(format!("{name}.ext")),
            format!("subjectAltName={sans}\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n"),
        )
        .expect("ext file");
        let (key, csr, crt, ext) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.crt"),
            format!("{name}.ext"),
        );
        let subj = format!("/CN={name}");
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
                &key,
                "-out",
                &csr,
                "-subj",
                &subj,
            ],
        );
        let days = days.to_string();
        run(
            d,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &crt,
                "-days",
                &days,
                "-extfile",
                &ext,
            ],
        );
        self.read(name)
    }

    /// A self-signed certificate `CN=name` with these SANs, not issued by the CA.
    ///
    /// # Panics
    /// When `openssl` fails.
    pub fn self_signed(&self, name: &str, sans: &str) -> Leaf {
        let (key, crt) = (format!("{name}.key"), format!("{name}.crt"));
        let (subj, san) = (format!("/CN={name}"), format!("subjectAltName={sans}"));
        let mut args = vec!["req", "-x509"];
        args.extend(P256);
        args.extend([
            "30", "-keyout", &key, "-out", &crt, "-subj", &subj, "-addext", &san,
        ]);
        run(&self.dir, &args);
        self.read(name)
    }

    fn read(&self, name: &str) -> Leaf {
        Leaf {
            cert: std::fs::read(self.dir.join(format!("{name}.crt"))).expect("crt"),
            key: std::fs::read(self.dir.join(format!("{name}.key"))).expect("key"),
        }
    }
}

impl Default for Pki {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        if !crate::keep_dirs() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
