//! The process's outside world as a value: stdout, stderr, stdin, whether each is a terminal,
//! and the environment. `main` builds it from the real process ([`Io::process`]); tests build a
//! captured one ([`Io::captured`]) and run commands in-process.

use std::collections::BTreeMap;
use std::io::{self, BufRead, IsTerminal, Write};
use std::sync::{Arc, Mutex, MutexGuard};

/// Everything a command may read from or write to outside the project and the cluster.
pub struct Io {
    /// Where results go (buffered; flushed when the command ends).
    pub stdout: SharedWriter,
    /// Where logs, progress, warnings and prompts go.
    pub stderr: SharedWriter,
    /// Where confirmations are read from.
    pub stdin: SharedReader,
    /// Which of the three streams are terminals.
    pub tty: Tty,
    /// The width of the terminal on stdout, if it is one.
    pub stdout_width: Option<usize>,
    /// The environment variables (`KLUCTL_*`, `NO_COLOR`, `KUBECONFIG`, `HOME`, ...).
    pub env: Env,
    /// Whether Ctrl-C is caught to clean up and exit 130. Only the real process does this: a
    /// test harness keeps its own signal handling.
    pub handle_interrupts: bool,
}

/// Which standard streams are terminals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tty {
    /// stdin is a terminal (prompts are allowed).
    pub stdin: bool,
    /// stdout is a terminal (results may be coloured).
    pub stdout: bool,
    /// stderr is a terminal (progress bars and coloured logs).
    pub stderr: bool,
}

impl Io {
    /// The real process: its standard streams, its terminals and its environment.
    pub fn process() -> Io {
        Io {
            stdout: SharedWriter::new(io::BufWriter::new(io::stdout())),
            stderr: SharedWriter::new(io::stderr()),
            stdin: SharedReader::new(io::BufReader::new(io::stdin())),
            tty: Tty {
                stdin: io::stdin().is_terminal(),
                stdout: io::stdout().is_terminal(),
                stderr: io::stderr().is_terminal(),
            },
            stdout_width: terminal_size::terminal_size_of(io::stdout()).map(|(w, _)| usize::from(w.0)),
            env: Env::process(),
            handle_interrupts: true,
        }
    }

    /// An in-memory Io for tests: no terminals, the given environment and stdin text; the
    /// returned [`Captured`] reads what was written.
    pub fn captured(env: Env, stdin: &str) -> (Io, Captured) {
        let stdout = Buffer::default();
        let stderr = Buffer::default();
        let io = Io {
            stdout: SharedWriter::new(stdout.clone()),
            stderr: SharedWriter::new(stderr.clone()),
            stdin: SharedReader::new(io::Cursor::new(stdin.as_bytes().to_vec())),
            tty: Tty::default(),
            stdout_width: None,
            env,
            handle_interrupts: false,
        };
        (io, Captured { stdout, stderr })
    }
}

/// What an in-process run wrote, see [`Io::captured`].
#[derive(Clone, Debug)]
pub struct Captured {
    stdout: Buffer,
    stderr: Buffer,
}

impl Captured {
    /// Everything written to stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.text()
    }

    /// Everything written to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.text()
    }
}

/// A growable in-memory byte buffer shared between writer and reader.
#[derive(Clone, Debug, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&lock(&self.0)).into_owned()
    }
}

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        lock(&self.0).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A writer that can be cloned and handed to threads (progress bars, watch loops); every
/// write locks the one underlying stream, so lines from different threads never interleave
/// within a `write_all`.
#[derive(Clone)]
pub struct SharedWriter(Arc<Mutex<Box<dyn Write + Send>>>);

impl SharedWriter {
    /// Wraps a writer.
    pub fn new(writer: impl Write + Send + 'static) -> Self {
        SharedWriter(Arc::new(Mutex::new(Box::new(writer))))
    }

    /// Writes a whole text and flushes, so a line appears at once even on a buffered stream.
    pub fn write_text(&self, text: &str) -> io::Result<()> {
        let mut writer = lock(&self.0);
        writer.write_all(text.as_bytes())?;
        writer.flush()
    }
}

impl Write for SharedWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        lock(&self.0).write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        lock(&self.0).write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        lock(&self.0).flush()
    }
}

/// A line reader that can be cloned and moved to a blocking thread (prompts).
#[derive(Clone)]
pub struct SharedReader(Arc<Mutex<Box<dyn BufRead + Send>>>);

impl SharedReader {
    /// Wraps a reader.
    pub fn new(reader: impl BufRead + Send + 'static) -> Self {
        SharedReader(Arc::new(Mutex::new(Box::new(reader))))
    }

    /// Reads one line (without its line ending); `None` at end of input.
    pub fn read_line(&self) -> io::Result<Option<String>> {
        let mut line = String::new();
        if lock(&self.0).read_line(&mut line)? == 0 {
            return Ok(None);
        }
        Ok(Some(line.trim_end_matches(['\r', '\n']).to_string()))
    }
}

// A panic while holding one of these locks leaves plain bytes behind, never a broken invariant,
// so a poisoned lock is still safe to use.
fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A snapshot of environment variables (variables that are not valid UTF-8 are left out).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Env(BTreeMap<String, String>);

impl Env {
    /// The current process's environment.
    pub fn process() -> Env {
        Env(std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect())
    }

    /// An empty environment (for tests).
    pub fn empty() -> Env {
        Env::default()
    }

    /// This environment with one more variable.
    pub fn with(mut self, name: &str, value: &str) -> Env {
        self.0.insert(name.to_string(), value.to_string());
        self
    }

    /// The value of a variable, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Every variable, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The value of a variable when it is set to something other than the empty string.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captured_io_records_both_streams_and_feeds_stdin() {
        let (io, captured) = Io::captured(Env::empty().with("A", "1"), "yes\nno\n");
        let mut out = io.stdout.clone();
        write!(out, "result").unwrap();
        io.stderr.write_text("progress\n").unwrap();
        assert_eq!(captured.stdout(), "result");
        assert_eq!(captured.stderr(), "progress\n");
        assert_eq!(io.stdin.read_line().unwrap().as_deref(), Some("yes"));
        assert_eq!(io.stdin.read_line().unwrap().as_deref(), Some("no"));
        assert_eq!(io.stdin.read_line().unwrap(), None);
        assert_eq!(io.env.get("A"), Some("1"));
        assert!(!io.tty.stdin && !io.tty.stdout && !io.tty.stderr);
    }

    #[test]
    fn empty_variables_count_as_unset_where_asked() {
        let env = Env::empty().with("NO_COLOR", "").with("KUBECONFIG", "/k");
        assert_eq!(env.get("NO_COLOR"), Some(""));
        assert_eq!(env.non_empty("NO_COLOR"), None);
        assert_eq!(env.non_empty("KUBECONFIG"), Some("/k"));
    }
}
