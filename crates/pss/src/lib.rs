//! # podsec-pss: the Pod Security Standards
//!
//! The checks of the `baseline` and `restricted` levels, at every policy version from `v1.0` to
//! the newest known (`latest`), with upstream Pod Security Admission's exact reasons, details and
//! aggregated messages. Pure functions of a pod: no I/O, no clock, no global state beyond the
//! lazily built check tables.
//!
//! - [`level`]: levels, versions and their parsing.
//! - [`pod`]: the lean pod view the checks read (decode it straight from JSON or YAML).
//! - [`json`]: the fast JSON path that decodes the pod view in one pass (serde decides the rest).
//! - [`checks`]: one module per check; [`registry`] orders them per level and version.
//! - [`fields`]: which optional fields a pod sets, so that the evaluator passes over the checks
//!   that cannot forbid it.
//! - [`result`]: violations and upstream's aggregate messages.
//!
//! ```
//! use podsec_pss::{evaluate, Level, LevelVersion, Version, pod::{PodMetadata, PodSpec}};
//! let spec: PodSpec = serde_json::from_str(r#"{"containers":[{"name":"app","image":"nginx"}]}"#).unwrap();
//! let policy = LevelVersion::new(Level::Baseline, Version::Latest);
//! assert!(evaluate(policy, &PodMetadata::default(), &spec).allowed());
//! ```

pub mod check;
pub mod checks;
pub mod fields;
pub mod format;
pub mod json;
pub mod level;
pub mod nulls;
pub mod pod;
pub mod registry;
pub mod result;

pub use level::{Level, LevelVersion, MAX_KNOWN_MINOR, Version};
pub use registry::{Evaluator, active_check_ids, all_checks, evaluate};
pub use result::{Evaluation, Violation};
