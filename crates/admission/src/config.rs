//! The admission configuration: PodSecurityConfiguration (`pod-security.admission.config.k8s.io`
//! `v1`, `v1beta1`, `v1alpha1`), alone or inside an API server AdmissionConfiguration, from YAML
//! or JSON; its defaulting, validation (spec §5.9) and exemptions.
//!
//! No file is read here: an AdmissionConfiguration that points to its PodSecurity configuration
//! by `path:` is resolved against a base directory and read through the caller's callback, so
//! the CLI and the webhook decide how files are read and tests need no files.
//!
//! Decoding of the PodSecurityConfiguration is strict like upstream's: unknown and repeated
//! fields are errors naming the field by its full path (`unknown field "defaults.foo"`). The
//! surrounding AdmissionConfiguration is decoded leniently, as the API server does.

use std::collections::BTreeSet;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use podsec_pss::{Level, LevelVersion, Version};
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::field_error::{Aggregate, FieldError, FieldErrorList, FieldPath};
use crate::policy::Policy;

/// The API group of PodSecurityConfiguration.
pub const CONFIG_GROUP: &str = "pod-security.admission.config.k8s.io";
pub const CONFIG_KIND: &str = "PodSecurityConfiguration";
/// The versions upstream registers, newest first (all share one schema).
pub const CONFIG_VERSIONS: [&str; 3] = ["v1", "v1beta1", "v1alpha1"];
pub const ADMISSION_CONFIGURATION_KIND: &str = "AdmissionConfiguration";
/// The apiVersions the API server accepts for AdmissionConfiguration.
pub const ADMISSION_CONFIGURATION_VERSIONS: [&str; 3] = [
    "apiserver.config.k8s.io/v1",
    "apiserver.config.k8s.io/v1alpha1",
    "apiserver.k8s.io/v1alpha1",
];
/// The plugin name whose configuration is the PodSecurityConfiguration.
pub const PLUGIN_NAME: &str = "PodSecurity";

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The bytes are not a configuration (syntax, missing or unknown type, strict decoding).
    #[error("{0}")]
    Decode(String),
    /// A file named by an AdmissionConfiguration could not be read.
    #[error("unable to read plugin configuration {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    /// A default level or version does not parse (upstream: `configuration error: …`).
    #[error("configuration error: {0}")]
    Policy(Aggregate),
    /// Field validation failed (upstream: `invalid configuration: …`).
    #[error("invalid configuration: {0}")]
    Invalid(Aggregate),
}

/// A PodSecurityConfiguration, as decoded and defaulted. `Default` is the configuration of an
/// empty file: everything `privileged:latest`, no exemptions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodSecurityConfiguration {
    pub defaults: PodSecurityDefaults,
    pub exemptions: PodSecurityExemptions,
}

/// `defaults`: level and version strings per mode, exactly as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodSecurityDefaults {
    pub enforce: String,
    pub enforce_version: String,
    pub audit: String,
    pub audit_version: String,
    pub warn: String,
    pub warn_version: String,
}

impl Default for PodSecurityDefaults {
    /// Already defaulted: `privileged` and `latest` everywhere.
    fn default() -> Self {
        let level = || Level::Privileged.as_str().to_owned();
        let version = || Version::Latest.to_string();
        PodSecurityDefaults {
            enforce: level(),
            enforce_version: version(),
            audit: level(),
            audit_version: version(),
            warn: level(),
            warn_version: version(),
        }
    }
}

/// `exemptions`, as written (validation reports bad and repeated entries).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodSecurityExemptions {
    pub usernames: Vec<String>,
    pub namespaces: Vec<String>,
    pub runtime_classes: Vec<String>,
}

impl PodSecurityConfiguration {
    /// Upstream's defaulting: every empty level becomes `privileged`, every empty version
    /// `latest`. Loading applies it; call it for configurations built in code.
    pub fn apply_defaults(&mut self) {
        let d = &mut self.defaults;
        for level in [&mut d.enforce, &mut d.audit, &mut d.warn] {
            if level.is_empty() {
                *level = Level::Privileged.as_str().to_owned();
            }
        }
        for version in [
            &mut d.enforce_version,
            &mut d.audit_version,
            &mut d.warn_version,
        ] {
            if version.is_empty() {
                *version = Version::Latest.to_string();
            }
        }
    }

