//! `${VAR}` interpolation and `.env` files, as Compose v2 reads them (compose-go `template` and
//! `dotenv`): `$$` is a literal `$`; `$VAR`, `${VAR}`; `${VAR:-default}` (unset or empty),
//! `${VAR-default}` (unset); `${VAR:?error}`, `${VAR?error}`; `${VAR:+alt}`, `${VAR+alt}`.
//! Defaults may themselves hold `${...}`. An unset variable without default is the empty string
//! (Compose warns, and so does [`Interpolator::warnings`]).

use std::collections::BTreeMap;

/// Variables for interpolation: the process environment first, then the project's `.env`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Interpolator {
    pub env: BTreeMap<String, String>,
    pub dotenv: BTreeMap<String, String>,
    pub warnings: Vec<String>,
}

/// Why a `${...}` could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InterpError(pub String);

impl Interpolator {
    pub(crate) fn lookup(&self, name: &str) -> Option<&str> {
        self.env
            .get(name)
            .or_else(|| self.dotenv.get(name))
            .map(String::as_str)
    }

    /// Interpolate one string.
    #[allow(clippy::many_single_char_names)] // a scanner: i/j positions, c/n characters, s the input
    pub(crate) fn interpolate(&mut self, s: &str) -> Result<String, InterpError> {
        let chars: Vec<char> = s.chars().collect();
        let mut out = String::with_capacity(s.len());
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c != '$' {
                out.push(c);
                i += 1;
                continue;
            }
            match chars.get(i + 1) {
                Some('$') => {
                    out.push('$');
                    i += 2;
                }
                Some('{') => {
                    // find the matching close brace (nested ${ } allowed in defaults)
                    let mut depth = 0usize;
                    let mut j = i + 1;
                    let mut end = None;
                    while j < chars.len() {
                        match chars[j] {
                            '{' => depth += 1,
                            '}' => {
                                depth -= 1;
                                if depth == 0 {
                                    end = Some(j);
                                    break;
                                }
                            }
                            _ => {}
                        }
                        j += 1;
                    }
                    let Some(end) = end else {
                        // Compose refuses this; pgtls keeps the text (a Coolify template may
                        // hold it in a `content:` block Coolify itself processes)
                        self.invalid(s);
                        out.push('$');
                        i += 1;
                        continue;
                    };
                    let inner: String = chars[i + 2..end].iter().collect();
                    out.push_str(&self.braced(&inner, s)?);
                    i = end + 1;
                }
                Some(n) if n.is_ascii_alphabetic() || *n == '_' => {
                    let mut j = i + 1;
                    while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_') {
                        j += 1;
                    }
                    let name: String = chars[i + 1..j].iter().collect();
                    out.push_str(&self.value_or_warn(&name));
                    i = j;
                }
                _ => {
                    self.invalid(s);
                    out.push('$');
                    i += 1;
                }
            }
        }
        Ok(out)
    }

    fn invalid(&mut self, s: &str) {
        let first = s.lines().next().unwrap_or("");
        let w = format!("invalid interpolation left as written (Compose refuses it): \"{first}\"");
        if !self.warnings.contains(&w) {
            self.warnings.push(w);
        }
    }

    fn value_or_warn(&mut self, name: &str) -> String {
        if let Some(v) = self.lookup(name) {
            return v.to_owned();
        }
        let w = format!("the \"{name}\" variable is not set. Defaulting to a blank string.");
        if !self.warnings.contains(&w) {
            self.warnings.push(w);
        }
        String::new()
    }

    fn braced(&mut self, inner: &str, whole: &str) -> Result<String, InterpError> {
        let name_end = inner
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
            .map_or(inner.len(), |(i, _)| i);
        let name = &inner[..name_end];
        let rest = &inner[name_end..];
        if name.is_empty() {
            return Err(InterpError(format!("invalid template: \"{whole}\"")));
        }
        let value = self.lookup(name).map(str::to_owned);
        let (op, arg) = if let Some(a) = rest.strip_prefix(":-") {
            (":-", a)
        } else if let Some(a) = rest.strip_prefix(":?") {
            (":?", a)
        } else if let Some(a) = rest.strip_prefix(":+") {
            (":+", a)
        } else if let Some(a) = rest.strip_prefix('-') {
            ("-", a)
        } else if let Some(a) = rest.strip_prefix('?') {
            ("?", a)
        } else if let Some(a) = rest.strip_prefix('+') {
            ("+", a)
        } else if rest.is_empty() {
            ("", "")
        } else {
            return Err(InterpError(format!("invalid template: \"{whole}\"")));
        };
        let set_nonempty = value.as_deref().is_some_and(|v| !v.is_empty());
        Ok(match op {
            "" => self.value_or_warn(name),
            ":-" if set_nonempty => value.unwrap_or_default(),
            "-" if value.is_some() => value.unwrap_or_default(),
            ":-" | "-" => self.interpolate(arg)?,
            ":?" | "?" => {
                let ok = if op == ":?" {
                    set_nonempty
                } else {
                    value.is_some()
                };
                if ok {
                    value.unwrap_or_default()
                } else {
                    let msg = self.interpolate(arg)?;
                    return Err(InterpError(format!(
                        "required variable {name} is missing a value: {msg}"
                    )));
                }
            }
            ":+" if set_nonempty => self.interpolate(arg)?,
            "+" if value.is_some() => self.interpolate(arg)?,
            _ => String::new(),
        })
    }
}

