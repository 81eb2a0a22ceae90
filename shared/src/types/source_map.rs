//! Where things are in project files: [`SourceLocation`] (file, line, column), [`Located`] (an error
//! message tied to a location and the include chain that led there) and [`SourceMap`], which finds
//! the line and column of any node of a YAML document by its path (`deployments/3/path`).
//!
//! serde gives positions only for syntax and type errors; checks made after parsing (an include that
//! does not exist, two item kinds at once) look their node up in the [`SourceMap`] instead.

use granit_parser::{Event, Parser, Span, SpannedEventReceiver};
use std::collections::HashMap;
use std::fmt;

/// A place in a project file, as the user knows it (project-relative path, 1-based line and column).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub struct SourceLocation {
    /// Project-relative path with `/` separators.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
}

impl SourceLocation {
    /// A location naming only a file.
    pub fn file(file: impl Into<String>) -> Self {
        SourceLocation {
            file: file.into(),
            line: None,
            column: None,
        }
    }

    /// A location with line and column.
    pub fn at(file: impl Into<String>, line: usize, column: usize) -> Self {
        SourceLocation {
            file: file.into(),
            line: Some(line),
            column: Some(column),
        }
    }
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        Ok(())
    }
}

/// The details every located error carries: where, what, what to do, and how we got there.
/// Boxed so that error enums holding it stay small.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Located(Box<LocatedDetail>);

/// The fields of a [`Located`] (reached through `Deref`).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct LocatedDetail {
    /// Where the problem is.
    pub location: SourceLocation,
    /// What is wrong (lowercase, no trailing period).
    pub message: String,
    /// What the user can do about it, when there is something to say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The `deployment.yaml` entries that led here, innermost first
    /// (the item or include that declared this file, then the include of that project, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<SourceLocation>,
}

impl std::ops::Deref for Located {
    type Target = LocatedDetail;
    fn deref(&self) -> &LocatedDetail {
        &self.0
    }
}

impl std::ops::DerefMut for Located {
    fn deref_mut(&mut self) -> &mut LocatedDetail {
        &mut self.0
    }
}

impl Located {
    /// A message at a location, without hint or chain.
    pub fn new(location: SourceLocation, message: impl Into<String>) -> Self {
        Located(Box::new(LocatedDetail {
            location,
            message: message.into(),
            hint: None,
            chain: Vec::new(),
        }))
    }

    /// Adds what the user can do.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Sets the include chain (innermost first).
    pub fn with_chain(mut self, chain: &[SourceLocation]) -> Self {
        self.chain = chain.to_vec();
        self
    }

    /// Formats as `file:line:col: <step>: message (hint) (via item <- include <- ...)` on one line.
    pub fn render(&self, step: &str) -> String {
        let mut out = format!("{}: {step}: {}", self.location, self.message);
        if let Some(hint) = &self.hint {
            out.push_str(&format!(" ({hint})"));
        }
        if !self.chain.is_empty() {
            let chain: Vec<String> = self.chain.iter().map(ToString::to_string).collect();
            out.push_str(&format!(" (via {})", chain.join(" <- ")));
        }
        out
    }
}

/// Positions of the nodes of one YAML document, addressed by slash-separated paths
/// (`""` is the document, `deployments/0/path` the value of the first item's `path`).
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    values: HashMap<String, (usize, usize)>,
    keys: HashMap<String, (usize, usize)>,
}

impl SourceMap {
    /// Indexes the first document of `text`. A text that does not parse gives an empty map
    /// (the parse error itself is reported by the YAML reader, with its own position).
    pub fn parse(text: &str) -> Self {
        let mut receiver = Receiver::default();
        let mut parser = Parser::new_from_str(text);
        // Positions are a best effort on top of a successful serde parse; a scan error only
        // means fewer entries.
        let _ = parser.load(&mut receiver, false);
        receiver.map
    }

    /// Line and column (1-based) of the value at `path`, falling back to the nearest ancestor
    /// that is known.
    pub fn value_position(&self, path: &str) -> Option<(usize, usize)> {
        let mut current = path;
        loop {
            if let Some(pos) = self.values.get(current) {
                return Some(*pos);
            }
            match current.rfind('/') {
                Some(idx) => current = &current[..idx],
                None if !current.is_empty() => current = "",
                None => return None,
            }
        }
    }

    /// Line and column of the key of the mapping entry at `path` (`deployments/0/path` gives the
    /// position of the `path:` key), falling back to the value and then to ancestors.
    pub fn key_position(&self, path: &str) -> Option<(usize, usize)> {
        self.keys.get(path).copied().or_else(|| self.value_position(path))
    }

