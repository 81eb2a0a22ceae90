//! The adversarial corpus: every archive an attacker (or a broken producer) could hand the agent.

use super::*;
use kluctl_e2e::servers::artifact::{RawTar, TreeFile, gzip, gzip_members, source_tarball};
use std::os::unix::fs::PermissionsExt;

struct Case {
    _dir: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
}

fn run(archive: &[u8], limits: &ExtractLimits) -> (Case, Result<ExtractStats, ArtifactError>) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.tar.gz");
    std::fs::write(&file, archive).unwrap();
    let root = dir.path().join("sandbox/root");
    std::fs::create_dir_all(&root).unwrap();
    let result = extract(&file, &root, limits);
    let outside = dir.path().join("sandbox");
    (
        Case {
            _dir: dir,
            root,
            outside,
        },
        result,
    )
}

fn refused(archive: Vec<u8>, expected: &str) -> Case {
    let (case, result) = run(&archive, &ExtractLimits::default());
    let err = result.expect_err("the archive must be refused");
    assert!(err.to_string().contains(expected), "{err}");
    case
}

/// Nothing may exist next to the root after an extraction (only `root` itself).
fn assert_nothing_outside(case: &Case) {
    let names: Vec<String> = std::fs::read_dir(&case.outside)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["root"]);
}

#[test]
fn source_controller_archives_extract_with_private_modes() {
    let archive = source_tarball(&[
        TreeFile::new(".kluctl.yaml", "targets: []\n"),
        TreeFile::new("deploy/app/cm.yaml", "kind: ConfigMap\n"),
        TreeFile {
            path: "hooks/run.sh".into(),
            content: b"#!/bin/sh\n".to_vec(),
            executable: true,
        },
    ]);
    let (case, result) = run(&archive, &ExtractLimits::default());
    let stats = result.unwrap();
    assert_eq!((stats.files, stats.directories, stats.skipped_symlinks), (3, 3, 0));
    assert_eq!(
        std::fs::read_to_string(case.root.join("deploy/app/cm.yaml")).unwrap(),
        "kind: ConfigMap\n"
    );
    let mode = |p: &str| std::fs::metadata(case.root.join(p)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("deploy/app/cm.yaml"), 0o600);
    assert_eq!(mode("hooks/run.sh"), 0o700);
    assert_eq!(mode("deploy"), 0o700);
}

#[test]
fn multi_member_gzip_is_read_to_the_end() {
    // One tar split over two gzip members: Go's reader (and so source-controller's consumers)
    // reads both; a single-member reader would stop half-way.
    let mut tar = RawTar::new();
    tar.file("a.yaml", b"a").file("b.yaml", b"b");
    let bytes = tar.finish();
    let (first, second) = bytes.split_at(512 * 2);
    let (case, result) = run(&gzip_members(&[first, second]), &ExtractLimits::default());
    assert_eq!(result.unwrap().files, 2);
    assert!(case.root.join("b.yaml").is_file());
}

#[test]
fn traversal_and_absolute_names_are_refused() {
    for (name, reason) in [
        ("../x", "'..' is not allowed"),
        ("a/../../x", "'..' is not allowed"),
        ("/etc/x", "absolute paths are not allowed"),
        ("a\\..\\x", "backslash"),
    ] {
        let mut tar = RawTar::new();
        tar.dir(".").file(name, b"pwned");
        let case = refused(gzip(&tar.finish()), reason);
        assert_nothing_outside(&case);
    }
    // Through a long name or a PAX path the checks are the same.
    let mut tar = RawTar::new();
    tar.long_name_file(&format!("{}/../../../x", "d".repeat(120)), b"pwned");
    assert_nothing_outside(&refused(gzip(&tar.finish()), "'..' is not allowed"));
    let mut tar = RawTar::new();
    tar.pax_file(&[("path", b"../pax-escape")], "innocent.yaml", b"pwned");
    assert_nothing_outside(&refused(gzip(&tar.finish()), "'..' is not allowed"));
    let mut tar = RawTar::new();
    tar.pax_file(&[("path", b"a\0b")], "innocent.yaml", b"x");
    refused(gzip(&tar.finish()), "NUL");
}

