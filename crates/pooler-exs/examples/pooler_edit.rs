//! Inspect or edit a pooler.exs from the command line (a demo of the library API).
//!
//! ```text
//! cargo run -p pooler-exs --example pooler_edit -- FILE            # inspection as JSON
//! cargo run -p pooler-exs --example pooler_edit -- FILE --enforce-ssl [--upstream-ca PATH] [--upsert] [--sni HOST]
//! ```
//! Edits print the new script on stdout; the file is not written.

use std::process::ExitCode;

use pooler_exs::Script;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!(
            "usage: pooler_edit FILE [--enforce-ssl] [--upstream-ca PATH] [--upsert] [--sni HOST]"
        );
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&text, &args[1..]) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{path}: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(text: &str, flags: &[String]) -> Result<String, Box<dyn std::error::Error>> {
    let mut script = Script::parse(text)?;
    if flags.is_empty() {
        return Ok(serde_json::to_string_pretty(&script.inspect()?)? + "\n");
    }
    let mut it = flags.iter();
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--enforce-ssl" => {
                script.set_bool("enforce_ssl", true)?;
            }
            "--upstream-ca" => {
                let ca = it.next().ok_or("--upstream-ca needs a path")?;
                script.set_upstream_tls(ca)?;
            }
            "--upsert" => {
                script.rewrite_to_upsert()?;
            }
            "--sni" => {
                let host = it.next().ok_or("--sni needs a host name")?;
                script.set_sni_hostname(host)?;
            }
            other => return Err(format!("unknown flag {other:?}").into()),
        }
    }
    Ok(script.to_string())
}
