//! Safe extraction of a verified artifact: gzip (multi-member, as Go reads it) then tar, into a
//! fresh directory.
//!
//! Input: the downloaded tarball. Output: a tree of regular files and directories under the
//! root, plus [`ExtractStats`]. Only regular files and directories are created; symlinks are
//! skipped (and counted), hard links, devices, FIFOs and sparse files are refused. Names that
//! are absolute, contain `..`, backslashes or NUL are refused. Caps bound the bytes written,
//! the decompressed stream, the number of entries and the path depth, so a gzip bomb or an
//! oversized entry stops early. Files are written 0600 (0700 with an exec bit), directories
//! 0700; owners, times and extended attributes are ignored. Nothing is ever overwritten.

use super::ArtifactError;
use flate2::read::MultiGzDecoder;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use tar::EntryType;

/// Bounds of one extraction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtractLimits {
    /// Bytes of file content written, in total.
    pub max_bytes: u64,
    /// Entries (of any type) in the archive.
    pub max_entries: u64,
    /// Path components of one entry.
    pub max_depth: usize,
}

impl Default for ExtractLimits {
    fn default() -> Self {
        ExtractLimits {
            max_bytes: 1024 * 1024 * 1024,
            max_entries: 100_000,
            max_depth: 64,
        }
    }
}

/// What an extraction produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExtractStats {
    /// Regular files written.
    pub files: u64,
    /// Directories created.
    pub directories: u64,
    /// Bytes of file content written.
    pub bytes: u64,
    /// Symlinks skipped (Flux's own archives never contain any).
    pub skipped_symlinks: u64,
}

/// Extension headers (long names, PAX records) are read into memory: they are tiny in real
/// archives, so anything larger is refused rather than buffered.
const MAX_EXTENSION_HEADER_BYTES: u64 = 64 * 1024;

/// Headers and padding the decompressed stream may hold beyond the file content.
const STREAM_OVERHEAD_BYTES: u64 = 64 * 1024 * 1024;

/// Extracts `archive` (a gzip-compressed tar) into `root`, which must be an empty directory.
pub fn extract(archive: &Path, root: &Path, limits: &ExtractLimits) -> Result<ExtractStats, ArtifactError> {
    let file = File::open(archive).map_err(|e| io_error("open the downloaded artifact", e))?;
    let stream_limit = limits.max_bytes.saturating_add(STREAM_OVERHEAD_BYTES);
    let reader = LimitedReader {
        inner: MultiGzDecoder::new(io::BufReader::new(file)),
        remaining: stream_limit,
    };
    let mut tar = tar::Archive::new(reader);
    let entries = tar
        .entries()
        .map_err(|e| corrupt(&e))?
        // Raw mode: long names and PAX records come to us as entries, so their size is ours
        // to bound (the tar crate would buffer them whole).
        .raw(true);
    let mut state = State {
        root: root.to_path_buf(),
        limits: limits.clone(),
        stats: ExtractStats::default(),
        entries: 0,
        long_name: None,
        pax_path: None,
    };
    for entry in entries {
        let entry = entry.map_err(|e| stream_error(&e, stream_limit))?;
        state.entry(entry).map_err(|e| match e {
            EntryError::Artifact(e) => e,
            EntryError::Io(e) => stream_error(&e, stream_limit),
        })?;
    }
    if state.long_name.is_some() || state.pax_path.is_some() {
        return Err(ArtifactError::Extract {
            entry: String::new(),
            reason: "an extension header is not followed by an entry".into(),
        });
    }
    Ok(state.stats)
}

struct State {
    root: PathBuf,
    limits: ExtractLimits,
    stats: ExtractStats,
    entries: u64,
    long_name: Option<Vec<u8>>,
    pax_path: Option<Vec<u8>>,
}

enum EntryError {
    Artifact(ArtifactError),
    Io(io::Error),
}

impl From<ArtifactError> for EntryError {
    fn from(e: ArtifactError) -> Self {
        EntryError::Artifact(e)
    }
}

impl From<io::Error> for EntryError {
    fn from(e: io::Error) -> Self {
        EntryError::Io(e)
    }
}

