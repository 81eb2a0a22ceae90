//! Watch mode (`render --watch`, `diff --watch`): re-run a command when a project file changes.
