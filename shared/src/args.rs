//! Command-line argument values (`-a name=value`): YAML-typed values, dotted names, `@file`, merged into the args map.
