//! Invariants of the evaluator over generated pods.

use podsec_pss::fields::Fields;
use podsec_pss::pod::{PodMetadata, PodSpec};
use podsec_pss::{Level, LevelVersion, MAX_KNOWN_MINOR, Version, all_checks, evaluate};
use proptest::prelude::*;
use serde_json::{Value, json};

fn maybe<T: Into<Value> + Clone + std::fmt::Debug + 'static>(
    values: Vec<T>,
) -> impl Strategy<Value = Option<Value>> {
    proptest::option::of(proptest::sample::select(values).prop_map(Into::into))
}

fn security_context() -> impl Strategy<Value = Value> {
    (
        maybe(vec![true, false]),
        maybe(vec![true, false]),
        maybe(vec![true, false]),
        maybe(vec![0, 1000]),
        proptest::option::of((
            proptest::collection::vec(
                proptest::sample::select(vec!["ALL", "NET_BIND_SERVICE", "CHOWN", "SYS_ADMIN"]),
                0..3,
            ),
            proptest::collection::vec(proptest::sample::select(vec!["ALL", "NET_RAW"]), 0..2),
        )),
        maybe(vec!["RuntimeDefault", "Localhost", "Unconfined", ""]),
        maybe(vec!["Default", "Unmasked"]),
        maybe(vec!["container_t", "spc_t", "container_engine_t"]),
        maybe(vec![true, false]),
    )
        .prop_map(
            |(
                privileged,
                ape,
                non_root,
                user,
                caps,
                seccomp,
                proc_mount,
                selinux,
                host_process,
            )| {
                let mut sc = serde_json::Map::new();
                let mut put = |k: &str, v: Option<Value>| {
                    if let Some(v) = v {
                        sc.insert(k.into(), v);
                    }
                };
                put("privileged", privileged);
                put("allowPrivilegeEscalation", ape);
                put("runAsNonRoot", non_root);
                put("runAsUser", user);
                put(
                    "capabilities",
                    caps.map(|(add, drop)| json!({"add": add, "drop": drop})),
                );
                put("seccompProfile", seccomp.map(|t| json!({"type": t})));
                put("procMount", proc_mount);
                put("seLinuxOptions", selinux.map(|t| json!({"type": t})));
                put(
                    "windowsOptions",
                    host_process.map(|h| json!({"hostProcess": h})),
                );
                Value::Object(sc)
            },
        )
}

fn container(name: &'static str) -> impl Strategy<Value = Value> {
    (
        proptest::option::of(security_context()),
        maybe(vec![0, 80, 8080]),
        maybe(vec!["", "localhost"]),
    )
        .prop_map(move |(sc, host_port, probe_host)| {
            let mut c = json!({"name": name, "image": "img"});
            if let Some(sc) = sc {
                c["securityContext"] = sc;
            }
            if let Some(p) = host_port {
                c["ports"] = json!([{"containerPort": 80, "hostPort": p}]);
            }
            if let Some(h) = probe_host {
                c["livenessProbe"] = json!({"httpGet": {"host": h, "port": 80}});
            }
            c
        })
}

fn pod() -> impl Strategy<Value = (PodMetadata, PodSpec)> {
    (
        proptest::option::of(security_context()),
        proptest::collection::vec(container("c"), 0..3),
        proptest::collection::vec(container("i"), 0..2),
        maybe(vec![true, false]),
        maybe(vec![true, false]),
        maybe(vec!["linux", "windows"]),
        proptest::collection::vec(
            proptest::sample::select(vec!["emptyDir", "hostPath", "nfs", "secret"]),
            0..3,
        ),
        proptest::collection::vec(
            proptest::sample::select(vec![
                "kernel.shm_rmid_forced",
                "net.ipv4.tcp_rmem",
                "kernel.msgmax",
            ]),
            0..2,
        ),
        maybe(vec!["unconfined", "runtime/default"]),
    )
        .prop_map(
            |(psc, containers, init, host_network, host_users, os, volumes, sysctls, apparmor)| {
                let mut spec = json!({"containers": containers, "initContainers": init});
                if let Some(mut psc) = psc {
                    if let Some(m) = psc.as_object_mut() {
                        m.remove("privileged");
                        m.remove("allowPrivilegeEscalation");
                        m.remove("capabilities");
                        m.remove("procMount");
                        m.insert(
                            "sysctls".into(),
                            json!(
                                sysctls
                                    .iter()
                                    .map(|n| json!({"name": n, "value": "1"}))
                                    .collect::<Vec<_>>()
                            ),
                        );
                    }
                    spec["securityContext"] = psc;
                }
                if let Some(h) = host_network {
                    spec["hostNetwork"] = h;
                }
                if let Some(h) = host_users {
                    spec["hostUsers"] = h;
                }
                if let Some(os) = os {
                    spec["os"] = json!({"name": os});
                }
                spec["volumes"] = json!(
                    volumes
                        .iter()
                        .enumerate()
                        .map(|(i, v)| json!({"name": format!("v{i}"), *v: {}}))
                        .collect::<Vec<_>>()
                );
                let mut meta = json!({"name": "p"});
                if let Some(a) = apparmor {
                    meta["annotations"] =
                        json!({"container.apparmor.security.beta.kubernetes.io/c": a});
                }
                let metadata: PodMetadata =
                    serde_json::from_value(meta).expect("generated metadata");
                let spec: PodSpec = serde_json::from_value(spec).expect("generated spec");
                (metadata, spec)
            },
        )
}

