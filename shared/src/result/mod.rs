//! Stage 6: the `CommandResult` of every command, and its text, YAML and JSON forms.
