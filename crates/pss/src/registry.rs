//! The registry of all checks and the evaluator built from it.
//!
//! For every level and every known minor version the registry precomputes, once, the ordered
//! list of check variants in force: baseline ids sorted byte-wise, then restricted ids sorted
//! byte-wise, minus the baseline checks a restricted variant overrides at that version.
//!
//! Evaluating a pod first finds which of the optional fields the checks look at it sets
//! ([`Fields::set_in`]), in one pass, and runs only the checks that could forbid it: those that
//! forbid by omission, and those whose [`needs`](Check::needs) the pod sets.

use std::sync::OnceLock;

use crate::check::{Check, CheckFn};
use crate::checks;
use crate::fields::Fields;
use crate::level::{Level, LevelVersion, MAX_KNOWN_MINOR, Version};
use crate::pod::{PodMetadata, PodSpec};
use crate::result::{Evaluation, Violation};

/// Every check, in any order (the registry sorts them).
pub fn all_checks() -> &'static [Check] {
    checks::ALL
}

/// A check in force: its id, the variant's rule, and what the pod must set for it to run.
#[derive(Clone, Copy)]
struct Active {
    id: &'static str,
    check: CheckFn,
    needs: Option<Fields>,
}

impl Active {
    /// False when the pod sets none of the fields the check needs to forbid it.
    fn may_forbid(&self, set: Fields) -> bool {
        self.needs.is_none_or(|needs| needs.intersects(set))
    }
}

type ActiveList = Vec<Active>;

struct Tables {
    /// Indexed by minor; baseline and restricted rule sets.
    baseline: Vec<ActiveList>,
    restricted: Vec<ActiveList>,
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut sorted: Vec<&Check> = all_checks().iter().collect();
        sorted.sort_by(|a, b| a.level.cmp(&b.level).then(a.id.cmp(b.id)));
        let build = |level: Level, minor: u32| -> ActiveList {
            let in_force: Vec<_> = sorted
                .iter()
                .filter(|c| c.level <= level)
                .filter_map(|c| c.variant_at(minor).map(|v| (c, v)))
                .collect();
            in_force
                .iter()
                .filter(|(c, _)| {
                    level != Level::Restricted
                        || !in_force.iter().any(|(_, v)| v.overrides.contains(&c.id))
                })
                .map(|(c, v)| Active {
                    id: c.id,
                    check: v.check,
                    needs: c.needs,
                })
                .collect()
        };
        Tables {
            baseline: (0..=MAX_KNOWN_MINOR)
                .map(|m| build(Level::Baseline, m))
                .collect(),
            restricted: (0..=MAX_KNOWN_MINOR)
                .map(|m| build(Level::Restricted, m))
                .collect(),
        }
    })
}

/// The ids of the checks in force for a level and version, in evaluation order.
pub fn active_check_ids(policy: LevelVersion) -> Vec<&'static str> {
    active(policy, MAX_KNOWN_MINOR)
        .iter()
        .map(|active| active.id)
        .collect()
}

fn active(policy: LevelVersion, max_minor: u32) -> &'static [Active] {
    let minor = policy.version.effective_minor().min(max_minor) as usize;
    match policy.level {
        Level::Privileged => &[],
        Level::Baseline => &tables().baseline[minor],
        Level::Restricted => &tables().restricted[minor],
    }
}

/// Evaluates pods against levels and versions. `Evaluator::default()` uses the newest rules for
/// `latest`; an emulated Kubernetes version lowers that ceiling, as the API server's built-in
/// plugin does.
#[derive(Debug, Clone, Copy)]
pub struct Evaluator {
    max_minor: u32,
}

impl Default for Evaluator {
    fn default() -> Self {
        Evaluator {
            max_minor: MAX_KNOWN_MINOR,
        }
    }
}