    /// The default policy (upstream's `ToPolicy`): errors `<field>: <parse error>` in the
    /// order enforce, enforce-version, audit, audit-version, warn, warn-version.
    pub fn default_policy(&self) -> Result<Policy, Aggregate> {
        let d = &self.defaults;
        let mut errors = Vec::new();
        let mut mode = |level_field: &str, level: &str, version_field: &str, version: &str| {
            let parsed_level = parse_field(level_field, level, &mut errors, |s| {
                Level::parse_with_fallback(s)
            });
            let parsed_version = parse_field(version_field, version, &mut errors, |s| {
                Version::parse_with_fallback(s)
            });
            LevelVersion::new(parsed_level, parsed_version)
        };
        let policy = Policy {
            enforce: mode("enforce", &d.enforce, "enforce-version", &d.enforce_version),
            audit: mode("audit", &d.audit, "audit-version", &d.audit_version),
            warn: mode("warn", &d.warn, "warn-version", &d.warn_version),
        };
        match Aggregate::new(errors) {
            Some(aggregate) => Err(aggregate),
            None => Ok(policy),
        }
    }

    /// Field validation (upstream's `ValidatePodSecurityConfiguration`), errors in upstream's
    /// order: defaults enforce, enforce-version, warn, warn-version, audit, audit-version; then
    /// exempt namespaces, runtime classes and usernames.
    pub fn validate(&self) -> FieldErrorList {
        let mut errors = FieldErrorList::new();
        let defaults = FieldPath::new("defaults");
        let d = &self.defaults;
        for (field, value, is_level) in [
            ("enforce", &d.enforce, true),
            ("enforce-version", &d.enforce_version, false),
            ("warn", &d.warn, true),
            ("warn-version", &d.warn_version, false),
            ("audit", &d.audit, true),
            ("audit-version", &d.audit_version, false),
        ] {
            let error = if is_level {
                Level::parse_with_fallback(value).1
            } else {
                Version::parse_with_fallback(value).1
            };
            if let Some(detail) = error {
                errors.push(FieldError::invalid(defaults.child(field), value, detail));
            }
        }
        let exemptions = FieldPath::new("exemptions");
        let e = &self.exemptions;
        validate_list(
            &mut errors,
            &exemptions.child("namespaces"),
            &e.namespaces,
            dns1123_label,
        );
        validate_list(
            &mut errors,
            &exemptions.child("runtimeClasses"),
            &e.runtime_classes,
            dns1123_subdomain,
        );
        validate_list(
            &mut errors,
            &exemptions.child("usernames"),
            &e.usernames,
            |name| {
                if name.is_empty() {
                    vec!["username must not be empty"]
                } else {
                    Vec::new()
                }
            },
        );
        errors
    }

    /// Defaults policy and exemptions, checked as the webhook does at start-up: first the
    /// policy conversion, then field validation.
    pub fn complete(&self) -> Result<(Policy, Exemptions), ConfigError> {
        let policy = self.default_policy().map_err(ConfigError::Policy)?;
        if let Some(aggregate) = Aggregate::from_field_errors(&self.validate()) {
            return Err(ConfigError::Invalid(aggregate));
        }
        Ok((policy, Exemptions::from(&self.exemptions)))
    }
}

fn parse_field<T>(
    field: &str,
    value: &str,
    errors: &mut Vec<String>,
    parse: impl FnOnce(&str) -> (T, Option<&'static str>),
) -> T {
    // Programmatic configurations may skip defaulting; files never do.
    if value.is_empty() {
        errors.push(format!("{field}: required"));
    }
    let (parsed, error) = parse(value);
    if let (Some(detail), false) = (error, value.is_empty()) {
        errors.push(format!("{field}: {detail}"));
    }
    parsed
}

/// Invalid entries get one error with the validator's messages joined by `, `; a repeat of a
/// valid entry gets a Duplicate error (invalid entries are not checked for repeats).
fn validate_list(
    errors: &mut FieldErrorList,
    path: &FieldPath,
    values: &[String],
    validator: impl Fn(&str) -> Vec<&'static str>,
) {
    let mut seen = BTreeSet::new();
    for (i, value) in values.iter().enumerate() {
        let problems = validator(value);
        if !problems.is_empty() {
            errors.push(FieldError::invalid(
                path.index(i),
                value,
                problems.join(", "),
            ));
        } else if !seen.insert(value.as_str()) {
            errors.push(FieldError::duplicate(path.index(i), value));
        }
    }
}

const DNS1123_LABEL_MESSAGE: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1123_SUBDOMAIN_MESSAGE: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, without the length limit.
fn is_label_syntax(s: &str) -> bool {
    let bytes = s.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            alnum(first) && alnum(last) && bytes.iter().all(|b| alnum(b) || *b == b'-')
        }
        _ => false,
    }
}

