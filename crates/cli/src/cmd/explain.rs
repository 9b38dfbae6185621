//! `pgtls explain`: the paragraph behind each warning code of harden's report.

use pgtls_harden::Code;

use crate::cli::ExplainArgs;
use crate::error::Outcome;
use crate::output::{Out, Style};

pub fn run(args: &ExplainArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let codes: Vec<Code> = match &args.code {
        None => Code::ALL.to_vec(),
        Some(id) => vec![Code::parse(id).ok_or_else(|| {
            anyhow::anyhow!("unknown warning code \"{id}\": `pgtls explain` lists the codes")
        })?],
    };
    if args.json {
        let list: Vec<_> = (codes.iter())
            .map(|c| serde_json::json!({"code": c, "title": c.title(), "text": c.explain()}))
            .collect();
        out.json(&serde_json::json!({ "codes": list }))?;
        return Ok(Outcome::Ok);
    }
    match (&args.code, codes.as_slice()) {
        (Some(_), [code]) => {
            out.line(&out.paint(Style::Bold, &format!("{code}: {}", code.title())))?;
            out.line("")?;
            out.line(code.explain())?;
        }
        _ => {
            for code in &codes {
                out.line(&format!("{:<24} {}", code.as_str(), code.title()))?;
            }
        }
    }
    Ok(Outcome::Ok)
}