impl State {
    fn entry<R: Read>(&mut self, mut entry: tar::Entry<'_, R>) -> Result<(), EntryError> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(ArtifactError::TooLarge {
                what: "extracted artifact".into(),
                detail: format!("more than {} entries", self.limits.max_entries),
            }
            .into());
        }
        let kind = entry.header().entry_type();
        let size = entry.header().entry_size().map_err(|e| corrupt(&e))?;
        match kind {
            EntryType::GNULongName | EntryType::XHeader | EntryType::XGlobalHeader | EntryType::GNULongLink => {
                if size > MAX_EXTENSION_HEADER_BYTES {
                    return Err(refuse("", &format!("an extension header of {size} bytes is too large")).into());
                }
                let mut data = Vec::with_capacity(size as usize);
                entry.read_to_end(&mut data)?;
                match kind {
                    EntryType::GNULongName => self.long_name = Some(trim_nul(&data).to_vec()),
                    EntryType::XHeader => self.pax_path = pax_path(&data)?,
                    // Global records and link targets carry nothing a file or directory needs.
                    _ => {}
                }
                return Ok(());
            }
            _ => {}
        }
        let raw_name = self
            .pax_path
            .take()
            .or_else(|| self.long_name.take())
            .unwrap_or_else(|| entry.header().path_bytes().into_owned());
        let name = String::from_utf8(raw_name).map_err(|_| refuse("", "an entry name is not UTF-8"))?;
        // Old archives mark directories with a trailing slash on a regular-file entry.
        let is_dir = kind == EntryType::Directory || (kind == EntryType::Regular && name.ends_with('/'));
        match kind {
            EntryType::Regular | EntryType::Directory => {}
            EntryType::Symlink => {
                self.stats.skipped_symlinks += 1;
                return Ok(());
            }
            EntryType::Link => return Err(refuse(&name, "hard links are not allowed").into()),
            EntryType::Char | EntryType::Block => return Err(refuse(&name, "device files are not allowed").into()),
            EntryType::Fifo => return Err(refuse(&name, "FIFOs are not allowed").into()),
            EntryType::GNUSparse => return Err(refuse(&name, "sparse files are not supported").into()),
            other => {
                return Err(refuse(
                    &name,
                    &format!("entry type {:?} is not supported", other.as_byte() as char),
                )
                .into());
            }
        }
        let components = components(&name, self.limits.max_depth)?;
        if components.is_empty() {
            // The `.` root entry source-controller writes.
            return if is_dir {
                Ok(())
            } else {
                Err(refuse(&name, "a file cannot replace the root").into())
            };
        }
        let path = components.iter().fold(self.root.clone(), |p, c| p.join(c));
        if is_dir {
            self.create_dirs(&path, &name)?;
            return Ok(());
        }
        if let Some(parent) = path.parent() {
            self.create_dirs(parent, &name)?;
        }
        let written = self.stats.bytes;
        if size > self.limits.max_bytes.saturating_sub(written) {
            return Err(ArtifactError::TooLarge {
                what: "extracted artifact".into(),
                detail: format!(
                    "entry {} declares {size} bytes; the limit is {} bytes in total (raise --max-extracted-bytes)",
                    display_name(&name),
                    self.limits.max_bytes
                ),
            }
            .into());
        }
        let executable = entry.header().mode().map(|m| m & 0o111 != 0).unwrap_or(false);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(if executable { 0o700 } else { 0o600 })
            .open(&path)
            .map_err(|e| match e.kind() {
                io::ErrorKind::AlreadyExists => refuse(&name, "the entry is duplicated"),
                _ => refuse(&name, &format!("cannot create the file ({})", e.kind())),
            })?;
        let copied = copy(&mut entry, &mut file)?;
        self.stats.bytes += copied;
        self.stats.files += 1;
        Ok(())
    }

    fn create_dirs(&mut self, path: &Path, name: &str) -> Result<(), ArtifactError> {
        if path.is_dir() {
            return Ok(());
        }
        // Count what is new, for the stats.
        let relative = path.strip_prefix(&self.root).unwrap_or(path);
        let mut existing = self.root.clone();
        for component in relative.components() {
            existing.push(component);
            if !existing.exists() {
                self.stats.directories += 1;
            }
        }
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)
            .map_err(|e| refuse(name, &format!("cannot create its directory ({})", e.kind())))
    }
}

