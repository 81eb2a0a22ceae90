//! Image flags: fixed images that `images.get_image(...)` calls in templates resolve to.

use super::usage_error;
use anyhow::Context as _;
use clap::{Args, ValueHint};
use serde::Deserialize;
use shared::types::FixedImage;
use std::path::PathBuf;

/// `-F/--fixed-image`, `--fixed-images-file`.
#[derive(Args, Clone, Debug, Default)]
#[command(next_help_heading = "Images")]
pub struct ImageFlags {
    /// Pin an image: `IMAGE[:NAMESPACE[:DEPLOYMENT[:CONTAINER]]]=RESULT` (repeatable)
    #[arg(short = 'F', long = "fixed-image", value_name = "IMAGE=RESULT")]
    pub fixed_images: Vec<String>,

    /// Read fixed images from a YAML file (`images: [...]`, as list-images writes)
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub fixed_images_file: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FixedImagesFile {
    #[serde(default)]
    images: Vec<FixedImage>,
}

/// Validated fixed images: the file's entries first, then each `-F` in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImageOptions {
    /// The fixed images.
    pub fixed_images: Vec<FixedImage>,
}

impl ImageFlags {
    /// Reads the file and parses the flags.
    pub fn options(&self) -> anyhow::Result<ImageOptions> {
        let mut fixed_images = Vec::new();
        if let Some(path) = &self.fixed_images_file {
            let shown = path.display().to_string();
            let text =
                std::fs::read_to_string(path).with_context(|| format!("failed to read fixed images file {shown}"))?;
            let file: FixedImagesFile =
                shared::yaml::parse_typed(&text, &shown).context("failed to parse fixed images file")?;
            for (index, image) in file.images.iter().enumerate() {
                if image.image.is_none() && image.image_regex.is_none() {
                    anyhow::bail!(
                        "failed to load fixed images file {shown}: images[{index}] needs image or imageRegex"
                    );
                }
                if image.result_image.is_none() {
                    anyhow::bail!("failed to load fixed images file {shown}: images[{index}] needs resultImage");
                }
            }
            fixed_images.extend(file.images);
        }
        for value in &self.fixed_images {
            fixed_images.push(parse_fixed_image(value)?);
        }
        Ok(ImageOptions { fixed_images })
    }
}

/// Parses `IMAGE[:NAMESPACE[:DEPLOYMENT[:CONTAINER]]]=RESULT` as Kluctl does.
fn parse_fixed_image(value: &str) -> anyhow::Result<FixedImage> {
    let invalid = || {
        usage_error(format!(
            "invalid --fixed-image '{value}': expected IMAGE[:NAMESPACE[:DEPLOYMENT[:CONTAINER]]]=RESULT"
        ))
    };
    let (selector, result) = value.split_once('=').ok_or_else(invalid)?;
    let parts: Vec<&str> = selector.split(':').collect();
    if result.is_empty() || parts[0].is_empty() || parts.len() > 4 || result.contains('=') {
        return Err(invalid());
    }
    let part = |i: usize| parts.get(i).filter(|p| !p.is_empty()).map(|p| p.to_string());
    Ok(FixedImage {
        image: part(0),
        result_image: Some(result.to_string()),
        namespace: part(1),
        deployment: part(2),
        container: part(3),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_flag_form() {
        let image = parse_fixed_image("nginx:web:Deployment/web:main=nginx:1.27").unwrap();
        assert_eq!(image.image.as_deref(), Some("nginx"));
        assert_eq!(image.namespace.as_deref(), Some("web"));
        assert_eq!(image.deployment.as_deref(), Some("Deployment/web"));
        assert_eq!(image.container.as_deref(), Some("main"));
        assert_eq!(image.result_image.as_deref(), Some("nginx:1.27"));
        for bad in ["nginx", "=x", "nginx=", "a:b:c:d:e=x"] {
            assert!(parse_fixed_image(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_the_file_form_before_the_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("images.yaml");
        std::fs::write(
            &file,
            "images:\n- image: redis\n  resultImage: redis:7\n  deployTags: [db]\n- imageRegex: ^app-.*\n  resultImage: app:1\n",
        )
        .unwrap();
        let flags = ImageFlags {
            fixed_images: vec!["nginx=nginx:1".into()],
            fixed_images_file: Some(file.clone()),
        };
        let images = flags.options().unwrap().fixed_images;
        let results: Vec<_> = images.iter().filter_map(|i| i.result_image.as_deref()).collect();
        assert_eq!(results, ["redis:7", "app:1", "nginx:1"]);

        std::fs::write(&file, "images:\n- image: redis\n  resultImag: redis:7\n").unwrap();
        let err = format!("{:#}", flags.options().unwrap_err());
        assert!(
            err.contains("images.yaml:3:3:") && err.contains("unknown field `resultImag`"),
            "{err}"
        );
    }
}
