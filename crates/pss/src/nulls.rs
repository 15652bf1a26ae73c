//! `null` where the API reads a value, decoded as the API server decodes it: as if the value
//! were absent (Go's JSON decoding leaves the field at its zero value).
//!
//! So `annotations: {a: null}` is the annotation `a` with an empty value, `drop: [null]` one
//! empty capability, and a container whose `name` is `null` has an empty name, as kubectl
//! apply stores them; the serde derives use these through `deserialize_with`.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

/// A field whose `null` is its default (an empty string, list or map).
pub fn as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A map (absent when `null`) whose `null` values are their defaults.
pub fn values_as_default<'de, D, K, V>(deserializer: D) -> Result<BTreeMap<K, V>, D::Error>
where
    D: Deserializer<'de>,
    K: Ord + Deserialize<'de>,
    V: Default + Deserialize<'de>,
{
    let map = Option::<BTreeMap<K, Option<V>>>::deserialize(deserializer)?.unwrap_or_default();
    Ok(map
        .into_iter()
        .map(|(key, value)| (key, value.unwrap_or_default()))
        .collect())
}

/// A list (absent when `null`) whose `null` items are their defaults.
pub fn items_as_default<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    let items = Option::<Vec<Option<T>>>::deserialize(deserializer)?.unwrap_or_default();
    Ok(items.into_iter().map(Option::unwrap_or_default).collect())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    #[derive(Debug, Default, PartialEq, Deserialize)]
    #[serde(default)]
    struct Fields {
        #[serde(deserialize_with = "super::as_default")]
        name: String,
        #[serde(deserialize_with = "super::values_as_default")]
        labels: BTreeMap<String, String>,
        #[serde(deserialize_with = "super::items_as_default")]
        drop: Vec<String>,
    }

    #[test]
    fn nulls_read_as_the_zero_value_go_leaves() {
        for (json, name, labels, drop) in [
            (r#"{}"#, "", vec![], vec![]),
            (
                r#"{"name": null, "labels": null, "drop": null}"#,
                "",
                vec![],
                vec![],
            ),
            (
                r#"{"name": "c", "labels": {"a": null, "b": "x"}, "drop": [null, "ALL"]}"#,
                "c",
                vec![("a", ""), ("b", "x")],
                vec!["", "ALL"],
            ),
        ] {
            let fields: Fields = serde_json::from_str(json).expect(json);
            let expected = Fields {
                name: name.to_owned(),
                labels: labels
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect(),
                drop: drop.into_iter().map(str::to_owned).collect(),
            };
            assert_eq!(fields, expected, "{json}");
        }
        // A value of the wrong type is still an error.
        assert!(serde_json::from_str::<Fields>(r#"{"labels": {"a": 1}}"#).is_err());
        assert!(serde_json::from_str::<Fields>(r#"{"name": false}"#).is_err());
    }
}
