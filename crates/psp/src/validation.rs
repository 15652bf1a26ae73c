//! Object validation of PodSecurityPolicies, as the API server ran it on create and update, with
//! apimachinery's exact messages. Validate the defaulted object (see
//! [`PodSecurityPolicy::from_value`]).

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;

use crate::field_error::{BadValue, FieldError, FieldPath};
use crate::types::{
    ALLOW_ALL, FS_TYPES, IdRange, PodSecurityPolicy, PodSecurityPolicySpec,
    RunAsGroupStrategyOptions, RuntimeClassStrategyOptions, annotations, rules,
};

const DNS1123_SUBDOMAIN_FORMAT: &str =
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_MESSAGE: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_MAX_LENGTH: usize = 253;

/// The 1.23+ sysctl pattern (dots or slashes as separators, one trailing `*` allowed).
pub const SYSCTL_PATTERN_FORMAT: &str =
    r"([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*([a-z0-9][-_a-z0-9]*)?[a-z0-9*]";
const SYSCTL_MAX_LENGTH: usize = 253;

static DNS1123_SUBDOMAIN: LazyLock<Regex> = LazyLock::new(|| anchored(DNS1123_SUBDOMAIN_FORMAT));
static SYSCTL_PATTERN: LazyLock<Regex> = LazyLock::new(|| anchored(SYSCTL_PATTERN_FORMAT));

fn anchored(format: &str) -> Regex {
    // Both patterns are constants of this module; a failure here is a programming error.
    Regex::new(&format!("^{format}$"))
        .unwrap_or_else(|error| panic!("invalid built-in pattern {format}: {error}"))
}

/// apimachinery's `IsDNS1123Subdomain`: the messages for a value that is not one.
pub fn dns1123_subdomain_errors(value: &str) -> Vec<String> {
    let mut messages = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX_LENGTH {
        messages.push(format!(
            "must be no more than {DNS1123_SUBDOMAIN_MAX_LENGTH} characters"
        ));
    }
    if !DNS1123_SUBDOMAIN.is_match(value) {
        messages.push(format!(
            "{DNS1123_SUBDOMAIN_MESSAGE} (e.g. 'example.com', regex used for validation is '{DNS1123_SUBDOMAIN_FORMAT}')"
        ));
    }
    messages
}

/// Validation of a new policy.
pub fn validate_policy(policy: &PodSecurityPolicy) -> Vec<FieldError> {
    let mut errors = validate_metadata(policy);
    errors.extend(validate_annotations(policy));
    errors.extend(validate_spec(&policy.spec));
    errors
}

/// Validation of an update: the name is immutable, then everything [`validate_policy`] checks.
pub fn validate_policy_update(
    policy: &PodSecurityPolicy,
    old: &PodSecurityPolicy,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if policy.metadata.name != old.metadata.name {
        errors.push(FieldError::invalid(
            FieldPath::new(["metadata", "name"]),
            BadValue::str(&policy.metadata.name),
            "field is immutable",
        ));
    }
    errors.extend(validate_annotations(policy));
    errors.extend(validate_spec(&policy.spec));
    errors
}

fn validate_metadata(policy: &PodSecurityPolicy) -> Vec<FieldError> {
    let metadata = FieldPath::new(["metadata"]);
    let meta = &policy.metadata;
    let mut errors = Vec::new();
    if !meta.generate_name.is_empty() {
        // A generated name gets a suffix: a trailing dash is fine in the prefix.
        let masked = match meta.generate_name.strip_suffix('-') {
            Some(stem) => format!("{stem}a"),
            None => meta.generate_name.clone(),
        };
        for message in dns1123_subdomain_errors(&masked) {
            errors.push(FieldError::invalid(
                metadata.child("generateName"),
                BadValue::str(&meta.generate_name),
                message,
            ));
        }
    }
    if meta.name.is_empty() {
        errors.push(FieldError::required(
            metadata.child("name"),
            "name or generateName is required",
        ));
    } else {
        for message in dns1123_subdomain_errors(&meta.name) {
            errors.push(FieldError::invalid(
                metadata.child("name"),
                BadValue::str(&meta.name),
                message,
            ));
        }
    }
    if !meta.namespace.is_empty() {
        errors.push(FieldError::forbidden(
            metadata.child("namespace"),
            "not allowed on this type",
        ));
    }
    errors
}

