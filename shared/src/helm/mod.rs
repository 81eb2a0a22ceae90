//! Helm releases: `helm-chart.yaml`, pre-pulled charts in `.helm-charts/`, `helm template`, helm-pull and helm-update.
