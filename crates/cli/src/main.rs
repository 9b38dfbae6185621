//! The `pgtls` binary: a thin shell over [`pgtls::run`].

fn main() -> std::process::ExitCode {
    pgtls::run(std::env::args_os())
}
