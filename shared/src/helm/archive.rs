//! Unpacking a chart archive (`.tgz`) safely.
//!
//! Input: the archive bytes (already digest-checked); output: the chart's files in a fresh
//! directory, with the archive's single top-level directory stripped (so `redis/Chart.yaml`
//! becomes `<dest>/Chart.yaml`, Kluctl's layout). Only regular files and directories are
//! accepted: links, devices, absolute paths and `..` are refused, as are archives that expand
//! beyond the size and entry limits (a gzip bomb stops at the limit, not at the end of the disk).

use flate2::read::GzDecoder;
use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

/// Limits for one chart archive.
#[derive(Clone, Copy, Debug)]
pub(crate) struct UnpackLimits {
    /// Total uncompressed bytes of the tar stream.
    pub max_total_bytes: u64,
    /// Bytes of one file.
    pub max_file_bytes: u64,
    /// Number of entries.
    pub max_entries: usize,
}

impl Default for UnpackLimits {
    fn default() -> Self {
        // Helm itself refuses charts above 100 MiB decompressed; single CRD files can be several MiB.
        UnpackLimits {
            max_total_bytes: 100 << 20,
            max_file_bytes: 32 << 20,
            max_entries: 20_000,
        }
    }
}

/// What the archive held.
#[derive(Debug)]
pub(crate) struct Unpacked {
    /// `name` from `Chart.yaml`.
    pub chart_name: String,
    /// `version` from `Chart.yaml`.
    pub chart_version: String,
}

/// Unpacks `archive` into `dest` (which must exist and be empty) and reads its `Chart.yaml`.
pub(crate) fn unpack_chart(archive: &[u8], dest: &Path, limits: UnpackLimits) -> Result<Unpacked, String> {
    let decoder = LimitedReader {
        inner: GzDecoder::new(archive),
        remaining: limits.max_total_bytes,
    };
    let mut tar = tar::Archive::new(decoder);
    let mut top_level: Option<String> = None;
    let mut count = 0usize;
    let entries = tar.entries().map_err(|e| describe_io("read the archive", &e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| describe_io("read the archive", &e))?;
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() {
            continue;
        }
        count += 1;
        if count > limits.max_entries {
            return Err(format!("the archive has more than {} entries", limits.max_entries));
        }
        let raw_path = entry
            .path()
            .map_err(|e| describe_io("read an entry name", &e))?
            .into_owned();
        let shown = raw_path.display().to_string();
        let mut components = Vec::new();
        for component in raw_path.components() {
            match component {
                Component::Normal(part) => components.push(part.to_owned()),
                Component::CurDir => {}
                Component::ParentDir => return Err(format!("entry {shown:?} points outside the chart (..)")),
                Component::RootDir | Component::Prefix(_) => {
                    return Err(format!("entry {shown:?} has an absolute path"));
                }
            }
        }
        if !(kind.is_file() || kind.is_dir() || kind.is_contiguous()) {
            let what = if kind.is_symlink() {
                "a symbolic link"
            } else if kind.is_hard_link() {
                "a hard link"
            } else {
                "not a regular file or directory"
            };
            return Err(format!(
                "entry {shown:?} is {what}; charts may only contain files and directories"
            ));
        }
        let Some((first, rest)) = components.split_first() else {
            continue;
        };
        let first = first.to_string_lossy().to_string();
        match &top_level {
            None => top_level = Some(first.clone()),
            Some(existing) if *existing != first => {
                return Err(format!(
                    "entries {existing:?} and {first:?} are both at the top level; a chart archive holds one directory"
                ));
            }
            Some(_) => {}
        }
        if rest.is_empty() {
            if kind.is_dir() {
                continue;
            }
            return Err(format!(
                "entry {shown:?} is a file at the top level; a chart archive holds one directory"
            ));
        }
        let target: PathBuf = rest.iter().fold(dest.to_path_buf(), |p, c| p.join(c));
        if kind.is_dir() {
            fs::create_dir_all(&target).map_err(|e| describe_io("create a directory", &e))?;
            continue;
        }
        if entry.size() > limits.max_file_bytes {
            return Err(format!(
                "entry {shown:?} is {} bytes, more than the limit of {} bytes",
                entry.size(),
                limits.max_file_bytes
            ));
        }
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|e| describe_io("create a directory", &e))?;
        }
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&target)
            .map_err(|e| match e.kind() {
                io::ErrorKind::AlreadyExists => format!("entry {shown:?} appears twice in the archive"),
                _ => describe_io("write a file", &e),
            })?;
        io::copy(&mut (&mut entry).take(limits.max_file_bytes), &mut file)
            .map_err(|e| describe_io("unpack a file", &e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let executable = entry.header().mode().map(|m| m & 0o111 != 0).unwrap_or(false);
            let mode = if executable { 0o755 } else { 0o644 };
            fs::set_permissions(&target, fs::Permissions::from_mode(mode))
                .map_err(|e| describe_io("set permissions", &e))?;
        }
    }
    let chart_yaml = dest.join("Chart.yaml");
    let text = fs::read_to_string(&chart_yaml).map_err(|_| "the archive holds no Chart.yaml".to_string())?;
    let metadata = crate::yaml::parse_single(&text, "Chart.yaml").map_err(|e| format!("invalid Chart.yaml: {e}"))?;
    let field = |name: &str| match metadata.get(name) {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    Ok(Unpacked {
        chart_name: field("name").ok_or("Chart.yaml has no name")?,
        chart_version: field("version").ok_or("Chart.yaml has no version")?,
    })
}

