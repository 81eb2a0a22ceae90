//! `images.get_image(...)` placeholders, resolved after Kustomize as Kluctl does: every string of
//! every object is scanned; each placeholder becomes the `resultImage` of the last matching fixed
//! image (command line and target first, then the `images` variable), matched by image name or
//! regex and optionally by namespace, `Kind/name` and container name. No match is an error.

use crate::template::find_placeholders;
use crate::types::FixedImage;
use serde_json::{Map, Value};

/// Where a placeholder sits, for matching and for the seen-images list.
struct Site<'a> {
    namespace: &'a str,
    deployment: &'a str,
    object: Value,
}

/// Resolves the placeholders of one item's objects.
pub(crate) struct ImageResolver<'a> {
    /// `-F`/`--fixed-images-file` with the target's images before them; searched last first.
    pub fixed: &'a [FixedImage],
    /// The `images` variable of the item; searched after `fixed`, last first.
    pub from_vars: Vec<FixedImage>,
    /// The item directory (`kluctl.io/deployment-item-dir`), for the seen-images list.
    pub deployment_dir: &'a str,
    /// The item's tags, for the seen-images list.
    pub tags: &'a [String],
}

impl<'a> ImageResolver<'a> {
    /// Reads the `images` variable of an item (a list of fixed images), when there is one.
    pub fn images_from_vars(vars: &Value) -> Result<Vec<FixedImage>, String> {
        match vars.get("images") {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(list @ Value::Array(_)) => serde_json::from_value(list.clone())
                .map_err(|e| format!("the `images` variable is not a list of fixed images: {e}")),
            // Anything else is not meant as fixed images (the template global wins in templates).
            Some(_) => Ok(Vec::new()),
        }
    }

    fn lookup(&self, image: &str, site: &Site<'_>, container: &str) -> Result<Option<String>, String> {
        for list in [self.fixed, self.from_vars.as_slice()] {
            for fi in list.iter().rev() {
                if fi.image.as_deref().is_some_and(|i| i != image) {
                    continue;
                }
                if let Some(pattern) = &fi.image_regex {
                    let re = regex::Regex::new(pattern).map_err(|e| format!("invalid imageRegex {pattern:?}: {e}"))?;
                    if !re.is_match(image) {
                        continue;
                    }
                }
                if fi.namespace.as_deref().is_some_and(|n| n != site.namespace)
                    || fi.deployment.as_deref().is_some_and(|d| d != site.deployment)
                    || fi.container.as_deref().is_some_and(|c| c != container)
                {
                    continue;
                }
                return Ok(Some(fi.result_image.clone().unwrap_or_default()));
            }
        }
        Ok(None)
    }

    /// Replaces the placeholders in `object`, recording every resolution in `seen`.
    pub fn resolve(&self, object: &mut Value, seen: &mut Vec<FixedImage>) -> Result<(), String> {
        if !object.to_string().contains(crate::template::images::PLACEHOLDER_BEGIN) {
            return Ok(());
        }
        let kind = object["kind"].as_str().unwrap_or_default().to_string();
        let name = object["metadata"]["name"].as_str().unwrap_or_default().to_string();
        let namespace = object["metadata"]["namespace"].as_str().unwrap_or_default().to_string();
        let deployment = format!("{kind}/{name}");
        let site = Site {
            namespace: &namespace,
            deployment: &deployment,
            object: serde_json::json!({
                "group": object["apiVersion"].as_str().and_then(|a| a.rsplit_once('/')).map(|(g, _)| g).unwrap_or_default(),
                "kind": kind,
                "name": name,
                "namespace": namespace,
            }),
        };
        self.walk(object, "", &site, seen)
    }

