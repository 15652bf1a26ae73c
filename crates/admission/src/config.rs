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
//!
//! Errors carry the [`Position`] of the problem in the file that holds it: for unknown and
//! repeated fields the key itself, also inside an AdmissionConfiguration (the inline
//! configuration is decoded where it is written) and in the file its `path` names
//! ([`ConfigError::PluginFile`]). A type error also names the field of its value
//! (`defaults.enforce`), found from the position once decoding has failed (`node_path`). A
//! configuration file holds one YAML document.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use podsec_pss::{Level, LevelVersion, Version};
use serde::Deserialize;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess,
    Visitor,
};
use serde_saphyr::{DuplicateKeyPolicy, MessageFormatter, Spanned};

use crate::field_error::{Aggregate, FieldError, FieldErrorList, FieldPath};
use crate::node_path::{self, Placement};
use crate::policy::Policy;
use crate::yaml_messages::UserMessages;

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
    /// The bytes are not a configuration (syntax, missing or unknown type, strict decoding);
    /// `position` is where in them, when the parser says.
    /// `field` is the path of the value at `position` (`defaults.enforce`), when a type error
    /// places one there; errors about keys name their key in `message`.
    #[error("{}{}{message}", position_prefix(.position), field_prefix(.field))]
    Decode {
        position: Option<Position>,
        field: Option<String>,
        message: String,
    },
    /// A YAML file of more than one document (only the first would count upstream, silently).
    #[error(
        "a configuration file must hold exactly one YAML document, but a second one starts on line {line}"
    )]
    MultipleDocuments { line: usize },
    /// The file named by an AdmissionConfiguration's `path` could not be read. (`error`, not
    /// `source`: the message includes it, and a source would be printed a second time by
    /// whoever prints the error's chain.)
    #[error("cannot read the PodSecurity plugin configuration {}: {error}", path.display())]
    Read { path: PathBuf, error: io::Error },
    /// The file named by an AdmissionConfiguration's `path` is not a valid configuration;
    /// positions in `error` are in that file.
    #[error("the PodSecurity plugin configuration {}: {error}", path.display())]
    PluginFile {
        path: PathBuf,
        error: Box<ConfigError>,
    },
    /// A default level or version does not parse (upstream: `configuration error: …`).
    #[error("configuration error: {0}")]
    Policy(Aggregate),
    /// Field validation failed (upstream: `invalid configuration: …`).
    #[error("invalid configuration: {0}")]
    Invalid(Aggregate),
}

impl ConfigError {
    fn decode(message: String) -> Self {
        ConfigError::Decode {
            position: None,
            field: None,
            message,
        }
    }
}

fn position_prefix(position: &Option<Position>) -> String {
    position.map(|p| format!("{p}: ")).unwrap_or_default()
}

fn field_prefix(field: &Option<String>) -> String {
    field.as_ref().map(|f| format!("{f}: ")).unwrap_or_default()
}