    /// A [`SourceLocation`] in `file` for the key at `path` (or the closest known node).
    pub fn locate(&self, file: &str, path: &str) -> SourceLocation {
        match self.key_position(path) {
            Some((line, column)) => SourceLocation::at(file, line, column),
            None => SourceLocation::file(file),
        }
    }
}

enum Frame {
    Mapping { path: String, key: Option<String> },
    Sequence { path: String, index: usize },
}

#[derive(Default)]
struct Receiver {
    map: SourceMap,
    stack: Vec<Frame>,
    documents: usize,
    done: bool,
}

fn join(path: &str, segment: &str) -> String {
    if path.is_empty() {
        segment.to_string()
    } else {
        format!("{path}/{segment}")
    }
}

impl Receiver {
    /// Works out the path of the node that starts here, recording key positions on the way.
    /// Returns `None` when the node is a mapping key (which has no path of its own).
    fn node_path(&mut self, scalar: Option<&str>, pos: (usize, usize)) -> Option<String> {
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Sequence { path, index }) => {
                let p = join(path, &index.to_string());
                *index += 1;
                Some(p)
            }
            Some(Frame::Mapping { path, key }) => match key.take() {
                Some(k) => Some(join(path, &k)),
                None => {
                    // A key: remember it for the value that follows. Complex keys get a
                    // placeholder name nobody looks up.
                    let name = scalar.unwrap_or("?").to_string();
                    self.map.keys.insert(join(path, &name), pos);
                    *key = Some(name);
                    None
                }
            },
        }
    }
}

impl<'input> SpannedEventReceiver<'input> for Receiver {
    fn on_event(&mut self, ev: Event<'input>, span: Span) {
        if self.done {
            return;
        }
        let pos = (span.start.line(), span.start.col() + 1);
        match ev {
            Event::DocumentStart(..) => {
                self.documents += 1;
                if self.documents > 1 {
                    self.done = true;
                }
            }
            Event::Scalar(value, ..) => {
                if let Some(path) = self.node_path(Some(value.as_ref()), pos) {
                    self.map.values.insert(path, pos);
                }
            }
            Event::Alias(..) => {
                if let Some(path) = self.node_path(None, pos) {
                    self.map.values.insert(path, pos);
                }
            }
            Event::MappingStart(..) => {
                let path = self.node_path(None, pos).unwrap_or_else(|| "?".to_string());
                self.map.values.entry(path.clone()).or_insert(pos);
                self.stack.push(Frame::Mapping { path, key: None });
            }
            Event::SequenceStart(..) => {
                let path = self.node_path(None, pos).unwrap_or_else(|| "?".to_string());
                self.map.values.entry(path.clone()).or_insert(pos);
                self.stack.push(Frame::Sequence { path, index: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keys_and_values_of_nested_nodes() {
        let text = "vars:\n  - file: a.yaml\ndeployments:\n  - path: apps\n  - include: sub\n    tags: [x, y]\n";
        let map = SourceMap::parse(text);
        assert_eq!(map.key_position("deployments/1/include"), Some((5, 5)));
        assert_eq!(map.value_position("deployments/1/include"), Some((5, 14)));
        assert_eq!(map.value_position("deployments/1/tags/1"), Some((6, 15)));
        assert_eq!(map.key_position("deployments/0"), Some((4, 5)));
        assert_eq!(map.key_position("vars/0/file"), Some((2, 5)));
    }

    #[test]
    fn unknown_paths_fall_back_to_the_closest_ancestor() {
        let map = SourceMap::parse("deployments:\n  - path: apps\n");
        assert_eq!(map.key_position("deployments/0/when"), Some((2, 5)));
        assert_eq!(
            map.locate("deployment.yaml", "nothing/here").to_string(),
            "deployment.yaml:1:1"
        );
    }

    #[test]
    fn located_errors_render_on_one_line_with_hint_and_chain() {
        let err = Located::new(
            SourceLocation::at("sub/deployment.yaml", 3, 5),
            "directory x does not exist",
        )
        .with_hint("create it or fix the path")
        .with_chain(&[SourceLocation::at("deployment.yaml", 2, 5)]);
        assert_eq!(
            err.render("failed to load include"),
            "sub/deployment.yaml:3:5: failed to load include: directory x does not exist \
             (create it or fix the path) (via deployment.yaml:2:5)"
        );
    }
}