fn validate_annotations(policy: &PodSecurityPolicy) -> Vec<FieldError> {
    let path = FieldPath::new(["metadata", "annotations"]);
    let mut errors = Vec::new();
    let annotation = |key: &str| policy.annotation(key).filter(|value| !value.is_empty());
    if let Some(profile) = annotation(annotations::APPARMOR_DEFAULT_PROFILE)
        && let Some(message) = apparmor_profile_error(profile)
    {
        errors.push(FieldError::invalid(
            path.key(annotations::APPARMOR_DEFAULT_PROFILE),
            BadValue::str(profile),
            message,
        ));
    }
    if let Some(allowed) = annotation(annotations::APPARMOR_ALLOWED_PROFILES) {
        for profile in allowed.split(',') {
            if let Some(message) = apparmor_profile_error(profile) {
                errors.push(FieldError::invalid(
                    path.key(annotations::APPARMOR_ALLOWED_PROFILES),
                    BadValue::str(allowed),
                    message,
                ));
            }
        }
    }
    if let Some(profile) = annotation(annotations::SECCOMP_DEFAULT_PROFILE) {
        errors.extend(seccomp_profile_errors(
            profile,
            &path.key(annotations::SECCOMP_DEFAULT_PROFILE),
        ));
    }
    if let Some(allowed) = annotation(annotations::SECCOMP_ALLOWED_PROFILES) {
        for profile in allowed.split(',').filter(|profile| *profile != ALLOW_ALL) {
            errors.extend(seccomp_profile_errors(
                profile,
                &path.key(annotations::SECCOMP_ALLOWED_PROFILES),
            ));
        }
    }
    errors
}

fn apparmor_profile_error(profile: &str) -> Option<String> {
    let acceptable = profile.is_empty()
        || profile == "runtime/default"
        || profile == "unconfined"
        || profile.starts_with("localhost/");
    (!acceptable).then(|| {
        format!(
            "invalid AppArmor profile name: {}",
            crate::field_error::go_quote(profile)
        )
    })
}

fn seccomp_profile_errors(profile: &str, path: &FieldPath) -> Vec<FieldError> {
    if matches!(profile, "runtime/default" | "docker/default" | "unconfined") {
        return Vec::new();
    }
    let Some(local) = profile.strip_prefix("localhost/") else {
        return vec![FieldError::invalid(
            path.clone(),
            BadValue::str(profile),
            "must be a valid seccomp profile",
        )];
    };
    let mut errors = Vec::new();
    if local.starts_with('/') {
        errors.push(FieldError::invalid(
            path.clone(),
            BadValue::str(local),
            "must be a relative path",
        ));
    }
    if local.split('/').any(|segment| segment == "..") {
        errors.push(FieldError::invalid(
            path.clone(),
            BadValue::str(local),
            "must not contain '..'",
        ));
    }
    errors
}

