//! Fetch tests against the artifact server on 127.0.0.1: every failure mode of the download, and
//! no leftovers in the work directory whatever happens.

use super::*;
use kluctl_e2e::servers::artifact::{ArtifactServer, Fault, Published, Throttle, TreeFile, source_tarball};

struct Setup {
    server: ArtifactServer,
    work: tempfile::TempDir,
    fetcher: Fetcher,
}

fn setup_with(adjust: impl FnOnce(&mut FetchConfig)) -> Setup {
    let server = ArtifactServer::start().unwrap();
    let work = tempfile::tempdir().unwrap();
    let mut config = FetchConfig {
        allowed_hosts: vec![AllowedHost::parse(&server.host()).unwrap()],
        retries: 3,
        backoff_min: Duration::from_millis(10),
        backoff_max: Duration::from_secs(2),
        work_dir: work.path().to_path_buf(),
        ..Default::default()
    };
    adjust(&mut config);
    let fetcher = Fetcher::new(config).unwrap();
    Setup { server, work, fetcher }
}

fn setup() -> Setup {
    setup_with(|_| {})
}

fn project() -> Vec<u8> {
    source_tarball(&[
        TreeFile::new(".kluctl.yaml", "targets:\n- name: prod\n"),
        TreeFile::new("deploy/cm.yaml", "apiVersion: v1\nkind: ConfigMap\n"),
    ])
}

fn artifact(published: &Published) -> SourceArtifact {
    SourceArtifact {
        url: published.url.clone(),
        path: published.path.clone(),
        revision: "main@sha1:0123456789abcdef0123456789abcdef01234567".into(),
        digest: Some(published.digest.clone()),
        checksum: None,
        size: Some(published.size),
        last_update_time: None,
        metadata: Default::default(),
    }
}

impl Setup {
    fn publish(&self, bytes: Vec<u8>) -> Published {
        self.server.publish("gitrepository", "team", "app", bytes)
    }

    async fn fetch(&self, artifact: &SourceArtifact, within: Duration) -> Result<FetchedArtifact, ArtifactError> {
        let request = ArtifactRequest {
            kind: FluxSourceKind::GitRepository,
            namespace: "team",
            name: "app",
            artifact,
        };
        self.fetcher.fetch(&request, Instant::now() + within).await
    }

    fn leftovers(&self) -> usize {
        std::fs::read_dir(self.work.path()).unwrap().count()
    }
}

#[tokio::test]
async fn a_verified_artifact_is_extracted_and_removed_on_drop() {
    let s = setup();
    let published = s.publish(project());
    let fetched = s.fetch(&artifact(&published), Duration::from_secs(10)).await.unwrap();
    assert_eq!(fetched.digest, published.digest);
    assert_eq!(fetched.downloaded_bytes, published.size);
    assert_eq!(fetched.attempts, 1);
    assert_eq!(fetched.stats.files, 2);
    let dir = fetched.project_dir(&["deploy".to_string()]).unwrap();
    assert!(dir.join("cm.yaml").is_file());
    let missing = fetched.project_dir(&["nope".to_string()]).unwrap_err();
    assert_eq!(
        missing.to_string(),
        "failed to find spec.path \"nope\" in the artifact: no such directory"
    );
    // Only the extracted tree remains while the artifact is in use; nothing after.
    assert_eq!(s.leftovers(), 1);
    drop(fetched);
    assert_eq!(s.leftovers(), 0);
}

#[tokio::test]
async fn a_wrong_digest_is_refused_before_extraction() {
    let s = setup();
    let published = s.publish(project());
    let mut wrong = artifact(&published);
    wrong.digest = Some(format!("sha256:{}", "0".repeat(64)));
    let err = s.fetch(&wrong, Duration::from_secs(10)).await.unwrap_err();
    assert_eq!(err.metric_label(), "digest_mismatch");
    assert!(err.source_not_ready());
    assert_eq!(
        err.to_string(),
        format!(
            "failed to verify the artifact: digest mismatch: expected sha256:{}, got {}",
            "0".repeat(64),
            published.digest
        )
    );
    assert_eq!(s.leftovers(), 0);
    let mut missing = artifact(&published);
    missing.digest = None;
    assert_eq!(
        s.fetch(&missing, Duration::from_secs(10))
            .await
            .unwrap_err()
            .metric_label(),
        "invalid_digest"
    );
    // Verified before any request: only the first fetch reached the server.
    assert_eq!(s.server.requests(&published.path), 1);
}

#[tokio::test]
async fn not_found_is_not_retried() {
    let s = setup();
    let published = s.publish(project());
    s.server.remove(&published.path);
    let err = s
        .fetch(&artifact(&published), Duration::from_secs(10))
        .await
        .unwrap_err();
    assert_eq!(err.metric_label(), "not_found");
    assert!(err.source_not_ready());
    assert_eq!(s.server.requests(&published.path), 1);
}

#[tokio::test]
async fn server_errors_and_cut_transfers_are_retried() {
    let s = setup();
    let published = s.publish(project());
    s.server.push_fault(&published.path, Fault::Status(503));
    s.server.push_fault(&published.path, Fault::CutMidBody);
    s.server.push_fault(&published.path, Fault::Status(500));
    let fetched = s.fetch(&artifact(&published), Duration::from_secs(10)).await.unwrap();
    assert_eq!(fetched.attempts, 4);
    assert_eq!(s.server.requests(&published.path), 4);
}

