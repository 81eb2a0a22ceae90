//! Diff: normalizes live and applied objects as Kluctl does and computes the changes between them.

pub mod jsonpath;