/// A 1-based line and column in a configuration file, counted as its parser counts them
/// (characters in YAML, bytes in JSON). Shown as `podsec check` shows positions in manifests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    /// `None` for saphyr's unknown location (line 0), which is all serde_json's spans give.
    fn from_yaml(location: &serde_saphyr::Location) -> Option<Position> {
        (location.line() > 0).then(|| Position {
            line: to_usize(location.line()),
            column: to_usize(location.column()),
        })
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
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
/// the all-defaults configuration. Errors give their position in `bytes` when the parser knows
/// it.
pub fn load_pod_security_configuration(
    bytes: &[u8],
) -> Result<PodSecurityConfiguration, ConfigError> {
    if bytes.is_empty() {
        return Ok(defaulted(PodSecurityConfiguration::default()));
    }
    let type_meta: TypeMeta = decode_lenient(bytes)?;
    check_config_type(&type_meta, bytes)?;
    let config = decode_strict(bytes, Target::Document)?.unwrap_or_default();
    Ok(defaulted(config))
}

/// Loads either a PodSecurityConfiguration or an AdmissionConfiguration (by its `kind`) and
/// returns the defaulted PodSecurityConfiguration. For an AdmissionConfiguration the
/// `PodSecurity` plugin's inline `configuration` wins; otherwise its `path`, resolved against
/// `base_dir` (the directory of the AdmissionConfiguration file) when relative, is read with
/// `read_file`. No PodSecurity plugin, or one with neither, means the defaults.
///
/// Positions in errors are in `bytes`, also for an inline configuration; errors in the file
/// that `path` names are [`ConfigError::PluginFile`], with positions in that file.
pub fn load_configuration(
    bytes: &[u8],
    base_dir: &Path,
    read_file: &mut dyn FnMut(&Path) -> io::Result<Vec<u8>>,
) -> Result<PodSecurityConfiguration, ConfigError> {
    if bytes.is_empty() {
        return load_pod_security_configuration(bytes);
    }
    let type_meta: TypeMeta = decode_lenient(bytes)?;
    if type_meta.kind.as_deref() != Some(ADMISSION_CONFIGURATION_KIND) {
        return load_pod_security_configuration(bytes);
    }
    let api_version = type_meta.api_version.unwrap_or_default();
    if !ADMISSION_CONFIGURATION_VERSIONS.contains(&api_version.as_str()) {
        return Err(not_registered(ADMISSION_CONFIGURATION_KIND, &api_version));
    }
    let admission: AdmissionConfiguration = decode_lenient(bytes)?;
    let Some((index, plugin)) = admission
        .plugins
        .into_iter()
        .enumerate()
        .find(|(_, p)| p.name == PLUGIN_NAME)
    else {
        return load_pod_security_configuration(b"");
    };
    match (plugin.configuration, plugin.path) {
        (Some(inline), _) if !inline.is_null() => {
            // The type is checked on the object as the API server holds it (JSON), so that
            // the messages that quote it quote what upstream's would.
            let json = serde_json::to_vec(&inline).map_err(|e| json_error(&e))?;
            let type_meta: TypeMeta = serde_json::from_slice(&json).map_err(|e| json_error(&e))?;
            check_config_type(&type_meta, &json)?;
            // Strictly decoded where it is written, not from `json`, so that errors point into
            // the file.
            let config = match decode_strict(bytes, Target::Plugin(index))? {
                Some(config) => config,
                // The walk did not find what the lenient decode found; the copy still holds it.
                None => decode_strict(&json, Target::Document)?.unwrap_or_default(),
            };
            Ok(defaulted(config))
        }
        (_, Some(path)) if !path.is_empty() => {
            let path = base_dir.join(path);
            match read_file(&path) {
                Ok(content) => load_pod_security_configuration(&content).map_err(|error| {
                    ConfigError::PluginFile {
                        path,
                        error: Box::new(error),
                    }
                }),
                Err(error) => Err(ConfigError::Read { path, error }),
            }
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
        return Err(ConfigError::decode(format!(
            "Object 'Kind' is missing in '{data}'"
        )));
    }
    if api_version.is_empty() {
        return Err(ConfigError::decode(format!(
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
    ConfigError::decode(format!(
        "no kind \"{kind}\" is registered for version \"{api_version}\""
    ))
}

/// JSON when the document starts with `{`, YAML otherwise (JSON is YAML, but serde_json gives
/// the familiar messages for it).
fn is_json(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{')
}

fn yaml_options(duplicate_keys: DuplicateKeyPolicy) -> serde_saphyr::Options {
    serde_saphyr::options! {
        duplicate_keys: duplicate_keys,
        // The position is reported on its own; a snippet would quote the file in the message.
        with_snippet: false,
    }
}

/// The type probe and the AdmissionConfiguration: a repeated key keeps its last value, as Go's
/// decoder does.
fn decode_lenient<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ConfigError> {
    if is_json(bytes) {
        return serde_json::from_slice(bytes).map_err(|e| json_error_in(bytes, &e));
    }
    serde_saphyr::from_slice_with_options(bytes, yaml_options(DuplicateKeyPolicy::LastWins))
        .map_err(|e| yaml_error(bytes, &e))
}

/// What a strict decode reads: a whole PodSecurityConfiguration document, or the inline
/// `configuration` of the AdmissionConfiguration's plugin at this index of `plugins`
/// (`None` when it is not there).
#[derive(Debug, Clone, Copy)]
enum Target {
    Document,
    Plugin(usize),
}

impl Target {
    fn decode<'de, D: Deserializer<'de>>(
        self,
        deserializer: D,
        slot: &KeyErrorSlot,
    ) -> Result<Option<PodSecurityConfiguration>, D::Error> {
        match self {
            Target::Document => Strict::<PodSecurityConfiguration>::new(slot)
                .deserialize(deserializer)
                .map(Some),
            Target::Plugin(index) => deserializer.deserialize_struct(
                "AdmissionConfiguration",
                &["plugins"],
                InlineConfiguration { index, slot },
            ),
        }
    }
}

/// Decodes `target` strictly: unknown and repeated fields are errors, placed at the key.
fn decode_strict(
    bytes: &[u8],
    target: Target,
) -> Result<Option<PodSecurityConfiguration>, ConfigError> {
    let slot = KeyErrorSlot::default();
    if !is_json(bytes) {
        // The scalar typing's `invalid type` errors are placed less precisely than
        // serde-saphyr's own, so a document that fails without that typing too reports that
        // failure; only one that reads without it has a scalar of the wrong type.
        let result = decode_strict_yaml(bytes, target, &slot, true).map_err(|typed| {
            let untyped = KeyErrorSlot::default();
            match decode_strict_yaml(bytes, target, &untyped, false) {
                Ok(_) => typed,
                Err(error) => {
                    slot.replace(untyped.take());
                    error
                }
            }
        });
        return result.map_err(|error| match slot.take() {
            Some(key) => ConfigError::Decode {
                position: key.position.or_else(|| yaml_position(&error)),
                field: None,
                message: key.message,
            },
            None => yaml_error(bytes, &error),
        });
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let result = target
        .decode(&mut deserializer, &slot)
        .and_then(|config| deserializer.end().map(|()| config));
    result.map_err(|error| match slot.take() {
        Some(key) => {
            // serde_json has no positions for keys, and places the error after the key; the
            // same text read as YAML (which JSON is) places the key itself.
            let position = key
                .position
                .or_else(|| {
                    let again = KeyErrorSlot::default();
                    let _ = decode_strict_yaml(bytes, target, &again, false);
                    again.take().filter(|k| k.message == key.message)?.position
                })
                .or_else(|| json_position(&error));
            ConfigError::Decode {
                position,
                field: None,
                message: key.message,
            }
        }
        None => json_error_in(bytes, &error),
    })
}

/// [`json_error`] for an error in `bytes`, the file as written: a type error also names the
/// field of its value.
fn json_error_in(bytes: &[u8], error: &serde_json::Error) -> ConfigError {
    let mut decode_error = json_error(error);
    if let ConfigError::Decode { field, .. } = &mut decode_error
        && error.classify() == serde_json::error::Category::Data
    {
        // serde_json keeps no path; the position leads to it.
        *field = json_position(error)
            .and_then(|p| node_path::field_at(bytes, p.line, p.column, Placement::Within));
    }
    decode_error
}

/// `typed`: scalars typed as the API server's YAML-to-JSON conversion types them
/// ([`Strict`](crate::yaml_strict::Strict)): `usernames: [a, 3]` holds a number, which its JSON
/// decoding refuses.
fn decode_strict_yaml(
    bytes: &[u8],
    target: Target,
    slot: &KeyErrorSlot,
    typed: bool,
) -> Result<Option<PodSecurityConfiguration>, serde_saphyr::Error> {
    // Around an inline configuration, repeated keys of the AdmissionConfiguration keep the last
    // value, as in the lenient decode that found the plugin. The strict visitors read mappings,
    // not structs, and see every key under both policies.
    let duplicate_keys = match target {
        Target::Document => DuplicateKeyPolicy::PassThrough,
        Target::Plugin(_) => DuplicateKeyPolicy::LastWins,
    };
    serde_saphyr::with_deserializer_from_slice_with_options(
        bytes,
        yaml_options(duplicate_keys),
        |deserializer| {
            if typed {
                target.decode(crate::yaml_strict::Strict(deserializer), slot)
            } else {
                target.decode(deserializer, slot)
            }
        },
    )
}

/// serde_json's message without its ` at line L column C`, which becomes the position.
fn json_error(error: &serde_json::Error) -> ConfigError {
    let message = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    let position = json_position(error);
    let message = match (position, message.strip_suffix(&suffix)) {
        (Some(_), Some(stripped)) => stripped.to_owned(),
        _ => message,
    };
    ConfigError::Decode {
        position,
        field: None,
        message,
    }
}

fn json_position(error: &serde_json::Error) -> Option<Position> {
    (error.line() > 0).then(|| Position {
        line: error.line(),
        column: error.column(),
    })
}

/// saphyr's message without its position (which is kept apart) and without the library's
/// advice for a second document, which is about its API, not the file.
fn yaml_error(bytes: &[u8], error: &serde_saphyr::Error) -> ConfigError {
    let error = error.without_snippet();
    if let serde_saphyr::Error::MultipleDocuments { location, .. } = error {
        return ConfigError::MultipleDocuments {
            line: document_start_line(bytes, to_usize(location.line())),
        };
    }
    let position = yaml_position(error);
    // Found only now that decoding has failed; a syntax error leaves no tree to look in. Not
    // through an alias: the position is where the alias is used, and the value in error may lie
    // anywhere inside what it stands for.
    let field = match error {
        serde_saphyr::Error::AliasError { .. } => None,
        _ => position.and_then(|p| node_path::field_at(bytes, p.line, p.column, Placement::Start)),
    };
    ConfigError::Decode {
        position,
        field,
        message: UserMessages.format_message(error).into_owned(),
    }
}

fn yaml_position(error: &serde_saphyr::Error) -> Option<Position> {
    error.location().as_ref().and_then(Position::from_yaml)
}

/// The line of the `---` that opens the document saphyr places at `line`: it reports the
/// document's first token, or the end of its marker, depending on what precedes it.
fn document_start_line(bytes: &[u8], line: usize) -> usize {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    let is_marker = |l: &str| {
        l.strip_prefix("---")
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
    };
    for n in (1..=line.min(lines.len())).rev() {
        let l = lines[n - 1];
        if is_marker(l) {
            return n;
        }
        // Only comments, blank lines and directives may stand between a marker and the
        // document's first token.
        let trimmed = l.trim_start();
        if n != line && !(trimmed.is_empty() || trimmed.starts_with('#') || l.starts_with('%')) {
            break;
        }
    }
    line
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
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
    #[serde(default, deserialize_with = "podsec_pss::nulls::as_default")]
    plugins: Vec<AdmissionPlugin>,
}

#[derive(Deserialize)]
struct AdmissionPlugin {
    #[serde(default, deserialize_with = "podsec_pss::nulls::as_default")]
    name: String,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    configuration: Option<serde_json::Value>,
}

/// Walks an AdmissionConfiguration to `plugins[index].configuration` and decodes that strictly;
/// the rest was decoded leniently before and is skipped.
#[derive(Clone, Copy)]
struct InlineConfiguration<'a> {
    index: usize,
    slot: &'a KeyErrorSlot,
}

impl<'de> Visitor<'de> for InlineConfiguration<'_> {
    type Value = Option<PodSecurityConfiguration>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an AdmissionConfiguration")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == "plugins" {
                found = map.next_value_seed(Plugins(self))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// `plugins`: the entry at the index is read, the others skipped.
struct Plugins<'a>(InlineConfiguration<'a>);

impl<'de> DeserializeSeed<'de> for Plugins<'_> {
    type Value = Option<PodSecurityConfiguration>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Plugins<'_> {
    type Value = Option<PodSecurityConfiguration>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of admission plugins")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        for i in 0.. {
            if i == self.0.index {
                match seq.next_element_seed(PluginEntry(self.0))? {
                    Some(config) => found = config,
                    None => break,
                }
            } else if seq.next_element::<IgnoredAny>()?.is_none() {
                break;
            }
        }
        Ok(found)
    }
}

/// One entry of `plugins`: its `configuration`, strictly.
struct PluginEntry<'a>(InlineConfiguration<'a>);

impl<'de> DeserializeSeed<'de> for PluginEntry<'_> {
    type Value = Option<PodSecurityConfiguration>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_struct("AdmissionPlugin", &["name", "path", "configuration"], self)
    }
}