/// Splits an entry name into normal components, refusing everything that could leave the root.
fn components(name: &str, max_depth: usize) -> Result<Vec<&str>, ArtifactError> {
    if name.contains('\0') {
        return Err(refuse(name, "the name contains NUL"));
    }
    if name.contains('\\') {
        return Err(refuse(name, "the name contains a backslash"));
    }
    if name.starts_with('/') {
        return Err(refuse(name, "absolute paths are not allowed"));
    }
    let mut parts = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(refuse(name, "'..' is not allowed in entry names")),
            normal => parts.push(normal),
        }
    }
    if parts.len() > max_depth {
        return Err(refuse(name, &format!("the path is deeper than {max_depth} levels")));
    }
    Ok(parts)
}

fn pax_path(data: &[u8]) -> Result<Option<Vec<u8>>, ArtifactError> {
    let mut path = None;
    for record in tar::PaxExtensions::new(data) {
        let record = record.map_err(|_| refuse("", "a PAX header is malformed"))?;
        match record.key_bytes() {
            b"path" => path = Some(record.value_bytes().to_vec()),
            // The tar crate would honour these only outside raw mode; refusing keeps what we
            // read identical to what any other reader sees.
            b"size" | b"linkpath" => return Err(refuse("", "PAX size and link records are not supported")),
            _ => {}
        }
    }
    Ok(path)
}

fn trim_nul(data: &[u8]) -> &[u8] {
    let end = data.iter().position(|b| *b == 0).unwrap_or(data.len());
    &data[..end]
}

fn copy(reader: &mut impl Read, writer: &mut File) -> io::Result<u64> {
    let mut buffer = [0u8; 32 * 1024];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buffer)?;
        if n == 0 {
            return Ok(total);
        }
        writer.write_all(&buffer[..n])?;
        total += n as u64;
    }
}

/// Stops the decompressed stream at a fixed size whatever the archive says, so a gzip bomb
/// padded with data no entry accounts for cannot make us decompress without end.
struct LimitedReader<R> {
    inner: R,
    remaining: u64,
}

impl<R: Read> Read for LimitedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            return Err(io::Error::other(StreamLimitReached));
        }
        let max = buf.len().min(self.remaining.min(usize::MAX as u64) as usize);
        let n = self.inner.read(&mut buf[..max])?;
        self.remaining -= n as u64;
        Ok(n)
    }
}

#[derive(Debug)]
struct StreamLimitReached;

impl std::fmt::Display for StreamLimitReached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("decompressed stream limit reached")
    }
}

impl std::error::Error for StreamLimitReached {}

fn stream_error(e: &io::Error, limit: u64) -> ArtifactError {
    let limit_reached = e
        .get_ref()
        .is_some_and(|inner| inner.downcast_ref::<StreamLimitReached>().is_some());
    if limit_reached {
        return ArtifactError::TooLarge {
            what: "decompressed artifact".into(),
            detail: format!("more than {limit} bytes (raise --max-extracted-bytes)"),
        };
    }
    corrupt(e)
}

fn corrupt(e: &io::Error) -> ArtifactError {
    ArtifactError::Extract {
        entry: String::new(),
        reason: format!("the archive is not a valid gzip-compressed tar ({e})"),
    }
}

fn io_error(step: &str, e: io::Error) -> ArtifactError {
    ArtifactError::Io {
        step: step.to_string(),
        kind: e.kind().to_string(),
    }
}

fn refuse(name: &str, reason: &str) -> ArtifactError {
    ArtifactError::Extract {
        entry: if name.is_empty() {
            String::new()
        } else {
            display_name(name)
        },
        reason: reason.to_string(),
    }
}

/// Entry names come from the archive: quote them and keep them short in messages.
fn display_name(name: &str) -> String {
    let short: String = name.chars().take(120).collect();
    if short.len() < name.len() {
        format!("{short:?}…")
    } else {
        format!("{short:?}")
    }
}

#[cfg(test)]
mod tests;
