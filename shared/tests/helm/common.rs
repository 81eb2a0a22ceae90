//! Fixtures: a Kluctl project in a temp dir, a chart repository with packaged charts, and helpers
//! to compare directory trees.

use kluctl_e2e::servers::chart_repo::ChartRepoServer;
use kluctl_e2e::servers::charts::{package, repo_index, test_helm, write_chart};
use shared::helm::HelmBinary;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A project directory with a `.kluctl.yaml`.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join(".kluctl.yaml"), "targets:\n  - name: test\n").expect("write .kluctl.yaml");
        Project { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `<item>/helm-chart.yaml` with the given `helmChart:` body (indented by the caller).
    pub fn add_release(&self, item: &str, helm_chart_body: &str) -> PathBuf {
        let dir = self.path().join(item);
        std::fs::create_dir_all(&dir).expect("create item dir");
        let file = dir.join("helm-chart.yaml");
        std::fs::write(&file, format!("helmChart:\n{helm_chart_body}")).expect("write helm-chart.yaml");
        file
    }

    pub fn write(&self, relative: &str, content: &str) {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("create dir");
        std::fs::write(path, content).expect("write file");
    }
}

/// A chart repository on 127.0.0.1 whose charts are packaged with the real helm.
pub struct Repo {
    pub server: ChartRepoServer,
    pub root: tempfile::TempDir,
    pub helm: HelmBinary,
    sources: tempfile::TempDir,
}

impl Repo {
    pub fn start(basic_auth: Option<(&str, &str)>) -> Self {
        let root = tempfile::tempdir().expect("temp dir");
        let server = ChartRepoServer::start(
            root.path().to_path_buf(),
            basic_auth.map(|(u, p)| (u.to_string(), p.to_string())),
        );
        Repo {
            server,
            root,
            helm: test_helm(),
            sources: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// Packages `name` at each version (with `extra` templates) and rebuilds `index.yaml`.
    pub fn publish(&self, name: &str, versions: &[&str], extra: &[(&str, &str)]) {
        for version in versions {
            let src = self.sources.path().join(format!("{name}-{version}"));
            let chart = write_chart(&src, name, version, extra);
            package(&self.helm, &chart, self.root.path());
        }
        repo_index(&self.helm, self.root.path(), &self.server.url());
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    /// `.helm-charts/http_<port>_127.0.0.1/<chart>` for this repository.
    pub fn chart_dir(&self, project: &Path, chart: &str) -> PathBuf {
        let port = self.server.host().rsplit(':').next().expect("port").to_string();
        project
            .join(".helm-charts")
            .join(format!("http_{port}_127.0.0.1"))
            .join(chart)
    }

    /// Rewrites the digest of `file` in `index.yaml` to the digest of `data` (so a replaced
    /// archive passes the digest check and the unpacking is what gets tested).
    pub fn set_index_digest(&self, file: &str, data: &[u8]) {
        use sha2::Digest;
        let index_path = self.root.path().join("index.yaml");
        let index = std::fs::read_to_string(&index_path).expect("read index");
        let original = std::fs::read(self.root.path().join(file)).expect("read archive");
        let old = hex::encode(sha2::Sha256::digest(&original));
        let new = hex::encode(sha2::Sha256::digest(data));
        assert!(index.contains(&old), "index.yaml lists the digest of {file}");
        std::fs::write(index_path, index.replace(&old, &new)).expect("write index");
    }
}

/// Every file below `dir` with its content, for before/after comparisons.
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    if !dir.exists() {
        return files;
    }
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.expect("walk");
        if entry.file_type().is_file() {
            let rel = entry
                .path()
                .strip_prefix(dir)
                .expect("prefix")
                .to_string_lossy()
                .to_string();
            files.insert(rel, std::fs::read(entry.path()).expect("read"));
        }
    }
    files
}

/// A `.tgz` with the given entries, names written raw so hostile names (`../x`) are possible.
/// `kind`: 'f' file, 'd' directory, 'l' symlink (content is the target).
pub fn raw_tgz(entries: &[(&str, char, &[u8])]) -> Vec<u8> {
    use flate2::Compression;
    use flate2::write::GzEncoder;
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
    for (path, kind, content) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o644);
        let data: &[u8] = match kind {
            'd' => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                &[]
            }
            'l' => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                header
                    .set_link_name(std::str::from_utf8(content).expect("utf8"))
                    .expect("link");
                &[]
            }
            _ => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(content.len() as u64);
                content
            }
        };
        let name = &mut header.as_old_mut().name;
        name.fill(0);
        name[..path.len()].copy_from_slice(path.as_bytes());
        header.set_cksum();
        builder.append(&header, data).expect("append");
    }
    builder.into_inner().expect("tar").finish().expect("gzip")
}
