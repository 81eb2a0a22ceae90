//! Server-side apply for the test API server: managed fields (FieldsV1), merging applied configuration, conflicts.
