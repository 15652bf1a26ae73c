//! `hostPorts` (baseline, every version): containers must not bind host ports.

use std::collections::BTreeSet;

use crate::check::{Check, Forbidden, Variant};
use crate::fields::Fields;
use crate::format::{Message, Names};
use crate::level::Level;
use crate::pod::{PodMetadata, PodSpec};

pub static CHECK: Check = Check {
    id: "hostPorts",
    level: Level::Baseline,
    variants: &[Variant::new(0, v1_0)],
    needs: Some(Fields::PORTS),
};

fn v1_0(_: &PodMetadata, spec: &PodSpec) -> Option<Forbidden> {
    let mut bad_containers: Names<'_> = Names::new();
    // Upstream sorts the ports as strings: 443 comes before 80.
    let mut ports: BTreeSet<String> = BTreeSet::new();
    for c in spec.all_containers() {
        let mut container_bad = false;
        for port in c
            .ports
            .iter()
            .filter_map(|p| p.host_port)
            .filter(|p| *p != 0)
        {
            container_bad = true;
            ports.insert(port.to_string());
        }
        if container_bad {
            bad_containers.push(&c.name);
        }
    }
    if bad_containers.is_empty() {
        return None;
    }
    let ports: Names<'_> = ports.iter().map(String::as_str).collect();
    Some(Forbidden::new(
        "hostPort",
        Message::new()
            .containers(&bad_containers)
            .noun(" uses ", " use ", bad_containers.len())
            .noun("hostPort ", "hostPorts ", ports.len())
            .joined(ports.iter().copied(), ", ")
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
                r#"{"spec":{"containers":[{"name":"a","ports":[{"containerPort":80},{"containerPort":81,"hostPort":0}]}]}}"#,
                None,
            ),
            (
                r#"{"spec":{"containers":[{"name":"a"},{"name":"b","ports":[{"containerPort":1,"hostPort":20}]}]}}"#,
                Some(r#"container "b" uses hostPort 20"#),
            ),
            (
                r#"{"spec":{"containers":[
                {"name":"b","ports":[{"containerPort":1,"hostPort":10},{"containerPort":2,"hostPort":20}]},
                {"name":"c","ports":[{"containerPort":1,"hostPort":30},{"containerPort":1,"hostPort":10}]}]}}"#,
                Some(r#"containers "b", "c" use hostPorts 10, 20, 30"#),
            ),
            (
                r#"{"spec":{"containers":[{"name":"a","ports":[{"containerPort":1,"hostPort":80},{"containerPort":1,"hostPort":443}]}]}}"#,
                Some(r#"container "a" uses hostPorts 443, 80"#),
            ),
            (
                r#"{"spec":{"containers":[{"name":"a","ports":[{"containerPort":1,"hostPort":-1}]}]}}"#,
                Some(r#"container "a" uses hostPort -1"#),
            ),
        ];
        for (json, want) in cases {
            let (m, s) = pod(json);
            assert_eq!(detail(v1_0(&m, &s), "hostPort").as_deref(), want, "{json}");
        }
    }
}
