//! Which optional parts of a pod are set, found in one pass, so that the evaluator can pass over
//! the checks that cannot forbid the pod.
//!
//! Most checks forbid only something a pod sets: a privileged container, a host port, an
//! SELinux type. Each of those declares, in [`Check::needs`](crate::check::Check::needs), the
//! fields it looks at; when a pod sets none of them, the check allows it without being run.
//! Checks that forbid by omission (`runAsNonRoot`, `allowPrivilegeEscalation`, …) declare
//! nothing and always run. The property tests hold every check to its declaration.

use std::fmt;
use std::ops::BitOr;

use crate::pod::{Container, PodMetadata, PodSpec};

/// A set of pod fields, each meaning "set somewhere in the pod" (on the pod or on any init,
/// regular or ephemeral container; `null` and empty lists count as unset, as when decoded).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Fields(u32);

/// Declares the field constants, one bit each, and their names for `Debug`, from one list, so
/// that the two cannot drift apart; two fields given the same bit fail to compile.
macro_rules! fields {
    ($($(#[$doc:meta])* $name:ident = $bit:literal,)*) => {
        impl Fields {
            $($(#[$doc])* pub const $name: Fields = Fields(1 << $bit);)*

            const NAMES: &[(Fields, &'static str)] = &[$((Fields::$name, stringify!($name)),)*];
        }

        const _: () = {
            let mut all = 0u32;
            $(
                assert!(all & (1 << $bit) == 0, concat!(stringify!($name), " shares its bit"));
                all |= 1 << $bit;
            )*
        };
    };
}

fields! {
    /// `metadata.annotations` (any key).
    ANNOTATIONS = 0,
    /// `spec.hostNetwork`, `spec.hostPID` or `spec.hostIPC`.
    HOST_NAMESPACES = 1,
    /// `spec.volumes`.
    VOLUMES = 2,
    /// A container's `ports`.
    PORTS = 3,
    /// A container's probes or `lifecycle`.
    PROBES_AND_LIFECYCLE = 4,
    /// A container's `securityContext.privileged`.
    PRIVILEGED = 5,
    /// A container's `securityContext.capabilities`.
    CAPABILITIES = 6,
    /// A container's `securityContext.procMount`.
    PROC_MOUNT = 7,
    /// `seLinuxOptions` of the pod or a container.
    SE_LINUX_OPTIONS = 8,
    /// `seccompProfile` of the pod or a container.
    SECCOMP_PROFILE = 9,
    /// `appArmorProfile` of the pod or a container.
    APP_ARMOR_PROFILE = 10,
    /// `spec.securityContext.sysctls`.
    SYSCTLS = 11,
    /// `windowsOptions` of the pod or a container.
    WINDOWS_OPTIONS = 12,
    /// `runAsUser` of the pod or a container.
    RUN_AS_USER = 13,
}

impl Fields {
    /// Nothing.
    pub const NONE: Fields = Fields(0);

    /// Both sets (usable in a `static`, unlike `|`).
    pub const fn union(self, other: Fields) -> Fields {
        Fields(self.0 | other.0)
    }

    /// True when the sets share a field.
    pub const fn intersects(self, other: Fields) -> bool {
        self.0 & other.0 != 0
    }

    /// `field` when `present`, else nothing.
    const fn when(present: bool, field: Fields) -> Fields {
        if present { field } else { Fields::NONE }
    }

    /// The fields a pod sets, in one pass over its containers.
    pub fn set_in(metadata: &PodMetadata, spec: &PodSpec) -> Fields {
        let mut set = Fields::when(!metadata.annotations.is_empty(), Fields::ANNOTATIONS)
            | Fields::when(
                spec.host_network.is_some() || spec.host_pid.is_some() || spec.host_ipc.is_some(),
                Fields::HOST_NAMESPACES,
            )
            | Fields::when(!spec.volumes.is_empty(), Fields::VOLUMES);
        if let Some(psc) = &spec.security_context {
            set = set
                | Fields::when(psc.se_linux_options.is_some(), Fields::SE_LINUX_OPTIONS)
                | Fields::when(psc.seccomp_profile.is_some(), Fields::SECCOMP_PROFILE)
                | Fields::when(psc.app_armor_profile.is_some(), Fields::APP_ARMOR_PROFILE)
                | Fields::when(!psc.sysctls.is_empty(), Fields::SYSCTLS)
                | Fields::when(psc.windows_options.is_some(), Fields::WINDOWS_OPTIONS)
                | Fields::when(psc.run_as_user.is_some(), Fields::RUN_AS_USER);
        }
        let containers = [
            &spec.init_containers,
            &spec.containers,
            &spec.ephemeral_containers,
        ];
        containers
            .into_iter()
            .flatten()
            .fold(set, |set, container| {
                set | Fields::set_in_container(container)
            })
    }

    fn set_in_container(c: &Container) -> Fields {
        let handlers = c.liveness_probe.is_some()
            || c.readiness_probe.is_some()
            || c.startup_probe.is_some()
            || c.lifecycle.is_some();
        let set = Fields::when(!c.ports.is_empty(), Fields::PORTS)
            | Fields::when(handlers, Fields::PROBES_AND_LIFECYCLE);
        let Some(sc) = &c.security_context else {
            return set;
        };
        set | Fields::when(sc.privileged.is_some(), Fields::PRIVILEGED)
            | Fields::when(sc.capabilities.is_some(), Fields::CAPABILITIES)
            | Fields::when(sc.proc_mount.is_some(), Fields::PROC_MOUNT)
            | Fields::when(sc.se_linux_options.is_some(), Fields::SE_LINUX_OPTIONS)
            | Fields::when(sc.seccomp_profile.is_some(), Fields::SECCOMP_PROFILE)
            | Fields::when(sc.app_armor_profile.is_some(), Fields::APP_ARMOR_PROFILE)
            | Fields::when(sc.windows_options.is_some(), Fields::WINDOWS_OPTIONS)
            | Fields::when(sc.run_as_user.is_some(), Fields::RUN_AS_USER)
    }
}

impl BitOr for Fields {
    type Output = Fields;

    fn bitor(self, other: Fields) -> Fields {
        self.union(other)
    }
}

impl fmt::Debug for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("NONE");
        }
        let names = Fields::NAMES
            .iter()
            .filter(|(field, _)| self.intersects(*field))
            .map(|(_, name)| *name);
        f.write_str(&names.collect::<Vec<_>>().join(" | "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::pod;

    #[test]
    fn finds_each_field_wherever_it_is_set() {
        let cases = [
            (r#"{"spec":{"containers":[{"name":"c"}]}}"#, Fields::NONE),
            (
                r#"{"metadata":{"annotations":{"a":"b"}},"spec":{"hostPID":false}}"#,
                Fields::ANNOTATIONS | Fields::HOST_NAMESPACES,
            ),
            (
                r#"{"spec":{"volumes":[{"name":"v"}],"securityContext":{"sysctls":[{"name":"a"}],"runAsUser":0}}}"#,
                Fields::VOLUMES | Fields::SYSCTLS | Fields::RUN_AS_USER,
            ),
            (
                r#"{"spec":{"securityContext":{"sysctls":[],"seLinuxOptions":{},"seccompProfile":{},"appArmorProfile":{},"windowsOptions":{}}}}"#,
                Fields::SE_LINUX_OPTIONS
                    | Fields::SECCOMP_PROFILE
                    | Fields::APP_ARMOR_PROFILE
                    | Fields::WINDOWS_OPTIONS,
            ),
            (
                r#"{"spec":{"ephemeralContainers":[{"name":"e","securityContext":{"privileged":false,"capabilities":{},"procMount":"Default"}}]}}"#,
                Fields::PRIVILEGED | Fields::CAPABILITIES | Fields::PROC_MOUNT,
            ),
            (
                r#"{"spec":{"initContainers":[{"name":"i","ports":[{"containerPort":1}],"lifecycle":{}}],
                    "containers":[{"name":"c","securityContext":{"seccompProfile":{},"runAsUser":1}}]}}"#,
                Fields::PORTS
                    | Fields::PROBES_AND_LIFECYCLE
                    | Fields::SECCOMP_PROFILE
                    | Fields::RUN_AS_USER,
            ),
            (
                r#"{"spec":{"containers":[{"name":"c","startupProbe":{},"securityContext":{"seLinuxOptions":{},"appArmorProfile":{},"windowsOptions":{}}}]}}"#,
                Fields::PROBES_AND_LIFECYCLE
                    | Fields::SE_LINUX_OPTIONS
                    | Fields::APP_ARMOR_PROFILE
                    | Fields::WINDOWS_OPTIONS,
            ),
        ];
        for (json, want) in cases {
            let (meta, spec) = pod(json);
            assert_eq!(Fields::set_in(&meta, &spec), want, "{json}");
        }
    }

    #[test]
    fn debug_names_the_fields() {
        assert_eq!(
            format!("{:?}", Fields::PORTS | Fields::RUN_AS_USER),
            "PORTS | RUN_AS_USER"
        );
        assert_eq!(format!("{:?}", Fields::NONE), "NONE");
    }
}
