//! Upstream's 4,537 conformance fixtures (`../shared/conformance/pss`): every pass fixture is
//! allowed and every fail fixture denied at its level and version, by the check the file is
//! named after (or by the restricted check that replaces it at that version).

use std::path::{Path, PathBuf};

use podsec_pss::pod::{PodMetadata, PodSpec};
use podsec_pss::{Level, LevelVersion, Version, all_checks, evaluate};

#[derive(serde::Deserialize)]
struct Pod {
    #[serde(default)]
    metadata: PodMetadata,
    #[serde(default)]
    spec: PodSpec,
}

fn fixtures_root() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/pss");
    root.is_dir().then_some(root)
}

/// Ids that may deny a fixture named after `stem` at this minor: the check itself, or a
/// restricted variant overriding it there.
fn accepted_ids(stem: &str, level: Level, minor: u32) -> Vec<String> {
    let mut ids = vec![stem.to_owned()];
    if level == Level::Restricted {
        for check in all_checks() {
            if let Some(variant) = check.variant_at(minor)
                && variant.overrides.iter().any(|o| o.to_lowercase() == stem)
            {
                ids.push(check.id.to_lowercase());
            }
        }
    }
    ids
}

#[test]
fn every_fixture_is_judged_as_upstream_judges_it() {
    let Some(root) = fixtures_root() else {
        eprintln!("skipping: ../shared/conformance/pss not found beside the checkout");
        return;
    };
    let mut checked = 0;
    let mut failures = Vec::new();
    for level in [Level::Baseline, Level::Restricted] {
        for minor in 0..=podsec_pss::MAX_KNOWN_MINOR {
            let policy = LevelVersion::new(level, Version::Minor(u64::from(minor)));
            for outcome in ["pass", "fail"] {
                let dir = root
                    .join(level.as_str())
                    .join(format!("v1.{minor}"))
                    .join(outcome);
                let mut files: Vec<_> = std::fs::read_dir(&dir)
                    .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                    .map(|e| e.expect("dir entry").path())
                    .collect();
                files.sort();
                for file in files {
                    let text = std::fs::read_to_string(&file).expect("fixture readable");
                    let mut pod: Pod = serde_saphyr::from_str(&text)
                        .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
                    pod.spec.apply_api_defaults();
                    let result = evaluate(policy, &pod.metadata, &pod.spec);
                    checked += 1;
                    let name = format!(
                        "{policy} {outcome}/{}",
                        file.file_name().unwrap().to_string_lossy()
                    );
                    if outcome == "pass" {
                        if !result.allowed() {
                            failures.push(format!("{name}: denied: {}", result.forbidden_detail()));
                        }
                        continue;
                    }
                    let stem = file.file_stem().unwrap().to_string_lossy();
                    let stem = stem.trim_end_matches(|c: char| c.is_ascii_digit());
                    let accepted = accepted_ids(stem, level, minor);
                    let denied_by: Vec<String> = result
                        .violations
                        .iter()
                        .map(|v| v.check.to_lowercase())
                        .collect();
                    if !denied_by.iter().any(|id| accepted.contains(id)) {
                        failures.push(format!(
                            "{name}: denied by {denied_by:?}, expected {accepted:?}"
                        ));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} fixtures wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(checked, 4537);
}
