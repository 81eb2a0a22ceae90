//! Stage 1: loads a Kluctl project (`.kluctl.yaml`, targets, args, the `deployment.yaml` tree) into a `LoadedProject`.
