//! `restrictedVolumes` (restricted, every version): only ephemeral and projected-style volume
//! sources (configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim,
//! projected, secret). Replaces `hostPathVolumes`.

use crate::check::{Check, Forbidden, Variant};
use crate::fields::Fields;
use crate::format::{Message, Names, sorted_set};
use crate::level::Level;
use crate::pod::{PodMetadata, PodSpec, Volume};

pub static CHECK: Check = Check {
    id: "restrictedVolumes",
    level: Level::Restricted,
    variants: &[Variant::overriding(0, v1_0, &["hostPathVolumes"])],
    needs: Some(Fields::VOLUMES),
};

fn allowed(v: &Volume) -> bool {
    [
        &v.config_map,
        &v.csi,
        &v.downward_api,
        &v.empty_dir,
        &v.ephemeral,
        &v.image,
        &v.persistent_volume_claim,
        &v.projected,
        &v.secret,
    ]
    .iter()
    .any(|source| source.is_some())
}

/// The name of the first forbidden source, in upstream's order of precedence.
fn restricted_type(v: &Volume) -> &'static str {
    let sources = [
        (&v.host_path, "hostPath"),
        (&v.gce_persistent_disk, "gcePersistentDisk"),
        (&v.aws_elastic_block_store, "awsElasticBlockStore"),
        (&v.git_repo, "gitRepo"),
        (&v.nfs, "nfs"),
        (&v.iscsi, "iscsi"),
        (&v.glusterfs, "glusterfs"),
        (&v.rbd, "rbd"),
        (&v.flex_volume, "flexVolume"),
        (&v.cinder, "cinder"),
        (&v.cephfs, "cephfs"),
        (&v.flocker, "flocker"),
        (&v.fc, "fc"),
        (&v.azure_file, "azureFile"),
        (&v.vsphere_volume, "vsphereVolume"),
        (&v.quobyte, "quobyte"),
        (&v.azure_disk, "azureDisk"),
        (&v.photon_persistent_disk, "photonPersistentDisk"),
        (&v.portworx_volume, "portworxVolume"),
        (&v.scale_io, "scaleIO"),
        (&v.storageos, "storageos"),
    ];
    sources
        .iter()
        .find(|(source, _)| source.is_some())
        .map_or("unknown", |(_, name)| name)
}

fn v1_0(_: &PodMetadata, spec: &PodSpec) -> Option<Forbidden> {
    let mut bad_volumes: Names<'_> = Names::new();
    let mut types: Names<'_> = Names::new();
    for v in spec.volumes.iter().filter(|v| !allowed(v)) {
        bad_volumes.push(&v.name);
        types.push(restricted_type(v));
    }
    if bad_volumes.is_empty() {
        return None;
    }
    let types = sorted_set(types);
    Some(Forbidden::new(
        "restricted volume types",
        Message::new()
            .noun("volume ", "volumes ", bad_volumes.len())
            .quoted(bad_volumes.iter().copied())
            .noun(" uses ", " use ", bad_volumes.len())
            .noun(
                "restricted volume type ",
                "restricted volume types ",
                types.len(),
            )
            .quoted(types.iter().copied())
            .finish(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::{detail, pod};

    #[test]
    fn table() {
        let cases = [
            (
                r#"{"spec":{"volumes":[{"name":"a","configMap":{}},{"name":"b","csi":{}},{"name":"c","downwardAPI":{}},
                {"name":"d","emptyDir":{}},{"name":"e","ephemeral":{}},{"name":"f","image":{}},
                {"name":"g","persistentVolumeClaim":{}},{"name":"h","projected":{}},{"name":"i","secret":{}}]}}"#,
                None,
            ),
            (
                r#"{"spec":{"volumes":[{"name":"a","hostPath":{},"secret":{}}]}}"#,
                None,
            ),
            (
                r#"{"spec":{"volumes":[{"name":"volume0"}]}}"#,
                Some(r#"volume "volume0" uses restricted volume type "unknown""#),
            ),
            (
                r#"{"spec":{"volumes":[{"name":"a","nfs":{},"hostPath":{}},{"name":"b","gitRepo":{}},{"name":"c","hostPath":{}}]}}"#,
                Some(r#"volumes "a", "b", "c" use restricted volume types "gitRepo", "hostPath""#),
            ),
            (
                r#"{"spec":{"volumes":[{"name":"a","storageos":{}},{"name":"b","storageos":{}}]}}"#,
                Some(r#"volumes "a", "b" use restricted volume type "storageos""#),
            ),
        ];
        for (json, want) in cases {
            let (m, s) = pod(json);
            assert_eq!(
                detail(v1_0(&m, &s), "restricted volume types").as_deref(),
                want,
                "{json}"
            );
        }
    }

    #[test]
    fn every_forbidden_source_is_named() {
        for source in [
            "hostPath",
            "gcePersistentDisk",
            "awsElasticBlockStore",
            "gitRepo",
            "nfs",
            "iscsi",
            "glusterfs",
            "rbd",
            "flexVolume",
            "cinder",
            "cephfs",
            "flocker",
            "fc",
            "azureFile",
            "vsphereVolume",
            "quobyte",
            "azureDisk",
            "photonPersistentDisk",
            "portworxVolume",
            "scaleIO",
            "storageos",
        ] {
            let (m, s) = pod(&format!(
                r#"{{"spec":{{"volumes":[{{"name":"v","{source}":{{}}}}]}}}}"#
            ));
            let want = format!(r#"volume "v" uses restricted volume type "{source}""#);
            assert_eq!(detail(v1_0(&m, &s), "restricted volume types"), Some(want));
        }
    }
}