impl Evaluator {
    /// An evaluator that emulates Kubernetes `emulation`: `latest` and every newer version use
    /// that version's rules. `latest` (or a version newer than the newest known) changes nothing.
    pub fn emulating(emulation: Version) -> Self {
        Evaluator {
            max_minor: emulation.effective_minor(),
        }
    }

    /// Runs the checks in force for `policy` and collects the violations in evaluation order.
    pub fn evaluate(
        &self,
        policy: LevelVersion,
        metadata: &PodMetadata,
        spec: &PodSpec,
    ) -> Evaluation {
        let checks = active(policy, self.max_minor);
        if checks.is_empty() {
            return Evaluation::default();
        }
        let set = Fields::set_in(metadata, spec);
        let mut violations = Vec::new();
        for active in checks.iter().filter(|active| active.may_forbid(set)) {
            if let Some(forbidden) = (active.check)(metadata, spec) {
                if violations.capacity() == 0 {
                    // Room for every check at the first violation: a pod that fails one check
                    // usually fails several, and growing the list would move them all.
                    violations.reserve_exact(checks.len());
                }
                violations.push(Violation::new(active.id, forbidden));
            }
        }
        Evaluation { violations }
    }
}

/// Evaluates with the default evaluator (newest rules for `latest`).
pub fn evaluate(policy: LevelVersion, metadata: &PodMetadata, spec: &PodSpec) -> Evaluation {
    Evaluator::default().evaluate(policy, metadata, spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(level: Level, minor: u64) -> Vec<&'static str> {
        active_check_ids(LevelVersion::new(level, Version::Minor(minor)))
    }

    #[test]
    fn registry_is_well_formed() {
        let checks = all_checks();
        assert_eq!(checks.len(), 19);
        for (i, c) in checks.iter().enumerate() {
            assert!(
                checks[..i].iter().all(|o| o.id != c.id),
                "duplicate {}",
                c.id
            );
            assert!(c.level != Level::Privileged);
            assert!(!c.variants.is_empty());
            assert!(
                c.variants
                    .windows(2)
                    .all(|w| w[0].min_minor < w[1].min_minor)
            );
            for v in c.variants {
                assert!(v.overrides.is_empty() || c.level == Level::Restricted);
                for o in v.overrides {
                    let other = checks.iter().find(|x| x.id == *o).expect("override target");
                    assert_eq!(other.level, Level::Baseline, "{} overrides {o}", c.id);
                }
            }
        }
        let newest = checks
            .iter()
            .flat_map(|c| c.variants.iter().map(|v| v.min_minor))
            .max();
        assert_eq!(newest, Some(MAX_KNOWN_MINOR));
    }

    #[test]
    fn baseline_order_matches_upstream() {
        let v0 = [
            "appArmorProfile",
            "capabilities_baseline",
            "hostNamespaces",
            "hostPathVolumes",
            "hostPorts",
            "privileged",
            "procMount",
            "seLinuxOptions",
            "seccompProfile_baseline",
            "sysctls",
            "windowsHostProcess",
        ];
        assert_eq!(ids(Level::Baseline, 0), v0);
        assert_eq!(ids(Level::Baseline, 33), v0);
        let v34 = [
            "appArmorProfile",
            "capabilities_baseline",
            "hostNamespaces",
            "hostPathVolumes",
            "hostPorts",
            "hostProbesAndHostLifecycle",
            "privileged",
            "procMount",
            "seLinuxOptions",
            "seccompProfile_baseline",
            "sysctls",
            "windowsHostProcess",
        ];
        assert_eq!(ids(Level::Baseline, 34), v34);
        assert_eq!(ids(Level::Baseline, 37), v34);
        assert!(ids(Level::Privileged, 37).is_empty());
    }

    #[test]
    fn restricted_order_and_overrides_match_upstream() {
        assert_eq!(
            ids(Level::Restricted, 0),
            [
                "appArmorProfile",
                "capabilities_baseline",
                "hostNamespaces",
                "hostPorts",
                "privileged",
                "procMount",
                "seLinuxOptions",
                "seccompProfile_baseline",
                "sysctls",
                "windowsHostProcess",
                "restrictedVolumes",
                "runAsNonRoot",
            ]
        );
        assert_eq!(ids(Level::Restricted, 8)[10], "allowPrivilegeEscalation");
        assert_eq!(
            ids(Level::Restricted, 19),
            [
                "appArmorProfile",
                "capabilities_baseline",
                "hostNamespaces",
                "hostPorts",
                "privileged",
                "procMount",
                "seLinuxOptions",
                "sysctls",
                "windowsHostProcess",
                "allowPrivilegeEscalation",
                "restrictedVolumes",
                "runAsNonRoot",
                "seccompProfile_restricted",
            ]
        );
        assert!(!ids(Level::Restricted, 22).contains(&"capabilities_baseline"));
        assert!(!ids(Level::Restricted, 22).contains(&"runAsUser"));
        let v35 = [
            "appArmorProfile",
            "hostNamespaces",
            "hostPorts",
            "hostProbesAndHostLifecycle",
            "privileged",
            "seLinuxOptions",
            "sysctls",
            "windowsHostProcess",
            "allowPrivilegeEscalation",
            "capabilities_restricted",
            "procMount_restricted",
            "restrictedVolumes",
            "runAsNonRoot",
            "runAsUser",
            "seccompProfile_restricted",
        ];
        assert_eq!(ids(Level::Restricted, 35), v35);
        assert_eq!(
            active_check_ids(LevelVersion::new(Level::Restricted, Version::Latest)),
            v35
        );
        assert_eq!(ids(Level::Restricted, 99), v35);
        assert!(ids(Level::Restricted, 34).contains(&"procMount"));
    }

    #[test]
    fn checks_start_at_their_versions() {
        let firsts = [
            (Level::Restricted, "allowPrivilegeEscalation", 8),
            (Level::Restricted, "seccompProfile_restricted", 19),
            (Level::Restricted, "capabilities_restricted", 22),
            (Level::Restricted, "runAsUser", 23),
            (Level::Baseline, "hostProbesAndHostLifecycle", 34),
            (Level::Restricted, "procMount_restricted", 35),
        ];
        for (level, id, first) in firsts {
            assert!(
                !ids(level, first - 1).contains(&id),
                "{id} before v1.{first}"
            );
            assert!(ids(level, first).contains(&id), "{id} at v1.{first}");
        }
        // And the baseline checks they replace stop at the same versions.
        for (id, replaced_from) in [
            ("seccompProfile_baseline", 19),
            ("capabilities_baseline", 22),
            ("procMount", 35),
        ] {
            assert!(ids(Level::Restricted, replaced_from - 1).contains(&id));
            assert!(!ids(Level::Restricted, replaced_from).contains(&id));
            assert!(ids(Level::Baseline, replaced_from).contains(&id));
        }
    }

    #[test]
    fn emulation_lowers_the_ceiling_for_latest() {
        let pod: PodSpec = PodSpec {
            containers: vec![crate::pod::Container {
                name: "c".into(),
                liveness_probe: Some(Box::new(crate::pod::Handler {
                    tcp_socket: Some(crate::pod::HostAction {
                        host: Some("localhost".into()),
                    }),
                    ..Default::default()
                })),
                ..Default::default()
            }],
            ..Default::default()
        };
        let latest = LevelVersion::new(Level::Baseline, Version::Latest);
        let meta = PodMetadata::default();
        assert!(!evaluate(latest, &meta, &pod).allowed());
        let old = Evaluator::emulating(Version::Minor(33));
        assert!(old.evaluate(latest, &meta, &pod).allowed());
        assert!(
            !Evaluator::emulating(Version::Latest)
                .evaluate(latest, &meta, &pod)
                .allowed()
        );
    }
}