fn is_subdomain_syntax(s: &str) -> bool {
    s.split('.').all(is_label_syntax)
}

/// apimachinery's `IsDNS1123Label`.
fn dns1123_label(s: &str) -> Vec<&'static str> {
    let mut problems = Vec::new();
    if s.len() > 63 {
        problems.push("must be no more than 63 characters");
    }
    if !is_label_syntax(s) {
        problems.push(if is_subdomain_syntax(s) {
            "must not contain dots"
        } else {
            DNS1123_LABEL_MESSAGE
        });
    }
    problems
}

/// apimachinery's `IsDNS1123Subdomain`.
fn dns1123_subdomain(s: &str) -> Vec<&'static str> {
    let mut problems = Vec::new();
    if s.len() > 253 {
        problems.push("must be no more than 253 characters");
    }
    if !is_subdomain_syntax(s) {
        problems.push(DNS1123_SUBDOMAIN_MESSAGE);
    }
    problems
}

/// The exemptions in force: exact, case-sensitive matches; an empty name never matches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exemptions {
    pub usernames: BTreeSet<String>,
    pub namespaces: BTreeSet<String>,
    pub runtime_classes: BTreeSet<String>,
}

impl Exemptions {
    pub fn namespace(&self, namespace: &str) -> bool {
        !namespace.is_empty() && self.namespaces.contains(namespace)
    }

    pub fn username(&self, username: &str) -> bool {
        !username.is_empty() && self.usernames.contains(username)
    }

    pub fn runtime_class(&self, runtime_class: &str) -> bool {
        !runtime_class.is_empty() && self.runtime_classes.contains(runtime_class)
    }
}

impl From<&PodSecurityExemptions> for Exemptions {
    fn from(e: &PodSecurityExemptions) -> Self {
        let set = |v: &[String]| v.iter().cloned().collect();
        Exemptions {
            usernames: set(&e.usernames),
            namespaces: set(&e.namespaces),
            runtime_classes: set(&e.runtime_classes),
        }
    }
}

/// Loads a PodSecurityConfiguration from YAML or JSON and applies the defaults. Empty input is
/// the all-defaults configuration.
pub fn load_pod_security_configuration(
    bytes: &[u8],
) -> Result<PodSecurityConfiguration, ConfigError> {
    if bytes.is_empty() {
        return Ok(defaulted(PodSecurityConfiguration::default()));
    }
    let type_meta: TypeMeta = decode(bytes, false)?;
    check_config_type(&type_meta, bytes)?;
    let strict: StrictConfig = decode(bytes, true)?;
    Ok(defaulted(strict.0))
}

/// Loads either a PodSecurityConfiguration or an AdmissionConfiguration (by its `kind`) and
/// returns the defaulted PodSecurityConfiguration. For an AdmissionConfiguration the
/// `PodSecurity` plugin's inline `configuration` wins; otherwise its `path`, resolved against
/// `base_dir` (the directory of the AdmissionConfiguration file) when relative, is read with
/// `read_file`. No PodSecurity plugin, or one with neither, means the defaults.
pub fn load_configuration(
    bytes: &[u8],
    base_dir: &Path,
    read_file: &mut dyn FnMut(&Path) -> io::Result<Vec<u8>>,
) -> Result<PodSecurityConfiguration, ConfigError> {
    if bytes.is_empty() {
        return load_pod_security_configuration(bytes);
    }
    let type_meta: TypeMeta = decode(bytes, false)?;
    if type_meta.kind.as_deref() != Some(ADMISSION_CONFIGURATION_KIND) {
        return load_pod_security_configuration(bytes);
    }
    let api_version = type_meta.api_version.unwrap_or_default();
    if !ADMISSION_CONFIGURATION_VERSIONS.contains(&api_version.as_str()) {
        return Err(not_registered(ADMISSION_CONFIGURATION_KIND, &api_version));
    }
    let admission: AdmissionConfiguration = decode(bytes, false)?;
    let Some(plugin) = admission
        .plugins
        .into_iter()
        .find(|p| p.name == PLUGIN_NAME)
    else {
        return load_pod_security_configuration(b"");
    };
    match (plugin.configuration, plugin.path) {
        (Some(inline), _) if !inline.is_null() => {
            // Re-encoded as JSON so that the inline object goes through the same strict
            // loader as a file does.
            let json =
                serde_json::to_vec(&inline).map_err(|e| ConfigError::Decode(e.to_string()))?;
            load_pod_security_configuration(&json)
        }
        (_, Some(path)) if !path.is_empty() => {
            let path = base_dir.join(path);
            let content = read_file(&path).map_err(|source| ConfigError::Read { path, source })?;
            load_pod_security_configuration(&content)
        }
        _ => load_pod_security_configuration(b""),
    }
}

