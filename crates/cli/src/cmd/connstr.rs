//! `pgtls connstr`.

use crate::cli::ConnstrArgs;
use crate::error::Outcome;
use crate::output::Out;
use pgtls_harden::connstr::{Target, build, clients};
use pgtls_harden::report;

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
        out.json(&report::connstr::json(&target, &all))?;
    } else {
        out.raw(&report::connstr::text(&target, &all, out.painter()))?;
    }
    Ok(Outcome::Ok)
}
