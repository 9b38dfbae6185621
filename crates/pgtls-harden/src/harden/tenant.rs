//! The `pooler-tenant` step: `enforce_ssl` in Supavisor's tenant script, and the API call for a
//! tenant that already exists.

use pooler_exs::TenantLogic;

use super::options::HardenOptions;
use super::services::touch_compose;
use crate::compose_set::ComposeSet;
use crate::error::{Context as _, Result};
use crate::layout::{Layout, PoolerExs};
use crate::plan::{FileKind, Staging};
use crate::report::{Code, Warning};
use crate::step::{Step, StepStatus};

pub(super) fn plan_tenant(
    staging: &mut Staging<'_>,
    compose: &mut ComposeSet,
    layout: &Layout,
    pooler: &crate::layout::Service,
    opts: &HardenOptions,
    step: &mut Step,
) -> Result<()> {
    match &layout.pooler_exs {
        PoolerExs::Missing => {
            step.status = StepStatus::Skipped;
            step.warnings.push(Warning::new(Code::PoolerExsMissing, format!(
                "no pooler.exs mount at {} in service `{}`: set enforce_ssl on the tenant through Supavisor's API (see below)",
                crate::layout::POOLER_EXS_TARGET,
                pooler.key
            )));
        }
        PoolerExs::File(path) => {
            let text = staging.read_text(path)?.with_context(|| {
                format!(
                    "\"{}\" is mounted into `{}` but does not exist",
                    path.display(),
                    pooler.key
                )
            })?;
            let (after, logic) = edit_script(&text, opts.pooler_upsert)
                .with_context(|| format!("editing \"{}\"", path.display()))?;
            trap_warnings(step, logic, opts.pooler_upsert);
            explicit_false_note(step, &text);
            let changed =
                staging.write(path, after.into_bytes(), 0o644, None, FileKind::Text, None)?;
            step.notes
                .push(format!("{}: \"enforce_ssl\" => true", path.display()));
            step.touch(path, changed);
        }
        PoolerExs::Inline { target, source } => {
            let text = compose
                .inline_content(staging, &pooler.key, target)?
                .with_context(|| format!("no inline content for {target} in `{}`", pooler.key))?;
            let (after, logic) = edit_script(&text, opts.pooler_upsert).with_context(|| {
                format!(
                    "editing the inline pooler.exs of `{}` in \"{}\"",
                    pooler.key,
                    layout.compose.display()
                )
            })?;
            trap_warnings(step, logic, opts.pooler_upsert);
            explicit_false_note(step, &text);
            let changed = compose
                .set_inline_content(staging, &pooler.key, target, &after)?
                .changed();
            step.notes.push(format!(
                "inline pooler.exs (`content:` of {target} in {}): \"enforce_ssl\" => true",
                layout.compose.display()
            ));
            touch_compose(step, compose, changed);
            // Coolify writes the content to the file on deploy; keep an existing copy in step
            if let Some(src) = source.as_ref().filter(|s| s.is_relative())
                && let Some(file_text) = staging.read_text(src)?
                && file_text != after
            {
                let (file_after, _) = edit_script(&file_text, opts.pooler_upsert)
                    .with_context(|| format!("editing \"{}\"", src.display()))?;
                let changed = staging.write(
                    src,
                    file_after.into_bytes(),
                    0o644,
                    None,
                    FileKind::Text,
                    None,
                )?;
                step.touch(src, changed);
            }
        }
    }
    Ok(())
}

/// `"enforce_ssl" => true` in a tenant script: a pooler.exs, or the Elixir inside a shell
/// script's `supavisor eval '...'` ([`pooler_exs::TenantFile`]); an explicit `false` flips.
fn edit_script(text: &str, upsert: bool) -> Result<(String, TenantLogic)> {
    let mut file = pooler_exs::TenantFile::parse(text)?;
    let script = file.script_mut();
    script.set_bool("enforce_ssl", true)?;
    let mut logic = script.tenant_logic();
    if upsert && logic == TenantLogic::CreateOnly {
        script.rewrite_to_upsert()?;
        logic = script.tenant_logic();
    }
    Ok((file.text()?, logic))
}

