//! Coolify's service API, as far as hardening needs it: read a service's compose, store a new
//! one, restart the service.
//!
//! Coolify keeps each service's compose (`docker_compose_raw`) in its own database and writes
//! `/data/coolify/services/<uuid>/docker-compose.yml` anew from it at every start, so an edit
//! that is to last goes through `PATCH /api/v1/services/{uuid}`. What this module relies on,
//! read in coollabsio/coolify's sources (`ServicesController.php`, `routes/api.php`, the API
//! middleware, `openapi.json`; commits and versions in `docs/coolify-facts.md`):
//!
//! - `GET /api/v1/services/{uuid}` with `Authorization: Bearer <token>`; `docker_compose_raw`
//!   is in the answer only when the token may read sensitive data (`read:sensitive` or `root`,
//!   held by a team admin or owner). A wrong token gets 401 `Unauthenticated.`, an unknown uuid
//!   404 `Service not found.`, a token without an ability 403 `Missing required permissions`.
//! - `PATCH /api/v1/services/{uuid}` with JSON `{"docker_compose_raw": "<base64>"}`: the value
//!   must be canonical standard base64 (`base64_encode(base64_decode($v, true)) === $v`) of UTF-8
//!   text, else 422 `The docker_compose_raw should be base64 encoded.`; the compose must have a
//!   `services` mapping (422). Coolify stores `Yaml::dump(Yaml::parse(...))` of it: comments and
//!   formatting of the compose do not survive this path. 409 is answered only for `urls` in
//!   use elsewhere, which this client never sends.
//! - `POST /api/v1/services/{uuid}/restart`: 200 `Service restarting request queued.`; the
//!   restart runs later on Coolify's queue.
//!
//! The token is held in [`Token`], whose `Debug` is redacted; it is sent only in the
//! `Authorization` header (never in a URL), so no error or message can contain it. Redirects
//! are not followed (a redirected request would lose the header anyway): a 3xx is reported
//! with its `Location`. HTTP proxies from the environment are not used. `https` URLs use
//! native-tls (the system's OpenSSL and its root certificates).

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;

/// An API token. `Debug` and `Display` never show it.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// Wrap a token (surrounding white space removed). `None` when it is empty.
    pub fn new(token: &str) -> Option<Token> {
        let t = token.trim();
        (!t.is_empty()).then(|| Token(t.to_owned()))
    }

    /// From an environment variable (`COOLIFY_TOKEN`); `None` when unset or empty.
    pub fn from_env(var: &str) -> Option<Token> {
        std::env::var(var).ok().as_deref().and_then(Token::new)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

pub use crate::error::ApiError;

/// A service as `GET /api/v1/services/{uuid}` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceInfo {
    /// Its uuid.
    pub uuid: String,
    /// Its name.
    pub name: Option<String>,
    /// `service_type` (`supabase` for the template), when present.
    pub service_type: Option<String>,
    /// The compose Coolify holds; `None` when the token may not read sensitive data.
    pub docker_compose_raw: Option<String>,
}

/// A file storage of a service (a bind-mounted file whose content Coolify keeps), as
/// `GET /api/v1/services/{uuid}/storages` lists it (Coolify v4.0.0-beta.470 and later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStorage {
    /// The storage's uuid, when Coolify gives one.
    pub uuid: Option<String>,
    /// Its numeric id (older answers have only this).
    pub id: Option<i64>,
    /// The container path.
    pub mount_path: String,
    /// The content Coolify holds (only shown to tokens that may read sensitive data).
    pub content: Option<String>,
}

/// A client for one Coolify instance.
#[derive(Debug)]
pub struct Client {
    base: String,
    token: Token,
    agent: ureq::Agent,
}

/// `message` of a Coolify error body, with its validation `errors` (string or list values).
fn server_message(body: &str) -> String {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        let start: String = body.chars().take(200).collect();
        return if start.trim().is_empty() {
            "(empty body)".to_owned()
        } else {
            start.trim().to_owned()
        };
    };
    let mut msg = v
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("(no message)")
        .to_owned();
    if let Some(e) = v.get("error").and_then(Value::as_str) {
        msg.push(' ');
        msg.push_str(e);
    }
    if let Some(Value::Object(errors)) = v.get("errors") {
        let details: Vec<String> = errors
            .iter()
            .map(|(k, v)| {
                let texts: Vec<&str> = match v {
                    Value::String(s) => vec![s.as_str()],
                    Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                    _ => Vec::new(),
                };
                format!("{k}: {}", texts.join("; "))
            })
            .collect();
        if !details.is_empty() {
            msg = format!("{msg} ({})", details.join(", "));
        }
    }
    if let Some(Value::Array(c)) = v.get("conflicts") {
        let ds: Vec<&str> = c
            .iter()
            .filter_map(|c| c.get("domain").and_then(Value::as_str))
            .collect();
        if !ds.is_empty() {
            msg = format!("{msg} (domains: {})", ds.join(", "));
        }
    }
    msg
}

