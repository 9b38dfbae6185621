//! The one error type of this crate.

/// Everything that can go wrong while scanning or editing a pooler.exs script.
///
/// Lines and columns are 1-based; columns count characters, not bytes. Messages are lowercase,
/// quote the offending text and carry no trailing period, so a caller can prefix them with a file
/// name (`pooler.exs: line 3, column 7: ...`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A string, charlist, sigil, heredoc, quoted atom or `#{...}` interpolation never ends.
    #[error("line {line}, column {column}: unterminated {what} starting at {snippet:?}")]
    Unterminated {
        /// What was left open, for example `string` or `heredoc`.
        what: String,
        /// Line where the construct starts.
        line: usize,
        /// Column where the construct starts.
        column: usize,
        /// The first characters of the construct.
        snippet: String,
    },
    /// A closing bracket with nothing open.
    #[error("line {line}, column {column}: unexpected {found:?} with no open bracket")]
    UnexpectedClose {
        /// The closing bracket.
        found: char,
        /// Its line.
        line: usize,
        /// Its column.
        column: usize,
    },
    /// A closing bracket that does not match the innermost open one.
    #[error(
        "line {line}, column {column}: {found:?} does not close {open:?} opened at line {open_line}, column {open_column}"
    )]
    MismatchedClose {
        /// The closing bracket found.
        found: char,
        /// Its line.
        line: usize,
        /// Its column.
        column: usize,
        /// The bracket it was expected to close.
        open: char,
        /// Line of that open bracket.
        open_line: usize,
        /// Column of that open bracket.
        open_column: usize,
    },
    /// An open bracket that is never closed.
    #[error("line {line}, column {column}: {open:?} is never closed")]
    Unclosed {
        /// The open bracket.
        open: char,
        /// Its line.
        line: usize,
        /// Its column.
        column: usize,
    },
    /// Any other lexical problem (for example text after an opening `"""`).
    #[error("line {line}, column {column}: {message} at {snippet:?}")]
    Syntax {
        /// What is wrong.
        message: String,
        /// Line of the problem.
        line: usize,
        /// Column of the problem.
        column: usize,
        /// The first characters at that place.
        snippet: String,
    },
    /// The script never calls `Supavisor.Tenants.create_tenant` or `update_tenant`.
    #[error(
        "no call to Supavisor.Tenants.create_tenant or Supavisor.Tenants.update_tenant in the script"
    )]
    NoTenantCall,
    /// A tenant call whose parameter argument is neither a map literal nor a variable.
    #[error(
        "line {line}, column {column}: the parameters {argument:?} passed to {function} are neither a map nor a variable bound to one"
    )]
    ParamsNotMap {
        /// `create_tenant` or `update_tenant`.
        function: String,
        /// The argument's source text.
        argument: String,
        /// Line of the call.
        line: usize,
        /// Column of the call.
        column: usize,
    },
    /// The variable passed to a tenant call is never bound to a map literal before the call.
    #[error(
        "line {line}, column {column}: variable {variable:?} passed to {function} is not bound to a map literal (`{variable} = %{{...}}`) before the call"
    )]
    UnboundParams {
        /// The variable name.
        variable: String,
        /// `create_tenant` or `update_tenant`.
        function: String,
        /// Line of the call.
        line: usize,
        /// Column of the call.
        column: usize,
    },
    /// The tenant calls use different parameter maps, so there is no single one to edit.
    #[error(
        "ambiguous tenant parameters: the tenant calls use different maps (bound at lines {lines:?})"
    )]
    AmbiguousParams {
        /// Lines where the different maps start.
        lines: Vec<usize>,
    },
    /// A key that cannot be written as a map key.
    #[error("invalid key {key:?}: {reason}")]
    InvalidKey {
        /// The key given.
        key: String,
        /// Why it is refused.
        reason: String,
    },
    /// A raw value expression that cannot be spliced into a map entry.
    #[error("invalid value expression {expression:?}: {reason}")]
    InvalidValue {
        /// The expression given.
        expression: String,
        /// Why it is refused.
        reason: String,
    },
    /// The create-only tenant logic has a shape the rewrite does not know.
    #[error("line {line}: cannot rewrite the tenant logic into an upsert: {reason}")]
    CannotRewrite {
        /// Line of the construct.
        line: usize,
        /// Why.
        reason: String,
    },
    /// A host name Supavisor cannot route by (SNI): an IP address, or not a DNS host name.
    #[error("invalid sni_hostname {value:?}: {reason}")]
    InvalidSniHostname {
        /// The value given.
        value: String,
        /// Why it is refused.
        reason: String,
    },
    /// A value that must differ per tenant, for a map built once per item of a loop.
    #[error(
        "line {line}: cannot set {key} to one literal value: the tenant parameters are built inside this `fn`/`for`, once per database (one tenant each), so every tenant would get the same {key}; {reason}"
    )]
    SharedByLoop {
        /// The key.
        key: String,
        /// Line of the `fn`/`for`.
        line: usize,
        /// Why one value for all is wrong.
        reason: String,
    },
    /// An edit produced text this crate cannot scan again. This is a bug in the crate.
    #[error(
        "internal error: the edit produced a script that does not scan ({reason}); please report this"
    )]
    EditBroke {
        /// The scan error of the edited text.
        reason: String,
    },
}

impl Error {
    /// The 1-based line the error points at, when it points at one.
    pub fn line(&self) -> Option<usize> {
        match self {
            Error::Unterminated { line, .. }
            | Error::UnexpectedClose { line, .. }
            | Error::MismatchedClose { line, .. }
            | Error::Unclosed { line, .. }
            | Error::Syntax { line, .. }
            | Error::ParamsNotMap { line, .. }
            | Error::UnboundParams { line, .. }
            | Error::CannotRewrite { line, .. }
            | Error::SharedByLoop { line, .. } => Some(*line),
            Error::AmbiguousParams { lines } => lines.first().copied(),
            Error::NoTenantCall
            | Error::InvalidKey { .. }
            | Error::InvalidValue { .. }
            | Error::InvalidSniHostname { .. }
            | Error::EditBroke { .. } => None,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
