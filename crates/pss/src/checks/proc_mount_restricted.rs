//! `procMount_restricted` (restricted, v1.35+): the baseline `procMount` rule without the
//! user-namespace relaxation; replaces `procMount` at restricted.

use crate::check::{Check, Variant};
use crate::checks::proc_mount;
use crate::fields::Fields;
use crate::level::Level;

pub static CHECK: Check = Check {
    id: "procMount_restricted",
    level: Level::Restricted,
    variants: &[Variant::overriding(35, proc_mount::v1_0, &["procMount"])],
    needs: Some(Fields::PROC_MOUNT),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::{detail, pod};

    #[test]
    fn user_namespaces_do_not_relax_it() {
        let (m, s) = pod(
            r#"{"spec":{"hostUsers":false,"containers":[{"name":"a","securityContext":{"procMount":"Unmasked"}}]}}"#,
        );
        let check = CHECK.variant_at(35).unwrap().check;
        assert_eq!(
            detail(check(&m, &s), "procMount").as_deref(),
            Some(r#"container "a" must not set securityContext.procMount to "Unmasked""#)
        );
        assert!(CHECK.variant_at(34).is_none());
    }
}