fn defaulted(mut config: PodSecurityConfiguration) -> PodSecurityConfiguration {
    config.apply_defaults();
    config
}

/// The messages of apimachinery's decoder for missing and unknown types.
fn check_config_type(type_meta: &TypeMeta, bytes: &[u8]) -> Result<(), ConfigError> {
    let kind = type_meta.kind.as_deref().unwrap_or_default();
    let api_version = type_meta.api_version.as_deref().unwrap_or_default();
    let data = String::from_utf8_lossy(bytes);
    if kind.is_empty() {
        return Err(ConfigError::Decode(format!(
            "Object 'Kind' is missing in '{data}'"
        )));
    }
    if api_version.is_empty() {
        return Err(ConfigError::Decode(format!(
            "Object 'apiVersion' is missing in '{data}'"
        )));
    }
    let known_version = api_version
        .strip_prefix(CONFIG_GROUP)
        .and_then(|rest| rest.strip_prefix('/'))
        .is_some_and(|version| CONFIG_VERSIONS.contains(&version));
    if kind != CONFIG_KIND || !known_version {
        return Err(not_registered(kind, api_version));
    }
    Ok(())
}

fn not_registered(kind: &str, api_version: &str) -> ConfigError {
    ConfigError::Decode(format!(
        "no kind \"{kind}\" is registered for version \"{api_version}\""
    ))
}

/// JSON when the document starts with `{`, YAML otherwise (JSON is YAML, but serde_json gives
/// the familiar messages for it).
fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8], strict: bool) -> Result<T, ConfigError> {
    let is_json = bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{');
    if is_json {
        return serde_json::from_slice(bytes).map_err(|e| ConfigError::Decode(e.to_string()));
    }
    // Duplicates reach the visitors, which name them like upstream's strict decoder; the
    // lenient decodes (type probe, AdmissionConfiguration) keep the last, as Go does.
    let options = serde_saphyr::options! {
        duplicate_keys: if strict {
            serde_saphyr::options::DuplicateKeyPolicy::PassThrough
        } else {
            serde_saphyr::options::DuplicateKeyPolicy::LastWins
        },
    };
    serde_saphyr::from_slice_with_options(bytes, options)
        .map_err(|e| ConfigError::Decode(e.to_string()))
}

/// `apiVersion` and `kind`, everything else ignored.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TypeMeta {
    #[serde(default)]
    api_version: Option<String>,
    #[serde(default)]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct AdmissionConfiguration {
    #[serde(default, deserialize_with = "null_as_default")]
    plugins: Vec<AdmissionPlugin>,
}

#[derive(Deserialize)]
struct AdmissionPlugin {
    #[serde(default, deserialize_with = "null_as_default")]
    name: String,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    configuration: Option<serde_json::Value>,
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Walks a mapping whose keys must be among `fields` and appear once; `on_field` reads the
/// value of the field at the given index. Errors name the field by `prefix` + key.
fn strict_fields<'de, A: MapAccess<'de>>(
    mut map: A,
    prefix: &str,
    fields: &[&str],
    mut on_field: impl FnMut(usize, &mut A) -> Result<(), A::Error>,
) -> Result<(), A::Error> {
    let mut seen = vec![false; fields.len()];
    while let Some(key) = map.next_key::<String>()? {
        let Some(index) = fields.iter().position(|f| *f == key) else {
            return Err(de::Error::custom(format_args!(
                "strict decoding error: unknown field \"{prefix}{key}\""
            )));
        };
        if std::mem::replace(&mut seen[index], true) {
            return Err(de::Error::custom(format_args!(
                "strict decoding error: duplicate field \"{prefix}{key}\""
            )));
        }
        on_field(index, &mut map)?;
    }
    Ok(())
}

/// The whole PodSecurityConfiguration document, strictly decoded.
struct StrictConfig(PodSecurityConfiguration);

impl<'de> Deserialize<'de> for StrictConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StrictConfig;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a PodSecurityConfiguration")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<StrictConfig, A::Error> {
                let mut config = PodSecurityConfiguration::default();
                strict_fields(
                    map,
                    "",
                    &["apiVersion", "kind", "defaults", "exemptions"],
                    |i, map| {
                        match i {
                            0 | 1 => {
                                map.next_value::<IgnoredAny>()?;
                            }
                            2 => {
                                config.defaults = map
                                    .next_value::<Option<StrictDefaults>>()?
                                    .unwrap_or_default()
                                    .0
                            }
                            _ => {
                                config.exemptions = map
                                    .next_value::<Option<StrictExemptions>>()?
                                    .unwrap_or_default()
                                    .0
                            }
                        }
                        Ok(())
                    },
                )?;
                Ok(StrictConfig(config))
            }
        }
        deserializer.deserialize_map(V)
    }
}