fn validate_spec(spec: &PodSecurityPolicySpec) -> Vec<FieldError> {
    let path = FieldPath::new(["spec"]);
    let mut errors = Vec::new();

    let run_as_user = path.child("runAsUser");
    let user_rules = [
        rules::MUST_RUN_AS,
        rules::MUST_RUN_AS_NON_ROOT,
        rules::RUN_AS_ANY,
    ];
    if !user_rules.contains(&spec.run_as_user.rule.as_str()) {
        errors.push(FieldError::not_supported(
            run_as_user.child("rule"),
            BadValue::named_string(&spec.run_as_user.rule),
            &user_rules,
        ));
    }
    errors.extend(validate_ranges(&run_as_user, &spec.run_as_user.ranges));

    if let Some(run_as_group) = &spec.run_as_group {
        errors.extend(validate_run_as_group(
            &path.child("runAsGroup"),
            run_as_group,
        ));
    }

    let se_linux_rules = [rules::MUST_RUN_AS, rules::RUN_AS_ANY];
    if !se_linux_rules.contains(&spec.se_linux.rule.as_str()) {
        errors.push(FieldError::not_supported(
            path.child("seLinux").child("rule"),
            BadValue::named_string(&spec.se_linux.rule),
            &se_linux_rules,
        ));
    }

    let group_rules = [rules::MAY_RUN_AS, rules::MUST_RUN_AS, rules::RUN_AS_ANY];
    for (field, options) in [
        ("supplementalGroups", &spec.supplemental_groups),
        ("fsGroup", &spec.fs_group),
    ] {
        let group_path = path.child(field);
        if !group_rules.contains(&options.rule.as_str()) {
            errors.push(FieldError::not_supported(
                group_path.child("rule"),
                BadValue::named_string(&options.rule),
                &group_rules,
            ));
        }
        errors.extend(validate_ranges(&group_path, &options.ranges));
    }

    let mut known_volumes: Vec<&str> = FS_TYPES.iter().copied().chain([ALLOW_ALL]).collect();
    known_volumes.sort_unstable();
    for volume in &spec.volumes {
        if !known_volumes.contains(&volume.as_str()) {
            errors.push(FieldError::not_supported(
                path.child("volumes"),
                BadValue::named_string(volume),
                &known_volumes,
            ));
        }
    }

    errors.extend(validate_capabilities(spec));

    if spec.default_allow_privilege_escalation == Some(true)
        && !spec.allow_privilege_escalation.unwrap_or(true)
    {
        errors.push(FieldError::invalid(
            path.child("defaultAllowPrivilegeEscalation"),
            BadValue::bool(true),
            "Cannot set DefaultAllowPrivilegeEscalation to true without also setting AllowPrivilegeEscalation to true",
        ));
    }

    for (index, proc_mount) in spec.allowed_proc_mount_types.iter().enumerate() {
        if proc_mount != "Default" && proc_mount != "Unmasked" {
            errors.push(FieldError::not_supported(
                path.child("allowedProcMountTypes").index(index),
                BadValue::named_string(proc_mount),
                &["Default", "Unmasked"],
            ));
        }
    }

    errors.extend(validate_host_paths(&path.child("allowedHostPaths"), spec));

    let flex_path = path.child("allowedFlexVolumes");
    for (index, flex) in spec.allowed_flex_volumes.iter().enumerate() {
        if flex.driver.is_empty() {
            // Upstream names the list twice in this path.
            errors.push(FieldError::required(
                flex_path
                    .child("allowedFlexVolumes")
                    .index(index)
                    .child("driver"),
                "must specify a driver",
            ));
        }
    }

    for (index, driver) in spec.allowed_csi_drivers.iter().enumerate() {
        errors.extend(validate_csi_driver_name(
            &driver.name,
            &path.child("allowedCSIDrivers").index(index).child("name"),
        ));
    }

    let allowed_path = path.child("allowedUnsafeSysctls");
    let forbidden_path = path.child("forbiddenSysctls");
    errors.extend(validate_sysctl_list(
        &allowed_path,
        &spec.allowed_unsafe_sysctls,
    ));
    errors.extend(validate_sysctl_list(
        &forbidden_path,
        &spec.forbidden_sysctls,
    ));
    errors.extend(validate_sysctl_overlap(
        &allowed_path,
        &forbidden_path,
        &spec.allowed_unsafe_sysctls,
        &spec.forbidden_sysctls,
    ));

    if let Some(runtime_class) = &spec.runtime_class {
        errors.extend(validate_runtime_class(
            &path.child("runtimeClass"),
            runtime_class,
        ));
    }
    errors
}

fn validate_ranges(path: &FieldPath, ranges: &[IdRange]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (index, range) in ranges.iter().enumerate() {
        let range_path = path.child("ranges").index(index);
        if range.min < 0 {
            errors.push(FieldError::invalid(
                range_path.child("min"),
                BadValue::int(range.min),
                "min cannot be negative",
            ));
        }
        if range.max < 0 {
            errors.push(FieldError::invalid(
                range_path.child("max"),
                BadValue::int(range.max),
                "max cannot be negative",
            ));
        }
        if range.min > range.max {
            errors.push(FieldError::invalid(
                range_path.child("min"),
                BadValue::int(range.min),
                "min cannot be greater than max",
            ));
        }
    }
    errors
}

