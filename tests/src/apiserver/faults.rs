//! Fault injection for reliability tests: [`FaultSpec`] parses `--faults`, [`Faults`] decides per request,
//! reproducibly from the seed.
//!
//! Grammar (items separated by `;`, whitespace ignored):
//!
//! ```text
//! seed=<u64>                                  default 0
//! <verbs>:<resources>=<rate>:<fault>          one rule; rules are tried in order
//!   verbs      * | verb[|verb...]             get list watch create update patch delete deletecollection
//!   resources  * | plural[|plural...]         `deployments`, or `deployments/status` for a subresource
//!   rate       0.0 ..= 1.0                    share of matching requests that fail
//!   fault      500 | 503                      an InternalError / ServiceUnavailable Status
//!              429[@<seconds>]                TooManyRequests with Retry-After (default 1)
//!              drop                           the connection is closed without an answer
//!              slow=<duration>                the answer is delayed (`250ms`, `2s`), then served normally
//! ```
//!
//! Example: `seed=42;patch:deployments=0.1:500;get:*=0.05:429@2;list|watch:pods=0.2:drop;*:configmaps=1:slow=50ms`.
//!
//! Each rule draws from its own ChaCha8 generator seeded from the seed and the rule's position, so the
//! n-th request matching a rule gets the same decision in every run with the same seed.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Mutex;
use std::time::Duration;

/// What an injected fault does.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Answer with this HTTP status (500 or 503).
    Status(u16),
    /// Answer 429 with `Retry-After: <seconds>`.
    TooManyRequests(u64),
    /// Close the connection without answering.
    Drop,
    /// Delay the answer.
    Slow(Duration),
}

/// One rule of a fault spec.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultRule {
    /// Verbs matched (empty = all).
    pub verbs: Vec<String>,
    /// Resources matched, `plural` or `plural/subresource` (empty = all).
    pub resources: Vec<String>,
    /// Probability of injecting for a matching request.
    pub rate: f64,
    /// The fault.
    pub fault: Fault,
}

/// A parsed `--faults` value.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct FaultSpec {
    /// Seed of the decisions.
    pub seed: u64,
    /// Rules in order.
    pub rules: Vec<FaultRule>,
}

/// A `--faults` value that does not follow the grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("failed to parse fault spec item {item:?}: {reason} (expected seed=N or verbs:resources=rate:fault)")]
pub struct FaultSpecError {
    /// The offending item.
    pub item: String,
    /// What is wrong with it.
    pub reason: String,
}

impl std::str::FromStr for FaultSpec {
    type Err = FaultSpecError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut spec = FaultSpec::default();
        for item in text.split(';').map(str::trim).filter(|i| !i.is_empty()) {
            let fail = |reason: &str| FaultSpecError {
                item: item.to_string(),
                reason: reason.to_string(),
            };
            if let Some(seed) = item.strip_prefix("seed=") {
                spec.seed = seed
                    .trim()
                    .parse()
                    .map_err(|_| fail("the seed must be an unsigned integer"))?;
                continue;
            }
            let (selector, action) = item.split_once('=').ok_or_else(|| fail("missing '='"))?;
            let (verbs, resources) = selector
                .split_once(':')
                .ok_or_else(|| fail("missing ':' between verbs and resources"))?;
            let (rate, fault) = action
                .split_once(':')
                .ok_or_else(|| fail("missing ':' between rate and fault"))?;
            let rate: f64 = rate.trim().parse().map_err(|_| fail("the rate must be a number"))?;
            if !(0.0..=1.0).contains(&rate) {
                return Err(fail("the rate must be between 0 and 1"));
            }
            spec.rules.push(FaultRule {
                verbs: parse_list(verbs),
                resources: parse_list(resources),
                rate,
                fault: parse_fault(fault.trim()).map_err(|reason| fail(&reason))?,
            });
        }
        Ok(spec)
    }
}

