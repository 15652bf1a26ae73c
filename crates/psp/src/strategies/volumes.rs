//! Volumes (pod level, validation only): the volume source type must be allowed, with the 1.21+
//! exception for the projected service-account-token volume; then `hostPath` prefixes (and the
//! read-only requirement on every mount), `flexVolume` drivers and inline `csi` drivers.
//!
//! A volume without any known source is an `emptyDir`: the API server's v1 defaulting turns it
//! into one before admission (unknown keys are dropped by decoding), so upstream's "unknown volume
//! type" error cannot be reached through the API.

use serde_json::Value;

use crate::field_error::{BadValue, FieldError, FieldPath};
use crate::pod::{PodView, Volume};
use crate::types::{ALLOW_ALL, PodSecurityPolicySpec};

/// v1 volume source keys with their FSType, in the order upstream's type switch tests them.
const SOURCE_TYPES: [(&str, &str); 29] = [
    ("hostPath", "hostPath"),
    ("emptyDir", "emptyDir"),
    ("gcePersistentDisk", "gcePersistentDisk"),
    ("awsElasticBlockStore", "awsElasticBlockStore"),
    ("gitRepo", "gitRepo"),
    ("secret", "secret"),
    ("nfs", "nfs"),
    ("iscsi", "iscsi"),
    ("glusterfs", "glusterfs"),
    ("persistentVolumeClaim", "persistentVolumeClaim"),
    ("rbd", "rbd"),
    ("flexVolume", "flexVolume"),
    ("cinder", "cinder"),
    ("cephfs", "cephFS"),
    ("flocker", "flocker"),
    ("downwardAPI", "downwardAPI"),
    ("fc", "fc"),
    ("azureFile", "azureFile"),
    ("configMap", "configMap"),
    ("vsphereVolume", "vsphereVolume"),
    ("quobyte", "quobyte"),
    ("azureDisk", "azureDisk"),
    ("photonPersistentDisk", "photonPersistentDisk"),
    ("storageos", "storageos"),
    ("projected", "projected"),
    ("portworxVolume", "portworxVolume"),
    ("scaleIO", "scaleIO"),
    ("csi", "csi"),
    ("ephemeral", "ephemeral"),
];

/// The FSType of a volume and its source object.
pub fn volume_type(volume: &Volume) -> (&'static str, Option<&Value>) {
    SOURCE_TYPES
        .iter()
        .find_map(|(key, fs_type)| {
            volume
                .sources
                .get(*key)
                .filter(|source| !source.is_null())
                .map(|source| (*fs_type, Some(source)))
        })
        .unwrap_or(("emptyDir", None))
}

fn text<'a>(value: Option<&'a Value>, pointer: &str) -> &'a str {
    value
        .and_then(|value| value.pointer(pointer))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Whether every projected source has the shape the ServiceAccount admission plugin injects
/// (token at `token` without audience, the `kube-root-ca.crt` config map, the namespace file).
pub fn is_only_service_account_token_sources(projected: Option<&Value>) -> bool {
    let sources = projected
        .and_then(|projected| projected.get("sources"))
        .and_then(Value::as_array);
    sources.into_iter().flatten().all(|source| {
        let present = |key: &str| source.get(key).filter(|value| !value.is_null());
        let token = present("serviceAccountToken");
        let config_map = present("configMap");
        let downward_api = present("downwardAPI");
        if token.is_none() && config_map.is_none() && downward_api.is_none() {
            return false;
        }
        if token.is_some()
            && (text(token, "/path") != "token" || !text(token, "/audience").is_empty())
        {
            return false;
        }
        if config_map.is_some() && text(config_map, "/name") != "kube-root-ca.crt" {
            return false;
        }
        let items = downward_api
            .and_then(|downward| downward.get("items"))
            .and_then(Value::as_array);
        items.into_iter().flatten().all(|item| {
            let field_ref = item.get("fieldRef").filter(|value| !value.is_null());
            // The API server defaults an empty fieldRef apiVersion to v1.
            let api_version = text(field_ref, "/apiVersion");
            text(Some(item), "/path") == "namespace"
                && field_ref.is_some()
                && (api_version == "v1" || api_version.is_empty())
                && text(field_ref, "/fieldPath") == "metadata.namespace"
        })
    })
}

