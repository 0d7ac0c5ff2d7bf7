//! Comparing an output topic with `replay`'s output by finding id, with readable differences.

use std::collections::BTreeMap;

/// Output records by finding id (`id_field`); two different payloads under one id panic.
pub fn by_id(values: &[serde_json::Value], id_field: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for value in values {
        let id = value[id_field].as_str().expect("finding id").to_owned();
        let text = value.to_string();
        if let Some(previous) = map.insert(id.clone(), text.clone()) {
            assert_eq!(previous, text, "two different findings with id {id}");
        }
    }
    map
}

/// Equal maps, or a panic naming how many entries differ and the first few.
pub fn assert_same(
    what: &str,
    got: &BTreeMap<String, String>,
    want: &BTreeMap<String, String>,
    log: &str,
) {
    let differ: Vec<String> = want
        .iter()
        .filter(|(k, v)| got.get(*k) != Some(*v))
        .map(|(k, v)| format!("want {v}\n got {}", got.get(k).map_or("nothing", |g| g)))
        .chain(
            got.iter()
                .filter(|(k, _)| !want.contains_key(*k))
                .map(|(_, v)| format!("extra {v}")),
        )
        .collect();
    assert!(
        differ.is_empty(),
        "{what} differ from replay in {} of {} places, e.g.\n{}\n{log}",
        differ.len(),
        want.len(),
        differ
            .iter()
            .take(4)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
