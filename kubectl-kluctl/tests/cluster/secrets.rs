//! A canary Secret value never appears in any output, log or result unless asked for.

use crate::util::*;
use serde_json::json;
use shared::cluster::{Progress, ProgressEvent};
use shared::commands::{self, Session};
use shared::result::{CommandInfo, ResultOptions, TextOptions, render_text};
use std::sync::Mutex;

const CANARY: &str = "canary-4f9a1c7e-do-not-leak";
const CANARY_NEW: &str = "canary-88b2d0aa-rotated";

/// Records every progress event as text, like a log would.
#[derive(Default)]
struct Log(Mutex<Vec<String>>);

impl Progress for Log {
    fn event(&self, event: ProgressEvent<'_>) {
        self.0.lock().unwrap().push(format!("{event:?}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_secret_value_never_leaks() {
    let cluster = Cluster::with_controllers().await;
    let log = Log::default();
    let session = |command: &str, reveal: bool| Session {
        client: &cluster.client,
        info: CommandInfo::new(command),
        result_options: ResultOptions {
            keep_objects: true,
            reveal_secrets: reveal,
        },
        progress: &log,
    };
    let with = |value: &str| {
        target(
            "secrets",
            vec![item(
                "s",
                vec![secret("default", "db", json!({"password": value, "user": "admin"}))],
            )],
        )
    };
    let deployed = commands::deploy(&session("deploy", false), &with(CANARY), &Default::default())
        .await
        .unwrap();
    let diff = commands::diff(&session("diff", false), &with(CANARY_NEW), &fast())
        .await
        .unwrap();
    // The key that changed stays visible.
    let db = diff.objects.iter().find(|o| o.object_ref.name == "db").unwrap();
    let paths: Vec<&str> = db.changes.iter().map(|c| c.json_path.as_str()).collect();
    assert_eq!(paths, vec!["data.password"], "{:?}", db.changes);
    assert!(db.changes[0].unified_diff.contains("obfuscated"));

    // A broken Secret whose value the server echoes in its error.
    let mut broken = secret("default", "broken", json!({}));
    broken["data"] = json!({"token": CANARY});
    let failed = commands::deploy(
        &session("deploy", false),
        &target("secrets", vec![item("s", vec![broken])]),
        &Default::default(),
    )
    .await
    .unwrap();
    assert!(!failed.errors.is_empty(), "invalid base64 is rejected");

    for result in [&deployed, &diff, &failed] {
        for text in [
            result.to_yaml(),
            result.to_json(),
            render_text(result, &TextOptions::default()),
            render_text(
                result,
                &TextOptions {
                    short: true,
                    ..Default::default()
                },
            ),
        ] {
            for canary in [CANARY, CANARY_NEW] {
                assert!(!text.contains(canary), "leaked {canary} in:\n{text}");
                let encoded = base64_encode(canary);
                assert!(!text.contains(&encoded), "leaked base64 of {canary} in:\n{text}");
            }
        }
    }
    let events = log.0.lock().unwrap().join("\n");
    assert!(!events.contains(CANARY) && !events.contains(CANARY_NEW));

    // Only the local opt-in shows values.
    let revealed = commands::diff(&session("diff", true), &with(CANARY_NEW), &fast())
        .await
        .unwrap();
    assert!(revealed.to_yaml().contains(&base64_encode(CANARY_NEW)));
}

fn base64_encode(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