impl Client {
    /// A client for the Coolify at `url` (`https://coolify.example.com`, without `/api`).
    pub fn new(url: &str, token: Token) -> Result<Client, ApiError> {
        let base = url.trim().trim_end_matches('/');
        let base = base.strip_suffix("/api/v1").unwrap_or(base);
        if !(base.starts_with("http://") || base.starts_with("https://")) || base.contains('?') {
            return Err(ApiError::BadUrl {
                url: url.to_owned(),
            });
        }
        let tls = ureq::tls::TlsConfig::builder()
            .provider(ureq::tls::TlsProvider::NativeTls)
            .root_certs(ureq::tls::RootCerts::PlatformVerifier)
            .build();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(None)
            .timeout_global(Some(Duration::from_secs(60)))
            .tls_config(tls)
            .build()
            .into();
        Ok(Client {
            base: base.to_owned(),
            token,
            agent,
        })
    }

    /// The base URL, without a trailing slash.
    pub fn url(&self) -> &str {
        &self.base
    }

    fn path(uuid: &str, tail: &str) -> String {
        let safe: String = uuid
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        format!("/api/v1/services/{safe}{tail}")
    }

    fn answer(
        &self,
        method: &'static str,
        path: &str,
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Value, ApiError> {
        let url = format!("{}{path}", self.base);
        let mut resp = result.map_err(|e| ApiError::Unreachable {
            url: url.clone(),
            reason: e.to_string(),
        })?;
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = resp
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_string()
            .map_err(|e| ApiError::Unreachable {
                url: url.clone(),
                reason: format!("reading the answer: {e}"),
            })?;
        if !(200..300).contains(&status) {
            let message = match (status, location) {
                (300..=399, Some(l)) => format!("redirected to {l}: use that URL as --coolify-url"),
                _ => server_message(&body),
            };
            return Err(ApiError::Status {
                method,
                path: path.to_owned(),
                status,
                message,
            });
        }
        serde_json::from_str(&body).map_err(|e| ApiError::BadAnswer {
            path: path.to_owned(),
            reason: format!("not JSON ({e})"),
        })
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.token.0)
    }

    /// `GET /api/v1/services/{uuid}`.
    pub fn service(&self, uuid: &str) -> Result<ServiceInfo, ApiError> {
        let path = Self::path(uuid, "");
        let r = self
            .agent
            .get(format!("{}{path}", self.base))
            .header("Authorization", self.bearer())
            .header("Accept", "application/json")
            .call();
        let v = self.answer("GET", &path, r)?;
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        Ok(ServiceInfo {
            uuid: text("uuid").unwrap_or_else(|| uuid.to_owned()),
            name: text("name"),
            service_type: text("service_type"),
            docker_compose_raw: text("docker_compose_raw"),
        })
    }

    /// `PATCH /api/v1/services/{uuid}` with `{"docker_compose_raw": base64(compose)}`.
    pub fn set_compose(&self, uuid: &str, compose: &str) -> Result<(), ApiError> {
        let path = Self::path(uuid, "");
        let body = serde_json::json!({
            "docker_compose_raw": base64::engine::general_purpose::STANDARD.encode(compose),
        })
        .to_string();
        let r = self
            .agent
            .patch(format!("{}{path}", self.base))
            .header("Authorization", self.bearer())
            .header("Accept", "application/json")
            .content_type("application/json")
            .send(body);
        self.answer("PATCH", &path, r).map(|_| ())
    }

    /// `GET /api/v1/services/{uuid}/storages`: the service's file storages.
    pub fn file_storages(&self, uuid: &str) -> Result<Vec<FileStorage>, ApiError> {
        let path = Self::path(uuid, "/storages");
        let r = self
            .agent
            .get(format!("{}{path}", self.base))
            .header("Authorization", self.bearer())
            .header("Accept", "application/json")
            .call();
        let v = self.answer("GET", &path, r)?;
        let Some(items) = v.get("file_storages").and_then(Value::as_array) else {
            return Err(ApiError::BadAnswer {
                path,
                reason: "no file_storages list".to_owned(),
            });
        };
        Ok(items
            .iter()
            .filter_map(|i| {
                Some(FileStorage {
                    uuid: i.get("uuid").and_then(Value::as_str).map(str::to_owned),
                    id: i.get("id").and_then(Value::as_i64),
                    mount_path: i.get("mount_path")?.as_str()?.to_owned(),
                    content: i.get("content").and_then(Value::as_str).map(str::to_owned),
                })
            })
            .collect())
    }

