//! Serde types, one file per on-disk format (`.kluctl.yaml`, `deployment.yaml`, vars sources, `helm-chart.yaml`).

pub mod helm_chart;
