//! The `use` authorization interface the admission algorithm consults.
//!
//! The trait is synchronous so that the selection algorithm stays a pure function; an async caller
//! (a webhook issuing SubjectAccessReviews) can resolve the checks listed by
//! [`crate::admission::access_checks`] first and hand over the answers, e.g. as a closure.

use serde::{Deserialize, Serialize};

/// The verb, resource and API groups PSP authorization uses.
pub const USE_VERB: &str = "use";
pub const POLICY_RESOURCE: &str = "podsecuritypolicies";
/// Groups tried in order: `policy`, then `extensions` for pre-1.10 grants.
pub const POLICY_API_GROUPS: [&str; 2] = ["policy", "extensions"];

/// An identity asking for something: a user, or a pod's service account.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UserInfo {
    #[serde(alias = "username")]
    pub name: String,
    #[serde(default)]
    pub groups: Vec<String>,
}

impl UserInfo {
    pub fn new(
        name: impl Into<String>,
        groups: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        UserInfo {
            name: name.into(),
            groups: groups.into_iter().map(Into::into).collect(),
        }
    }

    /// The identity upstream builds for a pod's service account: username
    /// `system:serviceaccount:<ns>:<name>` and groups `system:serviceaccounts` and
    /// `system:serviceaccounts:<ns>`. Like upstream's `serviceaccount.UserInfo`, it has no
    /// `system:authenticated` (that group is added by authenticators, which this identity never
    /// passes through), so grants to `system:authenticated` do not reach it.
    pub fn service_account(namespace: &str, name: &str) -> Self {
        UserInfo::new(
            format!("system:serviceaccount:{namespace}:{name}"),
            [
                "system:serviceaccounts".to_string(),
                format!("system:serviceaccounts:{namespace}"),
            ],
        )
    }
}

/// What is asked: `verb` on `resource` named `name` in `api_group`, within `namespace`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AccessRequest<'a> {
    pub verb: &'a str,
    pub api_group: &'a str,
    pub resource: &'a str,
    pub name: &'a str,
    pub namespace: &'a str,
}

impl<'a> AccessRequest<'a> {
    /// `use` of the named policy through `api_group`, for a pod in `namespace`.
    pub fn use_policy(api_group: &'a str, policy_name: &'a str, namespace: &'a str) -> Self {
        AccessRequest {
            verb: USE_VERB,
            api_group,
            resource: POLICY_RESOURCE,
            name: policy_name,
            namespace,
        }
    }
}

/// Answers whether an identity may do something.
pub trait Authorizer {
    fn may(&self, identity: &UserInfo, request: &AccessRequest<'_>) -> bool;
}

impl<F> Authorizer for F
where
    F: Fn(&UserInfo, &AccessRequest<'_>) -> bool,
{
    fn may(&self, identity: &UserInfo, request: &AccessRequest<'_>) -> bool {
        self(identity, request)
    }
}

/// Whether the service account (checked first) or the user may use the policy, through the
/// `policy` group and then the `extensions` group.
pub fn may_use_policy(
    authorizer: &(impl Authorizer + ?Sized),
    service_account: Option<&UserInfo>,
    user: &UserInfo,
    namespace: &str,
    policy_name: &str,
) -> bool {
    service_account.into_iter().chain([user]).any(|identity| {
        POLICY_API_GROUPS.iter().any(|group| {
            authorizer.may(
                identity,
                &AccessRequest::use_policy(group, policy_name, namespace),
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[test]
    fn tries_service_account_then_user_and_policy_then_extensions() {
        let asked = RefCell::new(Vec::new());
        let authorizer = |identity: &UserInfo, request: &AccessRequest<'_>| {
            asked.borrow_mut().push(format!(
                "{} {} {} {} {}",
                identity.name, request.verb, request.api_group, request.name, request.namespace
            ));
            false
        };
        let service_account = UserInfo::service_account("ns", "default");
        let user = UserInfo::new("jane", ["system:authenticated"]);
        assert!(!may_use_policy(
            &authorizer,
            Some(&service_account),
            &user,
            "ns",
            "p"
        ));
        assert_eq!(
            *asked.borrow(),
            vec![
                "system:serviceaccount:ns:default use policy p ns",
                "system:serviceaccount:ns:default use extensions p ns",
                "jane use policy p ns",
                "jane use extensions p ns",
            ]
        );
    }

    #[test]
    fn service_account_identity_has_no_authenticated_group() {
        let identity = UserInfo::service_account("dev", "app");
        assert_eq!(
            identity.groups,
            vec!["system:serviceaccounts", "system:serviceaccounts:dev"]
        );
    }
}
