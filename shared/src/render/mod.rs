//! Stage 3: renders every deployment item (templates, Helm, Kustomize, post-processing) into an `ObjectSet`.
