//! The on-disk formats of a Kluctl project as serde types, one file per format: `.kluctl.yaml`
//! ([`KluctlProjectConfig`]), `deployment.yaml` ([`DeploymentProjectConfig`]), vars sources
//! ([`VarsSource`]), fixed images ([`FixedImage`]), plus [`SourceMap`] and [`SourceLocation`] for
//! errors that point at a file, line and column.
//!
//! Input: YAML text (through [`crate::yaml`]); output: typed, validated-by-shape configuration.
//! Semantic checks (exactly one item kind, paths inside the project) happen in [`crate::project`].

mod deployment;
pub mod helm_chart;
mod images;
mod kluctl_project;
mod source_map;
mod vars_source;

pub use deployment::{
    ConflictAction, ConflictResolution, DeploymentItemConfig, DeploymentProjectConfig, IgnoreForDiff, ObjectRefItem,
};
pub use images::FixedImage;
pub use kluctl_project::{
    ArgDecl, AwsConfig, KluctlLibraryConfig, KluctlProjectConfig, ServiceAccountRef, TargetConfig,
};
pub use source_map::{Located, LocatedDetail, SourceLocation, SourceMap};
pub use vars_source::{
    ClusterConfigMapOrSecret, ClusterObjectSource, HttpSource, RefusedVarsSources, VarsSource, VarsSourceKind,
};