/// A script that upserts `"enforce_ssl" => false` at every pooler start undoes any other fix.
fn explicit_false_note(step: &mut Step, text: &str) {
    let before = pooler_exs::TenantFile::parse(text).and_then(|f| f.script().inspect());
    if let Ok(i) = before
        && i.enforce_ssl == pooler_exs::FlagState::False
        && i.tenant_logic == TenantLogic::Upsert
    {
        step.notes.push("the script said \"enforce_ssl\" => false and upserts the tenant at every pooler start, so setting enforce_ssl through Supavisor's API alone would be reverted at the next start: the script itself now says true".into());
    }
}

fn trap_warnings(step: &mut Step, logic: TenantLogic, upsert: bool) {
    match logic {
        TenantLogic::Upsert if upsert => step.notes.push("tenant logic rewritten to an upsert (update_tenant/2): enforce_ssl reaches the existing tenant on the next pooler restart".into()),
        TenantLogic::Upsert => step.notes.push("the script upserts the tenant: enforce_ssl reaches the existing tenant on the next pooler restart".into()),
        TenantLogic::CreateOnly => step.warnings.push(Warning::new(Code::TenantCreateOnly,
            "CREATE-ONLY TRAP: this pooler.exs only creates the tenant when it is missing. If the tenant already exists (it lives in the database volume), this edit changes nothing. Rerun with --pooler-upsert to rewrite it to update_tenant, or set enforce_ssl on the running pooler with the API call under Next steps",
        )),
        _ => step.warnings.push(Warning::new(Code::TenantLogicUnknown,
            "the tenant logic of pooler.exs is not recognised; make sure enforce_ssl reaches the existing tenant (the API call under Next steps does)",
        )),
    }
}

/// The variable name in `${NAME}` / `${NAME:-default}`, or `None` for a literal.
fn env_reference(value: &str) -> Option<&str> {
    let inner = value.strip_prefix("${")?.strip_suffix('}')?;
    let name = inner.split([':', '-', '?']).next()?;
    (!name.is_empty()).then_some(name)
}

/// A shell snippet that sets `enforce_ssl` on the existing tenant through Supavisor's API:
/// mints a short-lived HS256 JWT signed with the pooler's `API_JWT_SECRET` (read from `.env`)
/// and sends `PUT /api/tenants/<id>` from inside the pooler container (port 4000 is not
/// published). Supavisor updates the tenant and clears its cache.
pub fn api_call(pooler: &crate::layout::Service) -> String {
    let secret = pooler
        .env_as_written
        .get("API_JWT_SECRET")
        .and_then(|v| env_reference(v))
        .unwrap_or("JWT_SECRET");
    let tenant = match pooler.env_as_written.get("POOLER_TENANT_ID") {
        Some(v) if !v.is_empty() => env_reference(v).map_or_else(|| v.clone(), |n| format!("${n}")),
        _ => "$POOLER_TENANT_ID".to_owned(),
    };
    format!(
        "set enforce_ssl on the existing tenant through Supavisor's API (from the deployment folder):
       set -a; . ./.env; set +a
       b64url() {{ openssl base64 -A | tr '+/' '-_' | tr -d '='; }}
       H=$(printf '%s' '{{\"alg\":\"HS256\",\"typ\":\"JWT\"}}' | b64url)
       P=$(printf '{{\"iat\":%d,\"exp\":%d}}' \"$(date +%s)\" \"$(( $(date +%s) + 600 ))\" | b64url)
       S=$(printf '%s.%s' \"$H\" \"$P\" | openssl dgst -sha256 -hmac \"${secret}\" -binary | b64url)
       docker compose exec {service} curl -sS -X PUT \"http://127.0.0.1:4000/api/tenants/{tenant}\" \\
         -H \"Authorization: Bearer $H.$P.$S\" -H 'Content-Type: application/json' \\
         -d '{{\"tenant\":{{\"enforce_ssl\":true}}}}'",
        service = pooler.key,
    )
}