    fn walk(
        &self,
        value: &mut Value,
        container: &str,
        site: &Site<'_>,
        seen: &mut Vec<FixedImage>,
    ) -> Result<(), String> {
        match value {
            Value::String(text) => {
                let found = find_placeholders(text)?;
                for placeholder in found.iter().rev() {
                    let image = &placeholder.request.image;
                    let result = self.lookup(image, site, container)?;
                    seen.push(FixedImage {
                        image: Some(image.clone()),
                        result_image: result.clone(),
                        namespace: Some(site.namespace.to_string()),
                        object: Some(site.object.clone()),
                        deployment: Some(site.deployment.to_string()),
                        container: Some(container.to_string()),
                        deploy_tags: self.tags.to_vec(),
                        deployment_dir: Some(self.deployment_dir.to_string()),
                        ..Default::default()
                    });
                    let Some(result) = result else {
                        return Err(format!(
                            "failed to find fixed image for {image} (object {}{}{})",
                            if site.namespace.is_empty() {
                                String::new()
                            } else {
                                format!("{}/", site.namespace)
                            },
                            site.deployment,
                            if container.is_empty() {
                                String::new()
                            } else {
                                format!(", container {container}")
                            }
                        ));
                    };
                    text.replace_range(placeholder.range.clone(), &result);
                }
                Ok(())
            }
            Value::Array(items) => {
                for item in items {
                    self.walk(item, "", site, seen)?;
                }
                Ok(())
            }
            Value::Object(map) => {
                let own_name = container_name(map);
                for item in map.values_mut() {
                    self.walk(item, &own_name, site, seen)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// The `name` of the map holding a field: the container name when the map is a container.
fn container_name(map: &Map<String, Value>) -> String {
    map.get("name").and_then(Value::as_str).unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::{ImageRequest, encode_placeholder};
    use serde_json::json;

    fn placeholder(image: &str) -> String {
        encode_placeholder(&ImageRequest {
            image: image.to_string(),
            has_latest_version: false,
        })
    }

    fn fixed(image: &str, result: &str) -> FixedImage {
        FixedImage {
            image: Some(image.into()),
            result_image: Some(result.into()),
            ..Default::default()
        }
    }

    #[test]
    fn placeholders_resolve_by_name_container_and_order() {
        let target = vec![
            fixed("nginx", "nginx:1.0"),
            FixedImage {
                container: Some("side".into()),
                ..fixed("nginx", "nginx:side")
            },
        ];
        let resolver = ImageResolver {
            fixed: &target,
            from_vars: vec![fixed("redis", "redis:7")],
            deployment_dir: "apps/web",
            tags: &["web".to_string()],
        };
        let mut object = json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "ns"},
            "spec": {"template": {"spec": {"containers": [
                {"name": "main", "image": placeholder("nginx")},
                {"name": "side", "image": placeholder("nginx")},
                {"name": "cache", "image": format!("{}-suffix", placeholder("redis"))},
            ]}}}
        });
        let mut seen = Vec::new();
        resolver.resolve(&mut object, &mut seen).unwrap();
        let containers = &object["spec"]["template"]["spec"]["containers"];
        assert_eq!(containers[0]["image"], "nginx:1.0");
        assert_eq!(containers[1]["image"], "nginx:side");
        assert_eq!(containers[2]["image"], "redis:7-suffix");
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[0].deployment.as_deref(), Some("Deployment/web"));
        assert_eq!(seen[2].container.as_deref(), Some("cache"));
    }

    #[test]
    fn a_missing_fixed_image_is_an_error_naming_object_and_container() {
        let resolver = ImageResolver {
            fixed: &[],
            from_vars: vec![],
            deployment_dir: "d",
            tags: &[],
        };
        let mut object = json!({"kind": "Pod", "metadata": {"name": "p", "namespace": "ns"},
                                "spec": {"containers": [{"name": "c", "image": placeholder("busybox")}]}});
        let err = resolver.resolve(&mut object, &mut Vec::new()).unwrap_err();
        assert_eq!(
            err,
            "failed to find fixed image for busybox (object ns/Pod/p, container c)"
        );
    }
}