/// Parse a `.env` file (compose-go dotenv): `KEY=VALUE` lines, optional `export `, `#` comments,
/// single quotes literal, double quotes with `\n` escapes, unquoted values trimmed and cut at
/// ` #`. Values are interpolated with the variables known so far (`vars`, then earlier lines).
/// Returns (pairs, the 1-based line and text of a line that is not `KEY=VALUE`).
pub(crate) fn parse_dotenv(
    text: &str,
    env: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, (usize, String)> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        let Some((key, value)) = line.split_once('=') else {
            // a bare name: compose-go takes it from the environment when set
            if line
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
            {
                if let Some(v) = env.get(line) {
                    out.insert(line.to_owned(), v.clone());
                }
                continue;
            }
            return Err((n + 1, raw.to_owned()));
        };
        let key = key.trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err((n + 1, raw.to_owned()));
        }
        let value = value.trim_start();
        let parsed = if let Some(v) = value.strip_prefix('\'') {
            v.rsplit_once('\'').map_or(v, |(v, _)| v).to_owned()
        } else if let Some(v) = value.strip_prefix('"') {
            let body = v.rsplit_once('"').map_or(v, |(v, _)| v);
            let unescaped = body
                .replace("\\n", "\n")
                .replace("\\\"", "\"")
                .replace("\\\\", "\\");
            expand(&unescaped, env, &out)
        } else {
            let v = match value.find(" #") {
                Some(i) => &value[..i],
                None => value,
            };
            expand(v.trim_end(), env, &out)
        };
        out.insert(key.to_owned(), parsed);
    }
    Ok(out)
}

fn expand(v: &str, env: &BTreeMap<String, String>, so_far: &BTreeMap<String, String>) -> String {
    if !v.contains('$') {
        return v.to_owned();
    }
    let mut i = Interpolator {
        env: env.clone(),
        dotenv: so_far.clone(),
        warnings: Vec::new(),
    };
    i.interpolate(v).unwrap_or_else(|_| v.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interp(env: &[(&str, &str)], s: &str) -> Result<String, InterpError> {
        let mut i = Interpolator {
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..Interpolator::default()
        };
        i.interpolate(s)
    }

    #[test]
    fn forms() {
        let env = [("A", "x"), ("E", "")];
        assert_eq!(interp(&env, "$A-${A}").unwrap(), "x-x");
        assert_eq!(interp(&env, "$$A").unwrap(), "$A");
        assert_eq!(interp(&env, "${E:-d}").unwrap(), "d");
        assert_eq!(interp(&env, "${E-d}").unwrap(), "");
        assert_eq!(interp(&env, "${U-d}").unwrap(), "d");
        assert_eq!(interp(&env, "${U:-${A}y}").unwrap(), "xy");
        assert_eq!(interp(&env, "${A:+alt}").unwrap(), "alt");
        assert_eq!(interp(&env, "${U}").unwrap(), "");
        assert!(
            interp(&env, "${U:?need it}")
                .unwrap_err()
                .0
                .contains("need it")
        );
        assert_eq!(interp(&env, "${A").unwrap(), "${A");
        assert_eq!(interp(&env, "get_auth($1)").unwrap(), "get_auth($1)");
    }

    #[test]
    fn dotenv() {
        let env = BTreeMap::new();
        let d = parse_dotenv(
            "# c\nA=1\nexport B='two # x'\nC=\"q\\nr\"\nD=${A}-z # note\n\n",
            &env,
        )
        .unwrap();
        assert_eq!(d["A"], "1");
        assert_eq!(d["B"], "two # x");
        assert_eq!(d["C"], "q\nr");
        assert_eq!(d["D"], "1-z");
        assert_eq!(parse_dotenv("A=1\nnot a line\n", &env).unwrap_err().0, 2);
    }
}
