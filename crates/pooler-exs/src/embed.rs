//! Tenant scripts wherever they live: a `pooler.exs` file, or Elixir code inside a shell script.
//!
//! Older Coolify templates (October 2024) mount a bash `entrypoint.sh` that runs
//! `/app/bin/supavisor eval '<elixir>'`: the tenant code is the body of that single-quoted shell
//! word. [`TenantFile`] finds it, lets [`Script`] edit it with the same byte offsets and line
//! numbers as the whole file (everything outside the body is masked with spaces), and splices
//! the edited body back, refusing an edit that would end the shell's quotes.

use std::ops::Range;

use crate::error::{Error, Result};
use crate::script::Script;

/// What kind of file holds the tenant code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Host {
    /// The whole file is Elixir (`pooler.exs`, run with `supavisor eval "$(cat FILE)"`).
    Elixir,
    /// A shell script whose `supavisor eval '...'` holds the code in single quotes.
    ShellEval,
}

/// A tenant script file: the original text and the Elixir code in it.
///
/// ```
/// use pooler_exs::{Host, TenantFile};
///
/// let sh = "#!/bin/bash\n\n/app/bin/supavisor eval '\nparams = %{\n  \"external_id\" => \"t\",\n  \"enforce_ssl\" => false,\n  \"users\" => []\n}\nSupavisor.Tenants.create_tenant(params)\n'\n";
/// let mut file = TenantFile::parse(sh)?;
/// assert_eq!(file.host(), Host::ShellEval);
/// assert_eq!(file.script().params_map()?.line(), 4); // lines of the whole file
/// file.script_mut().set_bool("enforce_ssl", true)?;
/// assert_eq!(file.text()?, sh.replace("=> false", "=> true"));
/// # Ok::<(), pooler_exs::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct TenantFile {
    original: String,
    span: Range<usize>,
    host: Host,
    script: Script,
}

/// The byte range of the body of the first `supavisor eval '...'` in a shell script.
fn shell_eval_body(text: &str) -> Option<Range<usize>> {
    let mut from = 0;
    while let Some(p) = text[from..].find("supavisor eval") {
        let after = from + p + "supavisor eval".len();
        let rest = &text[after..];
        let ws = rest.len() - rest.trim_start_matches([' ', '\t']).len();
        if rest[ws..].starts_with('\'') {
            let start = after + ws + 1;
            let end = start + text[start..].find('\'')?;
            return Some(start..end);
        }
        from = after;
    }
    None
}

fn looks_like_shell(text: &str) -> bool {
    text.starts_with("#!") || text.contains("supavisor eval '")
}

impl TenantFile {
    /// Find the tenant code in `text` and scan it. A text starting with `#!`, or holding
    /// `supavisor eval '`, is a shell script: its code is the first single-quoted `eval` body
    /// ([`Error::Syntax`] when there is none, for example `eval "$(cat FILE)"`, which names a
    /// file rather than holding code). Anything else is Elixir.
    pub fn parse(text: &str) -> Result<TenantFile> {
        if !looks_like_shell(text) {
            return Ok(TenantFile {
                original: text.to_owned(),
                span: 0..text.len(),
                host: Host::Elixir,
                script: Script::parse(text)?,
            });
        }
        let Some(span) = shell_eval_body(text) else {
            return Err(Error::Syntax {
                message: "a shell script without `supavisor eval '<code>'`: the tenant code is elsewhere (a file the script reads) or not in single quotes".to_owned(),
                line: 1,
                column: 1,
                snippet: text.lines().next().unwrap_or("").chars().take(20).collect(),
            });
        };
        let masked = mask_outside(text, &span);
        Ok(TenantFile {
            original: text.to_owned(),
            span,
            host: Host::ShellEval,
            script: Script::parse(&masked)?,
        })
    }

    /// Where the code lives.
    pub fn host(&self) -> Host {
        self.host
    }

    /// The Elixir code (for a shell script, the file with everything outside the `eval` body
    /// blanked, so offsets and lines are the file's).
    pub fn script(&self) -> &Script {
        &self.script
    }

    /// The code, for editing.
    pub fn script_mut(&mut self) -> &mut Script {
        &mut self.script
    }

    /// The whole file with the edited code.
    ///
    /// For a shell script, fails when an edit reached outside the `eval` body or put a `'` in
    /// it (that would end the shell's quoting).
    pub fn text(&self) -> Result<String> {
        let code = self.script.as_str();
        if self.host == Host::Elixir {
            return Ok(code.to_owned());
        }
        let tail = self.original.len() - self.span.end;
        let body_end = code
            .len()
            .checked_sub(tail)
            .filter(|e| *e >= self.span.start);
        let masked = mask_outside(&self.original, &self.span);
        let broke = |reason: &str| Error::EditBroke {
            reason: reason.to_owned(),
        };
        let Some(body_end) = body_end else {
            return Err(broke("the edit reached outside the shell's eval body"));
        };
        if code.get(..self.span.start) != masked.get(..self.span.start)
            || code.get(body_end..) != masked.get(self.span.end..)
        {
            return Err(broke("the edit reached outside the shell's eval body"));
        }
        let body = &code[self.span.start..body_end];
        if body.contains('\'') {
            return Err(broke(
                "the new code holds a `'`, which would end the shell's single quotes around it",
            ));
        }
        let mut out = String::with_capacity(code.len());
        out.push_str(&self.original[..self.span.start]);
        out.push_str(body);
        out.push_str(&self.original[self.span.end..]);
        Ok(out)
    }
}

/// `text` with every byte outside `keep` replaced by a space, line breaks kept.
fn mask_outside(text: &str, keep: &Range<usize>) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        if keep.contains(&i) || c == '\n' || c == '\r' {
            out.push(c);
        } else {
            out.extend(std::iter::repeat_n(' ', c.len_utf8()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_single_quoted_eval_body() {
        let sh = "#!/bin/sh\necho 'x'\n/app/bin/supavisor eval  'A'\n";
        let body = shell_eval_body(sh).unwrap();
        assert_eq!(&sh[body], "A");
        assert_eq!(shell_eval_body("supavisor eval \"$(cat f)\""), None);
    }

    #[test]
    fn shell_without_code_is_a_clear_error() {
        let e =
            TenantFile::parse("#!/bin/sh\n/app/bin/supavisor eval \"$(cat /x)\"\n").unwrap_err();
        assert!(
            e.to_string().contains("without `supavisor eval '<code>'`"),
            "{e}"
        );
    }

    #[test]
    fn a_quote_in_new_code_is_refused() {
        let sh = "#!/bin/sh\nsupavisor eval '\np = %{\n  \"a\" => 1\n}\nSupavisor.Tenants.create_tenant(p)\n'\n";
        let mut f = TenantFile::parse(sh).unwrap();
        f.script_mut()
            .set("b", &crate::ValueExpr::string("it's"))
            .unwrap();
        assert!(matches!(f.text(), Err(Error::EditBroke { .. })));
    }
}
