//! A JSON path kept on the stack while walking a patch, rendered as a JSON pointer only when an
//! error needs it (so the happy path allocates nothing for it).

use std::fmt::Write as _;

/// One step of a path: an object key or a list index.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// A path as a chain of steps from the root; `Path::ROOT` has none.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    step: Option<Step<'a>>,
}

impl<'a> Path<'a> {
    pub(crate) const ROOT: Path<'static> = Path {
        parent: None,
        step: None,
    };

    pub(crate) fn key(&'a self, key: &'a str) -> Path<'a> {
        Path {
            parent: Some(self),
            step: Some(Step::Key(key)),
        }
    }

    pub(crate) fn index(&'a self, index: usize) -> Path<'a> {
        Path {
            parent: Some(self),
            step: Some(Step::Index(index)),
        }
    }

    /// The path as a JSON pointer (`/spec/containers/0`), `/` for the root.
    pub(crate) fn pointer(&self) -> String {
        let mut steps = Vec::new();
        let mut current = Some(self);
        while let Some(path) = current {
            if let Some(step) = path.step {
                steps.push(step);
            }
            current = path.parent;
        }
        if steps.is_empty() {
            return "/".to_string();
        }
        let mut out = String::new();
        for step in steps.iter().rev() {
            match step {
                Step::Key(key) => {
                    out.push('/');
                    out.push_str(&key.replace('~', "~0").replace('/', "~1"));
                }
                Step::Index(index) => {
                    let _ = write!(out, "/{index}");
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_json_pointers_with_escapes() {
        let root = Path::ROOT;
        assert_eq!(root.pointer(), "/");
        let metadata = root.key("metadata");
        let annotations = metadata.key("annotations");
        let key = annotations.key("example.com/a~b");
        assert_eq!(key.pointer(), "/metadata/annotations/example.com~1a~0b");
        let spec = root.key("spec");
        let containers = spec.key("containers");
        assert_eq!(containers.index(2).pointer(), "/spec/containers/2");
    }
}
