//! Artifact digests: `<algorithm>:<hex>` as source-controller writes them (sha256 by default,
//! sha384 and sha512 on request), parsed strictly and computed while the bytes stream to disk.

use super::ArtifactError;
use sha2::{Digest as _, Sha256, Sha384, Sha512};
use std::fmt;

/// A digest algorithm the agent can verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// SHA-256 (source-controller's default).
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl Algorithm {
    fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha384 => 96,
            Algorithm::Sha512 => 128,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha384 => "sha384",
            Algorithm::Sha512 => "sha512",
        }
    }
}

/// An expected digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedDigest {
    /// The algorithm.
    pub algorithm: Algorithm,
    /// Lowercase hex.
    pub hex: String,
}

impl fmt::Display for ExpectedDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.hex)
    }
}

impl ExpectedDigest {
    /// Parses `sha256:<64 hex>` (and sha384/sha512). The hex length must match the algorithm.
    pub fn parse(digest: &str) -> Result<Self, ArtifactError> {
        let invalid = |reason: &str| ArtifactError::InvalidDigest {
            digest: shorten(digest),
            reason: reason.to_string(),
        };
        let (name, hex) = digest
            .split_once(':')
            .ok_or_else(|| invalid("expected <algorithm>:<hex>"))?;
        let algorithm = match name {
            "sha256" => Algorithm::Sha256,
            "sha384" => Algorithm::Sha384,
            "sha512" => Algorithm::Sha512,
            other => {
                return Err(invalid(&format!(
                    "algorithm {other:?} is not supported (sha256, sha384 or sha512)"
                )));
            }
        };
        if hex.len() != algorithm.hex_len() || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(invalid(&format!(
                "a {} digest has {} hex characters",
                algorithm.name(),
                algorithm.hex_len()
            )));
        }
        Ok(ExpectedDigest {
            algorithm,
            hex: hex.to_ascii_lowercase(),
        })
    }

    /// A hasher for this digest's algorithm.
    pub fn hasher(&self) -> Hasher {
        match self.algorithm {
            Algorithm::Sha256 => Hasher::Sha256(Sha256::new()),
            Algorithm::Sha384 => Hasher::Sha384(Sha384::new()),
            Algorithm::Sha512 => Hasher::Sha512(Sha512::new()),
        }
    }
}

/// A running hash over the downloaded bytes.
pub enum Hasher {
    /// SHA-256.
    Sha256(Sha256),
    /// SHA-384.
    Sha384(Sha384),
    /// SHA-512.
    Sha512(Sha512),
}

impl Hasher {
    /// Adds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Sha384(h) => h.update(bytes),
            Hasher::Sha512(h) => h.update(bytes),
        }
    }

    /// The digest in `<algorithm>:<hex>` form.
    pub fn finish(self) -> String {
        match self {
            Hasher::Sha256(h) => format!("sha256:{}", hex::encode(h.finalize())),
            Hasher::Sha384(h) => format!("sha384:{}", hex::encode(h.finalize())),
            Hasher::Sha512(h) => format!("sha512:{}", hex::encode(h.finalize())),
        }
    }
}

/// Digests come from the API, but a broken one could be long: keep messages short.
fn shorten(text: &str) -> String {
    if text.chars().count() <= 140 {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(140).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_parse_strictly() {
        let sha = "a".repeat(64);
        let d = ExpectedDigest::parse(&format!("sha256:{}", sha.to_uppercase())).unwrap();
        assert_eq!(d.to_string(), format!("sha256:{sha}"));
        assert!(ExpectedDigest::parse(&format!("sha512:{}", "0".repeat(128))).is_ok());
        for bad in [
            format!("sha256:{}", "a".repeat(63)),
            format!("sha384:{}", "a".repeat(64)),
            format!("md5:{}", "a".repeat(32)),
            format!("blake3:{}", "a".repeat(64)),
            "sha256:zz".to_string(),
            "".to_string(),
            sha.clone(),
        ] {
            let err = ExpectedDigest::parse(&bad).unwrap_err();
            assert_eq!(err.metric_label(), "invalid_digest", "{bad}");
        }
    }

    #[test]
    fn hashes_match_known_values() {
        let d = ExpectedDigest::parse(&format!("sha256:{}", "0".repeat(64))).unwrap();
        let mut h = d.hasher();
        h.update(b"abc");
        assert_eq!(
            h.finish(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
