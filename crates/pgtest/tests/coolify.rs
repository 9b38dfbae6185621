//! The Coolify stand-in answers as Coolify's sources say (see `src/coolify.rs`), checked with a
//! real HTTP client (ureq) over 127.0.0.1.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use pgtest::{Abilities, CoolifyStandIn};
use serde_json::{Value, json};

const UUID: &str = "svc1";

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .into()
}

fn call(
    c: &CoolifyStandIn,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let url = format!("{}{path}", c.url());
    let a = agent();
    let auth = format!("Bearer {token}");
    let r = match (method, body) {
        ("GET", _) => a.get(&url).header("Authorization", &auth).call(),
        ("POST", _) => a.post(&url).header("Authorization", &auth).send_empty(),
        ("PATCH", Some(b)) => a
            .patch(&url)
            .header("Authorization", &auth)
            .content_type("application/json")
            .send(b.to_string()),
        ("PATCH", None) => a.patch(&url).header("Authorization", &auth).send("x"),
        _ => unreachable!(),
    };
    let mut r = r.unwrap();
    let status = r.status().as_u16();
    let text = r.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap())
}

fn patch(c: &CoolifyStandIn, body: Value) -> (u16, Value) {
    call(
        c,
        "PATCH",
        &format!("/api/v1/services/{UUID}"),
        "t",
        Some(body),
    )
}

fn standin() -> CoolifyStandIn {
    let c = CoolifyStandIn::start();
    c.token("t", Abilities::ROOT)
        .token("r", Abilities::NO_SENSITIVE)
        .service(UUID, "services:\n  a:\n    image: x\n")
        .domain_in_use("taken.example");
    c
}

#[test]
fn auth_lookup_and_sensitive_fields() {
    let c = standin();
    let path = format!("/api/v1/services/{UUID}");
    assert_eq!(
        call(&c, "GET", &path, "wrong", None),
        (401, json!({"message": "Unauthenticated."}))
    );
    assert_eq!(
        call(&c, "GET", "/api/v1/services/nope", "t", None),
        (404, json!({"message": "Service not found."}))
    );
    let (s, v) = call(&c, "GET", &path, "t", None);
    assert_eq!(s, 200);
    assert_eq!(v["docker_compose_raw"], "services:\n  a:\n    image: x\n");
    let (s, v) = call(&c, "GET", &path, "r", None);
    assert_eq!(s, 200);
    assert!(v.get("docker_compose_raw").is_none(), "{v}");
    assert_eq!(
        call(&c, "GET", &format!("{path}/restart"), "t", None).0,
        405
    );
    assert_eq!(
        call(&c, "POST", &format!("{path}/restart"), "t", None),
        (
            200,
            json!({"message": "Service restarting request queued."})
        )
    );
    assert_eq!(c.restarts(), [UUID]);
}

#[test]
fn patch_validation_as_coolify_does_it() {
    let c = standin();
    let b64 = |s: &str| STANDARD.encode(s);
    let not_b64 = json!({"message": "Validation failed.", "errors": {"docker_compose_raw": "The docker_compose_raw should be base64 encoded."}});
    assert_eq!(
        patch(&c, json!({"docker_compose_raw": "not base64!"})),
        (422, not_b64.clone())
    );
    // canonical base64 only: no padding is not what base64_encode gives back
    let unpadded = b64("services: {}\n").trim_end_matches('=').to_owned();
    assert_eq!(patch(&c, json!({"docker_compose_raw": unpadded})).0, 422);
    assert_eq!(
        patch(
            &c,
            json!({"docker_compose_raw": STANDARD.encode([0xff, 0xfe])})
        ),
        (422, not_b64)
    );
    assert_eq!(
        patch(&c, json!({"docker_compose_raw": b64("a: [")})),
        (500, json!({"message": "Server Error"}))
    );
    assert_eq!(
        patch(&c, json!({"docker_compose_raw": b64("version: '3'\n")})),
        (
            422,
            json!({"message": "Validation failed.", "errors": {"docker_compose_raw": "Docker Compose file must contain a \"services\" section"}})
        )
    );
    assert_eq!(
        patch(&c, json!({"compose": "x"})),
        (
            422,
            json!({"message": "Validation failed.", "errors": {"compose": ["This field is not allowed."]}})
        )
    );
    assert_eq!(
        call(&c, "PATCH", &format!("/api/v1/services/{UUID}"), "t", None),
        (
            400,
            json!({"message": "Invalid request.", "error": "Content-Type must be application/json."})
        )
    );
    assert_eq!(patch(&c, json!({})).0, 400);
    let (s, v) = patch(
        &c,
        json!({"urls": [{"name": "a", "url": "https://taken.example"}]}),
    );
    assert_eq!(s, 409);
    assert_eq!(
        v["message"],
        "Domain conflicts detected. Use force_domain_override=true to proceed."
    );
    assert_eq!(
        c.compose(UUID).unwrap(),
        "services:\n  a:\n    image: x\n",
        "nothing stored yet"
    );
    let new = "services:\n  b:\n    image: y\n";
    assert_eq!(
        patch(&c, json!({"docker_compose_raw": b64(new)})),
        (200, json!({"uuid": UUID, "domains": []}))
    );
    assert_eq!(c.compose(UUID).unwrap(), new);
    let (s, v) = call(
        &c,
        "PATCH",
        &format!("/api/v1/services/{UUID}"),
        "r",
        Some(json!({"name": "x"})),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(c.requests().len(), 11);
}

#[test]
fn file_storages_as_coolify_lists_and_updates_them() {
    let c = standin();
    for (id, ro) in [("st1", false), ("st2", true)] {
        c.file_storage(
            UUID,
            pgtest::FileStorage {
                uuid: id.into(),
                mount_path: format!("/etc/{id}"),
                content: "old".into(),
                read_only: ro,
            },
        );
    }
    let path = format!("/api/v1/services/{UUID}/storages");
    let (s, v) = call(&c, "GET", &path, "t", None);
    assert_eq!(s, 200);
    assert_eq!(v["file_storages"][0]["content"], "old");
    let (_, v) = call(&c, "GET", &path, "r", None);
    assert!(v["file_storages"][0].get("content").is_none(), "{v}");
    let set = |id: &str| json!({"uuid": id, "type": "file", "content": "new"});
    assert_eq!(call(&c, "PATCH", &path, "t", Some(set("st1"))).0, 200);
    assert_eq!(c.file_storages(UUID)[0].content, "new");
    let (s, v) = call(&c, "PATCH", &path, "t", Some(set("st2")));
    assert_eq!(s, 422);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .starts_with("This storage is read-only")
    );
    assert_eq!(
        call(&c, "PATCH", &path, "t", Some(set("nope"))),
        (404, json!({"message": "Storage not found."}))
    );
    assert_eq!(
        call(&c, "PATCH", &path, "t", Some(json!({"uuid": "st1"}))),
        (
            422,
            json!({"message": "Validation failed.", "errors": {"type": ["This field is required."]}})
        )
    );
}
