//! Comparing typed views.

use yaml_serde::Value;

fn short(v: &Value) -> String {
    let s = yaml_serde::to_string(v).unwrap_or_else(|_| format!("{v:?}"));
    let s = s.trim_end().replace('\n', " ");
    if s.chars().count() > 80 {
        let cut: String = s.chars().take(77).collect();
        format!("{cut}...")
    } else {
        s
    }
}

/// The first place where `got` differs from `expected`, as a path and both values.
pub(crate) fn first_difference(expected: &Value, got: &Value, path: &str) -> Option<String> {
    match (expected, got) {
        (Value::Mapping(a), Value::Mapping(b)) => {
            for (k, va) in a {
                let name = k.as_str().map_or_else(|| short(k), str::to_owned);
                let p = if path.is_empty() {
                    name
                } else {
                    format!("{path}.{name}")
                };
                match b.get(k) {
                    Some(vb) => {
                        if let Some(d) = first_difference(va, vb, &p) {
                            return Some(d);
                        }
                    }
                    None => return Some(format!("{p}: expected {}, found nothing", short(va))),
                }
            }
            for (k, vb) in b {
                if !a.contains_key(k) {
                    let name = k.as_str().map_or_else(|| short(k), str::to_owned);
                    return Some(format!("{path}.{name}: unexpected {}", short(vb)));
                }
            }
            let ka: Vec<_> = a.keys().collect();
            let kb: Vec<_> = b.keys().collect();
            (ka != kb).then(|| format!("{path}: keys in a different order"))
        }
        (Value::Sequence(a), Value::Sequence(b)) => {
            for (i, (va, vb)) in a.iter().zip(b).enumerate() {
                if let Some(d) = first_difference(va, vb, &format!("{path}[{i}]")) {
                    return Some(d);
                }
            }
            (a.len() != b.len())
                .then(|| format!("{path}: expected {} items, found {}", a.len(), b.len()))
        }
        _ => (expected != got)
            .then(|| format!("{path}: expected {}, found {}", short(expected), short(got))),
    }
}