#[derive(Default)]
struct StrictDefaults(PodSecurityDefaults);

impl<'de> Deserialize<'de> for StrictDefaults {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StrictDefaults;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("PodSecurityConfiguration defaults")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<StrictDefaults, A::Error> {
                let mut d = PodSecurityDefaults::default();
                strict_fields(
                    map,
                    "defaults.",
                    &[
                        "enforce",
                        "enforce-version",
                        "audit",
                        "audit-version",
                        "warn",
                        "warn-version",
                    ],
                    |i, map| {
                        let value = map.next_value::<Option<String>>()?.unwrap_or_default();
                        *[
                            &mut d.enforce,
                            &mut d.enforce_version,
                            &mut d.audit,
                            &mut d.audit_version,
                            &mut d.warn,
                            &mut d.warn_version,
                        ][i] = value;
                        Ok(())
                    },
                )?;
                Ok(StrictDefaults(d))
            }
        }
        deserializer.deserialize_map(V)
    }
}

#[derive(Default)]
struct StrictExemptions(PodSecurityExemptions);

impl<'de> Deserialize<'de> for StrictExemptions {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StrictExemptions;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("PodSecurityConfiguration exemptions")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<StrictExemptions, A::Error> {
                let mut e = PodSecurityExemptions::default();
                strict_fields(
                    map,
                    "exemptions.",
                    &["usernames", "namespaces", "runtimeClasses"],
                    |i, map| {
                        let value = map.next_value::<Option<Vec<String>>>()?.unwrap_or_default();
                        *[&mut e.usernames, &mut e.namespaces, &mut e.runtime_classes][i] = value;
                        Ok(())
                    },
                )?;
                Ok(StrictExemptions(e))
            }
        }
        deserializer.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<PodSecurityConfiguration, ConfigError> {
        load_pod_security_configuration(text.as_bytes())
    }

    fn error(text: &str) -> String {
        match load(text) {
            Ok(config) => panic!("expected an error for {text:?}, got {config:?}"),
            Err(error) => error.to_string(),
        }
    }

    fn no_files(path: &Path) -> io::Result<Vec<u8>> {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("no file {}", path.display()),
        ))
    }

    const FULL_YAML: &str = "
apiVersion: pod-security.admission.config.k8s.io/VERSION
kind: PodSecurityConfiguration
defaults:
  enforce: baseline
  enforce-version: v1.29
  audit: restricted
  audit-version: latest
  warn: restricted
  warn-version: v1.30
exemptions:
  usernames: [admin]
  namespaces: [kube-system]
  runtimeClasses: [gvisor]
