//! `pgtls connstr`.

use crate::cli::ConnstrArgs;
use crate::connstr::{Target, build, clients};
use crate::error::Outcome;
use crate::output::{Out, Style};

pub fn run(args: &ConnstrArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let target = Target {
        host: &args.host,
        tenant: args.tenant.as_deref(),
        ca: &args.ca,
        user: &args.user,
        database: &args.database,
        password: &args.password,
        port: args.port,
        pooler_port: args.pooler_port,
    };
    let all: Vec<_> = clients(args.client.into())
        .into_iter()
        .map(|c| build(c, &target))
        .collect();
    if args.json {
        out.json(&serde_json::json!({
            "host": args.host,
            "tenant": args.tenant,
            "ca": args.ca,
            "clients": all,
        }))?;
        return Ok(Outcome::Ok);
    }
    for (i, c) in all.iter().enumerate() {
        if i > 0 {
            out.line("")?;
        }
        out.line(&out.paint(Style::Bold, c.client))?;
        out.line(&format!("  direct ({}):  {}", args.port, c.direct))?;
        out.line(&format!("  pooled ({}):  {}", args.pooler_port, c.pooled))?;
        for w in &c.warnings {
            out.line(&format!("  {} {w}", out.mark("warn")))?;
        }
    }
    Ok(Outcome::Ok)
}