impl<'de> Visitor<'de> for PluginEntry<'_> {
    type Value = Option<PodSecurityConfiguration>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an admission plugin")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == "configuration" {
                found = Some(
                    map.next_value_seed(Strict::<PodSecurityConfiguration>::new(self.0.slot))?,
                );
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// The unknown or repeated key a strict decode stopped at. The decoder's own error is raised
/// after the key was read and is not placed at it (saphyr places it at the mapping, serde_json
/// after the key), so the message and the key's position are kept here.
struct KeyError {
    message: String,
    position: Option<Position>,
}

#[derive(Default)]
struct KeyErrorSlot(Cell<Option<KeyError>>);

impl KeyErrorSlot {
    fn take(&self) -> Option<KeyError> {
        self.0.take()
    }

    fn replace(&self, key: Option<KeyError>) {
        self.0.set(key);
    }
}

/// A mapping of the PodSecurityConfiguration, decoded strictly as upstream does: known fields,
/// each at most once.
trait Section: Default {
    /// The mapping's path, as errors name fields by their full path (`defaults.`).
    const PREFIX: &'static str;
    const FIELDS: &'static [&'static str];
    const EXPECTING: &'static str;

    /// Reads the value of `FIELDS[index]`.
    fn read<'de, A: MapAccess<'de>>(
        &mut self,
        index: usize,
        map: &mut A,
        slot: &KeyErrorSlot,
    ) -> Result<(), A::Error>;
}

