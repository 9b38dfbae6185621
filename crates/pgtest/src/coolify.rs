//! A stand-in for Coolify's service API on 127.0.0.1, for tests of `pgtls harden --coolify-url`.
//!
//! Coolify (a Laravel application with its own database and queue) cannot run here, so this
//! serves the four endpoints pgtls uses the way Coolify's sources describe them
//! (coollabsio/coolify `app/Http/Controllers/Api/ServicesController.php`, `routes/api.php`,
//! `app/Http/Middleware/*`, `app/Exceptions/Handler.php`, `openapi.json`; see
//! `docs/coolify-facts.md` for the details and commits):
//!
//! - `GET /api/v1/services/{uuid}`: 401 `{"message":"Unauthenticated."}` for a missing or
//!   unknown Bearer token, 404 `{"message":"Service not found."}` for an unknown uuid, else 200
//!   with the service; `docker_compose_raw` only for a token that may read sensitive data.
//! - `PATCH /api/v1/services/{uuid}`: 403 without the `write` ability; 400 unless the body is
//!   JSON (`Content-Type: application/json`, valid, not empty); 422 `This field is not allowed.`
//!   for unknown keys; 422 `The docker_compose_raw should be base64 encoded.` unless
//!   `base64_encode(base64_decode(x, true)) === x` and the bytes are UTF-8; 500 for text that is
//!   not YAML (Coolify's `Yaml::parse` is outside any try block); 422
//!   `Docker Compose file must contain a "services" section`; 409 for `urls` naming a domain
//!   in use ([`CoolifyStandIn::domain_in_use`]); else the compose is stored and 200
//!   `{"uuid", "domains"}`.
//! - `POST /api/v1/services/{uuid}/restart`: 403 without `deploy`, else 200
//!   `{"message":"Service restarting request queued."}`.
//! - `GET /api/v1/services/{uuid}/storages` and `PATCH .../storages` (Coolify v4.0.0-beta.470+):
//!   file storages registered with [`CoolifyStandIn::file_storage`], `content` shown only to a
//!   token that may read sensitive data, 422 for a read-only storage's content, 404
//!   `Storage not found.`. Without registered storages the list is empty.
//!
//! Not modelled: YAML re-serialisation (the stored text is the decoded text, so tests can compare
//! it), the removal of `content:` keys after parsing, file storages, teams and rate limits.
//! Every request is recorded ([`CoolifyStandIn::requests`]) so a test can assert what was sent.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

/// What a token may do (Sanctum abilities as Coolify checks them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Abilities {
    /// `read:sensitive` or `root` as a team admin: `docker_compose_raw` is visible.
    pub read_sensitive: bool,
    /// `write`: PATCH allowed.
    pub write: bool,
    /// `deploy`: restart allowed.
    pub deploy: bool,
}

impl Abilities {
    /// A `root` token of a team admin.
    pub const ROOT: Abilities = Abilities {
        read_sensitive: true,
        write: true,
        deploy: true,
    };
    /// A `read` + `write` + `deploy` token without `read:sensitive`.
    pub const NO_SENSITIVE: Abilities = Abilities {
        read_sensitive: false,
        write: true,
        deploy: true,
    };
}

/// One request the stand-in received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// `GET`, `PATCH`, `POST`, ...
    pub method: String,
    /// The path with the query.
    pub path: String,
    /// The `Authorization` header as received.
    pub authorization: Option<String>,
    /// The body as received.
    pub body: String,
    /// The status answered.
    pub status: u16,
}

/// A file storage the stand-in holds for a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStorage {
    /// Its uuid.
    pub uuid: String,
    /// The container path.
    pub mount_path: String,
    /// The content Coolify keeps.
    pub content: String,
    /// Mounted `:ro` / `read_only: true` in the compose: content edits get 422.
    pub read_only: bool,
}

