//! An offline RBAC authorizer: ClusterRoles (including aggregated ones), Roles,
//! ClusterRoleBindings and RoleBindings evaluated the way the API server's RBAC authorizer does,
//! plus the `system:masters` group, which the API server always allows before RBAC is consulted.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value;

use crate::authorizer::{AccessRequest, Authorizer, UserInfo};

/// The RBAC API group.
pub const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
/// The group every request of which is allowed.
pub const SUPERUSER_GROUP: &str = "system:masters";

/// Why an RBAC object could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{kind} {name:?} cannot be decoded: {source}")]
pub struct RbacError {
    pub kind: String,
    pub name: String,
    #[source]
    pub source: serde_json::Error,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PolicyRule {
    #[serde(default)]
    verbs: Option<Vec<String>>,
    #[serde(default)]
    api_groups: Option<Vec<String>>,
    #[serde(default)]
    resources: Option<Vec<String>>,
    #[serde(default)]
    resource_names: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LabelSelectorRequirement {
    #[serde(default)]
    key: String,
    #[serde(default)]
    operator: String,
    #[serde(default)]
    values: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LabelSelector {
    #[serde(default)]
    match_labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    match_expressions: Option<Vec<LabelSelectorRequirement>>,
}

impl LabelSelector {
    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let labels_match = self
            .match_labels
            .iter()
            .flatten()
            .all(|(key, value)| labels.get(key) == Some(value));
        let expressions_match = self.match_expressions.iter().flatten().all(|requirement| {
            let values = requirement.values.as_deref().unwrap_or_default();
            let current = labels.get(&requirement.key);
            match requirement.operator.as_str() {
                "In" => current.is_some_and(|value| values.contains(value)),
                "NotIn" => current.is_none_or(|value| !values.contains(value)),
                "Exists" => current.is_some(),
                "DoesNotExist" => current.is_none(),
                // An invalid operator makes the selector match nothing.
                _ => false,
            }
        });
        labels_match && expressions_match
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AggregationRule {
    #[serde(default)]
    cluster_role_selectors: Option<Vec<LabelSelector>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Role {
    #[serde(default)]
    metadata: Metadata,
    #[serde(default)]
    rules: Option<Vec<PolicyRule>>,
    #[serde(default)]
    aggregation_rule: Option<AggregationRule>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoleRef {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Subject {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Binding {
    #[serde(default)]
    metadata: Metadata,
    #[serde(default)]
    role_ref: RoleRef,
    #[serde(default)]
    subjects: Option<Vec<Subject>>,
}

impl Binding {
    /// Upstream's `appliesToUser`; `namespace` is the binding's own ("" for cluster bindings).
    fn applies_to(&self, user: &UserInfo) -> bool {
        let binding_namespace = self.metadata.namespace.as_deref().unwrap_or_default();
        self.subjects
            .iter()
            .flatten()
            .any(|subject| match subject.kind.as_str() {
                "User" => user.name == subject.name,
                "Group" => user.groups.contains(&subject.name),
                "ServiceAccount" => {
                    let namespace = subject
                        .namespace
                        .as_deref()
                        .filter(|namespace| !namespace.is_empty())
                        .unwrap_or(binding_namespace);
                    !namespace.is_empty()
                        && user.name
                            == format!("system:serviceaccount:{namespace}:{}", subject.name)
                }
                _ => false,
            })
    }
}

fn matches_list(list: Option<&Vec<String>>, wanted: &str) -> bool {
    list.into_iter()
        .flatten()
        .any(|entry| entry == "*" || entry == wanted)
}

impl PolicyRule {
    fn allows(&self, request: &AccessRequest<'_>) -> bool {
        let name_matches = match self.resource_names.as_deref() {
            None | Some([]) => true,
            Some(names) => names.iter().any(|name| name == request.name),
        };
        matches_list(self.verbs.as_ref(), request.verb)
            && matches_list(self.api_groups.as_ref(), request.api_group)
            && matches_list(self.resources.as_ref(), request.resource)
            && name_matches
    }
}

/// RBAC state read from objects, answering [`Authorizer`] questions offline.
#[derive(Debug, Clone, Default)]
pub struct RbacAuthorizer {
    cluster_roles: BTreeMap<String, Role>,
    roles: BTreeMap<(String, String), Role>,
    cluster_role_bindings: Vec<Binding>,
    role_bindings: Vec<Binding>,
}

impl RbacAuthorizer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads every RBAC object among `objects`, ignoring everything else.
    pub fn from_objects<'a>(
        objects: impl IntoIterator<Item = &'a Value>,
    ) -> Result<Self, RbacError> {
        let mut authorizer = Self::new();
        for object in objects {
            authorizer.add_object(object)?;
        }
        Ok(authorizer)
    }

    /// Adds one object if it is a ClusterRole, Role, ClusterRoleBinding or RoleBinding (any
    /// version of the RBAC group). Returns whether it was one.
    pub fn add_object(&mut self, object: &Value) -> Result<bool, RbacError> {
        let group = object
            .get("apiVersion")
            .and_then(Value::as_str)
            .and_then(|version| version.split_once('/'))
            .map(|(group, _)| group);
        if group != Some(RBAC_GROUP) {
            return Ok(false);
        }
        let kind = object
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let decode_error = |source| RbacError {
            kind: kind.to_string(),
            name: object
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            source,
        };
        match kind {
            "ClusterRole" => {
                let role: Role = Role::deserialize(object).map_err(decode_error)?;
                self.cluster_roles.insert(role.metadata.name.clone(), role);
            }
            "Role" => {
                let role: Role = Role::deserialize(object).map_err(decode_error)?;
                let namespace = role
                    .metadata
                    .namespace
                    .clone()
                    .unwrap_or_else(|| "default".into());
                self.roles
                    .insert((namespace, role.metadata.name.clone()), role);
            }
            "ClusterRoleBinding" => {
                let binding = Binding::deserialize(object).map_err(decode_error)?;
                self.cluster_role_bindings.push(binding);
            }
            "RoleBinding" => {
                let mut binding = Binding::deserialize(object).map_err(decode_error)?;
                if binding
                    .metadata
                    .namespace
                    .as_deref()
                    .is_none_or(str::is_empty)
                {
                    // Namespaced objects without a namespace land in `default`, as kubectl does.
                    binding.metadata.namespace = Some("default".into());
                }
                self.role_bindings.push(binding);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The rules of a ClusterRole; an aggregated role has the rules of every ClusterRole its
    /// selectors match (transitively, as the aggregation controller converges to).
    fn cluster_role_rules(&self, name: &str, visiting: &mut BTreeSet<String>) -> Vec<PolicyRule> {
        let Some(role) = self.cluster_roles.get(name) else {
            return Vec::new();
        };
        if !visiting.insert(name.to_string()) {
            return Vec::new();
        }
        let rules = match &role.aggregation_rule {
            Some(aggregation) => {
                let selectors = aggregation
                    .cluster_role_selectors
                    .as_deref()
                    .unwrap_or_default();
                let members: Vec<&String> = self
                    .cluster_roles
                    .iter()
                    .filter(|(other, candidate)| {
                        other.as_str() != name && {
                            let labels = candidate.metadata.labels.clone().unwrap_or_default();
                            selectors.iter().any(|selector| selector.matches(&labels))
                        }
                    })
                    .map(|(other, _)| other)
                    .collect();
                members
                    .into_iter()
                    .flat_map(|member| self.cluster_role_rules(member, visiting))
                    .collect()
            }
            None => role.rules.clone().unwrap_or_default(),
        };
        visiting.remove(name);
        rules
    }

    fn binding_rules(&self, binding: &Binding) -> Vec<PolicyRule> {
        match binding.role_ref.kind.as_str() {
            "ClusterRole" => self.cluster_role_rules(&binding.role_ref.name, &mut BTreeSet::new()),
            "Role" => {
                let namespace = binding.metadata.namespace.clone().unwrap_or_default();
                self.roles
                    .get(&(namespace, binding.role_ref.name.clone()))
                    .and_then(|role| role.rules.clone())
                    .unwrap_or_default()
            }
            _ => Vec::new(),
        }
    }
}

impl Authorizer for RbacAuthorizer {
    fn may(&self, identity: &UserInfo, request: &AccessRequest<'_>) -> bool {
        if identity.groups.iter().any(|group| group == SUPERUSER_GROUP) {
            return true;
        }
        let cluster_wide = self.cluster_role_bindings.iter();
        let in_namespace = self.role_bindings.iter().filter(|binding| {
            !request.namespace.is_empty()
                && binding.metadata.namespace.as_deref() == Some(request.namespace)
        });
        cluster_wide
            .chain(in_namespace)
            .filter(|binding| binding.applies_to(identity))
            .any(|binding| {
                self.binding_rules(binding)
                    .iter()
                    .any(|rule| rule.allows(request))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn use_request<'a>(group: &'a str, name: &'a str, namespace: &'a str) -> AccessRequest<'a> {
        AccessRequest::use_policy(group, name, namespace)
    }

    fn authorizer(objects: Vec<Value>) -> RbacAuthorizer {
        RbacAuthorizer::from_objects(&objects).expect("rbac objects decode")
    }

    fn cluster_role(name: &str, rule: Value) -> Value {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": name}, "rules": [rule]})
    }

    fn use_rule(names: &[&str]) -> Value {
        json!({"apiGroups": ["policy"], "resources": ["podsecuritypolicies"], "verbs": ["use"], "resourceNames": names})
    }

    fn binding(
        kind: &str,
        namespace: Option<&str>,
        role_kind: &str,
        role: &str,
        subject: Value,
    ) -> Value {
        let mut metadata = json!({"name": "b"});
        if let Some(namespace) = namespace {
            metadata["namespace"] = json!(namespace);
        }
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": metadata,
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
               "subjects": [subject]})
    }

    #[test]
    fn cluster_role_binding_to_group() {
        let rbac = authorizer(vec![
            cluster_role("use-p", use_rule(&["p"])),
            binding(
                "ClusterRoleBinding",
                None,
                "ClusterRole",
                "use-p",
                json!({"kind": "Group", "name": "system:serviceaccounts"}),
            ),
        ]);
        let sa = UserInfo::service_account("ns", "default");
        assert!(rbac.may(&sa, &use_request("policy", "p", "ns")));
        assert!(!rbac.may(&sa, &use_request("policy", "q", "ns")));
        assert!(!rbac.may(&sa, &use_request("extensions", "p", "ns")));
        assert!(!rbac.may(
            &UserInfo::new("jane", ["system:authenticated"]),
            &use_request("policy", "p", "ns")
        ));
    }

    #[test]
    fn role_binding_grants_only_in_its_namespace() {
        let rbac = authorizer(vec![
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r", "namespace": "dev"},
                   "rules": [use_rule(&[])]}),
            binding(
                "RoleBinding",
                Some("dev"),
                "Role",
                "r",
                json!({"kind": "ServiceAccount", "name": "app"}),
            ),
            binding(
                "RoleBinding",
                Some("prod"),
                "ClusterRole",
                "any",
                json!({"kind": "User", "name": "jane"}),
            ),
            cluster_role(
                "any",
                json!({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}),
            ),
        ]);
        let app = UserInfo::service_account("dev", "app");
        assert!(rbac.may(&app, &use_request("policy", "anything", "dev")));
        assert!(!rbac.may(&app, &use_request("policy", "anything", "prod")));
        assert!(!rbac.may(
            &UserInfo::service_account("other", "app"),
            &use_request("policy", "x", "dev")
        ));
        let jane = UserInfo::new("jane", Vec::<String>::new());
        assert!(rbac.may(&jane, &use_request("extensions", "x", "prod")));
        assert!(!rbac.may(&jane, &use_request("policy", "x", "dev")));
    }

    #[test]
    fn service_account_subject_with_explicit_namespace() {
        let rbac = authorizer(vec![
            cluster_role("use-p", use_rule(&["p"])),
            binding(
                "ClusterRoleBinding",
                None,
                "ClusterRole",
                "use-p",
                json!({"kind": "ServiceAccount", "name": "app", "namespace": "dev"}),
            ),
        ]);
        assert!(rbac.may(
            &UserInfo::service_account("dev", "app"),
            &use_request("policy", "p", "anywhere")
        ));
        assert!(!rbac.may(
            &UserInfo::service_account("prod", "app"),
            &use_request("policy", "p", "prod")
        ));
    }

    #[test]
    fn aggregated_cluster_roles() {
        let mut labelled = cluster_role("psp-user", use_rule(&["p"]));
        labelled["metadata"]["labels"] = json!({"rbac.example.com/aggregate-to-psp": "true"});
        let mut nested = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "middle",
            "labels": {"tier": "top"}},
            "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"rbac.example.com/aggregate-to-psp": "true"}}]}});
        nested["rules"] = json!([]);
        let top = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "top"},
            "aggregationRule": {"clusterRoleSelectors": [{"matchExpressions": [{"key": "tier", "operator": "In", "values": ["top"]}]}]}});
        let rbac = authorizer(vec![
            labelled,
            nested,
            top,
            binding(
                "ClusterRoleBinding",
                None,
                "ClusterRole",
                "top",
                json!({"kind": "User", "name": "jane"}),
            ),
        ]);
        let jane = UserInfo::new("jane", Vec::<String>::new());
        assert!(rbac.may(&jane, &use_request("policy", "p", "ns")));
        assert!(!rbac.may(&jane, &use_request("policy", "q", "ns")));
    }

    #[test]
    fn masters_may_do_anything() {
        let rbac = RbacAuthorizer::new();
        let admin = UserInfo::new(
            "kubernetes-admin",
            ["system:masters", "system:authenticated"],
        );
        assert!(rbac.may(&admin, &use_request("policy", "p", "ns")));
    }

    #[test]
    fn non_rbac_objects_are_ignored() {
        let mut rbac = RbacAuthorizer::new();
        assert!(
            !rbac
                .add_object(&json!({"apiVersion": "v1", "kind": "Pod"}))
                .expect("ignored")
        );
        assert!(rbac.add_object(&json!({"apiVersion": "rbac.authorization.k8s.io/v1beta1", "kind": "ClusterRole", "metadata": {"name": "x"}})).expect("read"));
        assert!(rbac.add_object(&json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "rules": "nope"})).is_err());
    }
}