/// Decodes a [`Section`]; `null` is an empty mapping, as Go leaves the zero value.
struct Strict<'a, T> {
    slot: &'a KeyErrorSlot,
    section: PhantomData<T>,
}

impl<'a, T> Strict<'a, T> {
    fn new(slot: &'a KeyErrorSlot) -> Self {
        Strict {
            slot,
            section: PhantomData,
        }
    }
}

impl<'de, T: Section> DeserializeSeed<'de> for Strict<'_, T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de, T: Section> Visitor<'de> for Strict<'_, T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTING)
    }

    fn visit_none<E: de::Error>(self) -> Result<T, E> {
        Ok(T::default())
    }

    fn visit_unit<E: de::Error>(self) -> Result<T, E> {
        Ok(T::default())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        deserializer.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let mut section = T::default();
        let mut seen = vec![false; T::FIELDS.len()];
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let problem = match T::FIELDS.iter().position(|f| *f == key.value) {
                None => "unknown",
                Some(index) if std::mem::replace(&mut seen[index], true) => "duplicate",
                Some(index) => {
                    section.read(index, &mut map, self.slot)?;
                    continue;
                }
            };
            let message = format!(
                "strict decoding error: {problem} field \"{}{}\"",
                T::PREFIX,
                key.value
            );
            self.slot.0.set(Some(KeyError {
                message: message.clone(),
                position: Position::from_yaml(&key.referenced),
            }));
            return Err(de::Error::custom(message));
        }
        Ok(section)
    }
}

