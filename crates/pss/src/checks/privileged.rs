//! `privileged` (baseline, every version): no privileged containers.

use crate::check::{Check, Forbidden, Variant};
use crate::fields::Fields;
use crate::format::{Message, Names};
use crate::level::Level;
use crate::pod::{PodMetadata, PodSpec};

pub static CHECK: Check = Check {
    id: "privileged",
    level: Level::Baseline,
    variants: &[Variant::new(0, v1_0)],
    needs: Some(Fields::PRIVILEGED),
};

fn v1_0(_: &PodMetadata, spec: &PodSpec) -> Option<Forbidden> {
    let bad: Names<'_> = spec
        .all_containers()
        .filter(|c| c.security_context.as_ref().and_then(|sc| sc.privileged) == Some(true))
        .map(|c| c.name.as_str())
        .collect();
    if bad.is_empty() {
        return None;
    }
    Some(Forbidden::new(
        "privileged",
        Message::new()
            .containers(&bad)
            .text(" must not set securityContext.privileged=true")
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
                r#"{"spec":{"containers":[{"name":"a","securityContext":{"privileged":false}},{"name":"b"}]}}"#,
                None,
            ),
            (
                r#"{"spec":{"containers":[{"name":"a","securityContext":{"privileged":true}}],
                "ephemeralContainers":[{"name":"e","securityContext":{"privileged":true}}]}}"#,
                Some(r#"containers "a", "e" must not set securityContext.privileged=true"#),
            ),
        ];
        for (json, want) in cases {
            let (m, s) = pod(json);
            assert_eq!(
                detail(v1_0(&m, &s), "privileged").as_deref(),
                want,
                "{json}"
            );
        }
    }
}
