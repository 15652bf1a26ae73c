//! What a check is: an id, the level it belongs to, and its variants by minimum version.

use std::borrow::Cow;

use crate::fields::Fields;
use crate::level::Level;
use crate::pod::{PodMetadata, PodSpec};

/// Why a check forbids a pod: upstream's `ForbiddenReason` and `ForbiddenDetail`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forbidden {
    pub reason: Cow<'static, str>,
    pub detail: String,
}

impl Forbidden {
    pub fn new(reason: impl Into<Cow<'static, str>>, detail: String) -> Self {
        Forbidden {
            reason: reason.into(),
            detail,
        }
    }
}

/// A check variant's rule: `None` allows the pod.
pub type CheckFn = fn(&PodMetadata, &PodSpec) -> Option<Forbidden>;

/// One variant of a check, in force from `min_minor` (policy version `v1.<min_minor>`) until the
/// next variant's minimum.
#[derive(Debug, Clone, Copy)]
pub struct Variant {
    pub min_minor: u32,
    pub check: CheckFn,
    /// Baseline check ids this (restricted) variant replaces while it is in force.
    pub overrides: &'static [&'static str],
}

impl Variant {
    pub const fn new(min_minor: u32, check: CheckFn) -> Self {
        Variant {
            min_minor,
            check,
            overrides: &[],
        }
    }

    pub const fn overriding(
        min_minor: u32,
        check: CheckFn,
        overrides: &'static [&'static str],
    ) -> Self {
        Variant {
            min_minor,
            check,
            overrides,
        }
    }
}

/// A registered check: variants sorted by strictly increasing `min_minor`.
#[derive(Debug, Clone, Copy)]
pub struct Check {
    pub id: &'static str,
    pub level: Level,
    pub variants: &'static [Variant],
    /// The fields a pod must set for any variant to forbid it: the evaluator does not run the
    /// check on a pod that sets none of them. `None` for checks that forbid by omission (a pod
    /// that sets nothing fails `runAsNonRoot`), which always run.
    pub needs: Option<Fields>,
}

impl Check {
    /// The variant in force at `minor`: the one with the greatest minimum not above it.
    pub fn variant_at(&self, minor: u32) -> Option<&Variant> {
        self.variants.iter().rev().find(|v| v.min_minor <= minor)
    }
}