#[derive(Debug, Default)]
struct State {
    tokens: BTreeMap<String, Abilities>,
    services: BTreeMap<String, String>,
    storages: BTreeMap<String, Vec<FileStorage>>,
    domains_in_use: Vec<String>,
    requests: Vec<Recorded>,
    restarts: Vec<String>,
}

/// The running stand-in; stopped when dropped.
#[derive(Debug)]
pub struct CoolifyStandIn {
    url: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    port: u16,
}

impl CoolifyStandIn {
    /// Listen on 127.0.0.1 and a free port.
    ///
    /// # Panics
    /// When no loopback port can be bound (test support: a failed precondition fails the test).
    pub fn start() -> CoolifyStandIn {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local addr").port();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = conn {
                    let st = st.clone();
                    std::thread::spawn(move || serve(stream, &st));
                }
            }
        });
        CoolifyStandIn {
            url: format!("http://127.0.0.1:{port}"),
            state,
            stop,
            thread: Some(thread),
            port,
        }
    }

    /// The base URL (`http://127.0.0.1:PORT`), as a user gives `--coolify-url`.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Accept `token` with these abilities.
    pub fn token(&self, token: &str, abilities: Abilities) -> &Self {
        self.lock().tokens.insert(token.to_owned(), abilities);
        self
    }

    /// Hold a service whose `docker_compose_raw` is `compose`.
    pub fn service(&self, uuid: &str, compose: &str) -> &Self {
        self.lock()
            .services
            .insert(uuid.to_owned(), compose.to_owned());
        self
    }

    /// Give a service a file storage (what Coolify records for a bind-mounted file).
    pub fn file_storage(&self, service: &str, storage: FileStorage) -> &Self {
        self.lock()
            .storages
            .entry(service.to_owned())
            .or_default()
            .push(storage);
        self
    }

    /// A service's file storages now.
    pub fn file_storages(&self, service: &str) -> Vec<FileStorage> {
        self.lock()
            .storages
            .get(service)
            .cloned()
            .unwrap_or_default()
    }

    /// A domain another resource uses: `urls` naming it get 409.
    pub fn domain_in_use(&self, domain: &str) -> &Self {
        self.lock().domains_in_use.push(domain.to_owned());
        self
    }

    /// The stored compose of a service.
    pub fn compose(&self, uuid: &str) -> Option<String> {
        self.lock().services.get(uuid).cloned()
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// Services restarted so far.
    pub fn restarts(&self) -> Vec<String> {
        self.lock().restarts.clone()
    }
}

