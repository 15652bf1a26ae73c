//! `hostProbesAndHostLifecycle` (baseline, v1.34+): probes and lifecycle handlers must not
//! target another host (`httpGet.host`, `tcpSocket.host`). Unlike every other check, container
//! names are reported as a sorted set.

use crate::check::{Check, Forbidden, Variant};
use crate::fields::Fields;
use crate::format::{Message, Names, sorted_set};
use crate::level::Level;
use crate::pod::{Container, Handler, PodMetadata, PodSpec};

pub static CHECK: Check = Check {
    id: "hostProbesAndHostLifecycle",
    level: Level::Baseline,
    variants: &[Variant::new(34, v1_34)],
    needs: Some(Fields::PROBES_AND_LIFECYCLE),
};

fn handlers(c: &Container) -> impl Iterator<Item = &Handler> {
    let lifecycle = c.lifecycle.as_deref();
    [
        c.liveness_probe.as_deref(),
        c.readiness_probe.as_deref(),
        c.startup_probe.as_deref(),
        lifecycle.and_then(|l| l.post_start.as_ref()),
        lifecycle.and_then(|l| l.pre_stop.as_ref()),
    ]
    .into_iter()
    .flatten()
}

fn v1_34(_: &PodMetadata, spec: &PodSpec) -> Option<Forbidden> {
    let mut bad_containers: Names<'_> = Names::new();
    let mut hosts: Names<'_> = Names::new();
    for c in spec.all_containers() {
        for h in handlers(c) {
            let actions = [h.http_get.as_ref(), h.tcp_socket.as_ref()];
            for host in actions
                .into_iter()
                .flatten()
                .filter_map(|a| a.host.as_deref())
            {
                if !host.is_empty() {
                    bad_containers.push(&c.name);
                    hosts.push(host);
                }
            }
        }
    }
    if bad_containers.is_empty() {
        return None;
    }
    // Unlike every other check, the container names are a sorted set too.
    let bad_containers = sorted_set(bad_containers);
    let hosts = sorted_set(hosts);
    Some(Forbidden::new(
        "probe or lifecycle host",
        Message::new()
            .containers(&bad_containers)
            .noun(" uses ", " use ", bad_containers.len())
            .noun(
                "probe or lifecycle host ",
                "probe or lifecycle hosts ",
                hosts.len(),
            )
            .quoted(&hosts)
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
                r#"{"spec":{"containers":[{"name":"a","livenessProbe":{"httpGet":{"host":""},"tcpSocket":{}},"lifecycle":{"preStop":{"exec":{}}}}]}}"#,
                None,
            ),
            (
                r#"{"spec":{"containers":[{"name":"a",
                "livenessProbe":{"httpGet":{"host":"localhost"}},
                "readinessProbe":{"tcpSocket":{"host":"127.0.0.1"}},
                "startupProbe":{"httpGet":{"host":"::1"}}}]}}"#,
                Some(
                    r#"container "a" uses probe or lifecycle hosts "127.0.0.1", "::1", "localhost""#,
                ),
            ),
            (
                r#"{"spec":{"containers":[
                {"name":"invalid2","lifecycle":{"postStart":{"httpGet":{"host":"b.com"}}}},
                {"name":"invalid1","lifecycle":{"preStop":{"tcpSocket":{"host":"a.com"}}}},
                {"name":"invalid1","livenessProbe":{"tcpSocket":{"host":"a.com"}}}]}}"#,
                Some(
                    r#"containers "invalid1", "invalid2" use probe or lifecycle hosts "a.com", "b.com""#,
                ),
            ),
            (
                r#"{"spec":{"initContainers":[{"name":"i","startupProbe":{"httpGet":{"host":"x"}}}]}}"#,
                Some(r#"container "i" uses probe or lifecycle host "x""#),
            ),
        ];
        for (json, want) in cases {
            let (m, s) = pod(json);
            assert_eq!(
                detail(v1_34(&m, &s), "probe or lifecycle host").as_deref(),
                want,
                "{json}"
            );
        }
    }
}