fn describe_io(action: &str, err: &io::Error) -> String {
    if err.kind() == io::ErrorKind::FileTooLarge {
        return err.to_string();
    }
    format!("could not {action}: {err}")
}

/// Stops reading after a limit with an error instead of an early end of file.
struct LimitedReader<R> {
    inner: R,
    remaining: u64,
}

impl<R: Read> Read for LimitedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            // One byte of look-ahead tells a stream ending exactly at the limit from a larger one.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::new(
                    io::ErrorKind::FileTooLarge,
                    "the archive expands beyond the size limit for charts",
                )),
            };
        }
        let max = buf.len().min(self.remaining.min(usize::MAX as u64) as usize);
        let n = self.inner.read(&mut buf[..max])?;
        self.remaining -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;

    /// Builds a `.tgz` from (path, kind, content) entries; `kind` is 'f', 'd', 'l' (symlink).
    pub(crate) fn tgz(entries: &[(&str, char, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
        for (path, kind, content) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_mode(0o644);
            match kind {
                'd' => {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_size(0);
                }
                'l' => {
                    header.set_entry_type(tar::EntryType::Symlink);
                    header.set_size(0);
                    header.set_link_name(std::str::from_utf8(content).unwrap()).unwrap();
                }
                _ => {
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_size(content.len() as u64);
                }
            }
            // Write the name bytes directly so tests can build hostile names that `set_path` refuses.
            let name = header.as_old_mut().name.as_mut();
            name.fill(0);
            name[..path.len()].copy_from_slice(path.as_bytes());
            header.set_cksum();
            let data: &[u8] = if *kind == 'f' { content } else { &[] };
            builder.append(&header, data).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    const CHART: &[u8] = b"apiVersion: v2\nname: app\nversion: 1.0.0\n";

    #[test]
    fn unpacks_and_strips_the_top_level_directory() {
        let dir = tempfile::tempdir().unwrap();
        let archive = tgz(&[
            ("app/", 'd', b""),
            ("app/Chart.yaml", 'f', CHART),
            ("app/templates/cm.yaml", 'f', b"kind: ConfigMap\n"),
        ]);
        let unpacked = unpack_chart(&archive, dir.path(), UnpackLimits::default()).unwrap();
        assert_eq!(
            (unpacked.chart_name.as_str(), unpacked.chart_version.as_str()),
            ("app", "1.0.0")
        );
        assert_eq!(
            fs::read(dir.path().join("templates/cm.yaml")).unwrap(),
            b"kind: ConfigMap\n"
        );
    }

    #[test]
    fn refuses_parent_paths_links_and_absolute_paths() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (
                tgz(&[("app/Chart.yaml", 'f', CHART), ("app/../../evil", 'f', b"x")]),
                "outside the chart",
            ),
            (
                tgz(&[("app/Chart.yaml", 'f', CHART), ("app/link", 'l', b"/etc/passwd")]),
                "symbolic link",
            ),
            (tgz(&[("/app/Chart.yaml", 'f', CHART)]), "absolute path"),
            (
                tgz(&[("app/Chart.yaml", 'f', CHART), ("other/x", 'f', b"x")]),
                "top level",
            ),
        ];
        for (archive, expected) in cases {
            let dir = tempfile::tempdir().unwrap();
            let err = unpack_chart(&archive, &dir.path().join("x"), UnpackLimits::default()).unwrap_err();
            assert!(err.contains(expected), "{err} (expected {expected})");
            assert!(!dir.path().parent().unwrap().join("evil").exists());
        }
    }

    #[test]
    fn stops_at_the_size_limit_and_rejects_garbage() {
        let big = vec![b'a'; 64 * 1024];
        let archive = tgz(&[("app/Chart.yaml", 'f', CHART), ("app/big", 'f', &big)]);
        let dir = tempfile::tempdir().unwrap();
        let limits = UnpackLimits {
            max_total_bytes: 16 * 1024,
            ..UnpackLimits::default()
        };
        let err = unpack_chart(&archive, dir.path(), limits).unwrap_err();
        assert!(err.contains("size limit"), "{err}");
        let err = unpack_chart(b"not a gzip stream", dir.path(), UnpackLimits::default()).unwrap_err();
        assert!(err.contains("could not read the archive"), "{err}");
    }
}
