//! # podsec-psp: PodSecurityPolicy admission, brought back
//!
//! A faithful, I/O-free re-implementation of the in-tree `PodSecurityPolicy` admission plugin of
//! Kubernetes 1.21–1.24 (`policy/v1beta1`, removed in 1.25).
//!
//! Modules:
//! - [`types`]: serde types for PodSecurityPolicy (`policy/v1beta1` and `extensions/v1beta1`)
//!   and the v1beta1 defaulting.
//! - [`validation`]: object validation of policies with upstream's exact messages.
//! - [`table`]: `kubectl get psp` rendering.
//! - [`pod`]: the typed view of a pod's security fields and the write-back into pod JSON.
//! - [`strategies`]: one module per strategy (generation and validation).
//! - [`provider`]: a compiled policy: mutate a private copy, validate in upstream's order.
//! - [`admission`]: policy selection, the two admission phases, messages and JSON patches.
//! - [`authorizer`]: the `use` authorization interface; [`rbac`] an offline RBAC implementation.
//! - [`field_error`]: apimachinery v0.24.6 field-error rendering.

pub mod admission;
pub mod authorizer;
pub mod field_error;
pub mod pod;
pub mod provider;
pub mod rbac;
pub mod strategies;
pub mod table;
pub mod types;
pub mod validation;