fn parse_list(text: &str) -> Vec<String> {
    let text = text.trim();
    if text == "*" {
        return Vec::new();
    }
    text.split('|')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn parse_fault(text: &str) -> Result<Fault, String> {
    match text {
        "500" => return Ok(Fault::Status(500)),
        "503" => return Ok(Fault::Status(503)),
        "429" => return Ok(Fault::TooManyRequests(1)),
        "drop" => return Ok(Fault::Drop),
        _ => {}
    }
    if let Some(seconds) = text.strip_prefix("429@") {
        return seconds
            .parse()
            .map(Fault::TooManyRequests)
            .map_err(|_| "Retry-After must be whole seconds".to_string());
    }
    if let Some(duration) = text.strip_prefix("slow=") {
        return humantime::parse_duration(duration)
            .map(Fault::Slow)
            .map_err(|e| format!("bad duration {duration:?}: {e}"));
    }
    Err(format!(
        "unknown fault {text:?} (one of 500, 503, 429[@secs], drop, slow=<duration>)"
    ))
}

/// The run-time decider for a [`FaultSpec`].
pub struct Faults {
    rules: Vec<(FaultRule, Mutex<ChaCha8Rng>)>,
    injected: Mutex<Vec<u64>>,
}

impl Faults {
    /// Seeds one generator per rule.
    pub fn new(spec: &FaultSpec) -> Self {
        let rules = spec
            .rules
            .iter()
            .enumerate()
            .map(|(i, rule)| {
                let seed = spec.seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                (rule.clone(), Mutex::new(ChaCha8Rng::seed_from_u64(seed)))
            })
            .collect::<Vec<_>>();
        let injected = Mutex::new(vec![0; rules.len()]);
        Faults { rules, injected }
    }

    /// The fault to inject into a request, if any. `resource` is `plural` or `plural/subresource`.
    pub fn decide(&self, verb: &str, resource: &str) -> Option<Fault> {
        let base = resource.split('/').next().unwrap_or(resource);
        for (i, (rule, rng)) in self.rules.iter().enumerate() {
            let verb_ok = rule.verbs.is_empty() || rule.verbs.iter().any(|v| v == verb);
            let resource_ok = rule.resources.is_empty() || rule.resources.iter().any(|r| r == resource || r == base);
            if !(verb_ok && resource_ok) {
                continue;
            }
            let draw: f64 = rng.lock().expect("fault rng lock poisoned").random();
            if draw < rule.rate {
                self.injected.lock().expect("fault counter lock poisoned")[i] += 1;
                return Some(rule.fault.clone());
            }
        }
        None
    }

    /// How many faults each rule injected so far, in rule order.
    pub fn injected(&self) -> Vec<u64> {
        self.injected.lock().expect("fault counter lock poisoned").clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_grammar() {
        let spec: FaultSpec =
            "seed=42;patch:deployments=0.1:500;get:*=0.05:429@2;list|watch:pods=0.2:drop;*:configmaps=1:slow=50ms"
                .parse()
                .unwrap();
        assert_eq!(spec.seed, 42);
        assert_eq!(spec.rules.len(), 4);
        assert_eq!(spec.rules[1].fault, Fault::TooManyRequests(2));
        assert_eq!(spec.rules[2].verbs, vec!["list", "watch"]);
        assert_eq!(spec.rules[3].fault, Fault::Slow(Duration::from_millis(50)));
        assert!(spec.rules[3].verbs.is_empty());
    }

    #[test]
    fn rejects_malformed_items_with_a_hint() {
        let err = "patch:deployments=2:500".parse::<FaultSpec>().unwrap_err();
        assert!(err.to_string().contains("between 0 and 1"), "{err}");
        assert!("patch=0.1:500".parse::<FaultSpec>().is_err());
        assert!("get:*=0.1:418".parse::<FaultSpec>().is_err());
    }

    #[test]
    fn the_same_seed_gives_the_same_sequence() {
        let spec: FaultSpec = "seed=7;*:*=0.3:500".parse().unwrap();
        let run = |spec: &FaultSpec| {
            let faults = Faults::new(spec);
            (0..200)
                .map(|_| faults.decide("get", "pods").is_some())
                .collect::<Vec<_>>()
        };
        let first = run(&spec);
        assert_eq!(first, run(&spec));
        let hits = first.iter().filter(|h| **h).count();
        assert!((30..90).contains(&hits), "{hits} of 200 at rate 0.3");
        let other: FaultSpec = "seed=8;*:*=0.3:500".parse().unwrap();
        assert_ne!(first, run(&other));
    }

    #[test]
    fn rules_match_verbs_and_resources() {
        let faults = Faults::new(&"patch:deployments=1:503".parse().unwrap());
        assert_eq!(faults.decide("patch", "deployments"), Some(Fault::Status(503)));
        assert_eq!(faults.decide("patch", "deployments/status"), Some(Fault::Status(503)));
        assert_eq!(faults.decide("get", "deployments"), None);
        assert_eq!(faults.decide("patch", "pods"), None);
        assert_eq!(faults.injected(), vec![2]);
    }
}
