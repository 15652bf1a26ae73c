//! `procMount` (baseline): containers must use the default `/proc` mask. From v1.35 pods in a
//! user namespace (`hostUsers: false`) may use any. Replaced at restricted v1.35+ by
//! `procMount_restricted`, which keeps the rule without that relaxation.

use crate::check::{Check, Forbidden, Variant};
use crate::fields::Fields;
use crate::format::{Message, Names, sorted_set};
use crate::level::Level;
use crate::pod::{PodMetadata, PodSpec};

pub static CHECK: Check = Check {
    id: "procMount",
    level: Level::Baseline,
    variants: &[Variant::new(0, v1_0), Variant::new(35, v1_35)],
    needs: Some(Fields::PROC_MOUNT),
};

/// The rule without any user-namespace relaxation (shared with `procMount_restricted`).
pub(crate) fn v1_0(_: &PodMetadata, spec: &PodSpec) -> Option<Forbidden> {
    let mut bad_containers: Names<'_> = Names::new();
    let mut values: Names<'_> = Names::new();
    for c in spec.all_containers() {
        if let Some(mount) = c
            .security_context
            .as_ref()
            .and_then(|sc| sc.proc_mount.as_deref())
            && mount != "Default"
        {
            bad_containers.push(&c.name);
            values.push(mount);
        }
    }
    if bad_containers.is_empty() {
        return None;
    }
    Some(Forbidden::new(
        "procMount",
        Message::new()
            .containers(&bad_containers)
            .text(" must not set securityContext.procMount to ")
            .quoted(&sorted_set(values))
            .finish(),
    ))
}

fn v1_35(meta: &PodMetadata, spec: &PodSpec) -> Option<Forbidden> {
    if spec.uses_user_namespace() {
        return None;
    }
    v1_0(meta, spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::{detail, pod};

    #[test]
    fn table() {
        let cases = [
            (
                r#"{"spec":{"containers":[{"name":"a","securityContext":{"procMount":"Default"}},{"name":"b"}]}}"#,
                None,
            ),
            (
                r#"{"spec":{"containers":[{"name":"a","securityContext":{"procMount":"Default"}},
                {"name":"d","securityContext":{"procMount":"Unmasked"}},
                {"name":"e","securityContext":{"procMount":"other"}}]}}"#,
                Some(
                    r#"containers "d", "e" must not set securityContext.procMount to "Unmasked", "other""#,
                ),
            ),
            (
                r#"{"spec":{"containers":[{"name":"a","securityContext":{"procMount":""}}]}}"#,
                Some(r#"container "a" must not set securityContext.procMount to """#),
            ),
        ];
        for (json, want) in cases {
            let (m, s) = pod(json);
            for f in [v1_0, v1_35] {
                assert_eq!(detail(f(&m, &s), "procMount").as_deref(), want, "{json}");
            }
        }
    }

    #[test]
    fn user_namespaces_relax_from_v1_35() {
        let (m, s) = pod(
            r#"{"spec":{"hostUsers":false,"containers":[{"name":"a","securityContext":{"procMount":"Unmasked"}}]}}"#,
        );
        assert!(v1_0(&m, &s).is_some());
        assert!(v1_35(&m, &s).is_none());
        let (m, s) = pod(
            r#"{"spec":{"hostUsers":true,"containers":[{"name":"a","securityContext":{"procMount":"Unmasked"}}]}}"#,
        );
        assert!(v1_35(&m, &s).is_some());
    }
}
