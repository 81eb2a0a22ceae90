//! The binary as a process: exit codes, stream discipline, environment variables, colours on a
//! terminal, closed pipes; and the same command line run in-process.

use crate::util::{assert_code, binary, find_on_path, plugin, stderr, stdout};
use kubectl_kluctl::io::Env;
use kubectl_kluctl::{Exit, Io, run};
use std::process::{Command, ExitCode, Stdio};

#[test]
fn usage_errors_exit_2_with_the_message_on_stderr() {
    for args in [
        &[][..],
        &["deploy-everything"][..],
        &["version", "--bogus"][..],
        &["version", "-o", "xml"][..],
    ] {
        let output = plugin(args, &[]);
        assert_code(&output, 2);
        assert_eq!(stdout(&output), "", "{args:?}: nothing on stdout");
        let message = stderr(&output);
        assert!(
            message.starts_with("error: ") || message.contains("Usage: kubectl kluctl"),
            "{args:?}: {message}"
        );
    }
}

#[test]
fn help_and_version_go_to_stdout_and_exit_0() {
    for args in [
        &["--help"][..],
        &["help", "version"][..],
        &["version", "-h"][..],
        &["--version"][..],
    ] {
        let output = plugin(args, &[]);
        assert_code(&output, 0);
        assert!(!stdout(&output).is_empty(), "{args:?}");
        assert_eq!(stderr(&output), "", "{args:?}");
    }
    assert_eq!(
        stdout(&plugin(&["--version"], &[])),
        format!("kubectl-kluctl {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn flags_come_from_kluctl_variables_as_in_kluctl() {
    let output = plugin(&["version"], &[("KLUCTL_OUTPUT", "json")]);
    assert_code(&output, 0);
    assert!(stdout(&output).contains("\"kind\": \"Version\""), "{}", stdout(&output));

    // Repeatable flags take indexed variables; Kluctl's own name for -o works too.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("version.yaml");
    let to_file = format!("yaml={}", file.display());
    let output = plugin(
        &["version"],
        &[("KLUCTL_OUTPUT_FORMAT_0", "json"), ("KLUCTL_OUTPUT_FORMAT_1", &to_file)],
    );
    assert_code(&output, 0);
    assert!(stdout(&output).contains("\"kind\": \"Version\""));
    assert!(std::fs::read_to_string(&file).unwrap().contains("kind: Version"));

    // The command line wins.
    let output = plugin(&["version", "-o", "yaml"], &[("KLUCTL_OUTPUT", "json")]);
    assert!(stdout(&output).starts_with("apiVersion: kubectl-kluctl.io/v1alpha1\n"));

    let output = plugin(&["version"], &[("KLUCTL_NO_COLOR", "sometimes")]);
    assert_code(&output, 2);
    assert_eq!(
        stderr(&output),
        "error: invalid value 'sometimes' for KLUCTL_NO_COLOR: expected true or false\n"
    );
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    let mut child = Command::new(binary())
        .args(["completion", "bash"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader goes away before the plugin writes, like `| head` that has seen enough.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert_code(&output, 0);
    assert_eq!(stderr(&output), "");
}

/// Runs the binary in a pseudo-terminal (util-linux `script`), returning what the terminal got.
fn in_terminal(args: &str, env: &[(&str, &str)]) -> String {
    let script = find_on_path("script").expect("`script` (util-linux) is required to test terminal output");
    let mut command = Command::new(script);
    command
        .args(["-qec", &format!("{} {args}", binary().display()), "/dev/null"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("TERM", "xterm");
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    assert_code(&output, 0);
    stdout(&output)
}

#[test]
fn colour_only_on_a_terminal_and_never_when_opted_out() {
    const ESC: &str = "\u{1b}[";
    assert!(in_terminal("version", &[]).contains(ESC), "a terminal gets colours");
    assert!(!in_terminal("version", &[("NO_COLOR", "1")]).contains(ESC));
    assert!(!in_terminal("version --no-color", &[]).contains(ESC));
    assert!(!in_terminal("version", &[("KLUCTL_NO_COLOR", "true")]).contains(ESC));
    assert!(!plugin(&["version"], &[]).stdout.contains(&0x1b), "a pipe gets none");
}

#[test]
fn commands_run_in_process_with_captured_streams() {
    let (io, captured) = Io::captured(Env::empty().with("KLUCTL_OUTPUT", "yaml"), "");
    let code = run(["kubectl-kluctl", "version"], io).unwrap();
    assert_eq!(code, ExitCode::from(Exit::Success));
    assert!(
        captured
            .stdout()
            .starts_with("apiVersion: kubectl-kluctl.io/v1alpha1\nkind: Version\n")
    );
    assert_eq!(captured.stderr(), "");

    let (io, captured) = Io::captured(Env::empty(), "");
    let code = run(["kubectl-kluctl", "version", "--as-group", "admins"], io);
    let err = code.unwrap_err();
    assert_eq!(kubectl_kluctl::exit_for_error(&err), Exit::Usage);
    assert_eq!(
        err.to_string(),
        "--as-group needs --as (impersonating groups without a user)"
    );
    assert_eq!(captured.stdout(), "");
}

#[test]
fn runtime_errors_print_one_line_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing/version.json");
    let output = plugin(&["version", "-o", &format!("json={}", missing.display())], &[]);
    assert_code(&output, 1);
    let message = stderr(&output);
    assert!(message.starts_with("error: failed to write output file "), "{message}");
    assert_eq!(message.lines().count(), 1, "{message}");
}

#[test]
fn completion_scripts_are_printed_for_every_shell_and_work_in_bash() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let output = plugin(&["completion", shell], &[]);
        assert_code(&output, 0);
        assert!(stdout(&output).contains("kubectl-kluctl"), "{shell}");
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("kubectl-kluctl.bash");
    std::fs::write(&script, plugin(&["completion", "bash"], &[]).stdout).unwrap();
    let bash = find_on_path("bash").expect("bash is needed to check the bash completion script");
    let complete = |words: &str, cword: usize| {
        let output = Command::new(&bash)
            .arg("-c")
            .arg(format!(
                "source {}; COMP_WORDS=({words}); COMP_CWORD={cword}; \
                 _kubectl_kluctl kubectl-kluctl \"${{COMP_WORDS[$COMP_CWORD]}}\" \"${{COMP_WORDS[$COMP_CWORD-1]}}\"; \
                 echo \"${{COMPREPLY[@]}}\"",
                script.display()
            ))
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        stdout(&output).trim().to_string()
    };
    assert_eq!(complete("kubectl-kluctl ver", 1), "version");
    assert_eq!(complete("kubectl-kluctl completion f", 2), "fish");
    // Past the first command too (clap_complete alone gets this wrong for hyphenated names).
    assert!(complete("kubectl-kluctl version --out", 2).contains("--output"));
    let registered = std::fs::read_to_string(&script).unwrap();
    assert!(
        registered.trim_end().ends_with("kubectl-kluctl\nfi"),
        "the script registers for kubectl-kluctl"
    );
}
