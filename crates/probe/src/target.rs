//! Endpoints to probe: `HOST[:PORT]` parsing.

use std::fmt;
use std::net::IpAddr;

use crate::error::{Error, Result};

/// The ports probed when a target names none: PostgreSQL / Supavisor session mode (5432) and
/// Supavisor transaction mode (6543).
pub const DEFAULT_PORTS: [u16; 2] = [5432, 6543];

/// One endpoint: a host name or IP address and a TCP port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    host: String,
    port: u16,
}

impl Target {
    /// A target from parts. The host is used as given (no brackets for IPv6).
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
        }
    }

    /// The host name or IP address, without brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The host as an IP address, when it is one.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }

    /// Parses `HOST[:PORT]` (IPv6 in brackets when a port follows: `[::1]:5432`).
    ///
    /// Without a port the result holds one target per [`DEFAULT_PORTS`] entry. A bare IPv6
    /// address without brackets (`::1`) is accepted and gets the default ports.
    pub fn parse(input: &str) -> Result<Vec<Target>> {
        let bad = |reason: &str| Error::InvalidTarget {
            input: input.to_string(),
            reason: reason.to_string(),
        };
        let s = input.trim();
        if s.is_empty() {
            return Err(bad("empty target"));
        }
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (host, after) = rest
                .split_once(']')
                .ok_or_else(|| bad("missing closing ']'"))?;
            if host.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(bad("brackets must hold an IPv6 address"));
            }
            let port = match after {
                "" => None,
                p => Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| bad("expected ':PORT' after ']'"))?,
                ),
            };
            (host, port)
        } else if s.matches(':').count() > 1 {
            if s.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(bad(
                    "not an IPv6 address; write [ADDRESS]:PORT to give a port",
                ));
            }
            (s, None)
        } else {
            match s.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (s, None),
            }
        };
        if host.is_empty() {
            return Err(bad("empty host"));
        }
        if host
            .chars()
            .any(|c| c.is_whitespace() || c == '/' || c == '@')
        {
            return Err(bad("host holds a space, '/' or '@'"));
        }
        match port {
            None => Ok(DEFAULT_PORTS
                .iter()
                .map(|&p| Target::new(host, p))
                .collect()),
            Some(p) => {
                let port: u16 =
                    p.parse().ok().filter(|&n| n != 0).ok_or_else(|| {
                        bad(&format!("port \"{p}\" is not a number in 1..=65535"))
                    })?;
                Ok(vec![Target::new(host, port)])
            }
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// The entries of a targets file: one per line, `#` starts a comment, blank lines skipped.
///
/// ```
/// let lines = pgtls_probe::target_lines("db.example.com # primary\n\n# off\n10.0.0.5:6543\n");
/// assert_eq!(lines, ["db.example.com", "10.0.0.5:6543"]);
/// ```
pub fn target_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Parses a list of targets (one per entry), expanding port-less ones to both default ports.
pub fn parse_targets<I, S>(inputs: I) -> Result<Vec<Target>>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out = Vec::new();
    for i in inputs {
        out.extend(Target::parse(i.as_ref())?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port() {
        assert_eq!(
            Target::parse("db.example.com:6543").unwrap(),
            vec![Target::new("db.example.com", 6543)]
        );
        assert_eq!(
            Target::parse("10.0.0.1:5432").unwrap(),
            vec![Target::new("10.0.0.1", 5432)]
        );
    }

    #[test]
    fn no_port_gives_both_defaults() {
        assert_eq!(
            Target::parse("db").unwrap(),
            vec![Target::new("db", 5432), Target::new("db", 6543)]
        );
        assert_eq!(
            Target::parse("[::1]").unwrap(),
            vec![Target::new("::1", 5432), Target::new("::1", 6543)]
        );
        assert_eq!(Target::parse("fe80::1").unwrap().len(), 2);
    }

    #[test]
    fn ipv6_with_port_and_display() {
        let t = Target::parse("[::1]:5433").unwrap();
        assert_eq!(t, vec![Target::new("::1", 5433)]);
        assert_eq!(t[0].to_string(), "[::1]:5433");
        assert_eq!(Target::new("h", 1).to_string(), "h:1");
        assert!(t[0].ip().is_some());
    }

    #[test]
    fn errors_name_the_input() {
        for bad in [
            "",
            "h:",
            "h:0",
            "h:99999",
            "h:x",
            "[::1",
            "[nothost]:1",
            "[::1]x",
            "a:b:c",
            ":5432",
            "a b",
        ] {
            let err = Target::parse(bad).unwrap_err();
            assert!(
                err.to_string()
                    .starts_with(&format!("invalid target \"{bad}\"")),
                "{bad}: {err}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn display_parses_back(host in "[a-z][a-z0-9.-]{0,30}", port in 1u16..) {
            let t = Target::new(host, port);
            proptest::prop_assert_eq!(Target::parse(&t.to_string()).unwrap(), vec![t]);
        }

        #[test]
        fn ipv6_display_parses_back(segs in proptest::array::uniform8(0u16..), port in 1u16..) {
            let ip = std::net::Ipv6Addr::from(segs);
            let t = Target::new(ip.to_string(), port);
            proptest::prop_assert_eq!(Target::parse(&t.to_string()).unwrap(), vec![t]);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = Target::parse(&s);
        }
    }

    #[test]
    fn list_parsing_keeps_order() {
        let t = parse_targets(["b:1", "a"]).unwrap();
        assert_eq!(
            t,
            vec![
                Target::new("b", 1),
                Target::new("a", 5432),
                Target::new("a", 6543)
            ]
        );
    }
}
