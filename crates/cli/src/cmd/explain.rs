//! `pgtls explain`: the paragraph behind each warning code of harden's report.

use pgtls_harden::{Code, report};

use crate::cli::ExplainArgs;
use crate::error::Outcome;
use crate::output::Out;

pub fn run(args: &ExplainArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let codes: Vec<Code> = match &args.code {
        None => Code::ALL.to_vec(),
        Some(id) => vec![Code::parse(id).ok_or_else(|| {
            anyhow::anyhow!("unknown warning code \"{id}\": `pgtls explain` lists the codes")
        })?],
    };
    if args.json {
        out.json(&report::explain::json(&codes))?;
        return Ok(Outcome::Ok);
    }
    match (&args.code, codes.as_slice()) {
        (Some(_), [code]) => out.raw(&report::explain::text(*code, out.painter()))?,
        _ => out.raw(&report::explain::list(&codes))?,
    }
    Ok(Outcome::Ok)
}