fn validate_run_as_group(path: &FieldPath, options: &RunAsGroupStrategyOptions) -> Vec<FieldError> {
    match options.rule.as_str() {
        rules::RUN_AS_ANY if !options.ranges.is_empty() => vec![FieldError::invalid(
            path.child("ranges"),
            BadValue::id_ranges(&options.ranges),
            "Ranges must be empty",
        )],
        rules::RUN_AS_ANY => Vec::new(),
        rules::MUST_RUN_AS | rules::MAY_RUN_AS => {
            let mut errors = Vec::new();
            if options.ranges.is_empty() {
                errors.push(FieldError::invalid(
                    path.child("ranges"),
                    BadValue::id_ranges(&options.ranges),
                    "must provide at least one range",
                ));
            }
            errors.extend(validate_ranges(path, &options.ranges));
            errors
        }
        // Upstream lists these unsorted, unlike the other rule fields.
        other => vec![FieldError::not_supported(
            path.child("rule"),
            BadValue::named_string(other),
            &[rules::MUST_RUN_AS, rules::RUN_AS_ANY, rules::MAY_RUN_AS],
        )],
    }
}

fn validate_capabilities(spec: &PodSecurityPolicySpec) -> Vec<FieldError> {
    let mut errors = Vec::new();
    // These three paths carry no `spec.` prefix upstream.
    if !spec.required_drop_capabilities.is_empty()
        && spec.allowed_capabilities.iter().any(|cap| cap == ALLOW_ALL)
    {
        errors.push(FieldError::invalid(
            FieldPath::new(["requiredDropCapabilities"]),
            BadValue::string_slice("core.Capability", Some(&spec.required_drop_capabilities)),
            "must be empty when all capabilities are allowed by a wildcard",
        ));
    }
    for (field, capabilities) in [
        ("defaultAddCapabilities", &spec.default_add_capabilities),
        ("allowedCapabilities", &spec.allowed_capabilities),
    ] {
        for capability in capabilities {
            if spec.required_drop_capabilities.contains(capability) {
                errors.push(FieldError::invalid(
                    FieldPath::new([field]),
                    BadValue::named_string(capability),
                    format!("capability is listed in {field} and requiredDropCapabilities"),
                ));
            }
        }
    }
    errors
}

fn validate_host_paths(path: &FieldPath, spec: &PodSecurityPolicySpec) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (index, entry) in spec.allowed_host_paths.iter().enumerate() {
        if entry.path_prefix.is_empty() {
            errors.push(FieldError::required(path.index(index), "is required"));
            break;
        }
        if entry.path_prefix.split('/').any(|segment| segment == "..") {
            errors.push(FieldError::invalid(
                path.index(index),
                BadValue::str(&entry.path_prefix),
                "must not contain '..'",
            ));
        }
    }
    errors
}

fn validate_csi_driver_name(name: &str, path: &FieldPath) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if name.is_empty() {
        errors.push(FieldError::required(path.clone(), ""));
    }
    if name.len() > 63 {
        errors.push(FieldError::too_long(path.clone(), BadValue::str(name), 63));
    }
    for message in dns1123_subdomain_errors(&name.to_lowercase()) {
        errors.push(FieldError::invalid(
            path.clone(),
            BadValue::str(name),
            message,
        ));
    }
    errors
}

fn validate_sysctl_list(path: &FieldPath, sysctls: &[String]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut covers_all = false;
    for (index, sysctl) in sysctls.iter().enumerate() {
        if sysctl.is_empty() {
            errors.push(FieldError::invalid(
                path.index(index),
                BadValue::str(sysctl),
                "empty sysctl not allowed",
            ));
        } else if sysctl.len() > SYSCTL_MAX_LENGTH || !SYSCTL_PATTERN.is_match(sysctl) {
            errors.push(FieldError::invalid(
                path.index(index),
                BadValue::str(sysctl),
                format!("must have at most {SYSCTL_MAX_LENGTH} characters and match regex {SYSCTL_PATTERN_FORMAT}"),
            ));
        } else if sysctl.starts_with('*') {
            covers_all = true;
        }
    }
    if covers_all && sysctls.len() > 1 {
        errors.push(FieldError::forbidden(
            path.child("items"),
            "if '*' is present, must not specify other sysctls",
        ));
    }
    errors
}

