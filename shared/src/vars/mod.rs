//! Variable sources (`values`, `file`, `systemEnvVars`, cluster objects, `http`) and how they merge.