impl Drop for CoolifyStandIn {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // wake the accept loop
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Request {
    method: String,
    path: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 {
            break;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

fn serve(mut stream: TcpStream, state: &Mutex<State>) {
    let Some(req) = read_request(&stream) else {
        return;
    };
    let (status, body) = {
        let mut st = state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (status, body) = route(&req, &mut st);
        st.requests.push(Recorded {
            method: req.method.clone(),
            path: req.path.clone(),
            authorization: req.headers.get("authorization").cloned(),
            body: String::from_utf8_lossy(&req.body).into_owned(),
            status,
        });
        (status, body)
    };
    let text = body.to_string();
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        422 => "Unprocessable Content",
        _ => "Internal Server Error",
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    let _ = stream.flush();
}

#[allow(
    clippy::needless_pass_by_value,
    reason = "called with json! temporaries"
)]
fn validation(errors: Value) -> (u16, Value) {
    (
        422,
        json!({"message": "Validation failed.", "errors": errors}),
    )
}

fn route(req: &Request, st: &mut State) -> (u16, Value) {
    let path = req.path.split('?').next().unwrap_or("");
    let Some(rest) = path.strip_prefix("/api/v1/services/") else {
        return (404, json!({"message": "Not found."}));
    };
    // auth:sanctum first, as Laravel's middleware order has it
    let token = req
        .headers
        .get("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(abilities) = token.and_then(|t| st.tokens.get(t)).copied() else {
        return (401, json!({"message": "Unauthenticated."}));
    };
    let (uuid, action) = match rest.split_once('/') {
        Some((u, a)) => (u.to_owned(), Some(a)),
        None => (rest.to_owned(), None),
    };
    let needs = |ok: bool, what: &str| {
        (!ok).then(|| {
            (
                403,
                json!({"message": format!("Missing required permissions: {what}")}),
            )
        })
    };
    match (req.method.as_str(), action) {
        ("GET", None) => {
            let Some(compose) = st.services.get(&uuid) else {
                return (404, json!({"message": "Service not found."}));
            };
            let mut svc = json!({
                "uuid": uuid,
                "name": "supabase",
                "service_type": "supabase",
                "status": "running:healthy",
                "applications": [],
                "databases": [],
            });
            if abilities.read_sensitive {
                svc["docker_compose_raw"] = Value::String(compose.clone());
            }
            (200, svc)
        }
        ("PATCH", None) => {
            if let Some(denied) = needs(abilities.write, "write") {
                return denied;
            }
            let is_json = req
                .headers
                .get("content-type")
                .is_some_and(|c| c.contains("json"));
            if !is_json {
                return (
                    400,
                    json!({"message": "Invalid request.", "error": "Content-Type must be application/json."}),
                );
            }
            let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&req.body) else {
                return (
                    400,
                    json!({"message": "Invalid request.", "error": "Invalid JSON."}),
                );
            };
            if body.is_empty() {
                return (
                    400,
                    json!({"message": "Invalid request.", "error": "Empty JSON."}),
                );
            }
            if !st.services.contains_key(&uuid) {
                return (404, json!({"message": "Service not found."}));
            }
            let allowed = [
                "name",
                "description",
                "instant_deploy",
                "docker_compose_raw",
                "connect_to_docker_network",
                "urls",
                "force_domain_override",
                "is_container_label_escape_enabled",
            ];
            let mut errors = serde_json::Map::new();
            for k in body.keys().filter(|k| !allowed.contains(&k.as_str())) {
                errors.insert(k.clone(), json!(["This field is not allowed."]));
            }
            match body.get("docker_compose_raw") {
                None | Some(Value::String(_) | Value::Null) => {}
                Some(_) => {
                    errors.insert(
                        "docker_compose_raw".into(),
                        json!(["The docker compose raw field must be a string."]),
                    );
                }
            }
            if !errors.is_empty() {
                return validation(Value::Object(errors));
            }
            let mut new_compose = None;
            if let Some(Value::String(raw)) = body.get("docker_compose_raw") {
                let decoded = STANDARD
                    .decode(raw)
                    .ok()
                    .filter(|d| STANDARD.encode(d) == *raw);
                let Some(text) = decoded.and_then(|d| String::from_utf8(d).ok()) else {
                    return validation(
                        json!({"docker_compose_raw": "The docker_compose_raw should be base64 encoded."}),
                    );
                };
                let parsed: Value = match yaml_serde::from_str(&text) {
                    Ok(v) => v,
                    // Symfony's ParseException escapes update_by_uuid: Laravel's 500
                    Err(_) => return (500, json!({"message": "Server Error"})),
                };
                if !parsed.get("services").is_some_and(Value::is_object) {
                    return validation(
                        json!({"docker_compose_raw": "Docker Compose file must contain a \"services\" section"}),
                    );
                }
                new_compose = Some(text);
            }
            if let Some(Value::Array(urls)) = body.get("urls") {
                let force = body.get("force_domain_override") == Some(&Value::Bool(true));
                let conflicts: Vec<Value> = urls
                    .iter()
                    .filter_map(|u| u.get("url").and_then(Value::as_str))
                    .flat_map(|u| u.split(','))
                    .filter(|u| st.domains_in_use.iter().any(|d| u.contains(d.as_str())))
                    .map(|u| json!({"domain": u, "resource_type": "application", "message": format!("Domain {u} is already in use")}))
                    .collect();
                if !conflicts.is_empty() && !force {
                    if let Some(c) = new_compose.take() {
                        // Coolify saves the compose before it checks the URLs
                        st.services.insert(uuid.clone(), c);
                    }
                    return (
                        409,
                        json!({
                            "message": "Domain conflicts detected. Use force_domain_override=true to proceed.",
                            "conflicts": conflicts,
                            "warning": "Using the same domain for multiple resources can cause routing conflicts and unpredictable behavior.",
                        }),
                    );
                }
            }
            if let Some(c) = new_compose {
                st.services.insert(uuid.clone(), c);
            }
            (200, json!({"uuid": uuid, "domains": []}))
        }
        ("POST", Some("restart")) => {
            if let Some(denied) = needs(abilities.deploy, "deploy") {
                return denied;
            }
            if !st.services.contains_key(&uuid) {
                return (404, json!({"message": "Service not found."}));
            }
            st.restarts.push(uuid);
            (
                200,
                json!({"message": "Service restarting request queued."}),
            )
        }
        ("GET", Some("storages")) => {
            if !st.services.contains_key(&uuid) {
                return (404, json!({"message": "Service not found."}));
            }
            let files: Vec<Value> = st
                .storages
                .get(&uuid)
                .into_iter()
                .flatten()
                .map(|f| {
                    let mut v = json!({"uuid": f.uuid, "mount_path": f.mount_path, "resource_type": "application"});
                    if abilities.read_sensitive {
                        v["content"] = Value::String(f.content.clone());
                    }
                    v
                })
                .collect();
            (
                200,
                json!({"persistent_storages": [], "file_storages": files}),
            )
        }
        ("PATCH", Some("storages")) => {
            if let Some(denied) = needs(abilities.write, "write") {
                return denied;
            }
            let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&req.body) else {
                return (
                    400,
                    json!({"message": "Invalid request.", "error": "Invalid JSON."}),
                );
            };
            if !st.services.contains_key(&uuid) {
                return (404, json!({"message": "Service not found."}));
            }
            let allowed = [
                "uuid",
                "id",
                "type",
                "is_preview_suffix_enabled",
                "name",
                "mount_path",
                "host_path",
                "content",
            ];
            let mut errors = serde_json::Map::new();
            for k in body.keys().filter(|k| !allowed.contains(&k.as_str())) {
                errors.insert(k.clone(), json!(["This field is not allowed."]));
            }
            match body.get("type").and_then(Value::as_str) {
                Some("persistent" | "file") => {}
                Some(_) => {
                    errors.insert("type".into(), json!(["The selected type is invalid."]));
                }
                None => {
                    errors.insert("type".into(), json!(["This field is required."]));
                }
            }
            if !errors.is_empty() {
                return validation(Value::Object(errors));
            }
            let Some(id) = body.get("uuid").and_then(Value::as_str) else {
                return validation(json!({"uuid": "Either uuid or id is required."}));
            };
            let Some(f) = st
                .storages
                .get_mut(&uuid)
                .and_then(|v| v.iter_mut().find(|f| f.uuid == id))
            else {
                return (404, json!({"message": "Storage not found."}));
            };
            if f.read_only && body.contains_key("content") {
                return (
                    422,
                    json!({
                        "message": "This storage is read-only (managed by docker-compose or service definition). Only is_preview_suffix_enabled can be updated.",
                        "read_only_fields": ["content"],
                    }),
                );
            }
            if let Some(Value::String(c)) = body.get("content") {
                f.content.clone_from(c);
            }
            (200, json!({"uuid": f.uuid, "mount_path": f.mount_path}))
        }
        ("GET", Some("restart")) => (
            405,
            json!({"message": "This endpoint has changed to a POST request."}),
        ),
        _ => (405, json!({"message": "Method not allowed."})),
    }
}