#[test]
fn symlinks_are_skipped_and_never_followed() {
    // A symlink to the outside, then a file "through" it: the link is skipped, so the file
    // lands in a real directory inside the root.
    let mut tar = RawTar::new();
    tar.dir(".")
        .symlink("escape", "..")
        .file("escape/evil.yaml", b"pwned")
        .symlink("abs", "/etc")
        .file("ok.yaml", b"fine");
    let (case, result) = run(&gzip(&tar.finish()), &ExtractLimits::default());
    let stats = result.unwrap();
    assert_eq!(stats.skipped_symlinks, 2);
    assert!(case.root.join("escape").is_dir());
    assert!(
        !std::fs::symlink_metadata(case.root.join("escape"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(case.root.join("escape/evil.yaml").is_file());
    assert!(!case.root.join("abs").exists());
    assert_nothing_outside(&case);
}

#[test]
fn links_devices_and_fifos_are_refused() {
    for (build, reason) in [
        (
            Box::new(|t: &mut RawTar| {
                t.hardlink("passwd", "/etc/passwd");
            }) as Box<dyn Fn(&mut RawTar)>,
            "hard links are not allowed",
        ),
        (
            Box::new(|t: &mut RawTar| {
                t.special(b'3', "tty");
            }),
            "device files",
        ),
        (
            Box::new(|t: &mut RawTar| {
                t.special(b'4', "sda");
            }),
            "device files",
        ),
        (
            Box::new(|t: &mut RawTar| {
                t.special(b'6', "pipe");
            }),
            "FIFOs",
        ),
        (
            Box::new(|t: &mut RawTar| {
                t.special(b'S', "sparse");
            }),
            "sparse",
        ),
        (
            Box::new(|t: &mut RawTar| {
                t.special(b'7', "contiguous");
            }),
            "not supported",
        ),
    ] {
        let mut tar = RawTar::new();
        build(&mut tar);
        refused(gzip(&tar.finish()), reason);
    }
}

#[test]
fn duplicates_and_conflicting_entries_are_refused() {
    let mut tar = RawTar::new();
    tar.file("a.yaml", b"first").file("a.yaml", b"second");
    let case = refused(gzip(&tar.finish()), "duplicated");
    assert_eq!(std::fs::read_to_string(case.root.join("a.yaml")).unwrap(), "first");
    let mut tar = RawTar::new();
    tar.file("a", b"file").file("a/b", b"under a file");
    refused(gzip(&tar.finish()), "cannot create its directory");
    let mut tar = RawTar::new();
    tar.file(".", b"x");
    refused(gzip(&tar.finish()), "cannot replace the root");
    // The same directory twice is harmless.
    let mut tar = RawTar::new();
    tar.dir("d").dir("d").file("d/x", b"x");
    let (_, result) = run(&gzip(&tar.finish()), &ExtractLimits::default());
    assert_eq!(result.unwrap().files, 1);
}

#[test]
fn a_gzip_bomb_stops_at_the_cap() {
    let limits = ExtractLimits {
        max_bytes: 1024 * 1024,
        ..Default::default()
    };
    // 64 MiB of zeros compress to ~64 KiB.
    let zeros = vec![0u8; 64 * 1024 * 1024];
    let mut tar = RawTar::new();
    tar.file("bomb.bin", &zeros);
    let archive = gzip(&tar.finish());
    assert!(archive.len() < 200 * 1024, "{}", archive.len());
    let (case, result) = run(&archive, &limits);
    let err = result.unwrap_err();
    assert_eq!(err.metric_label(), "too_large", "{err}");
    assert!(err.to_string().contains("--max-extracted-bytes"), "{err}");
    // Refused on the declared size: nothing was written.
    assert!(!case.root.join("bomb.bin").exists());

    // Many small files that together pass the cap: stopped while writing.
    let mut tar = RawTar::new();
    let chunk = vec![b'x'; 300 * 1024];
    for i in 0..8 {
        tar.file(&format!("f{i}"), &chunk);
    }
    let (_, result) = run(&gzip(&tar.finish()), &limits);
    assert_eq!(result.unwrap_err().metric_label(), "too_large");
}

#[test]
fn entry_count_depth_and_extension_headers_are_bounded() {
    let limits = ExtractLimits {
        max_entries: 10,
        max_depth: 4,
        ..Default::default()
    };
    let mut tar = RawTar::new();
    for i in 0..11 {
        tar.file(&format!("f{i}"), b"");
    }
    let (_, result) = run(&gzip(&tar.finish()), &limits);
    assert!(result.unwrap_err().to_string().contains("more than 10 entries"));
    let mut tar = RawTar::new();
    tar.file("a/b/c/d/e", b"deep");
    let (_, result) = run(&gzip(&tar.finish()), &limits);
    assert!(result.unwrap_err().to_string().contains("deeper than 4 levels"));
    // A long-name header of 1 MiB would be buffered whole by a naive reader.
    let mut tar = RawTar::new();
    tar.long_name_file(&"n".repeat(1024 * 1024), b"x");
    refused(gzip(&tar.finish()), "extension header of");
}

#[test]
fn an_oversized_header_is_refused_before_reading() {
    let limits = ExtractLimits {
        max_bytes: 1024,
        ..Default::default()
    };
    // The header claims 4 GiB; only a few bytes follow.
    let mut tar = RawTar::new();
    tar.file_declaring("huge", b"tiny", 4 * 1024 * 1024 * 1024);
    let (case, result) = run(&gzip(&tar.finish()), &limits);
    assert_eq!(result.unwrap_err().metric_label(), "too_large");
    assert!(!case.root.join("huge").exists());
}

#[test]
fn corrupt_archives_fail_cleanly() {
    for archive in [
        b"not gzip at all".to_vec(),
        gzip(b"not a tar archive, but long enough to fill a header block?"),
        {
            let mut tar = RawTar::new();
            tar.file("a", b"content");
            let mut bytes = tar.finish();
            bytes[148] = b'9'; // break the checksum
            gzip(&bytes)
        },
    ] {
        let (_, result) = run(&archive, &ExtractLimits::default());
        let err = result.unwrap_err();
        assert_eq!(err.metric_label(), "extract_failed", "{err}");
    }
}