/// Every check that declares the fields it needs allows, at every version, a pod that sets none
/// of them: the evaluator passes over such checks without running them.
fn checks_keep_to_their_needs(meta: &PodMetadata, spec: &PodSpec) -> Result<(), TestCaseError> {
    let set = Fields::set_in(meta, spec);
    for check in all_checks() {
        let Some(needs) = check.needs else { continue };
        if needs.intersects(set) {
            continue;
        }
        for variant in check.variants {
            let forbidden = (variant.check)(meta, spec);
            prop_assert!(
                forbidden.is_none(),
                "{} (v1.{}) forbids a pod that sets none of {:?} (it sets {:?}): {:?}",
                check.id,
                variant.min_minor,
                needs,
                set,
                forbidden
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn checks_forbid_only_pods_that_set_what_they_need((meta, spec) in pod()) {
        checks_keep_to_their_needs(&meta, &spec)?;
    }

    #[test]
    fn restricted_implies_baseline((meta, spec) in pod(), minor in 0..=MAX_KNOWN_MINOR) {
        let version = Version::Minor(u64::from(minor));
        let restricted = evaluate(LevelVersion::new(Level::Restricted, version), &meta, &spec);
        let baseline = evaluate(LevelVersion::new(Level::Baseline, version), &meta, &spec);
        // Upstream exempts Windows pods from three restricted checks from v1.25 while those
        // checks still replace their baseline counterparts, so a Windows pod with, say, an
        // Unconfined seccomp profile passes restricted and fails baseline. Upstream wins; the
        // invariant holds for every other pod.
        let windows_exception = spec.is_windows() && minor >= 25;
        prop_assert!(windows_exception || !restricted.allowed() || baseline.allowed(),
            "restricted allowed but baseline denied: {}", baseline.forbidden_detail());
        prop_assert!(evaluate(LevelVersion::new(Level::Privileged, version), &meta, &spec).allowed());
    }

    #[test]
    fn latest_and_future_versions_use_the_newest_rules((meta, spec) in pod(), level in proptest::sample::select(Level::ALL.to_vec())) {
        let newest = evaluate(LevelVersion::new(level, Version::Minor(u64::from(MAX_KNOWN_MINOR))), &meta, &spec);
        for v in [Version::Latest, Version::Minor(99), Version::Minor(10_000)] {
            prop_assert_eq!(&evaluate(LevelVersion::new(level, v), &meta, &spec), &newest);
        }
    }
}

proptest! {
    #[test]
    fn evaluation_never_panics_on_arbitrary_json(value in arbitrary_json()) {
        // Whatever decodes is a pod the evaluator must cope with.
        if let Ok(spec) = serde_json::from_value::<PodSpec>(value) {
            checks_keep_to_their_needs(&PodMetadata::default(), &spec)?;
            for level in Level::ALL {
                for minor in [0, 8, 19, 22, 25, 35, 37] {
                    let _ = evaluate(LevelVersion::new(level, Version::Minor(minor)), &PodMetadata::default(), &spec);
                }
            }
        }
    }
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let keys = proptest::sample::select(vec![
        "containers",
        "initContainers",
        "ephemeralContainers",
        "securityContext",
        "name",
        "capabilities",
        "add",
        "drop",
        "volumes",
        "hostPath",
        "ports",
        "hostPort",
        "sysctls",
        "seccompProfile",
        "type",
        "os",
        "hostUsers",
        "livenessProbe",
        "httpGet",
        "host",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        "[a-zA-Z_\"\\\\ ]{0,6}".prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map(keys.clone().prop_map(String::from), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[test]
fn windows_pods_can_pass_restricted_yet_fail_baseline_as_upstream() {
    let spec: PodSpec = serde_json::from_value(json!({
        "os": {"name": "windows"},
        "securityContext": {"runAsNonRoot": true},
        "containers": [{"name": "c", "securityContext": {"seccompProfile": {"type": "Unconfined"}}}]
    }))
    .expect("pod");
    let meta = PodMetadata::default();
    let at = |level| LevelVersion::new(level, Version::Minor(25));
    assert!(evaluate(at(Level::Restricted), &meta, &spec).allowed());
    assert!(!evaluate(at(Level::Baseline), &meta, &spec).allowed());
}