    /// `PATCH /api/v1/services/{uuid}/storages` with `{"uuid", "type": "file", "content"}`:
    /// Coolify stores the content (it does not write the file on the server; pgtls does).
    pub fn set_file_content(
        &self,
        uuid: &str,
        storage: &FileStorage,
        content: &str,
    ) -> Result<(), ApiError> {
        let path = Self::path(uuid, "/storages");
        let mut body = serde_json::json!({"type": "file", "content": content});
        match (&storage.uuid, storage.id) {
            (Some(u), _) => body["uuid"] = Value::String(u.clone()),
            (None, Some(id)) => body["id"] = Value::from(id),
            (None, None) => {
                return Err(ApiError::BadAnswer {
                    path,
                    reason: format!(
                        "the storage at {} has neither uuid nor id",
                        storage.mount_path
                    ),
                });
            }
        }
        let r = self
            .agent
            .patch(format!("{}{path}", self.base))
            .header("Authorization", self.bearer())
            .header("Accept", "application/json")
            .content_type("application/json")
            .send(body.to_string());
        self.answer("PATCH", &path, r).map(|_| ())
    }

    /// `POST /api/v1/services/{uuid}/restart`; returns Coolify's message.
    pub fn restart(&self, uuid: &str) -> Result<String, ApiError> {
        let path = Self::path(uuid, "/restart");
        let r = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Authorization", self.bearer())
            .header("Accept", "application/json")
            .send_empty();
        let v = self.answer("POST", &path, r)?;
        Ok(v.get("message")
            .and_then(Value::as_str)
            .unwrap_or("restart queued")
            .to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_redacted() {
        let t = Token::new(" 1|secret-token ").unwrap();
        assert_eq!(format!("{t:?}"), "Token(<redacted>)");
        let c = Client::new("http://127.0.0.1:9/", t).unwrap();
        assert!(!format!("{c:?}").contains("secret-token"));
        assert!(Token::new("  ").is_none());
    }

    #[test]
    fn urls_and_messages() {
        let t = || Token::new("x").unwrap();
        assert_eq!(
            Client::new("https://c.example/api/v1/", t()).unwrap().url(),
            "https://c.example"
        );
        assert!(matches!(
            Client::new("c.example", t()),
            Err(ApiError::BadUrl { .. })
        ));
        assert_eq!(
            server_message(
                r#"{"message":"Validation failed.","errors":{"docker_compose_raw":"The docker_compose_raw should be base64 encoded."}}"#
            ),
            "Validation failed. (docker_compose_raw: The docker_compose_raw should be base64 encoded.)"
        );
        assert_eq!(
            server_message(
                r#"{"message":"Validation failed.","errors":{"x":["This field is not allowed."]}}"#
            ),
            "Validation failed. (x: This field is not allowed.)"
        );
        assert_eq!(
            Client::path("a/../b?c", "/restart"),
            "/api/v1/services/abc/restart"
        );
    }
}

/// A deployment folder whose compose file comes from Coolify: `compose` (relative path) reads
/// as `text`; every other path reads from `inner` (the host folder, for the files pgtls adds
/// under `volumes/`). Planning over it hardens Coolify's copy of the compose in memory.
#[derive(Debug)]
pub struct ComposeOverlay {
    inner: Box<dyn crate::Source>,
    compose: std::path::PathBuf,
    text: String,
}

impl ComposeOverlay {
    /// Serve `text` as `compose` over `inner`.
    pub fn new(inner: Box<dyn crate::Source>, compose: &str, text: String) -> Self {
        Self {
            inner,
            compose: compose.into(),
            text,
        }
    }
}

impl crate::Source for ComposeOverlay {
    fn root(&self) -> &std::path::Path {
        self.inner.root()
    }

    fn read(&self, rel: &std::path::Path) -> crate::Result<Option<Vec<u8>>> {
        if rel == self.compose {
            return Ok(Some(self.text.clone().into_bytes()));
        }
        self.inner.read(rel)
    }

    fn metadata(&self, rel: &std::path::Path) -> Option<crate::FileMeta> {
        if rel == self.compose {
            return Some(self.inner.metadata(rel).unwrap_or(crate::FileMeta {
                mode: 0o644,
                uid: 0,
                gid: 0,
                is_dir: false,
                is_file: true,
            }));
        }
        self.inner.metadata(rel)
    }

    fn list_dir(&self, rel: &std::path::Path) -> crate::Result<Vec<crate::DirEntry>> {
        let mut entries = self.inner.list_dir(rel)?;
        if self.compose.parent() == Some(rel)
            && let Some(name) = self.compose.file_name()
            && !entries.iter().any(|e| e.name == name)
        {
            entries.push(crate::DirEntry {
                name: name.to_owned(),
                kind: crate::EntryKind::File,
            });
        }
        Ok(entries)
    }
}
