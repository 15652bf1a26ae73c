//! `hostPathVolumes` (baseline, every version): no `hostPath` volumes. Replaced at restricted
//! by `restrictedVolumes`.

use crate::check::{Check, Forbidden, Variant};
use crate::fields::Fields;
use crate::format::{Message, Names};
use crate::level::Level;
use crate::pod::{PodMetadata, PodSpec};

pub static CHECK: Check = Check {
    id: "hostPathVolumes",
    level: Level::Baseline,
    variants: &[Variant::new(0, v1_0)],
    needs: Some(Fields::VOLUMES),
};

fn v1_0(_: &PodMetadata, spec: &PodSpec) -> Option<Forbidden> {
    let bad: Names<'_> = spec
        .volumes
        .iter()
        .filter(|v| v.host_path.is_some())
        .map(|v| v.name.as_str())
        .collect();
    if bad.is_empty() {
        return None;
    }
    Some(Forbidden::new(
        "hostPath volumes",
        Message::new()
            .noun("volume ", "volumes ", bad.len())
            .quoted(bad.iter().copied())
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
            (r#"{"spec":{"volumes":[{"name":"e","emptyDir":{}}]}}"#, None),
            (
                r#"{"spec":{"volumes":[{"name":"a","hostPath":{}},{"name":"e","emptyDir":{}},{"name":"a","hostPath":{"path":"/"}}]}}"#,
                Some(r#"volumes "a", "a""#),
            ),
            (
                r#"{"spec":{"volumes":[{"name":"b","hostPath":{"path":"/"}}]}}"#,
                Some(r#"volume "b""#),
            ),
        ];
        for (json, want) in cases {
            let (m, s) = pod(json);
            assert_eq!(
                detail(v1_0(&m, &s), "hostPath volumes").as_deref(),
                want,
                "{json}"
            );
        }
    }
}
