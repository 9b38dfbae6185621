//! Npgsql strings read back with .NET's own parsing rules.
//!
//! Npgsql cannot run here (no .NET runtime on the machine). `NpgsqlConnectionStringBuilder`
//! (npgsql/npgsql `src/Npgsql/NpgsqlConnectionStringBuilder.cs`) sets its `ConnectionString` on
//! .NET's `DbConnectionStringBuilder`, which parses with `DbConnectionOptions.GetKeyValuePair`
//! (dotnet/runtime `System.Data.Common`, non-ODBC rules). [`parse`] is a port of that state
//! machine; the tests parse what `pgtls connstr --client npgsql` prints and compare every value.

use std::collections::BTreeMap;

use crate::support::*;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    NothingYet,
    Key,
    KeyEqual,
    KeyEnd,
    Unquoted,
    Double,
    DoubleQuote,
    Single,
    SingleQuote,
    QuotedEnd,
}

/// A port of `DbConnectionOptions.GetKeyValuePair` looped as `ParseInternal` does: keys
/// lower-cased, the last value of a key wins. `Err(position)` where .NET throws
/// `ConnectionStringSyntax`.
fn parse(s: &str) -> Result<BTreeMap<String, String>, usize> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = BTreeMap::new();
    let mut pos = 0;
    while pos < chars.len() {
        let start = pos;
        let mut buf = String::new();
        let mut key: Option<String> = None;
        let mut value: Option<String> = None;
        let mut state = State::NothingYet;
        let mut current = '\0';
        while pos < chars.len() {
            current = chars[pos];
            match state {
                State::NothingYet => {
                    if current == ';' || current.is_whitespace() {
                        pos += 1;
                        continue;
                    }
                    if current.is_control() {
                        return Err(start);
                    }
                    if current == '=' {
                        state = State::KeyEqual;
                        pos += 1;
                        continue;
                    }
                    state = State::Key;
                }
                State::Key => {
                    if current == '=' {
                        state = State::KeyEqual;
                        pos += 1;
                        continue;
                    }
                    if !current.is_whitespace() && current.is_control() {
                        return Err(start);
                    }
                }
                State::KeyEqual | State::KeyEnd => {
                    if state == State::KeyEqual {
                        if current == '=' {
                            state = State::Key;
                            buf.push(current);
                            pos += 1;
                            continue;
                        }
                        let k = buf.trim_end().to_lowercase();
                        if k.is_empty() {
                            return Err(start);
                        }
                        key = Some(k);
                        buf.clear();
                        state = State::KeyEnd;
                    }
                    if current.is_whitespace() {
                        pos += 1;
                        continue;
                    }
                    if current == '\'' {
                        state = State::Single;
                        pos += 1;
                        continue;
                    }
                    if current == '"' {
                        state = State::Double;
                        pos += 1;
                        continue;
                    }
                    if current == ';' {
                        break;
                    }
                    if current.is_control() {
                        return Err(start);
                    }
                    state = State::Unquoted;
                }
                State::Unquoted => {
                    if !current.is_whitespace() && (current.is_control() || current == ';') {
                        break;
                    }
                }
                State::Double => {
                    if current == '"' {
                        state = State::DoubleQuote;
                        pos += 1;
                        continue;
                    }
                }
                State::DoubleQuote | State::SingleQuote => {
                    let q = if state == State::DoubleQuote {
                        '"'
                    } else {
                        '\''
                    };
                    if current == q {
                        state = if q == '"' {
                            State::Double
                        } else {
                            State::Single
                        };
                    } else {
                        value = Some(buf.clone());
                        state = State::QuotedEnd;
                        if current.is_whitespace() {
                            pos += 1;
                            continue;
                        }
                        if current == ';' {
                            break;
                        }
                        return Err(start);
                    }
                }
                State::Single => {
                    if current == '\'' {
                        state = State::SingleQuote;
                        pos += 1;
                        continue;
                    }
                }
                State::QuotedEnd => {
                    if current.is_whitespace() {
                        pos += 1;
                        continue;
                    }
                    if current == ';' {
                        break;
                    }
                    return Err(start);
                }
            }
            buf.push(current);
            pos += 1;
        }
        match state {
            State::Key | State::Double | State::Single => return Err(start),
            State::KeyEqual => {
                let k = buf.trim_end().to_lowercase();
                if k.is_empty() {
                    return Err(start);
                }
                key = Some(k);
            }
            State::Unquoted => {
                let v = buf.trim().to_owned();
                if v.ends_with(['\'', '"']) {
                    return Err(start);
                }
                value = Some(v);
            }
            State::DoubleQuote | State::SingleQuote => value = Some(buf.clone()),
            State::NothingYet | State::KeyEnd | State::QuotedEnd => {}
        }
        if current == ';' && pos < chars.len() {
            pos += 1;
        }
        let Some(k) = key else { break };
        out.insert(k, value.unwrap_or_default());
    }
    Ok(out)
}

#[test]
fn the_port_parses_like_dotnet() {
    // Cases from the comments of DbConnectionOptions.AppendKeyValuePairBuilder and the grammar.
    let m = parse("Host=db; Password=\"va'\"\"lue\";User Id='x\"y' ;a==b=1;;").unwrap();
    assert_eq!(m["host"], "db");
    assert_eq!(m["password"], "va'\"lue");
    assert_eq!(m["user id"], "x\"y");
    assert_eq!(m["a=b"], "1");
    let m = parse("k=  spaced value  ;j=").unwrap();
    assert_eq!(m["k"], "spaced value");
    assert_eq!(m["j"], "");
    assert!(parse("k=\"open").is_err());
    assert!(parse("k=\"a\"b").is_err());
    assert!(parse("k=ends'").is_err());
    // An unquoted ';' ends the value: the reason values must be quoted.
    assert_eq!(parse("Password=a;b=c").unwrap()["password"], "a");
}

#[test]
fn npgsql_strings_carry_every_special_character() {
    let tenant = "t@:/#%+&=?;'\"\\[] x";
    let ca = "/etc/ssl/my ca;dir='x\"/ca.crt";
    for (user, password) in [
        ("app", "[p@ss:/#%+&=?;'\"\\ w]"),
        ("o'neil", "only \"double\""),
        ("a=b", " lead and trail "),
        ("semi;colon", "[abc]"),
    ] {
        let out = pgtls([
            "connstr",
            "--json",
            "--client",
            "npgsql",
            "--host",
            "::1",
            "--user",
            user,
            "--tenant",
            tenant,
            "--password",
            password,
            "--database",
            "my db;x",
            "--ca",
            ca,
        ]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let client = &json["clients"][0];
        for (kind, expected_user, port) in [
            ("direct", user.to_owned(), "5432"),
            ("pooled", format!("{user}.{tenant}"), "6543"),
        ] {
            let s = client[kind].as_str().unwrap();
            let m = parse(s).unwrap_or_else(|at| panic!("{s}: syntax error at {at}"));
            assert_eq!(m["host"], "::1", "{s}");
            assert_eq!(m["port"], port, "{s}");
            assert_eq!(m["database"], "my db;x", "{s}");
            assert_eq!(m["username"], expected_user, "{s}");
            assert_eq!(m["password"], password, "{s}");
            assert_eq!(m["ssl mode"], "VerifyFull", "{s}");
            assert_eq!(m["root certificate"], ca, "{s}");
            assert_eq!(m.len(), 7, "{s}");
        }
    }
}
