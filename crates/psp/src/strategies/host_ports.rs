//! Host ports (per container, validation only): every `hostPort > 0` must fall in one of the
//! policy's inclusive ranges. The error path is the container's `hostPort` (no `ports[j]`).
//!
//! The API server's v1 defaulting copies `containerPort` into an unset `hostPort` for pods with
//! `hostNetwork: true` (regular and init containers); a webhook sees defaulted pods, and documents
//! read directly get the same treatment here so the verdict matches a real cluster.

use crate::field_error::{BadValue, FieldError};
use crate::pod::{Container, ContainerKind, ContainerLocation};
use crate::types::HostPortRange;

fn render_ranges(ranges: &[HostPortRange]) -> String {
    let rendered: Vec<String> = ranges
        .iter()
        .map(|range| {
            if range.min == range.max {
                range.min.to_string()
            } else {
                format!("{}-{}", range.min, range.max)
            }
        })
        .collect();
    rendered.join(",")
}

pub fn validate(
    ranges: &[HostPortRange],
    location: ContainerLocation,
    container: &Container,
    host_network: bool,
) -> Vec<FieldError> {
    let defaults_host_port = host_network && location.kind != ContainerKind::Ephemeral;
    let mut errors = Vec::new();
    for port in container.ports.iter().flatten() {
        let host_port = match port.host_port {
            Some(host_port) if host_port != 0 => host_port,
            _ if defaults_host_port => port.container_port,
            _ => 0,
        };
        if host_port > 0
            && !ranges
                .iter()
                .any(|range| range.min <= host_port && host_port <= range.max)
        {
            errors.push(FieldError::invalid(
                location.path().child("hostPort"),
                BadValue::int(i64::from(host_port)),
                format!(
                    "Host port {host_port} is not allowed to be used. Allowed ports: [{}]",
                    render_ranges(ranges)
                ),
            ));
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategies::test_support::{pod, rendered};
    use serde_json::json;

    #[test]
    fn validation_table() {
        let location = ContainerLocation {
            kind: ContainerKind::Regular,
            index: 1,
        };
        let ranges = [
            HostPortRange { min: 1, max: 10 },
            HostPortRange { min: 80, max: 80 },
        ];
        let cases = [
            (&ranges[..], json!([{"containerPort": 8080}]), false, vec![]),
            (
                &ranges[..],
                json!([{"containerPort": 80, "hostPort": 80}, {"containerPort": 5, "hostPort": 5}]),
                false,
                vec![],
            ),
            (
                &ranges[..],
                json!([{"containerPort": 1, "hostPort": 11}]),
                false,
                vec![
                    "spec.containers[1].hostPort: Invalid value: 11: Host port 11 is not allowed to be used. Allowed ports: [1-10,80]",
                ],
            ),
            (
                &[][..],
                json!([{"containerPort": 443, "hostPort": 443}]),
                false,
                vec![
                    "spec.containers[1].hostPort: Invalid value: 443: Host port 443 is not allowed to be used. Allowed ports: []",
                ],
            ),
            (
                &ranges[..],
                json!([{"containerPort": 8080}]),
                true,
                vec![
                    "spec.containers[1].hostPort: Invalid value: 8080: Host port 8080 is not allowed to be used. Allowed ports: [1-10,80]",
                ],
            ),
        ];
        for (ranges, ports, host_network, expected) in cases {
            let view = pod(
                json!({"spec": {"containers": [{"name": "a"}, {"name": "b", "ports": ports}]}}),
            );
            let container = view.spec.container(location).expect("container");
            assert_eq!(
                rendered(&validate(ranges, location, container, host_network)),
                expected
            );
        }
    }
}
