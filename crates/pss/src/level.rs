//! Levels (`privileged` < `baseline` < `restricted`) and policy versions (`latest`, `v1.N`),
//! with upstream's parsing rules, fallbacks and error texts.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// The newest policy version this build knows the rules of. `latest` and every newer
/// version are evaluated with these rules (but printed as requested).
pub const MAX_KNOWN_MINOR: u32 = 37;

/// Error text for a level that is not one of the three (upstream's wording).
pub const LEVEL_PARSE_ERROR: &str = "must be one of privileged, baseline, restricted";
/// Error text for a version that is neither `latest` nor `v1.N` (upstream's wording).
pub const VERSION_PARSE_ERROR: &str = "must be \"latest\" or \"v1.x\"";

/// A Pod Security Standards level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    Privileged,
    Baseline,
    Restricted,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::Privileged, Level::Baseline, Level::Restricted];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        }
    }

    /// Upstream's lenient parse: an unknown string yields `restricted` together with the error,
    /// and the caller decides whether to keep the fallback.
    pub fn parse_with_fallback(s: &str) -> (Level, Option<&'static str>) {
        match s.parse() {
            Ok(level) => (level, None),
            Err(ParseLevelError) => (Level::Restricted, Some(LEVEL_PARSE_ERROR)),
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The string is not one of `privileged`, `baseline`, `restricted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseLevelError;

impl fmt::Display for ParseLevelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(LEVEL_PARSE_ERROR)
    }
}

impl std::error::Error for ParseLevelError {}

impl FromStr for Level {
    type Err = ParseLevelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "privileged" => Ok(Level::Privileged),
            "baseline" => Ok(Level::Baseline),
            "restricted" => Ok(Level::Restricted),
            _ => Err(ParseLevelError),
        }
    }
}

/// A policy version: `latest` or `v1.<minor>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    Latest,
    /// `v1.<minor>`; upstream accepts any minor that fits a signed 64-bit integer.
    Minor(u64),
}

impl Version {
    /// The minor whose rule set applies: versions newer than the newest known (and `latest`)
    /// use the newest known rules.
    pub fn effective_minor(self) -> u32 {
        match self {
            Version::Latest => MAX_KNOWN_MINOR,
            Version::Minor(m) => m.min(u64::from(MAX_KNOWN_MINOR)) as u32,
        }
    }

    /// Upstream's lenient parse: an invalid string yields `latest` together with the error.
    pub fn parse_with_fallback(s: &str) -> (Version, Option<&'static str>) {
        match s.parse() {
            Ok(version) => (version, None),
            Err(ParseVersionError) => (Version::Latest, Some(VERSION_PARSE_ERROR)),
        }
    }

    /// True when this version is newer than every version this build knows rules for.
    pub fn is_future(self) -> bool {
        matches!(self, Version::Minor(m) if m > u64::from(MAX_KNOWN_MINOR))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Version::Latest => f.write_str("latest"),
            Version::Minor(m) => write!(f, "v1.{m}"),
        }
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Version::Latest, Version::Latest) => Ordering::Equal,
            (Version::Latest, Version::Minor(_)) => Ordering::Greater,
            (Version::Minor(_), Version::Latest) => Ordering::Less,
            (Version::Minor(a), Version::Minor(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The string is neither `latest` nor `v1.<minor>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseVersionError;

impl fmt::Display for ParseVersionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(VERSION_PARSE_ERROR)
    }
}

impl std::error::Error for ParseVersionError {}

impl FromStr for Version {
    type Err = ParseVersionError;
    /// Whole-string match of `^v1\.([0-9]|[1-9][0-9]*)$` with a minor that fits an i64.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "latest" {
            return Ok(Version::Latest);
        }
        let digits = s.strip_prefix("v1.").ok_or(ParseVersionError)?;
        let well_formed = !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0'));
        if !well_formed {
            return Err(ParseVersionError);
        }
        let minor: i64 = digits.parse().map_err(|_| ParseVersionError)?;
        Ok(Version::Minor(minor as u64))
    }
}

/// A level at a version, rendered `<level>:<version>` as in every upstream message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LevelVersion {
    pub level: Level,
    pub version: Version,
}

impl LevelVersion {
    pub const fn new(level: Level, version: Version) -> Self {
        LevelVersion { level, version }
    }

    pub const PRIVILEGED_LATEST: LevelVersion =
        LevelVersion::new(Level::Privileged, Version::Latest);
}

impl fmt::Display for LevelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.level, self.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_exactly() {
        assert_eq!("baseline".parse(), Ok(Level::Baseline));
        for bad in ["Baseline", "", " restricted", "foo"] {
            assert_eq!(bad.parse::<Level>(), Err(ParseLevelError), "{bad:?}");
            assert_eq!(
                Level::parse_with_fallback(bad),
                (Level::Restricted, Some(LEVEL_PARSE_ERROR))
            );
        }
        assert!(Level::Privileged < Level::Baseline && Level::Baseline < Level::Restricted);
    }

    #[test]
    fn versions_parse_as_upstream() {
        for (s, want) in [
            ("latest", Version::Latest),
            ("v1.0", Version::Minor(0)),
            ("v1.1", Version::Minor(1)),
            ("v1.20", Version::Minor(20)),
            ("v1.10000", Version::Minor(10000)),
        ] {
            assert_eq!(s.parse(), Ok(want), "{s}");
            assert_eq!(want.to_string(), s);
        }
        for bad in [
            "foo",
            "",
            "v2.0",
            "v1",
            "1.1",
            "v1.01",
            "v1.00",
            "V1.2",
            "v1.2 ",
            "v1.2\n",
            "LATEST",
            "v1.",
            "v1.99999999999999999999",
            "v1.+1",
        ] {
            assert_eq!(bad.parse::<Version>(), Err(ParseVersionError), "{bad:?}");
        }
    }

    #[test]
    fn newer_versions_use_the_newest_rules() {
        assert_eq!(Version::Latest.effective_minor(), MAX_KNOWN_MINOR);
        assert_eq!(Version::Minor(99).effective_minor(), MAX_KNOWN_MINOR);
        assert_eq!(Version::Minor(22).effective_minor(), 22);
        assert!(Version::Minor(99).is_future());
        assert!(Version::Latest > Version::Minor(10_000));
    }

    #[test]
    fn renders_level_and_version() {
        let lv = LevelVersion::new(Level::Baseline, Version::Minor(29));
        assert_eq!(lv.to_string(), "baseline:v1.29");
    }
}
