//! What to set to fix a failing check, said the way a person edits a manifest.

/// The fix for a check id; `None` for ids this build does not know.
pub fn fix_for(check: &str) -> Option<&'static str> {
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
            "remove hostPort from the container ports (expose the pod through a Service)"
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
            "set securityContext.seccompProfile.type: RuntimeDefault on the pod"
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
    #[test]
    fn every_check_has_a_fix() {
        for check in podsec_pss::all_checks() {
            assert!(super::fix_for(check.id).is_some(), "{}", check.id);
        }
    }
}
