//! Chart versions and `updateConstraints`, with the semantics of Masterminds/semver (what Helm and
//! Kluctl use) on top of the `semver` crate.
//!
//! Input: version strings from indexes and registries, constraint strings from `helm-chart.yaml`;
//! output: [`semver::Version`]s and [`Constraint`] checks. Differences handled here: versions may
//! have a `v` prefix or omit minor and patch (`1.2`), a bare version in a constraint means "exactly"
//! (not Cargo's caret), comparators may be separated by spaces or commas, `||` joins alternatives,
//! and `1.2 - 1.4` is a range.

use semver::{Version, VersionReq};

/// Parses a chart version leniently (`v1.2`, `1`, `1.2.3-rc.1+build`), or `None`.
pub fn parse_version(text: &str) -> Option<Version> {
    let text = text.trim();
    let text = text.strip_prefix('v').unwrap_or(text);
    if let Ok(v) = Version::parse(text) {
        return Some(v);
    }
    // Pad missing minor/patch numbers before any pre-release or build suffix.
    let split = text.find(['-', '+']).unwrap_or(text.len());
    let (core, suffix) = text.split_at(split);
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty()
        || parts.len() > 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let numbers: Vec<String> = parts
        .iter()
        .map(|p| p.trim_start_matches('0'))
        .map(|p| if p.is_empty() { "0".to_string() } else { p.to_string() })
        .collect();
    let mut padded = numbers.join(".");
    for _ in numbers.len()..3 {
        padded.push_str(".0");
    }
    Version::parse(&format!("{padded}{suffix}")).ok()
}

/// A parsed `updateConstraints`: alternatives (`||`) of comparator sets.
#[derive(Clone, Debug)]
pub struct Constraint {
    alternatives: Vec<VersionReq>,
    allows_prerelease: bool,
}

impl Constraint {
    /// Parses Masterminds syntax: `~1.2`, `^2`, `>= 1.0 < 2`, `1.2.x`, `1.2 - 1.5`, `a || b`, `1.2.3`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut alternatives = Vec::new();
        for alternative in text.split("||") {
            let converted = convert_alternative(alternative)?;
            let req = VersionReq::parse(&converted).map_err(|e| format!("{e} (in {:?})", alternative.trim()))?;
            alternatives.push(req);
        }
        Ok(Constraint {
            alternatives,
            allows_prerelease: text.contains('-') && text.split("||").any(has_prerelease_version),
        })
    }

    /// Whether `version` satisfies the constraint. Pre-releases only match when the constraint
    /// itself names a pre-release, as in Masterminds.
    pub fn matches(&self, version: &Version) -> bool {
        if !version.pre.is_empty() && !self.allows_prerelease {
            return false;
        }
        self.alternatives.iter().any(|req| {
            if req.matches(version) {
                return true;
            }
            // `semver` only lets pre-releases match comparators on the same x.y.z; Masterminds lets
            // them match any range once pre-releases are asked for.
            if self.allows_prerelease && !version.pre.is_empty() {
                let mut release = version.clone();
                release.pre = semver::Prerelease::EMPTY;
                return req.comparators.iter().all(|c| {
                    let single = VersionReq {
                        comparators: vec![c.clone()],
                    };
                    single.matches(version) || (single.matches(&release) && *version != release)
                });
            }
            false
        })
    }
}

fn has_prerelease_version(alternative: &str) -> bool {
    alternative
        .split(|c: char| c.is_whitespace() || c == ',')
        .map(|t| t.trim_start_matches(['>', '<', '=', '~', '^', '!', 'v']))
        .any(|t| {
            t.split_once('-')
                .is_some_and(|(core, _)| !core.is_empty() && core.chars().next().is_some_and(|c| c.is_ascii_digit()))
        })
}

