//! # podsec-admission: Pod Security Admission decisions
//!
//! The decision layer shared by `podsec check` (offline) and `podsec serve` (the webhook):
//! everything between "bytes of a request or manifest" and "allowed / denied, with these
//! messages", with upstream Pod Security Admission's behaviour and texts. No I/O: cluster
//! lookups come in through the [`admit::Cluster`] trait, files through callbacks.
//!
//! - [`object`]: lean decoding of Kubernetes objects and their pod templates.
//! - [`policy`]: namespace labels → enforce / audit / warn level and version.
//! - [`field_error`]: apimachinery's field errors and aggregates.
//! - [`config`]: PodSecurityConfiguration and AdmissionConfiguration loading and validation.
//! - [`review`]: AdmissionReview `v1` / `v1beta1` wire types.
//! - [`admit`]: the decision flow for pods, pod controllers and namespaces.

pub mod admit;
pub mod config;
pub mod field_error;
pub mod object;
pub mod policy;
pub mod review;

pub use admit::{
    Admission, Clock, Cluster, ModeEvaluation, Outcome, RequestContext, admit, evaluate_pod,
};
pub use config::{ConfigError, Exemptions, PodSecurityConfiguration};
pub use object::{Object, WorkloadKind};
pub use policy::{Mode, Policy};
pub use review::{AdmissionRequest, AdmissionResponse, AdmissionReview};