impl Section for PodSecurityConfiguration {
    const PREFIX: &'static str = "";
    const FIELDS: &'static [&'static str] = &["apiVersion", "kind", "defaults", "exemptions"];
    const EXPECTING: &'static str = "a PodSecurityConfiguration";

    fn read<'de, A: MapAccess<'de>>(
        &mut self,
        index: usize,
        map: &mut A,
        slot: &KeyErrorSlot,
    ) -> Result<(), A::Error> {
        match index {
            0 | 1 => {
                map.next_value::<IgnoredAny>()?;
            }
            2 => self.defaults = map.next_value_seed(Strict::new(slot))?,
            _ => self.exemptions = map.next_value_seed(Strict::new(slot))?,
        }
        Ok(())
    }
}

impl Section for PodSecurityDefaults {
    const PREFIX: &'static str = "defaults.";
    const FIELDS: &'static [&'static str] = &[
        "enforce",
        "enforce-version",
        "audit",
        "audit-version",
        "warn",
        "warn-version",
    ];
    const EXPECTING: &'static str = "PodSecurityConfiguration defaults";

    fn read<'de, A: MapAccess<'de>>(
        &mut self,
        index: usize,
        map: &mut A,
        _: &KeyErrorSlot,
    ) -> Result<(), A::Error> {
        let value = map.next_value::<Option<String>>()?.unwrap_or_default();
        *[
            &mut self.enforce,
            &mut self.enforce_version,
            &mut self.audit,
            &mut self.audit_version,
            &mut self.warn,
            &mut self.warn_version,
        ][index] = value;
        Ok(())
    }
}

