//! `windowsHostProcess` (baseline, every version): no Windows HostProcess containers.

use crate::check::{Check, Forbidden, Variant};
use crate::fields::Fields;
use crate::format::{Message, Names};
use crate::level::Level;
use crate::pod::{PodMetadata, PodSpec, WindowsOptions};

pub static CHECK: Check = Check {
    id: "windowsHostProcess",
    level: Level::Baseline,
    variants: &[Variant::new(0, v1_0)],
    needs: Some(Fields::WINDOWS_OPTIONS),
};

fn host_process(options: Option<&WindowsOptions>) -> bool {
    options.and_then(|o| o.host_process) == Some(true)
}

fn v1_0(_: &PodMetadata, spec: &PodSpec) -> Option<Forbidden> {
    let pod_bad = host_process(
        spec.security_context
            .as_ref()
            .and_then(|psc| psc.windows_options.as_ref()),
    );
    let bad: Names<'_> = spec
        .all_containers()
        .filter(|c| {
            host_process(
                c.security_context
                    .as_ref()
                    .and_then(|sc| sc.windows_options.as_ref()),
            )
        })
        .map(|c| c.name.as_str())
        .collect();
    if !pod_bad && bad.is_empty() {
        return None;
    }
    Some(Forbidden::new(
        "hostProcess",
        Message::new()
            .setters(pod_bad, &bad)
            .text(" must not set securityContext.windowsOptions.hostProcess=true")
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
                r#"{"spec":{"securityContext":{"windowsOptions":{"hostProcess":false}},"containers":[{"name":"a","securityContext":{"windowsOptions":{}}}]}}"#,
                None,
            ),
            (
                r#"{"spec":{"securityContext":{"windowsOptions":{"hostProcess":true}},
                "containers":[{"name":"e","securityContext":{"windowsOptions":{"hostProcess":true}}},{"name":"f","securityContext":{"windowsOptions":{"hostProcess":true}}}]}}"#,
                Some(
                    r#"pod and containers "e", "f" must not set securityContext.windowsOptions.hostProcess=true"#,
                ),
            ),
            (
                r#"{"spec":{"containers":[{"name":"e","securityContext":{"windowsOptions":{"hostProcess":true}}}]}}"#,
                Some(
                    r#"container "e" must not set securityContext.windowsOptions.hostProcess=true"#,
                ),
            ),
        ];
        for (json, want) in cases {
            let (m, s) = pod(json);
            assert_eq!(
                detail(v1_0(&m, &s), "hostProcess").as_deref(),
                want,
                "{json}"
            );
        }
    }
}