fn validate_sysctl_overlap(
    allowed_path: &FieldPath,
    forbidden_path: &FieldPath,
    allowed: &[String],
    forbidden: &[String],
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let overlap = |path: FieldPath, value: &str, other: &str| {
        FieldError::invalid(
            path,
            BadValue::str(value),
            format!("sysctl overlaps with {other}"),
        )
    };
    for (i, allowed_entry) in allowed.iter().enumerate() {
        let allowed_prefix = allowed_entry.strip_suffix('*');
        for (j, forbidden_entry) in forbidden.iter().enumerate() {
            let forbidden_prefix = forbidden_entry.strip_suffix('*');
            match (allowed_prefix, forbidden_prefix) {
                (Some(allowed_prefix), Some(forbidden_prefix)) => {
                    if allowed_prefix.starts_with(forbidden_prefix) {
                        errors.push(overlap(
                            allowed_path.index(i),
                            allowed_entry,
                            forbidden_entry,
                        ));
                    } else if forbidden_prefix.starts_with(allowed_prefix) {
                        errors.push(overlap(
                            forbidden_path.index(j),
                            forbidden_entry,
                            allowed_entry,
                        ));
                    }
                }
                (Some(allowed_prefix), None) => {
                    if forbidden_entry.starts_with(allowed_prefix) {
                        errors.push(overlap(
                            forbidden_path.index(j),
                            forbidden_entry,
                            allowed_entry,
                        ));
                    }
                }
                (None, Some(forbidden_prefix)) => {
                    if allowed_entry.starts_with(forbidden_prefix) {
                        errors.push(overlap(
                            allowed_path.index(i),
                            allowed_entry,
                            forbidden_entry,
                        ));
                    }
                }
                (None, None) => {
                    if allowed_entry == forbidden_entry {
                        errors.push(overlap(
                            allowed_path.index(i),
                            allowed_entry,
                            forbidden_entry,
                        ));
                    }
                }
            }
        }
    }
    errors
}

