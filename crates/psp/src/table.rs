//! `kubectl get psp`: the server-side table columns, aligned as kubectl's tab writer does
//! (minimum width 6, padding 3, spaces; the last column is not padded).

use crate::types::PodSecurityPolicy;

const HEADERS: [&str; 9] = [
    "NAME",
    "PRIV",
    "CAPS",
    "SELINUX",
    "RUNASUSER",
    "FSGROUP",
    "SUPGROUP",
    "READONLYROOTFS",
    "VOLUMES",
];
const MIN_WIDTH: usize = 6;
const PADDING: usize = 3;

/// The cells of one policy's row.
pub fn policy_row(policy: &PodSecurityPolicy) -> [String; 9] {
    let spec = &policy.spec;
    [
        policy.name().to_string(),
        spec.privileged.to_string(),
        spec.allowed_capabilities.join(","),
        spec.se_linux.rule.clone(),
        spec.run_as_user.rule.clone(),
        spec.fs_group.rule.clone(),
        spec.supplemental_groups.rule.clone(),
        spec.read_only_root_filesystem.to_string(),
        spec.volumes.join(","),
    ]
}

/// The table as kubectl prints it, one line per policy (sorted by name, as the API lists them),
/// each line ending in a newline.
pub fn render_policy_table(policies: &[PodSecurityPolicy]) -> String {
    let mut sorted: Vec<&PodSecurityPolicy> = policies.iter().collect();
    sorted.sort_by(|left, right| left.name().as_bytes().cmp(right.name().as_bytes()));
    let rows: Vec<[String; 9]> = std::iter::once(HEADERS.map(str::to_string))
        .chain(sorted.into_iter().map(policy_row))
        .collect();
    let mut widths = [0usize; 9];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row.iter()) {
            *width = (*width).max(cell.chars().count() + PADDING).max(MIN_WIDTH);
        }
    }
    let mut output = String::new();
    for row in &rows {
        let last = row.len() - 1;
        for (column, cell) in row.iter().enumerate() {
            output.push_str(cell);
            if column < last {
                let fill = widths[column] - cell.chars().count();
                output.extend(std::iter::repeat_n(' ', fill));
            }
        }
        output.push('\n');
    }
    output
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategies::test_support::policy;
    use serde_json::json;

    #[test]
    fn aligns_like_kubectl() {
        let mut privileged =
            policy(json!({"privileged": true, "allowedCapabilities": ["*"], "volumes": ["*"]}));
        privileged.metadata.name = "privileged".into();
        let table = render_policy_table(&[privileged]);
        assert_eq!(
            table,
            "NAME         PRIV   CAPS   SELINUX    RUNASUSER   FSGROUP    SUPGROUP   READONLYROOTFS   VOLUMES\n\
             privileged   true   *      RunAsAny   RunAsAny    RunAsAny   RunAsAny   false            *\n"
        );
    }
}
