//! The items of a typed list as the API means them.
//!
//! The API server writes the items of a typed list (`NamespaceList`, `PodList`,
//! `PodSecurityPolicyList`, …) without `apiVersion` and `kind`, as `kubectl get --raw` shows
//! them: an item that names no kind is of the list's item kind, and one that names no
//! apiVersion has the list's. A `kind: List` says nothing of its items, which must name
//! themselves. Objects decoded into types ([`crate::object`]) follow the same rule on their own
//! path; these functions are for documents held as JSON values.

use std::borrow::Cow;

use serde_json::Value;

/// Whether a document is a list whose `items` stand for it: any `kind` ending in `List` (a
/// `kind: List`, or a typed list such as `NamespaceList`).
pub fn is_list(object: &serde_json::Map<String, Value>) -> bool {
    object
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|kind| kind.ends_with("List"))
}

/// Completes `item`, an item of the list document `list`, in place (see the module
/// documentation). Absent, `null` and `""` count as unnamed, as Go decodes them all to "";
/// another type stays, to be reported when the item is decoded.
pub fn complete_list_item(list: &Value, item: &mut Value) {
    let Some(item_kind) = typed_list_item_kind(list) else {
        return;
    };
    let Value::Object(object) = item else { return };
    let (no_kind, no_version) = (
        unnamed(object.get("kind")),
        unnamed(object.get("apiVersion")),
    );
    if no_kind {
        object.insert("kind".to_owned(), Value::from(item_kind));
    }
    if no_version && let Some(api_version) = list.get("apiVersion").filter(|v| v.is_string()) {
        object.insert("apiVersion".to_owned(), api_version.clone());
    }
}

/// [`complete_list_item`] for an item that is borrowed: copied only when something is added.
pub fn list_item<'v>(list: &Value, item: &'v Value) -> Cow<'v, Value> {
    let needs_completing = typed_list_item_kind(list).is_some()
        && item
            .as_object()
            .is_some_and(|object| unnamed(object.get("kind")) || unnamed(object.get("apiVersion")));
    if !needs_completing {
        return Cow::Borrowed(item);
    }
    let mut item = item.clone();
    complete_list_item(list, &mut item);
    Cow::Owned(item)
}

/// `Kind` for a `KindList`; `None` for a `kind: List` and for anything that is not a list.
fn typed_list_item_kind(list: &Value) -> Option<&str> {
    list.get("kind")?
        .as_str()?
        .strip_suffix("List")
        .filter(|kind| !kind.is_empty())
}

fn unnamed(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::String(text)) => text.is_empty(),
        Some(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typed_list_items_are_of_the_lists_kind_and_version() {
        let list = json!({"apiVersion": "extensions/v1beta1", "kind": "PodSecurityPolicyList",
                          "items": []});
        for item in [
            json!({"metadata": {"name": "typed"}}),
            json!({"kind": null, "apiVersion": "", "metadata": {"name": "typed"}}),
        ] {
            let completed = list_item(&list, &item);
            assert_eq!(completed["kind"], "PodSecurityPolicy", "{item}");
            assert_eq!(completed["apiVersion"], "extensions/v1beta1", "{item}");
        }
        let namespaces = json!({"apiVersion": "v1", "kind": "NamespaceList", "items": []});
        let mut item = json!({"metadata": {"name": "team"}});
        complete_list_item(&namespaces, &mut item);
        assert_eq!(
            item,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
        );
        // What an item says stays, uncopied; a `kind: List`'s items are not completed.
        let own = json!({"apiVersion": "policy/v1beta1", "kind": "PodSecurityPolicy"});
        assert!(matches!(list_item(&list, &own), Cow::Borrowed(_)));
        let generic = json!({"apiVersion": "v1", "kind": "List", "items": []});
        assert!(matches!(list_item(&generic, &item), Cow::Borrowed(_)));
        let unnamed_in_generic = json!({"metadata": {}});
        assert!(matches!(
            list_item(&generic, &unnamed_in_generic),
            Cow::Borrowed(_)
        ));
        let odd = json!({"kind": 5});
        assert_eq!(list_item(&list, &odd)["kind"], 5);
    }
}
