//! Scan errors on the invalid fixtures: line, column and the offending text.

use pooler_exs::{Error, Script};

use crate::support::fixture;

#[test]
fn invalid_fixtures_report_line_and_column() {
    let e = Script::parse(&fixture("invalid/unterminated-string.exs")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 2, column 20: unterminated string starting at \"\\\"tenant,\""
    );
    let e = Script::parse(&fixture("invalid/unbalanced.exs")).unwrap_err();
    assert_eq!(
        e,
        Error::MismatchedClose {
            found: '}',
            line: 4,
            column: 1,
            open: '[',
            open_line: 3,
            open_column: 14,
        }
    );
    assert_eq!(
        e.to_string(),
        "line 4, column 1: '}' does not close '[' opened at line 3, column 14"
    );
    let e = Script::parse(&fixture("invalid/unterminated-heredoc.exs")).unwrap_err();
    assert!(
        matches!(e, Error::Unterminated { ref what, line: 1, column: 7, .. } if what == "heredoc"),
        "{e}"
    );
    let s = Script::parse(&fixture("invalid/no-params.exs")).unwrap();
    assert_eq!(s.params_map().unwrap_err(), Error::NoTenantCall);
    assert!(s.inspect().is_err());
}

#[test]
fn non_ascii_columns_count_characters() {
    let e = Script::parse("x = \"é\" <> \"ü").unwrap_err();
    assert!(
        matches!(
            e,
            Error::Unterminated {
                line: 1,
                column: 12,
                ..
            }
        ),
        "{e}"
    );
}
