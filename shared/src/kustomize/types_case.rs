//! Go's `encoding/json` matches struct field names case-insensitively, so Kustomize accepts
//! `fieldpath` for `fieldPath` (the Kustomize examples rely on it). This pass renames such keys
//! to their canonical spelling, only where the format has a struct, never inside user maps
//! such as `commonLabels`.

use serde_json::{Map, Value};

/// A struct of the format: its fields, and the struct type of fields that hold structs.
struct Shape {
    fields: &'static [&'static str],
    children: &'static [(&'static str, Shape)],
}

const SELECTOR: Shape = Shape {
    fields: &[
        "group",
        "version",
        "kind",
        "name",
        "namespace",
        "labelSelector",
        "annotationSelector",
    ],
    children: &[],
};
const FIELD_SPEC: Shape = Shape {
    fields: &["group", "version", "kind", "path", "create"],
    children: &[],
};
const FIELD_OPTIONS: Shape = Shape {
    fields: &["delimiter", "index", "encoding", "create"],
    children: &[],
};
const GENERATOR_OPTIONS: Shape = Shape {
    fields: &["labels", "annotations", "disableNameSuffixHash", "immutable"],
    children: &[],
};
const GENERATOR: Shape = Shape {
    fields: &[
        "namespace",
        "name",
        "behavior",
        "literals",
        "files",
        "envs",
        "env",
        "options",
        "type",
    ],
    children: &[("options", GENERATOR_OPTIONS)],
};
const PATCH: Shape = Shape {
    fields: &["path", "patch", "target", "options"],
    children: &[("target", SELECTOR)],
};
/// A replacement, inline or in a file.
const REPLACEMENT: Shape = Shape {
    fields: &["source", "targets", "path"],
    children: &[
        (
            "source",
            Shape {
                fields: &["group", "version", "kind", "name", "namespace", "fieldPath", "options"],
                children: &[("options", FIELD_OPTIONS)],
            },
        ),
        (
            "targets",
            Shape {
                fields: &["select", "reject", "fieldPaths", "options"],
                children: &[("select", SELECTOR), ("reject", SELECTOR), ("options", FIELD_OPTIONS)],
            },
        ),
    ],
};
const KUSTOMIZATION: Shape = Shape {
    fields: &[
        "apiVersion",
        "kind",
        "metadata",
        "openapi",
        "namePrefix",
        "nameSuffix",
        "namespace",
        "commonLabels",
        "labels",
        "commonAnnotations",
        "patchesStrategicMerge",
        "patchesJson6902",
        "patches",
        "images",
        "imageTags",
        "replacements",
        "replicas",
        "vars",
        "sortOptions",
        "resources",
        "components",
        "crds",
        "bases",
        "configMapGenerator",
        "secretGenerator",
        "helmGlobals",
        "helmCharts",
        "helmChartInflationGenerator",
        "generatorOptions",
        "configurations",
        "generators",
        "transformers",
        "validators",
        "buildMetadata",
    ],
    children: &[
        (
            "labels",
            Shape {
                fields: &["pairs", "includeSelectors", "includeTemplates", "fields"],
                children: &[("fields", FIELD_SPEC)],
            },
        ),
        ("patches", PATCH),
        ("patchesJson6902", PATCH),
        (
            "images",
            Shape {
                fields: &["name", "newName", "newTag", "digest", "tagSuffix"],
                children: &[],
            },
        ),
        (
            "imageTags",
            Shape {
                fields: &["name", "newName", "newTag", "digest", "tagSuffix"],
                children: &[],
            },
        ),
        ("replacements", REPLACEMENT),
        (
            "replicas",
            Shape {
                fields: &["name", "count"],
                children: &[],
            },
        ),
        (
            "vars",
            Shape {
                fields: &["name", "objref", "fieldref"],
                children: &[
                    (
                        "objref",
                        Shape {
                            fields: &["apiVersion", "group", "version", "kind", "name", "namespace"],
                            children: &[],
                        },
                    ),
                    (
                        "fieldref",
                        Shape {
                            fields: &["fieldPath"],
                            children: &[],
                        },
                    ),
                ],
            },
        ),
        (
            "sortOptions",
            Shape {
                fields: &["order", "legacySortOptions"],
                children: &[(
                    "legacySortOptions",
                    Shape {
                        fields: &["orderFirst", "orderLast"],
                        children: &[],
                    },
                )],
            },
        ),
        ("configMapGenerator", GENERATOR),
        ("secretGenerator", GENERATOR),
        ("generatorOptions", GENERATOR_OPTIONS),
    ],
};

/// Canonicalizes the keys of a kustomization.
pub fn canonicalize_kustomization(value: &mut Value) {
    canonicalize(value, &KUSTOMIZATION);
}

/// Canonicalizes the keys of a replacement (or a list of them) read from a file.
pub fn canonicalize_replacements(value: &mut Value) {
    canonicalize(value, &REPLACEMENT);
}

fn canonicalize(value: &mut Value, shape: &Shape) {
    match value {
        Value::Array(items) => {
            for item in items {
                canonicalize(item, shape);
            }
        }
        Value::Object(map) => {
            let renames: Vec<(String, &'static str)> = map
                .keys()
                .filter(|k| !shape.fields.contains(&k.as_str()))
                .filter_map(|k| {
                    shape
                        .fields
                        .iter()
                        .find(|f| f.eq_ignore_ascii_case(k))
                        .map(|f| (k.clone(), *f))
                })
                .collect();
            for (from, to) in renames {
                if !map.contains_key(to)
                    && let Some(v) = map.remove(&from)
                {
                    map.insert(to.to_string(), v);
                }
            }
            rename_children(map, shape);
        }
        _ => {}
    }
}

fn rename_children(map: &mut Map<String, Value>, shape: &Shape) {
    for (field, child) in shape.children {
        if let Some(value) = map.get_mut(*field) {
            canonicalize(value, child);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renames_struct_fields_but_not_user_keys() {
        let mut v = json!({"NamePrefix": "p-", "commonLabels": {"Name": "x"},
            "vars": [{"name": "V", "objref": {"Kind": "Service"}, "fieldref": {"fieldpath": "spec.x"}}]});
        canonicalize_kustomization(&mut v);
        assert_eq!(v["namePrefix"], json!("p-"));
        assert_eq!(v["commonLabels"], json!({"Name": "x"}));
        assert_eq!(v["vars"][0]["fieldref"], json!({"fieldPath": "spec.x"}));
        assert_eq!(v["vars"][0]["objref"], json!({"kind": "Service"}));
    }
}
