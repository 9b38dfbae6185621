//! `pgtls connstr`.

use crate::cli::ConnstrArgs;
use crate::error::Outcome;
use crate::output::{Out, Style};
use pgtls_harden::connstr::{Target, build, clients};

pub fn run(args: &ConnstrArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let from_env = match &args.password_env {
        Some(var) => Some(
            std::env::var(var).map_err(|e| crate::error::Error::BadValue {
                flag: "--password-env",
                value: var.clone(),
                reason: match e {
                    std::env::VarError::NotPresent => "the variable is not set".to_owned(),
                    std::env::VarError::NotUnicode(_) => "the value is not UTF-8".to_owned(),
                },
            })?,
        ),
        None => None,
    };
    let target = Target {
        host: &args.host,
        tenant: args.tenant.as_deref(),
        ca: &args.ca,
        user: &args.user,
        database: &args.database,
        password: from_env.as_deref().or(args.password.as_deref()),
        port: args.port,
        pooler_port: args.pooler_port,
        sni: args.sni,
        pooler: args.pooler.kind(),
    };
    target.check()?;
    let all = clients(args.client.client())
        .into_iter()
        .map(|c| build(c, &target))
        .collect::<Result<Vec<_>, _>>()?;
    if args.json {
        out.json(&serde_json::json!({
            "host": args.host,
            "tenant": args.tenant,
            "sni": args.sni,
            "pooler": args.pooler.kind(),
            "ca": args.ca,
            "clients": all,
        }))?;
        return Ok(Outcome::Ok);
    }
    for (i, c) in all.iter().enumerate() {
        if i > 0 {
            out.line("")?;
        }
        out.line(&format!(
            "{}  {}",
            out.paint(Style::Bold, c.client),
            out.paint(Style::Dim, c.applies_to)
        ))?;
        out.line(&format!("  direct ({}):  {}", args.port, c.direct))?;
        out.line(&format!("  pooled ({}):  {}", args.pooler_port, c.pooled))?;
        for w in &c.warnings {
            out.line(&format!("  {} {w}", out.mark("warn")))?;
        }
        for n in &c.notes {
            out.line(&format!("  {} {n}", out.mark("note")))?;
        }
    }
    Ok(Outcome::Ok)
}