";

    #[test]
    fn loads_every_version_from_yaml_and_json() {
        for version in CONFIG_VERSIONS {
            let yaml = FULL_YAML.replace("VERSION", version);
            let config = load(&yaml).expect("yaml loads");
            assert_eq!(config.defaults.enforce, "baseline");
            assert_eq!(config.defaults.warn_version, "v1.30");
            assert_eq!(config.exemptions.runtime_classes, ["gvisor"]);
            let json = format!(
                r#"{{"apiVersion":"pod-security.admission.config.k8s.io/{version}","kind":"PodSecurityConfiguration",
                "defaults":{{"enforce":"baseline","enforce-version":"v1.29","audit":"restricted",
                "audit-version":"latest","warn":"restricted","warn-version":"v1.30"}},
                "exemptions":{{"usernames":["admin"],"namespaces":["kube-system"],"runtimeClasses":["gvisor"]}}}}"#
            );
            assert_eq!(load(&json).expect("json loads"), config);
            let (policy, exemptions) = config.complete().expect("valid");
            assert_eq!(policy.enforce.to_string(), "baseline:v1.29");
            assert_eq!(policy.warn.to_string(), "restricted:v1.30");
            assert!(exemptions.namespace("kube-system") && !exemptions.namespace("kube"));
        }
    }

    #[test]
    fn empty_and_partial_configurations_default() {
        let default = load("").expect("empty loads");
        assert_eq!(default.complete().expect("valid").0, Policy::PRIVILEGED);
        let partial = load(
            "apiVersion: pod-security.admission.config.k8s.io/v1\nkind: PodSecurityConfiguration\ndefaults:\n  enforce: restricted\n  warn: \"\"\nexemptions: null\n",
        )
        .expect("partial loads");
        assert_eq!(partial.defaults.enforce, "restricted");
        assert_eq!(partial.defaults.enforce_version, "latest");
        assert_eq!(partial.defaults.warn, "privileged");
        assert_eq!(partial.exemptions, PodSecurityExemptions::default());
    }

    #[test]
    fn type_errors_follow_the_decoder() {
        assert!(error("defaults: {}").contains("'Kind' is missing"));
        assert!(error("kind: PodSecurityConfiguration").contains("'apiVersion' is missing"));
        assert!(
            error(r#"{"kind":"PodSecurityConfiguration"}"#).contains("'apiVersion' is missing")
        );
        let v99 =
            "apiVersion: pod-security.admission.config.k8s.io/v99\nkind: PodSecurityConfiguration";
        assert!(error(v99).contains("pod-security.admission.config.k8s.io/v99"));
        let kind = "apiVersion: pod-security.admission.config.k8s.io/v1\nkind: PodSecurity";
        assert!(error(kind).contains("\"PodSecurity\""));
        assert!(load("apiVersion: [").is_err(), "syntax errors are errors");
    }

    #[test]
    fn decoding_is_strict() {
        let head =
            "apiVersion: pod-security.admission.config.k8s.io/v1\nkind: PodSecurityConfiguration\n";
        for (body, field) in [
            ("foo: 1\n", "unknown field \"foo\""),
            (
                "defaults:\n  enforce: baseline\n  bogus: x\n",
                "unknown field \"defaults.bogus\"",
            ),
            (
                "exemptions:\n  users: []\n",
                "unknown field \"exemptions.users\"",
            ),
            (
                "defaults:\n  enforce: baseline\n  enforce: restricted\n",
                "duplicate field \"defaults.enforce\"",
            ),
            (
                "exemptions: {}\nexemptions: {}\n",
                "duplicate field \"exemptions\"",
            ),
        ] {
            let message = error(&format!("{head}{body}"));
            assert!(message.contains(field), "{body:?}: {message}");
        }
        let json = r#"{"apiVersion":"pod-security.admission.config.k8s.io/v1","kind":"PodSecurityConfiguration","defaults":{"warn":"baseline","warn":"baseline"}}"#;
        assert!(error(json).contains("duplicate field \"defaults.warn\""));
        let json = r#"{"apiVersion":"pod-security.admission.config.k8s.io/v1","kind":"PodSecurityConfiguration","Defaults":{}}"#;
        assert!(error(json).contains("unknown field \"Defaults\""));
    }

    fn config_with(
        defaults: [&str; 6],
        exemptions: PodSecurityExemptions,
    ) -> PodSecurityConfiguration {
        let [
            enforce,
            enforce_version,
            audit,
            audit_version,
            warn,
            warn_version,
        ] = defaults.map(str::to_owned);
        PodSecurityConfiguration {
            defaults: PodSecurityDefaults {
                enforce,
                enforce_version,
                audit,
                audit_version,
                warn,
                warn_version,
            },
            exemptions,
        }
    }

    const OK: [&str; 6] = [
        "privileged",
        "latest",
        "privileged",
        "latest",
        "privileged",
        "latest",
    ];

    #[test]
    fn default_policy_errors_name_the_fields() {
        let bad = config_with(
            ["foo", "v2", "bar", "latest", "baz", "x"],
            Default::default(),
        );
        assert_eq!(
            bad.default_policy().expect_err("invalid").to_string(),
            "[enforce: must be one of privileged, baseline, restricted, enforce-version: must be \"latest\" or \"v1.x\", audit: must be one of privileged, baseline, restricted, warn: must be one of privileged, baseline, restricted, warn-version: must be \"latest\" or \"v1.x\"]"
        );
        let one = config_with(
            [
                "privileged",
                "v1.01",
                "privileged",
                "latest",
                "privileged",
                "latest",
            ],
            Default::default(),
        );
        assert_eq!(
            one.complete().expect_err("invalid").to_string(),
            "configuration error: enforce-version: must be \"latest\" or \"v1.x\""
        );
        let unset = config_with(
            ["", "latest", "privileged", "latest", "privileged", "latest"],
            Default::default(),
        );
        assert_eq!(
            unset.default_policy().expect_err("unset").to_string(),
            "enforce: required"
        );
    }

    #[test]
    fn validation_reports_upstream_texts_in_upstream_order() {
        let label_message = DNS1123_LABEL_MESSAGE;
        assert!(label_message.contains("'my-name',  or '123-abc'"));
        let long = "a".repeat(64);
        let long_subdomain = format!("{}.b", "a".repeat(253));
        let config = config_with(
            ["x", "y", "privileged", "latest", "baseline", "v1.x"],
            PodSecurityExemptions {
                usernames: vec!["bob".into(), "".into(), "bob".into()],
                namespaces: vec![
                    "ok".into(),
                    "Bad".into(),
                    long.clone(),
                    "a.b".into(),
                    "ok".into(),
                    "".into(),
                ],
                runtime_classes: vec![
                    "gvisor".into(),
                    "a.b".into(),
                    "-x".into(),
                    long_subdomain.clone(),
                    "a.b".into(),
                ],
            },
        );
        let rendered: Vec<String> = config.validate().iter().map(ToString::to_string).collect();
        let subdomain = DNS1123_SUBDOMAIN_MESSAGE;
        assert_eq!(
            rendered,
            [
                "defaults.enforce: Invalid value: \"x\": must be one of privileged, baseline, restricted".to_owned(),
                "defaults.enforce-version: Invalid value: \"y\": must be \"latest\" or \"v1.x\"".to_owned(),
                "defaults.warn-version: Invalid value: \"v1.x\": must be \"latest\" or \"v1.x\"".to_owned(),
                format!("exemptions.namespaces[1]: Invalid value: \"Bad\": {label_message}"),
                format!("exemptions.namespaces[2]: Invalid value: \"{long}\": must be no more than 63 characters"),
                "exemptions.namespaces[3]: Invalid value: \"a.b\": must not contain dots".to_owned(),
                "exemptions.namespaces[4]: Duplicate value: \"ok\"".to_owned(),
                format!("exemptions.namespaces[5]: Invalid value: \"\": {label_message}"),
                format!("exemptions.runtimeClasses[2]: Invalid value: \"-x\": {subdomain}"),
                format!("exemptions.runtimeClasses[3]: Invalid value: \"{long_subdomain}\": must be no more than 253 characters"),
                "exemptions.runtimeClasses[4]: Duplicate value: \"a.b\"".to_owned(),
                "exemptions.usernames[1]: Invalid value: \"\": username must not be empty".to_owned(),
                "exemptions.usernames[2]: Duplicate value: \"bob\"".to_owned(),
            ]
        );
        // Too long and malformed: both messages, joined.
        let both = format!("{}-", "a".repeat(63));
        assert_eq!(
            dns1123_label(&both),
            vec!["must be no more than 63 characters", label_message]
        );
        assert!(config_with(OK, Default::default()).validate().is_empty());
        let invalid = config_with(
            OK,
            PodSecurityExemptions {
                usernames: vec![String::new()],
                ..Default::default()
            },
        );
        assert_eq!(
            invalid.complete().expect_err("invalid").to_string(),
            "invalid configuration: exemptions.usernames[0]: Invalid value: \"\": username must not be empty"
        );
    }

    #[test]
    fn exemptions_match_exactly_and_never_empty() {
        let exemptions = Exemptions::from(&PodSecurityExemptions {
            usernames: vec!["system:admin".into(), "".into()],
            namespaces: vec!["kube-system".into()],
            runtime_classes: vec!["gvisor".into()],
        });
        assert!(exemptions.username("system:admin"));
        assert!(!exemptions.username("system:Admin") && !exemptions.username(""));
        assert!(!exemptions.namespace("kube-*") && !exemptions.namespace(""));
        assert!(exemptions.runtime_class("gvisor") && !exemptions.runtime_class("gvisor2"));
    }

    #[test]
    fn admission_configuration_inline_path_and_absent() {
        let inline = "apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins:\n- name: Other\n  path: other.yaml\n- name: PodSecurity\n  configuration:\n    apiVersion: pod-security.admission.config.k8s.io/v1\n    kind: PodSecurityConfiguration\n    defaults:\n      enforce: baseline\n";
        let config = load_configuration(inline.as_bytes(), Path::new("/etc"), &mut no_files)
            .expect("inline");
        assert_eq!(config.defaults.enforce, "baseline");
        assert_eq!(config.defaults.audit, "privileged");

        let strict = inline.replace("enforce: baseline", "enforce: baseline\n      extra: 1");
        let message = load_configuration(strict.as_bytes(), Path::new("/"), &mut no_files)
            .expect_err("strict inside")
            .to_string();
        assert!(
            message.contains("unknown field \"defaults.extra\""),
            "{message}"
        );

        let by_path = "apiVersion: apiserver.config.k8s.io/v1alpha1\nkind: AdmissionConfiguration\nplugins:\n- name: PodSecurity\n  path: psa/config.yaml\n";
        let mut asked = Vec::new();
        let mut read = |path: &Path| {
            asked.push(path.to_path_buf());
            Ok(FULL_YAML.replace("VERSION", "v1beta1").into_bytes())
        };
        let config =
            load_configuration(by_path.as_bytes(), Path::new("/etc/k8s"), &mut read).expect("path");
        assert_eq!(config.defaults.enforce, "baseline");
        assert_eq!(asked, [PathBuf::from("/etc/k8s/psa/config.yaml")]);
        let absolute = by_path.replace("psa/config.yaml", "/abs.yaml");
        let message = load_configuration(absolute.as_bytes(), Path::new("/etc"), &mut no_files)
            .expect_err("unreadable")
            .to_string();
        assert!(message.contains("/abs.yaml"), "{message}");

        let without = "apiVersion: apiserver.k8s.io/v1alpha1\nkind: AdmissionConfiguration\nplugins:\n- name: EventRateLimit\n  path: x\n";
        let config = load_configuration(without.as_bytes(), Path::new("/"), &mut no_files)
            .expect("no plugin");
        assert_eq!(config.defaults.enforce, "privileged");

        let json = r#"{"apiVersion":"apiserver.config.k8s.io/v1","kind":"AdmissionConfiguration","plugins":[{"name":"PodSecurity","configuration":{"apiVersion":"pod-security.admission.config.k8s.io/v1","kind":"PodSecurityConfiguration","exemptions":{"namespaces":["a"]}}}]}"#;
        let config =
            load_configuration(json.as_bytes(), Path::new("/"), &mut no_files).expect("json");
        assert_eq!(config.exemptions.namespaces, ["a"]);

        let bad_version = "apiVersion: apiserver.config.k8s.io/v2\nkind: AdmissionConfiguration\n";
        let message = load_configuration(bad_version.as_bytes(), Path::new("/"), &mut no_files)
            .expect_err("unknown version")
            .to_string();
        assert!(message.contains("apiserver.config.k8s.io/v2"), "{message}");

        // A bare PodSecurityConfiguration goes through the same entry point.
        let bare = FULL_YAML.replace("VERSION", "v1");
        assert!(load_configuration(bare.as_bytes(), Path::new("/"), &mut no_files).is_ok());
    }

    /// The configuration files of the real-world corpus load (or fail with a message).
    #[test]
    fn corpus_configurations() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/auditlogs");
        if !dir.exists() {
            eprintln!("skipping: ../shared not found");
            return;
        }
        let mut loaded = 0;
        for entry in std::fs::read_dir(&dir).expect("corpus dir") {
            let path = entry.expect("entry").path();
            let bytes = std::fs::read(&path).expect("readable");
            let text = String::from_utf8_lossy(&bytes);
            if !text.contains("PodSecurity")
                || !text.contains("kind: AdmissionConfiguration")
                    && !text.contains("PodSecurityConfiguration")
            {
                continue;
            }
            match load_configuration(&bytes, &dir, &mut no_files) {
                Ok(config) => {
                    loaded += 1;
                    config
                        .complete()
                        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                }
                Err(error) => assert!(!error.to_string().is_empty(), "{}", path.display()),
            }
        }
        assert!(loaded >= 4, "loaded {loaded}");
    }
}