#[tokio::test]
async fn retry_after_is_honoured_and_retries_are_bounded() {
    let s = setup();
    let published = s.publish(project());
    s.server.push_fault(&published.path, Fault::StatusRetryAfter(429, 1));
    let started = Instant::now();
    s.fetch(&artifact(&published), Duration::from_secs(10)).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1), "{:?}", started.elapsed());
    for _ in 0..10 {
        s.server.push_fault(&published.path, Fault::Status(502));
    }
    let err = s
        .fetch(&artifact(&published), Duration::from_secs(10))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "failed to fetch the artifact from {}: HTTP 502 after 4 attempt(s)",
            s.server.host()
        )
    );
}

#[tokio::test]
async fn client_errors_501_and_redirects_fail_at_once() {
    let s = setup();
    let published = s.publish(project());
    for fault in [
        Fault::Status(501),
        Fault::Status(403),
        Fault::Redirect(format!("http://{}/elsewhere.tar.gz", s.server.host())),
    ] {
        let before = s.server.requests(&published.path);
        s.server.push_fault(&published.path, fault.clone());
        let err = s
            .fetch(&artifact(&published), Duration::from_secs(10))
            .await
            .unwrap_err();
        assert_eq!(err.metric_label(), "http_error", "{fault:?}: {err}");
        assert_eq!(s.server.requests(&published.path), before + 1, "{fault:?}");
    }
    assert_eq!(s.server.requests("elsewhere.tar.gz"), 0);
}

#[tokio::test]
async fn oversized_artifacts_stop_before_or_during_the_download() {
    let s = setup_with(|c| c.max_artifact_bytes = 64 * 1024);
    let big = source_tarball(&[TreeFile::new(
        "big.bin",
        (0..400_000u32).flat_map(|i| i.to_le_bytes()).collect::<Vec<u8>>(),
    )]);
    assert!(big.len() > 64 * 1024);
    let published = s.publish(big);
    // Declared in the source status: nothing is requested.
    let err = s
        .fetch(&artifact(&published), Duration::from_secs(10))
        .await
        .unwrap_err();
    assert_eq!(err.metric_label(), "too_large");
    assert!(err.to_string().contains("--max-artifact-bytes"), "{err}");
    assert_eq!(s.server.requests(&published.path), 0);
    // Not declared, but announced by Content-Length.
    let mut undeclared = artifact(&published);
    undeclared.size = None;
    assert_eq!(
        s.fetch(&undeclared, Duration::from_secs(10))
            .await
            .unwrap_err()
            .metric_label(),
        "too_large"
    );
    // Neither: counted while streaming.
    s.server.set_chunked(&published.path, true);
    let err = s.fetch(&undeclared, Duration::from_secs(10)).await.unwrap_err();
    assert!(err.to_string().contains("more than 65536 bytes received"), "{err}");
    assert_eq!(s.leftovers(), 0);
}

#[tokio::test]
async fn a_slow_server_hits_the_deadline() {
    let s = setup();
    let published = s.publish(project());
    s.server.set_throttle(
        &published.path,
        Some(Throttle {
            chunk: 16,
            delay: Duration::from_millis(200),
        }),
    );
    let started = Instant::now();
    let err = s
        .fetch(&artifact(&published), Duration::from_millis(700))
        .await
        .unwrap_err();
    assert_eq!(err.metric_label(), "timeout", "{err}");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    assert_eq!(s.leftovers(), 0);
}

#[tokio::test]
async fn hosts_off_the_allow_list_are_never_contacted() {
    let s = setup_with(|c| c.allowed_hosts = url::default_allowed_hosts());
    let published = s.publish(project());
    let err = s
        .fetch(&artifact(&published), Duration::from_secs(10))
        .await
        .unwrap_err();
    assert_eq!(err.metric_label(), "host_rejected");
    assert!(err.to_string().contains("--artifact-host-allowlist"), "{err}");
    assert_eq!(s.server.requests(&published.path), 0);
}

#[tokio::test]
async fn the_host_override_redirects_validated_urls() {
    let server = ArtifactServer::start().unwrap();
    let s = setup_with(|c| {
        c.allowed_hosts = url::default_allowed_hosts();
        c.host_override = Some(server.host());
    });
    let published = server.publish("gitrepository", "team", "app", project());
    let mut in_cluster = artifact(&published);
    in_cluster.url = format!(
        "http://source-controller.flux-system.svc.cluster.local./{}",
        published.path
    );
    s.fetch(&in_cluster, Duration::from_secs(10)).await.unwrap();
    assert_eq!(server.requests(&published.path), 1);
}

#[tokio::test]
async fn connection_errors_are_retried_then_reported() {
    // A port nobody listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let s = setup_with(|c| c.allowed_hosts = vec![AllowedHost::parse(&format!("127.0.0.1:{port}")).unwrap()]);
    let published = s.publish(project());
    let mut unreachable = artifact(&published);
    unreachable.url = format!("http://127.0.0.1:{port}/{}", published.path);
    let err = s.fetch(&unreachable, Duration::from_secs(10)).await.unwrap_err();
    assert_eq!(err.metric_label(), "network_error", "{err}");
    assert!(err.to_string().contains("after 4 attempt(s)"), "{err}");
}

#[tokio::test]
async fn hostile_archives_leave_nothing_behind() {
    let s = setup();
    let mut tar = kluctl_e2e::servers::artifact::RawTar::new();
    tar.dir(".").file("ok.yaml", b"x").file("../escape.yaml", b"pwned");
    let published = s.publish(kluctl_e2e::servers::artifact::gzip(&tar.finish()));
    let err = s
        .fetch(&artifact(&published), Duration::from_secs(10))
        .await
        .unwrap_err();
    assert_eq!(err.metric_label(), "extract_failed");
    assert_eq!(s.leftovers(), 0);
    assert!(!s.work.path().join("escape.yaml").exists());
}
