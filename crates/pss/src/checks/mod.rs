//! One module per check, each with its table test. [`ALL`] lists them for the registry.

use crate::check::Check;

pub static ALL: &[Check] = &[];
