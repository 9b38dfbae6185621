//! Unit tests of the binary's public modules (grammar, exit codes, colour, diff colouring),
//! run without starting the binary.

mod grammar {
    use clap::CommandFactory;
    use pgtls::cli::Cli;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_subcommand_documents_exit_codes() {
        let mut cmd = Cli::command();
        cmd.build();
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let leaves: Vec<_> = if sub.has_subcommands() {
                sub.get_subcommands().collect()
            } else {
                vec![sub]
            };
            for leaf in leaves.into_iter().filter(|l| l.get_name() != "help") {
                let help = leaf
                    .get_after_help()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                assert!(
                    help.contains("Exit codes"),
                    "{} lacks exit codes",
                    leaf.get_name()
                );
            }
        }
    }
}

mod verify_flags {
    use clap::Parser as _;

    use pgtls::cli::{Cli, Command};

    fn parse(flag: &str, value: &str) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(["pgtls", "verify", "127.0.0.1:1", &format!("{flag}={value}")])
    }

    /// Every duration and count flag of `verify` over hostile values: a clear usage error
    /// (clap's exit 2) or a bounded value, never a panic (#19: `--timeout 1e300` was exit 101).
    #[test]
    fn duration_and_count_flags_are_bounded() {
        let rejected: &[(&str, &[&str])] = &[
            (
                "--timeout",
                &[
                    "1e300", "1e19", "3600.001", "inf", "-inf", "NaN", "0", "-1", "-0", "", "5s",
                    "1e-12", "0x10",
                ],
            ),
            (
                "--concurrency",
                &["0", "4097", "-1", "18446744073709551616", "1e3", ""],
            ),
            (
                "--expiry-warn-days",
                &["-1", "36501", "4294967296", "1.5", ""],
            ),
        ];
        for (flag, values) in rejected {
            for v in *values {
                let e = match std::panic::catch_unwind(|| parse(flag, v)) {
                    Ok(r) => r
                        .err()
                        .unwrap_or_else(|| panic!("{flag} {v:?} was accepted")),
                    Err(e) => std::panic::resume_unwind(e),
                };
                assert_eq!(e.exit_code(), 2, "{flag} {v:?}: {e}");
                assert!(e.to_string().contains(flag), "{flag} {v:?}: {e}");
            }
        }
        let accepted: &[(&str, &[&str])] = &[
            ("--timeout", &["0.001", "5", "3600", "1e3", " 2.5 "]),
            ("--concurrency", &["1", "256", "4096"]),
            ("--expiry-warn-days", &["0", "14", "36500"]),
        ];
        for (flag, values) in accepted {
            for v in *values {
                let cli = parse(flag, v).unwrap_or_else(|e| panic!("{flag} {v:?}: {e}"));
                let Command::Verify(a) = cli.command else {
                    panic!("not verify")
                };
                assert!(a.timeout > std::time::Duration::ZERO);
                assert!(a.timeout <= pgtls_probe::MAX_TIMEOUT);
                assert!((1..=4096).contains(&a.concurrency));
            }
        }
    }

    /// Numbers across the whole f64 range (every power of ten, signs, subnormals, the edges)
    /// given to `--timeout` parse to a bounded duration or are a usage error.
    #[test]
    fn any_timeout_number_is_bounded_or_refused() {
        let mut values: Vec<f64> = (-324..=308).map(|e| 10f64.powi(e)).collect();
        values.extend([
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
            3600.0,
            3_600.000_000_1,
            1.5e-9,
        ]);
        let negated: Vec<f64> = values.iter().map(|v| -v).collect();
        values.extend(negated);
        for x in values {
            for v in [format!("{x}"), format!("{x:e}")] {
                match parse("--timeout", &v) {
                    Ok(cli) => {
                        let Command::Verify(a) = cli.command else {
                            panic!("not verify")
                        };
                        assert!(
                            a.timeout > std::time::Duration::ZERO
                                && a.timeout <= pgtls_probe::MAX_TIMEOUT,
                            "{v}"
                        );
                        assert!(x > 0.0 && x <= 3600.0, "{v} accepted");
                    }
                    Err(e) => assert_eq!(e.exit_code(), 2, "{v}: {e}"),
                }
            }
        }
    }
}

mod exit_codes {
    use pgtls::Error;
    use pgtls::error::{EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, exit_code_for};

    #[test]
    fn broken_pipe_is_success_and_refusal_is_one() {
        let pipe = anyhow::Error::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
            .context("writing the report");
        assert_eq!(exit_code_for(&pipe), EXIT_OK);
        let refused = anyhow::Error::from(Error::Refused("no owner".into())).context("planning");
        assert_eq!(exit_code_for(&refused), EXIT_FINDINGS);
        assert_eq!(exit_code_for(&anyhow::anyhow!("boom")), EXIT_ERROR);
    }
}

mod colour {
    use pgtls::cli::ColorChoice;
    use pgtls::output::use_color;

    #[test]
    fn no_color_wins_over_everything() {
        assert!(!use_color(ColorChoice::Always, Some("1"), true));
        assert!(!use_color(ColorChoice::Auto, Some("yes"), true));
        assert!(use_color(ColorChoice::Auto, Some(""), true));
        assert!(use_color(ColorChoice::Auto, None, true));
        assert!(!use_color(ColorChoice::Auto, None, false));
        assert!(!use_color(ColorChoice::Never, None, true));
        assert!(use_color(ColorChoice::Always, None, false));
    }
}

mod diff_colour {
    use pgtls::cli::ColorChoice;
    use pgtls::output::Out;
    use pgtls::render::diff;
    use pgtls_harden::plan::unified_diff;

    #[test]
    fn colours_only_diff_lines() {
        let out = Out::new(ColorChoice::Always);
        let d = diff(&out, "a\nb\n", "a\nB\n", "a/f", "b/f");
        assert!(d.contains("\x1b[31m-b\x1b[0m\n"), "{d:?}");
        assert!(d.contains("\x1b[32m+B\x1b[0m\n"), "{d:?}");
        assert!(d.contains(" a\n"), "{d:?}");
        let plain = diff(
            &Out::new(ColorChoice::Never),
            "a\nb\n",
            "a\nB\n",
            "a/f",
            "b/f",
        );
        assert_eq!(plain, unified_diff("a\nb\n", "a\nB\n", "a/f", "b/f"));
    }
}
