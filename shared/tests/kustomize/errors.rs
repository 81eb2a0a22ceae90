//! Bad input and safety: every error names the kustomization and the field.