fn validate_runtime_class(
    path: &FieldPath,
    options: &RuntimeClassStrategyOptions,
) -> Vec<FieldError> {
    let names_path = path.child("allowedRuntimeClassNames");
    let mut errors = Vec::new();
    let mut seen = BTreeSet::new();
    for (index, name) in options.allowed_runtime_class_names.iter().enumerate() {
        if name != ALLOW_ALL {
            for message in dns1123_subdomain_errors(name) {
                errors.push(FieldError::invalid(
                    names_path.index(index),
                    BadValue::str(name),
                    message,
                ));
            }
        }
        if !seen.insert(name.as_str()) {
            errors.push(FieldError::duplicate(
                names_path.index(index),
                BadValue::str(name),
            ));
        }
    }
    if let Some(default) = &options.default_runtime_class_name {
        for message in dns1123_subdomain_errors(default) {
            errors.push(FieldError::invalid(
                path.child("defaultRuntimeClassName"),
                BadValue::str(default),
                message,
            ));
        }
        if !seen.contains(default.as_str()) && !seen.contains(ALLOW_ALL) {
            errors.push(FieldError::required(
                names_path.clone(),
                format!(
                    "default {} must be allowed",
                    crate::field_error::go_quote(default)
                ),
            ));
        }
    }
    if seen.contains(ALLOW_ALL) && options.allowed_runtime_class_names.len() > 1 {
        errors.push(FieldError::invalid(
            names_path,
            BadValue::string_slice("string", Some(&options.allowed_runtime_class_names)),
            "if '*' is present, must not specify other RuntimeClass names",
        ));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategies::test_support::{policy, policy_with_annotations, rendered};
    use serde_json::json;

    fn errors_for(spec: serde_json::Value) -> Vec<String> {
        rendered(&validate_policy(&policy(spec)))
    }

    #[test]
    fn a_plain_policy_is_valid() {
        assert_eq!(errors_for(json!({})), Vec::<String>::new());
    }

    #[test]
    fn metadata_rules() {
        let mut unnamed = policy(json!({}));
        unnamed.metadata.name.clear();
        assert_eq!(
            rendered(&validate_policy(&unnamed)),
            vec!["metadata.name: Required value: name or generateName is required"]
        );
        let mut bad = policy(json!({}));
        bad.metadata.name = "Bad_Name".into();
        bad.metadata.namespace = "default".into();
        assert_eq!(
            rendered(&validate_policy(&bad)),
            vec![
                "metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
                "metadata.namespace: Forbidden: not allowed on this type",
            ]
        );
        let old = policy(json!({}));
        let mut renamed = old.clone();
        renamed.metadata.name = "other".into();
        assert_eq!(
            rendered(&validate_policy_update(&renamed, &old)),
            vec!["metadata.name: Invalid value: \"other\": field is immutable"]
        );
    }

    #[test]
    fn rule_rules() {
        let cases = [
            (
                json!({"runAsUser": {"rule": "bogus"}}),
                vec![
                    "spec.runAsUser.rule: Unsupported value: \"bogus\": supported values: \"MustRunAs\", \"MustRunAsNonRoot\", \"RunAsAny\"",
                ],
            ),
            (json!({"runAsUser": {"rule": "MustRunAs"}}), vec![]),
            (
                json!({"seLinux": {"rule": "bogus"}}),
                vec![
                    "spec.seLinux.rule: Unsupported value: \"bogus\": supported values: \"MustRunAs\", \"RunAsAny\"",
                ],
            ),
            (json!({"seLinux": {"rule": "MustRunAs"}}), vec![]),
            (
                json!({"fsGroup": {"rule": "bogus"}, "supplementalGroups": {}}),
                vec![
                    "spec.supplementalGroups.rule: Unsupported value: \"\": supported values: \"MayRunAs\", \"MustRunAs\", \"RunAsAny\"",
                    "spec.fsGroup.rule: Unsupported value: \"bogus\": supported values: \"MayRunAs\", \"MustRunAs\", \"RunAsAny\"",
                ],
            ),
            (
                json!({"runAsGroup": {"rule": "RunAsAny", "ranges": [{"min": 1, "max": 2}]}}),
                vec![
                    "spec.runAsGroup.ranges: Invalid value: []policy.IDRange{policy.IDRange{Min:1, Max:2}}: Ranges must be empty",
                ],
            ),
            (
                json!({"runAsGroup": {"rule": "MayRunAs"}}),
                vec![
                    "spec.runAsGroup.ranges: Invalid value: []policy.IDRange(nil): must provide at least one range",
                ],
            ),
            (
                json!({"runAsGroup": {"rule": "bogus"}}),
                vec![
                    "spec.runAsGroup.rule: Unsupported value: \"bogus\": supported values: \"MustRunAs\", \"RunAsAny\", \"MayRunAs\"",
                ],
            ),
            (
                json!({"runAsUser": {"rule": "MustRunAs", "ranges": [{"min": -1, "max": -2}]}}),
                vec![
                    "spec.runAsUser.ranges[0].min: Invalid value: -1: min cannot be negative",
                    "spec.runAsUser.ranges[0].max: Invalid value: -2: max cannot be negative",
                    "spec.runAsUser.ranges[0].min: Invalid value: -1: min cannot be greater than max",
                ],
            ),
            (
                json!({"supplementalGroups": {"rule": "MustRunAs", "ranges": [{"min": 5, "max": 1}]}}),
                vec![
                    "spec.supplementalGroups.ranges[0].min: Invalid value: 5: min cannot be greater than max",
                ],
            ),
        ];
        for (spec, expected) in cases {
            assert_eq!(errors_for(spec.clone()), expected, "{spec}");
        }
    }

    #[test]
    fn volume_and_capability_rules() {
        let unsupported = errors_for(json!({"volumes": ["cephfs"]}));
        assert_eq!(unsupported.len(), 1);
        assert!(unsupported[0].starts_with("spec.volumes: Unsupported value: \"cephfs\": supported values: \"*\", \"awsElasticBlockStore\", \"azureDisk\", \"azureFile\", \"cephFS\", \"cinder\", \"configMap\", \"csi\","), "{}", unsupported[0]);
        assert!(unsupported[0].ends_with("\"storageos\", \"vsphereVolume\""));
        let cases = [
            (
                json!({"requiredDropCapabilities": ["foo"], "allowedCapabilities": ["*"]}),
                vec![
                    "requiredDropCapabilities: Invalid value: []core.Capability{\"foo\"}: must be empty when all capabilities are allowed by a wildcard",
                ],
            ),
            (
                json!({"requiredDropCapabilities": ["foo"], "defaultAddCapabilities": ["foo"], "allowedCapabilities": ["foo", "FOO"]}),
                vec![
                    "defaultAddCapabilities: Invalid value: \"foo\": capability is listed in defaultAddCapabilities and requiredDropCapabilities",
                    "allowedCapabilities: Invalid value: \"foo\": capability is listed in allowedCapabilities and requiredDropCapabilities",
                ],
            ),
            (
                json!({"defaultAllowPrivilegeEscalation": true, "allowPrivilegeEscalation": false}),
                vec![
                    "spec.defaultAllowPrivilegeEscalation: Invalid value: true: Cannot set DefaultAllowPrivilegeEscalation to true without also setting AllowPrivilegeEscalation to true",
                ],
            ),
            (json!({"defaultAllowPrivilegeEscalation": true}), vec![]),
            (
                json!({"allowedProcMountTypes": ["Default", "bogus"]}),
                vec![
                    "spec.allowedProcMountTypes[1]: Unsupported value: \"bogus\": supported values: \"Default\", \"Unmasked\"",
                ],
            ),
        ];
        for (spec, expected) in cases {
            assert_eq!(errors_for(spec.clone()), expected, "{spec}");
        }
    }

    #[test]
    fn host_path_flex_and_csi_rules() {
        let cases = [
            (
                json!({"allowedHostPaths": [{"pathPrefix": "/a/../b"}, {"pathPrefix": ""}, {"pathPrefix": ""}]}),
                vec![
                    "spec.allowedHostPaths[0]: Invalid value: \"/a/../b\": must not contain '..'",
                    "spec.allowedHostPaths[1]: Required value: is required",
                ],
            ),
            (
                json!({"allowedFlexVolumes": [{"driver": "x"}, {"driver": ""}]}),
                vec![
                    "spec.allowedFlexVolumes.allowedFlexVolumes[1].driver: Required value: must specify a driver",
                ],
            ),
            (
                json!({"allowedCSIDrivers": [{"name": "Csi.Example.com"}, {"name": "bad_driver"}]}),
                vec![
                    "spec.allowedCSIDrivers[1].name: Invalid value: \"bad_driver\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
                ],
            ),
        ];
        for (spec, expected) in cases {
            assert_eq!(errors_for(spec.clone()), expected, "{spec}");
        }
        let empty_csi = errors_for(json!({"allowedCSIDrivers": [{"name": ""}]}));
        assert_eq!(
            empty_csi[0],
            "spec.allowedCSIDrivers[0].name: Required value"
        );
    }

    #[test]
    fn sysctl_rules() {
        let pattern = "must have at most 253 characters and match regex ([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*([a-z0-9][-_a-z0-9]*)?[a-z0-9*]";
        for valid in ["a.*", "abc*", "a/b/*", "net.ipv4.ip_forward", "*"] {
            assert_eq!(
                errors_for(json!({"allowedUnsafeSysctls": [valid]})),
                Vec::<String>::new(),
                "{valid}"
            );
        }
        for invalid in ["a*.b", "*a", "Abc"] {
            assert_eq!(
                errors_for(json!({"allowedUnsafeSysctls": [invalid]})),
                vec![format!(
                    "spec.allowedUnsafeSysctls[0]: Invalid value: \"{invalid}\": {pattern}"
                )],
            );
        }
        let cases = [
            (
                json!({"forbiddenSysctls": [""]}),
                vec!["spec.forbiddenSysctls[0]: Invalid value: \"\": empty sysctl not allowed"],
            ),
            (
                json!({"forbiddenSysctls": ["*", "a.b"]}),
                vec![
                    "spec.forbiddenSysctls.items: Forbidden: if '*' is present, must not specify other sysctls",
                ],
            ),
            (
                json!({"allowedUnsafeSysctls": ["net.*"], "forbiddenSysctls": ["net.ipv4.*"]}),
                vec![
                    "spec.forbiddenSysctls[0]: Invalid value: \"net.ipv4.*\": sysctl overlaps with net.*",
                ],
            ),
            (
                json!({"allowedUnsafeSysctls": ["net.ipv4.*"], "forbiddenSysctls": ["net.*"]}),
                vec![
                    "spec.allowedUnsafeSysctls[0]: Invalid value: \"net.ipv4.*\": sysctl overlaps with net.*",
                ],
            ),
            (
                json!({"allowedUnsafeSysctls": ["kernel.*"], "forbiddenSysctls": ["kernel.msgmax"]}),
                vec![
                    "spec.forbiddenSysctls[0]: Invalid value: \"kernel.msgmax\": sysctl overlaps with kernel.*",
                ],
            ),
            (
                json!({"allowedUnsafeSysctls": ["kernel.msgmax"], "forbiddenSysctls": ["kernel.msgmax"]}),
                vec![
                    "spec.allowedUnsafeSysctls[0]: Invalid value: \"kernel.msgmax\": sysctl overlaps with kernel.msgmax",
                ],
            ),
        ];
        for (spec, expected) in cases {
            assert_eq!(errors_for(spec.clone()), expected, "{spec}");
        }
    }

    #[test]
    fn annotation_rules() {
        let cases = [
            (
                json!({"apparmor.security.beta.kubernetes.io/defaultProfileName": "not-good"}),
                vec![
                    "metadata.annotations[apparmor.security.beta.kubernetes.io/defaultProfileName]: Invalid value: \"not-good\": invalid AppArmor profile name: \"not-good\"",
                ],
            ),
            (
                json!({"apparmor.security.beta.kubernetes.io/allowedProfileNames": "runtime/default,bad"}),
                vec![
                    "metadata.annotations[apparmor.security.beta.kubernetes.io/allowedProfileNames]: Invalid value: \"runtime/default,bad\": invalid AppArmor profile name: \"bad\"",
                ],
            ),
            (
                json!({"seccomp.security.alpha.kubernetes.io/defaultProfileName": "*"}),
                vec![
                    "metadata.annotations[seccomp.security.alpha.kubernetes.io/defaultProfileName]: Invalid value: \"*\": must be a valid seccomp profile",
                ],
            ),
            (
                json!({"seccomp.security.alpha.kubernetes.io/allowedProfileNames": "*,runtime/default,localhost/../x,localhost//abs"}),
                vec![
                    "metadata.annotations[seccomp.security.alpha.kubernetes.io/allowedProfileNames]: Invalid value: \"../x\": must not contain '..'",
                    "metadata.annotations[seccomp.security.alpha.kubernetes.io/allowedProfileNames]: Invalid value: \"/abs\": must be a relative path",
                ],
            ),
            (
                json!({"seccomp.security.alpha.kubernetes.io/allowedProfileNames": "runtime/default,"}),
                vec![
                    "metadata.annotations[seccomp.security.alpha.kubernetes.io/allowedProfileNames]: Invalid value: \"\": must be a valid seccomp profile",
                ],
            ),
        ];
        for (annotations, expected) in cases {
            assert_eq!(
                rendered(&validate_policy(&policy_with_annotations(
                    json!({}),
                    annotations.clone()
                ))),
                expected,
                "{annotations}"
            );
        }
    }

    #[test]
    fn runtime_class_rules() {
        let cases = [
            (
                json!({"allowedRuntimeClassNames": ["a", "a"]}),
                vec!["spec.runtimeClass.allowedRuntimeClassNames[1]: Duplicate value: \"a\""],
            ),
            (
                json!({"allowedRuntimeClassNames": ["*", "a"]}),
                vec![
                    "spec.runtimeClass.allowedRuntimeClassNames: Invalid value: []string{\"*\", \"a\"}: if '*' is present, must not specify other RuntimeClass names",
                ],
            ),
            (
                json!({"allowedRuntimeClassNames": null, "defaultRuntimeClassName": "a"}),
                vec![
                    "spec.runtimeClass.allowedRuntimeClassNames: Required value: default \"a\" must be allowed",
                ],
            ),
            (
                json!({"allowedRuntimeClassNames": ["*"], "defaultRuntimeClassName": "a"}),
                vec![],
            ),
        ];
        for (runtime_class, expected) in cases {
            assert_eq!(
                errors_for(json!({"runtimeClass": runtime_class.clone()})),
                expected,
                "{runtime_class}"
            );
        }
    }
}
