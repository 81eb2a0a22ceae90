//! `images`: rewrites image references (`newName`, `newTag`, `digest`, `tagSuffix`). Like
//! Kustomize, each entry runs twice: over every `containers`/`initContainers` list anywhere in an
//! object (except CustomResourceDefinitions), then over the configured image fields.

use crate::kustomize::fieldspec::{self, Create, spec_selects};
use crate::kustomize::resmap::ResMap;
use crate::kustomize::types::{FieldSpec, Image};
use regex::Regex;
use serde_json::Value;

/// Applies one `images` entry.
pub fn apply(resmap: &mut ResMap, image: &Image, specs: &[FieldSpec]) -> Result<(), String> {
    let matcher = Regex::new(&format!(
        "^{}(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9_.{{}}-]*)?$",
        image.name
    ))
    .map_err(|e| format!("image name {:?} is not a valid pattern: {e}", image.name))?;
    let update = |node: &mut Value| -> Result<(), String> {
        match node {
            Value::String(current) => {
                if matcher.is_match(current) {
                    *current = rewrite(current, image);
                }
                Ok(())
            }
            Value::Null => Ok(()),
            Value::Object(_) | Value::Array(_) => Err("image fields must be strings".to_string()),
            _ => Ok(()),
        }
    };
    for resource in &mut resmap.resources {
        if resource.kind() != "CustomResourceDefinition" {
            walk_containers(&mut resource.object, &update)?;
        }
        let gvk = resource.gvk();
        for spec in specs.iter().filter(|s| spec_selects(s, &gvk)) {
            let mut set = |node: &mut Value| update(node);
            fieldspec::apply(&mut resource.object, spec, Create::Nothing, &mut set)?;
        }
    }
    Ok(())
}

/// Kustomize's legacy image filter: every `image` of every element of any `containers` or
/// `initContainers` list, at any depth.
fn walk_containers(node: &mut Value, update: &dyn Fn(&mut Value) -> Result<(), String>) -> Result<(), String> {
    match node {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                walk_containers(value, update)?;
                if (key == "containers" || key == "initContainers")
                    && let Value::Array(items) = value
                {
                    for item in items {
                        if let Some(image) = item.get_mut("image") {
                            update(image)?;
                        }
                    }
                }
            }
            Ok(())
        }
        Value::Array(items) => {
            for item in items {
                walk_containers(item, update)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Splits `name[:tag][@digest]`, ignoring a `:` in a registry host (before the first `/`).
pub fn split_image(image: &str) -> (String, String, String) {
    let slash = image.find('/').filter(|i| *i > 0).unwrap_or(0);
    let search = &image[slash..];
    let at = search.find('@').map(|i| i + slash);
    let colon = search.find(':').map(|i| i + slash);
    if let Some(a) = at
        && colon.is_none_or(|c| a < c)
    {
        return (image[..a].to_string(), String::new(), image[a + 1..].to_string());
    }
    match (colon, at) {
        (Some(c), Some(a)) => (
            image[..c].to_string(),
            image[c + 1..a].to_string(),
            image[a + 1..].to_string(),
        ),
        (Some(c), None) => (image[..c].to_string(), image[c + 1..].to_string(), String::new()),
        _ => (image.to_string(), String::new(), String::new()),
    }
}

fn rewrite(current: &str, image: &Image) -> String {
    let (mut name, mut tag, mut digest) = split_image(current);
    if !image.new_name.is_empty() {
        name = image.new_name.clone();
    }
    if !image.new_tag.is_empty() && !image.digest.is_empty() {
        tag = image.new_tag.clone();
        digest = image.digest.clone();
    } else if !image.new_tag.is_empty() {
        tag = image.new_tag.clone();
        digest.clear();
    } else if !image.digest.is_empty() {
        tag.clear();
        digest = image.digest.clone();
    } else if !image.tag_suffix.is_empty() {
        tag.push_str(&image.tag_suffix);
    }
    if !tag.is_empty() {
        name = format!("{name}:{tag}");
    }
    if !digest.is_empty() {
        name = format!("{name}@{digest}");
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kustomize::config;
    use crate::kustomize::resource::Resource;
    use serde_json::json;

    #[test]
    fn splits_references() {
        assert_eq!(split_image("nginx"), ("nginx".into(), "".into(), "".into()));
        assert_eq!(
            split_image("reg:5000/app:1"),
            ("reg:5000/app".into(), "1".into(), "".into())
        );
        assert_eq!(
            split_image("app:1@sha256:x"),
            ("app".into(), "1".into(), "sha256:x".into())
        );
        assert_eq!(
            split_image("app@sha256:x"),
            ("app".into(), "".into(), "sha256:x".into())
        );
    }

    #[test]
    fn rewrites_like_kubectl() {
        let mut m = ResMap {
            resources: vec![
                Resource::new(
                    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                    "spec": {"template": {"spec": {"containers": [{"image": "nginx"}, {"image": "my.reg/app:1@sha256:xyz"}]}}}}),
                ),
                Resource::new(
                    json!({"apiVersion": "example.com/v1", "kind": "Custom", "metadata": {"name": "c"},
                    "spec": {"deep": {"containers": [{"image": "nginx:3"}]}}}),
                ),
            ],
        };
        let specs = &config::defaults().images;
        apply(
            &mut m,
            &Image {
                name: "nginx".into(),
                tag_suffix: "-x".into(),
                ..Image::default()
            },
            specs,
        )
        .unwrap();
        apply(
            &mut m,
            &Image {
                name: "my.reg/app".into(),
                new_name: "other/app".into(),
                digest: "sha256:abc".into(),
                ..Image::default()
            },
            specs,
        )
        .unwrap();
        let d = &m.resources[0].object["spec"]["template"]["spec"]["containers"];
        // The suffix lands twice: both passes match, exactly as with kubectl.
        assert_eq!(d[0]["image"], json!("nginx:-x-x"));
        assert_eq!(d[1]["image"], json!("other/app@sha256:abc"));
        assert_eq!(
            m.resources[1].object["spec"]["deep"]["containers"][0]["image"],
            json!("nginx:3-x")
        );
    }
}
