//! What to set to fix a failing check, said the way a person edits a manifest.

/// Where a fix is made in the pod (or in a workload's pod template).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Place {
    /// The pod spec.
    Spec,
    /// The pod's annotations.
    Annotations,
    /// Both.
    Pod,
}

/// What to set, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Fix {
    pub text: &'static str,
    pub place: Place,
}

/// The fix for a violation of `check` whose detail is `detail`: some checks forbid annotations
/// at some versions and fields at others, or forbid a value in one place that is fine in
/// another, and the detail says which. `None` for check ids this build does not know.
pub fn fix_for(check: &str, detail: &str) -> Option<Fix> {
    // Details that name annotations start with them (`annotation … must not set AppArmor …`,
    // `forbidden annotations …`), or add them after the fields (`container "c" and annotation
    // …`); container names, which details quote, cannot hold a space.
    let place = if detail.starts_with("annotation") || detail.starts_with("forbidden annotation") {
        Place::Annotations
    } else if detail.contains(" and annotation") {
        Place::Pod
    } else {
        Place::Spec
    };
    let text = match (check, place) {
        ("appArmorProfile", Place::Annotations) => {
            "set the container.apparmor.security.beta.kubernetes.io annotations to runtime/default or localhost/<profile>, or remove them"
        }
        ("appArmorProfile", Place::Pod) => {
            "set appArmorProfile.type to RuntimeDefault or Localhost, and the AppArmor annotations to runtime/default or localhost/<profile> (or remove them)"
        }
        ("seccompProfile_baseline", Place::Annotations) => {
            "set the seccomp annotations to runtime/default, docker/default or localhost/<profile>, or remove them"
        }
        ("seccompProfile_restricted", _) if detail.contains("must not set") => {
            "set securityContext.seccompProfile.type to RuntimeDefault or Localhost where it names another type (a container without one inherits the pod's)"
        }
        _ => fix_text(check)?,
    };
    Some(Fix { text, place })
}

/// The fix for a check id, for the usual form of its violation.
fn fix_text(check: &str) -> Option<&'static str> {
    Some(match check {
        "allowPrivilegeEscalation" => {
            "set securityContext.allowPrivilegeEscalation: false in every container"
        }
        "appArmorProfile" => {
            "set appArmorProfile.type to RuntimeDefault or Localhost, or remove the AppArmor annotation"
        }
        "capabilities_baseline" => {
            "add only default capabilities (AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT)"
        }
        "capabilities_restricted" => {
            "set securityContext.capabilities.drop: [\"ALL\"] in every container and add back at most NET_BIND_SERVICE"
        }
        "hostNamespaces" => "remove hostNetwork, hostPID and hostIPC (or set them to false)",
        "hostPathVolumes" => {
            "replace hostPath volumes with emptyDir, a PersistentVolumeClaim, a ConfigMap or a Secret"
        }
        "hostPorts" => {
            "remove hostPort from the container ports (expose the pod through a Service); with hostNetwork: true every containerPort is also a host port, so remove hostNetwork too"
        }
        "hostProbesAndHostLifecycle" => {
            "remove the host field of httpGet and tcpSocket probes and lifecycle handlers"
        }
        "privileged" => "remove securityContext.privileged or set it to false",
        "procMount" | "procMount_restricted" => {
            "remove securityContext.procMount or set it to Default"
        }
        "restrictedVolumes" => {
            "use only configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim, projected and secret volumes"
        }
        "runAsNonRoot" => {
            "set securityContext.runAsNonRoot: true on the pod, and do not set it to false in a container"
        }
        "runAsUser" => "do not set runAsUser: 0; run as a non-zero UID",
        "seLinuxOptions" => {
            "leave seLinuxOptions.user and .role unset and use type container_t, container_init_t or container_kvm_t (container_engine_t from v1.31)"
        }
        "seccompProfile_baseline" => {
            "set seccompProfile.type to RuntimeDefault or Localhost (or leave it unset)"
        }
        "seccompProfile_restricted" => {
            "set securityContext.seccompProfile.type: RuntimeDefault on the pod or in every container"
        }
        "sysctls" => {
            "set only namespaced safe sysctls (kernel.shm_rmid_forced, net.ipv4.ip_local_port_range, net.ipv4.tcp_syncookies, …)"
        }
        "windowsHostProcess" => "remove windowsOptions.hostProcess or set it to false",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_check_has_a_fix() {
        for check in podsec_pss::all_checks() {
            assert!(fix_for(check.id, "").is_some(), "{}", check.id);
        }
    }

    /// The fix follows what the detail forbids: annotations are fixed in the metadata, and a
    /// container's own forbidden seccomp type is not fixed on the pod.
    #[test]
    fn fixes_follow_the_detail() {
        let annotation = fix_for(
            "seccompProfile_baseline",
            r#"forbidden annotation seccomp.security.alpha.kubernetes.io/pod="unconfined""#,
        );
        assert_eq!(annotation.map(|f| f.place), Some(Place::Annotations));
        assert!(annotation.is_some_and(|f| f.text.contains("runtime/default")));
        let field = fix_for(
            "seccompProfile_baseline",
            r#"container "c" must not set securityContext.seccompProfile.type to "Unconfined""#,
        );
        assert_eq!(field.map(|f| f.place), Some(Place::Spec));
        assert!(field.is_some_and(|f| f.text.contains("RuntimeDefault")));

        let container = fix_for(
            "seccompProfile_restricted",
            r#"container "c" must not set securityContext.seccompProfile.type to "Unconfined""#,
        );
        assert!(container.is_some_and(|f| f.text.contains("where it names another type")));
        let missing = fix_for(
            "seccompProfile_restricted",
            r#"pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost""#,
        );
        assert!(missing.is_some_and(|f| f.text.contains("on the pod")));

        let both = fix_for(
            "appArmorProfile",
            r#"container "c" must not set AppArmor profile type to "Unconfined" and annotation container.apparmor.security.beta.kubernetes.io/d="unconfined""#,
        );
        assert_eq!(both.map(|f| f.place), Some(Place::Pod));
    }
}