/// Turns one Masterminds alternative into `semver` comparator syntax.
fn convert_alternative(alternative: &str) -> Result<String, String> {
    let tokens: Vec<&str> = alternative
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
        .collect();
    if tokens.is_empty() {
        return Err("empty constraint".to_string());
    }
    let mut comparators = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        // Hyphen range: `A - B` means `>= A, <= B`.
        if i + 2 < tokens.len() && tokens[i + 1] == "-" {
            comparators.push(format!(">={}", pad(tokens[i].trim_start_matches('v'))));
            comparators.push(format!("<={}", pad(tokens[i + 2].trim_start_matches('v'))));
            i += 3;
            continue;
        }
        let mut token = tokens[i].to_string();
        // An operator written apart from its version (`>= 1.0`).
        if token.chars().all(|c| matches!(c, '>' | '<' | '=' | '~' | '^' | '!')) {
            let version = tokens
                .get(i + 1)
                .ok_or_else(|| format!("operator {token} has no version"))?;
            token.push_str(version);
            i += 1;
        }
        i += 1;
        let op_len = token
            .find(|c: char| !matches!(c, '>' | '<' | '=' | '~' | '^' | '!'))
            .unwrap_or(token.len());
        let (op, version) = token.split_at(op_len);
        let version = version.trim_start_matches('v');
        let op = match op {
            "" if version == "*" || version.eq_ignore_ascii_case("x") => "",
            // Masterminds: a bare version is an exact match unless it has wildcards.
            "" if version.contains(['x', 'X', '*']) => "",
            "" => "=",
            "~>" => "~",
            "==" => "=",
            "!=" => return Err("the != operator is not supported in updateConstraints".to_string()),
            other => other,
        };
        // Masterminds compares `>`, `>=`, `<`, `<=` against the padded version (`<= 1.4` is
        // `<= 1.4.0`), where `semver` would read a partial version as a range.
        let version = if matches!(op, ">" | ">=" | "<" | "<=") && !version.contains(['x', 'X', '*']) {
            pad(version)
        } else {
            version.replace(['x', 'X'], "*")
        };
        comparators.push(format!("{op}{version}"));
    }
    Ok(comparators.join(", "))
}

/// `1.4` -> `1.4.0`, `2` -> `2.0.0`; anything else unchanged.
fn pad(version: &str) -> String {
    let split = version.find(['-', '+']).unwrap_or(version.len());
    let (core, suffix) = version.split_at(split);
    let parts = core.split('.').count();
    if core.is_empty() || parts >= 3 {
        return version.to_string();
    }
    format!("{core}{}{suffix}", ".0".repeat(3 - parts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        parse_version(s).unwrap()
    }

    #[test]
    fn parses_versions_leniently() {
        assert_eq!(v("v1.2"), Version::new(1, 2, 0));
        assert_eq!(v("3"), Version::new(3, 0, 0));
        assert_eq!(v("1.2.3-rc.1").pre.as_str(), "rc.1");
        assert_eq!(v("1.2-beta").pre.as_str(), "beta");
        assert!(parse_version("latest").is_none());
        assert!(parse_version("1.2.3.4").is_none());
    }

    #[test]
    fn masterminds_constraints() {
        let c = |s: &str| Constraint::parse(s).unwrap();
        assert!(c("~17.4.0").matches(&v("17.4.9")) && !c("~17.4.0").matches(&v("17.5.0")));
        assert!(c("^1.2").matches(&v("1.9.0")) && !c("^1.2").matches(&v("2.0.0")));
        assert!(c(">= 1.0 < 2").matches(&v("1.5.0")) && !c(">= 1.0 < 2").matches(&v("2.0.0")));
        assert!(c(">=1.0, <2.0").matches(&v("1.0.0")));
        assert!(c("1.2.x").matches(&v("1.2.7")) && !c("1.2.x").matches(&v("1.3.0")));
        assert!(c("1.2.3").matches(&v("1.2.3")) && !c("1.2.3").matches(&v("1.2.4")));
        assert!(c("1.2 - 1.4").matches(&v("1.4.0")) && !c("1.2 - 1.4").matches(&v("1.4.1")));
        assert!(c("~1.0 || ~3.0").matches(&v("3.0.5")) && !c("~1.0 || ~3.0").matches(&v("2.0.0")));
        assert!(c("*").matches(&v("99.0.0")));
        assert!(c(">1.4").matches(&v("1.4.1")) && c("<=1.4").matches(&v("1.4.0")) && !c("<=1.4").matches(&v("1.4.1")));
        assert!(Constraint::parse(">= ").is_err());
        assert!(Constraint::parse("nonsense").is_err());
    }

    #[test]
    fn prereleases_only_when_asked_for() {
        assert!(!Constraint::parse(">=1.0.0").unwrap().matches(&v("2.0.0-rc.1")));
        assert!(Constraint::parse(">=1.0.0-0").unwrap().matches(&v("2.0.0-rc.1")));
    }
}