impl Section for PodSecurityExemptions {
    const PREFIX: &'static str = "exemptions.";
    const FIELDS: &'static [&'static str] = &["usernames", "namespaces", "runtimeClasses"];
    const EXPECTING: &'static str = "PodSecurityConfiguration exemptions";

    fn read<'de, A: MapAccess<'de>>(
        &mut self,
        index: usize,
        map: &mut A,
        _: &KeyErrorSlot,
    ) -> Result<(), A::Error> {
        let value = map.next_value::<Option<Vec<String>>>()?.unwrap_or_default();
        *[
            &mut self.usernames,
            &mut self.namespaces,
            &mut self.runtime_classes,
        ][index] = value;
        Ok(())
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

    const HEAD: &str =
        "apiVersion: pod-security.admission.config.k8s.io/v1\nkind: PodSecurityConfiguration\n";

    /// The error is placed at the offending key, not at the mapping that holds it (saphyr) nor
    /// after the key (serde_json); the message stays upstream's.
    #[test]
    fn strict_errors_are_placed_at_the_key() {
        let yaml =
            format!("{HEAD}exemptions:\n  usernames: []\n  namespaces: []\n  runtimeclasses: []\n");
        assert_eq!(
            error(&yaml),
            "line 6, column 3: strict decoding error: unknown field \"exemptions.runtimeclasses\""
        );
        let repeated = format!("{HEAD}defaults:\n  warn: baseline\n  audit: baseline\n  warn: x\n");
        assert_eq!(
            error(&repeated),
            "line 6, column 3: strict decoding error: duplicate field \"defaults.warn\""
        );
        let flow = format!("{HEAD}defaults: {{enforce: baseline, 'bogus': x}}\n");
        assert_eq!(
            error(&flow),
            "line 3, column 31: strict decoding error: unknown field \"defaults.bogus\""
        );
        let json = "{\"apiVersion\": \"pod-security.admission.config.k8s.io/v1\",\n \"kind\": \"PodSecurityConfiguration\",\n \"exemptions\": {\"usernames\": [],\n    \"runtimeclasses\": []}}";
        assert_eq!(
            error(json),
            "line 4, column 5: strict decoding error: unknown field \"exemptions.runtimeclasses\""
        );
        let json = json.replace("runtimeclasses", "usernames");
        assert_eq!(
            error(&json),
            "line 4, column 5: strict decoding error: duplicate field \"exemptions.usernames\""
        );
        // Other errors keep the parser's position, apart from the message, and name the field
        // of the value they are about.
        let Err(ConfigError::Decode {
            position,
            field,
            message,
        }) = load(&format!("{HEAD}exemptions:\n  usernames: 5\n"))
        else {
            panic!("a type error")
        };
        assert_eq!(
            position,
            Some(Position {
                line: 4,
                column: 14
            })
        );
        assert_eq!(field.as_deref(), Some("exemptions.usernames"));
        assert!(!message.contains("line"), "{message}");
        let Err(ConfigError::Decode {
            position,
            field,
            message,
        }) = load("{\"apiVersion\": \"v1\",\n \"kind\": }")
        else {
            panic!("a syntax error")
        };
        assert_eq!(field, None, "a syntax error has no field");
        assert_eq!(
            (position, message.as_str()),
            (
                Some(Position {
                    line: 2,
                    column: 10
                }),
                "expected value"
            )
        );
    }

    /// As `podsec check` names the fields of manifests, in YAML and JSON, and inside an
    /// AdmissionConfiguration by the path in that file.
    #[test]
    fn a_type_error_names_its_field() {
        assert_eq!(
            error(&format!("{HEAD}defaults:\n  enforce: [baseline]\n")),
            "line 4, column 12: defaults.enforce: expected string scalar"
        );
        let json = "{\"apiVersion\": \"pod-security.admission.config.k8s.io/v1\",\n \"kind\": \"PodSecurityConfiguration\",\n \"exemptions\": {\"usernames\": [\"a\", 3], \"namespaces\":[]}}";
        assert_eq!(
            error(json),
            "line 3, column 36: exemptions.usernames[1]: invalid type: integer `3`, expected a string"
        );
        // YAML types plain scalars as the API server's conversion to JSON does: a number is
        // not a string there either, and neither is `yes`; quoted, they are.
        assert_eq!(
            error(&format!("{HEAD}exemptions:\n  usernames: [\"a\", 3]\n")),
            "line 4, column 20: exemptions.usernames[1]: invalid type: integer `3`, expected a string"
        );
        assert_eq!(
            error(&format!(
                "{HEAD}exemptions:\n  runtimeClasses:\n  - a\n  - yes\n"
            )),
            "line 6, column 5: exemptions.runtimeClasses[1]: invalid type: boolean `true`, expected a string"
        );
        load(&format!(
            "{HEAD}exemptions:\n  usernames: [\"3\", 'yes', !!str 4]\n"
        ))
        .expect("quoted and tagged strings are strings");
        // serde_json places a container just before it.
        let json = json
            .replace("{\"usernames\"", "[{\"usernames\"")
            .replace("[]}}", "[]}]}");
        assert_eq!(
            error(&json),
            "line 3, column 15: exemptions: invalid type: sequence, expected PodSecurityConfiguration exemptions"
        );
        assert_eq!(
            error(&format!("{HEAD}exemptions: [1]\n")),
            "line 3, column 13: exemptions: invalid type, expected a map"
        );
        // Also where the type is read, before the strict decode.
        assert_eq!(
            error("{\"apiVersion\": \"pod-security.admission.config.k8s.io/v1\", \"kind\": 5}"),
            "line 1, column 67: kind: invalid type: integer `5`, expected a string"
        );
        let admission = "apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins:\n- name: PodSecurity\n  configuration:\n    apiVersion: pod-security.admission.config.k8s.io/v1\n    kind: PodSecurityConfiguration\n    defaults:\n      enforce: {level: baseline}\n";
        let error = load_configuration(admission.as_bytes(), Path::new("."), &mut no_files)
            .expect_err("a type error");
        assert_eq!(
            error.to_string(),
            "line 9, column 16: plugins[0].configuration.defaults.enforce: expected string scalar"
        );
    }

    #[test]
    fn a_second_document_is_named_by_its_line() {
        for (text, line) in [
            (format!("{HEAD}---\n{HEAD}"), 3),
            (
                format!("---\n# the first\n{HEAD}---\n# the second\n\n{HEAD}"),
                5,
            ),
            (format!("{HEAD}...\n{HEAD}"), 4),
            (format!("{HEAD}---\n"), 3),
        ] {
            match load(&text) {
                Err(ConfigError::MultipleDocuments { line: found }) => {
                    assert_eq!(found, line, "{text:?}")
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
        let two = format!("{HEAD}---\n{HEAD}");
        assert_eq!(
            error(&two),
            "a configuration file must hold exactly one YAML document, but a second one starts on line 3"
        );
        // The same through an AdmissionConfiguration, and in the file its `path` names.
        let admission =
            "apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\n---\n";
        assert!(matches!(
            load_configuration(admission.as_bytes(), Path::new("/"), &mut no_files),
            Err(ConfigError::MultipleDocuments { line: 3 })
        ));
        let by_path = "apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins:\n- name: PodSecurity\n  path: psa.yaml\n";
        let message = load_configuration(by_path.as_bytes(), Path::new("/etc"), &mut |_| {
            Ok(two.clone().into_bytes())
        })
        .expect_err("two documents")
        .to_string();
        assert_eq!(
            message,
            "the PodSecurity plugin configuration /etc/psa.yaml: a configuration file must hold exactly one YAML document, but a second one starts on line 3"
        );
    }

    /// Inline, the position is in the AdmissionConfiguration; by `path`, in the file named.
    #[test]
    fn admission_configuration_errors_are_placed_in_the_file_that_holds_them() {
        let inline = "apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins:\n- name: Other\n  configuration: {bogus: 1}\n- name: PodSecurity\n  configuration:\n    apiVersion: pod-security.admission.config.k8s.io/v1\n    kind: PodSecurityConfiguration\n    exemptions:\n      usernames: []\n      runtimeclasses: []\n";
        let message = load_configuration(inline.as_bytes(), Path::new("/"), &mut no_files)
            .expect_err("unknown field")
            .to_string();
        assert_eq!(
            message,
            "line 12, column 7: strict decoding error: unknown field \"exemptions.runtimeclasses\""
        );
        // The AdmissionConfiguration keeps the last of repeated keys, as it did when the
        // plugin was found; inside the PodSecurityConfiguration a repeat is an error.
        let repeated = "apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins:\n- name: PodSecurity\n  configuration: {kind: Nothing}\nplugins:\n- name: PodSecurity\n  configuration:\n    apiVersion: pod-security.admission.config.k8s.io/v1\n    kind: PodSecurityConfiguration\n    defaults: {warn: baseline, warn: baseline}\n";
        let message = load_configuration(repeated.as_bytes(), Path::new("/"), &mut no_files)
            .expect_err("repeated field")
            .to_string();
        assert_eq!(
            message,
            "line 11, column 32: strict decoding error: duplicate field \"defaults.warn\""
        );
        let json = "{\"apiVersion\": \"apiserver.config.k8s.io/v1\", \"kind\": \"AdmissionConfiguration\",\n \"plugins\": [{\"name\": \"PodSecurity\", \"configuration\": {\n   \"apiVersion\": \"pod-security.admission.config.k8s.io/v1\", \"kind\": \"PodSecurityConfiguration\",\n   \"exemptions\": {\"Usernames\": []}}}]}";
        let message = load_configuration(json.as_bytes(), Path::new("/"), &mut no_files)
            .expect_err("unknown field")
            .to_string();
        assert_eq!(
            message,
            "line 4, column 19: strict decoding error: unknown field \"exemptions.Usernames\""
        );

        let by_path = "apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins:\n- name: PodSecurity\n  path: psa/config.yaml\n";
        let file =
            format!("{HEAD}exemptions:\n  usernames: []\n  namespaces: []\n  runtimeclasses: []\n");
        let error = load_configuration(by_path.as_bytes(), Path::new("conf"), &mut |_| {
            Ok(file.clone().into_bytes())
        })
        .expect_err("unknown field");
        assert_eq!(
            error.to_string(),
            "the PodSecurity plugin configuration conf/psa/config.yaml: line 6, column 3: strict decoding error: unknown field \"exemptions.runtimeclasses\""
        );
    }

    /// The reason a file cannot be read is said once, whether the error is displayed or its
    /// chain of sources is walked.
    #[test]
    fn an_unreadable_plugin_file_is_named_once_with_its_reason() {
        let by_path = "apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins:\n- name: PodSecurity\n  path: missing.yaml\n";
        let error = load_configuration(by_path.as_bytes(), Path::new("conf"), &mut |_| {
            Err(io::Error::from(io::ErrorKind::NotFound))
        })
        .expect_err("missing file");
        let mut chain = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            chain.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        assert_eq!(
            chain,
            format!(
                "cannot read the PodSecurity plugin configuration conf/missing.yaml: {}",
                io::Error::from(io::ErrorKind::NotFound)
            )
        );
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
