//! `images.get_image(name)` placeholders (Kluctl reference 8.7) and the legacy `version.*`
//! helpers.
//!
//! Input: the image name a template asks for; output: a placeholder string
//! `XXXXXbegin_get_image_<base64 json>_end_get_imageXXXXX` that the post-processing stage finds
//! in the built objects and replaces with the fixed image. [`encode_placeholder`] and
//! [`find_placeholders`] are the two halves of that contract.

use base64::Engine as _;
use minijinja::value::{Object, Value, from_args};
use minijinja::{Error, ErrorKind, State};
use std::sync::Arc;

/// Text before the encoded request.
pub const PLACEHOLDER_BEGIN: &str = "XXXXXbegin_get_image_";
/// Text after the encoded request.
pub const PLACEHOLDER_END: &str = "_end_get_imageXXXXX";

/// What a template asked for with `images.get_image(...)`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImageRequest {
    /// The image name, e.g. `nginx` or `registry/app`.
    pub image: String,
    /// Whether the legacy second argument (a version filter) was given.
    #[serde(rename = "hasLatestVersion")]
    pub has_latest_version: bool,
}

/// The placeholder string for a request (same bytes as Kluctl's Python extension).
pub fn encode_placeholder(request: &ImageRequest) -> String {
    // Kluctl builds the JSON with Python's json.dumps, whose default separators are ", " and ": ".
    let json = format!(
        "{{\"image\": {}, \"hasLatestVersion\": {}}}",
        serde_json::Value::String(request.image.clone()),
        request.has_latest_version
    );
    format!(
        "{PLACEHOLDER_BEGIN}{}{PLACEHOLDER_END}",
        base64::engine::general_purpose::STANDARD.encode(json.as_bytes())
    )
}

/// A placeholder found in a string: its byte range and the decoded request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundPlaceholder {
    /// Byte range of the whole placeholder in the scanned text.
    pub range: std::ops::Range<usize>,
    /// The decoded request.
    pub request: ImageRequest,
}

/// Finds every placeholder in a string, in order. A placeholder whose payload does not decode
/// is reported as an error naming it.
pub fn find_placeholders(text: &str) -> Result<Vec<FoundPlaceholder>, String> {
    let mut found = Vec::new();
    let mut pos = 0;
    while let Some(start) = text[pos..].find(PLACEHOLDER_BEGIN).map(|i| i + pos) {
        let payload_start = start + PLACEHOLDER_BEGIN.len();
        let Some(end) = text[payload_start..].find(PLACEHOLDER_END).map(|i| i + payload_start) else {
            return Err(format!("unterminated image placeholder at byte {start}"));
        };
        let payload = &text[payload_start..end];
        let json = base64::engine::general_purpose::STANDARD
            .decode(payload)
            .map_err(|e| format!("invalid image placeholder payload {payload:?}: {e}"))?;
        let request: ImageRequest =
            serde_json::from_slice(&json).map_err(|e| format!("invalid image placeholder payload {payload:?}: {e}"))?;
        let range = start..end + PLACEHOLDER_END.len();
        pos = range.end;
        found.push(FoundPlaceholder { range, request });
    }
    Ok(found)
}

#[derive(Debug)]
struct Images;

impl Object for Images {
    fn call_method(self: &Arc<Self>, _state: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        match method {
            "get_image" => {
                let (image, latest_version): (String, Option<Value>) = from_args(args)?;
                Ok(Value::from(encode_placeholder(&ImageRequest {
                    image,
                    has_latest_version: latest_version.is_some_and(|v| !v.is_none()),
                })))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

/// The `images` global.
pub fn images_global() -> Value {
    Value::from_object(Images)
}

#[derive(Debug)]
struct Version;

impl Object for Version {
    fn call_method(self: &Arc<Self>, _state: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        let py_bool = |b: bool| if b { "True" } else { "False" };
        let text = match method {
            "semver" => {
                let (allow_no_nums,): (Option<bool>,) = from_args(args)?;
                format!("semver(allow_no_nums={})", py_bool(allow_no_nums.unwrap_or(false)))
            }
            "prefix" => {
                let (s, suffix): (String, Option<String>) = from_args(args)?;
                match suffix {
                    Some(suffix) => format!("prefix(\"{s}\", suffix=\"{suffix}\")"),
                    None => format!("prefix(\"{s}\")"),
                }
            }
            "number" => {
                let _: () = from_args(args)?;
                "number()".to_string()
            }
            "regex" => {
                let (r,): (String,) = from_args(args)?;
                format!("regex(\"{r}\")")
            }
            _ => return Err(Error::from(ErrorKind::UnknownMethod)),
        };
        Ok(Value::from(text))
    }
}

/// The legacy `version` global.
pub fn version_global() -> Value {
    Value::from_object(Version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_round_trip_and_match_kluctl_bytes() {
        let request = ImageRequest {
            image: "registry/app".to_string(),
            has_latest_version: false,
        };
        let text = format!("image: {}:x", encode_placeholder(&request));
        // base64 of {"image": "registry/app", "hasLatestVersion": false}, as Python writes it.
        assert!(text.contains("eyJpbWFnZSI6ICJyZWdpc3RyeS9hcHAiLCAiaGFzTGF0ZXN0VmVyc2lvbiI6IGZhbHNlfQ=="));
        let found = find_placeholders(&text).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].request, request);
        assert_eq!(&text[..found[0].range.start], "image: ");
        assert_eq!(&text[found[0].range.end..], ":x");
    }

    #[test]
    fn broken_placeholders_are_errors() {
        assert!(find_placeholders("XXXXXbegin_get_image_!!!_end_get_imageXXXXX").is_err());
        assert!(find_placeholders("XXXXXbegin_get_image_abc").is_err());
    }
}