/// Path matching on segment boundaries after trimming one trailing `/` from both sides.
fn has_path_prefix(path: &str, prefix: &str) -> bool {
    let path = path.strip_suffix('/').unwrap_or(path);
    let prefix = prefix.strip_suffix('/').unwrap_or(prefix);
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

/// (allowed, must be read-only). Any matching writable entry wins over read-only ones.
pub fn allows_host_path(spec: &PodSecurityPolicySpec, path: &str) -> (bool, bool) {
    if spec.allowed_host_paths.is_empty() {
        return (true, false);
    }
    let mut allowed = false;
    for entry in &spec.allowed_host_paths {
        if has_path_prefix(path, &entry.path_prefix) {
            if !entry.read_only {
                return (true, false);
            }
            allowed = true;
        }
    }
    (allowed, allowed)
}

pub fn validate(spec: &PodSecurityPolicySpec, pod: &PodView) -> Vec<FieldError> {
    let allows_all = spec.volumes.iter().any(|entry| entry == ALLOW_ALL);
    let listed = |fs_type: &str| spec.volumes.iter().any(|entry| entry == fs_type);
    let mut errors = Vec::new();
    for (index, volume) in pod.spec.volumes.iter().flatten().enumerate() {
        let volume_path = FieldPath::new(["spec", "volumes"]).index(index);
        let (fs_type, source) = volume_type(volume);
        let permitted = allows_all
            || listed(fs_type)
            || (fs_type == "projected"
                && listed("secret")
                && is_only_service_account_token_sources(source));
        if !permitted {
            errors.push(FieldError::invalid(
                volume_path,
                BadValue::str(fs_type),
                format!("{fs_type} volumes are not allowed to be used"),
            ));
            continue;
        }
        match fs_type {
            "hostPath" => {
                let path = text(source, "/path");
                match allows_host_path(spec, path) {
                    (false, _) => errors.push(FieldError::invalid(
                        volume_path.child("hostPath").child("pathPrefix"),
                        BadValue::str(path),
                        "is not allowed to be used",
                    )),
                    (true, true) => errors.extend(writable_mounts(pod, &volume.name)),
                    (true, false) => {}
                }
            }
            "flexVolume" if !spec.allowed_flex_volumes.is_empty() => {
                let driver = text(source, "/driver");
                if !spec
                    .allowed_flex_volumes
                    .iter()
                    .any(|allowed| allowed.driver == driver)
                {
                    errors.push(FieldError::invalid(
                        volume_path.child("driver"),
                        BadValue::str(driver),
                        "Flexvolume driver is not allowed to be used",
                    ));
                }
            }
            "csi" if !spec.allowed_csi_drivers.is_empty() => {
                let driver = text(source, "/driver");
                if !spec
                    .allowed_csi_drivers
                    .iter()
                    .any(|allowed| allowed.name == driver)
                {
                    errors.push(FieldError::invalid(
                        volume_path.child("csi").child("driver"),
                        BadValue::str(driver),
                        "Inline CSI driver is not allowed to be used",
                    ));
                }
            }
            _ => {}
        }
    }
    errors
}

/// One error per mount of `volume_name`, in any container kind, that is not read-only.
fn writable_mounts(pod: &PodView, volume_name: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (location, container) in pod.spec.all_containers() {
        for (index, mount) in container.volume_mounts.iter().flatten().enumerate() {
            if mount.name == volume_name && !mount.read_only.unwrap_or(false) {
                errors.push(FieldError::invalid(
                    location
                        .path()
                        .child("volumeMounts")
                        .index(index)
                        .child("readOnly"),
                    BadValue::bool(false),
                    "must be read-only",
                ));
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategies::test_support::{pod, policy, rendered};
    use serde_json::json;

    #[test]
    fn volume_types_map_cephfs_and_default_to_empty_dir() {
        let volume = |source: Value| -> Volume { serde_json::from_value(source).expect("volume") };
        assert_eq!(
            volume_type(&volume(json!({"name": "a", "cephfs": {"monitors": []}}))).0,
            "cephFS"
        );
        assert_eq!(volume_type(&volume(json!({"name": "a"}))).0, "emptyDir");
        assert_eq!(
            volume_type(&volume(
                json!({"name": "a", "hostPath": null, "secret": {}})
            ))
            .0,
            "secret"
        );
    }

    #[test]
    fn path_prefix_table() {
        let cases = [
            ("/foo", "/foo", true),
            ("/foo/", "/foo", true),
            ("/foo/bar", "/foo/", true),
            ("/food", "/foo", false),
            ("/anything", "/", true),
            ("/", "/", true),
            ("/fo", "/foo", false),
        ];
        for (path, prefix, expected) in cases {
            assert_eq!(has_path_prefix(path, prefix), expected, "{path} {prefix}");
        }
    }

    #[test]
    fn service_account_token_shape() {
        let token_volume = json!({"sources": [
            {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
        ]});
        assert!(is_only_service_account_token_sources(Some(&token_volume)));
        assert!(is_only_service_account_token_sources(Some(
            &json!({"sources": []})
        )));
        let cases = [
            json!({"sources": [{"serviceAccountToken": {"path": "token", "audience": "vault"}}]}),
            json!({"sources": [{"serviceAccountToken": {"path": "other"}}]}),
            json!({"sources": [{"configMap": {"name": "other"}}]}),
            json!({"sources": [{"secret": {"name": "s"}}]}),
            json!({"sources": [{}]}),
            json!({"sources": [{"downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}}]}),
        ];
        for case in cases {
            assert!(
                !is_only_service_account_token_sources(Some(&case)),
                "{case}"
            );
        }
    }

    #[test]
    fn validation_table() {
        let token = json!({"name": "kube-api-access", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}});
        let cases = [
            (
                json!({"volumes": []}),
                json!([{"name": "v", "emptyDir": {}}]),
                vec![
                    "spec.volumes[0]: Invalid value: \"emptyDir\": emptyDir volumes are not allowed to be used",
                ],
            ),
            (
                json!({"volumes": ["secret"]}),
                json!([token.clone()]),
                vec![],
            ),
            (
                json!({"volumes": ["configMap"]}),
                json!([token]),
                vec![
                    "spec.volumes[0]: Invalid value: \"projected\": projected volumes are not allowed to be used",
                ],
            ),
            (
                json!({"volumes": ["cephFS"]}),
                json!([{"name": "v", "cephfs": {}}]),
                vec![],
            ),
            (
                json!({"volumes": ["hostPath"], "allowedHostPaths": [{"pathPrefix": "/foo"}]}),
                json!([{"name": "v", "hostPath": {"path": "/food"}}]),
                vec![
                    "spec.volumes[0].hostPath.pathPrefix: Invalid value: \"/food\": is not allowed to be used",
                ],
            ),
            (
                json!({"volumes": ["*"], "allowedFlexVolumes": [{"driver": "a"}]}),
                json!([{"name": "v", "flexVolume": {"driver": "b"}}]),
                vec![
                    "spec.volumes[0].driver: Invalid value: \"b\": Flexvolume driver is not allowed to be used",
                ],
            ),
            (
                json!({"volumes": ["csi"], "allowedCSIDrivers": [{"name": "a"}]}),
                json!([{"name": "v", "csi": {"driver": "b"}}, {"name": "w", "csi": {"driver": "a"}}]),
                vec![
                    "spec.volumes[0].csi.driver: Invalid value: \"b\": Inline CSI driver is not allowed to be used",
                ],
            ),
            (
                json!({"volumes": ["flexVolume"]}),
                json!([{"name": "v", "flexVolume": {"driver": "b"}}]),
                vec![],
            ),
        ];
        for (policy_spec, volumes, expected) in cases {
            let view = pod(json!({"spec": {"volumes": volumes}}));
            assert_eq!(
                rendered(&validate(&policy(policy_spec).spec, &view)),
                expected
            );
        }
    }

    #[test]
    fn read_only_host_paths_require_read_only_mounts_everywhere() {
        let policy = policy(json!({"volumes": ["hostPath"], "allowedHostPaths": [
            {"pathPrefix": "/var", "readOnly": true}, {"pathPrefix": "/var/log", "readOnly": true}]}));
        let view = pod(json!({"spec": {
            "volumes": [{"name": "logs", "hostPath": {"path": "/var/log"}}],
            "initContainers": [{"name": "i", "volumeMounts": [{"name": "logs", "mountPath": "/l"}]}],
            "containers": [{"name": "c", "volumeMounts": [
                {"name": "other", "mountPath": "/o"},
                {"name": "logs", "mountPath": "/l", "readOnly": true},
                {"name": "logs", "mountPath": "/m", "readOnly": false}]}]
        }}));
        assert_eq!(
            rendered(&validate(&policy.spec, &view)),
            vec![
                "spec.initContainers[0].volumeMounts[0].readOnly: Invalid value: false: must be read-only",
                "spec.containers[0].volumeMounts[2].readOnly: Invalid value: false: must be read-only",
            ]
        );
        let writable_wins = crate::strategies::test_support::policy(
            json!({"volumes": ["hostPath"], "allowedHostPaths": [
            {"pathPrefix": "/var", "readOnly": true}, {"pathPrefix": "/var/log"}]}),
        );
        assert!(validate(&writable_wins.spec, &view).is_empty());
    }
}
