//! `sshdeck exec` passes its stdin to the remote command as ssh does: streamed when it is not a
//! terminal, with EOF at its end; `-n` reads nothing. Through the runner and in-process alike.

#[path = "support/cli.rs"]
mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use sshdeck_testkit::Sshd;
use support::{Cli, text};

/// Runs `sshdeck exec web ARGS` with `input` on its stdin; returns (exit code, stdout, stderr).
fn exec_with_stdin(cli: &Cli, mode: &str, args: &[&str], input: &[u8]) -> (Option<i32>, Vec<u8>, String) {
    let mut cmd: Command = cli.cmd(&[&["exec"][..], args].concat());
    let mut child = cmd
        .env("RUNNER_MODE", mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    // A command that stops reading closes the pipe: a write error then is expected.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    (out.status.code(), out.stdout, text(&out.stderr))
}

#[test]
fn stdin_reaches_the_remote_command_whole_with_eof_at_its_end() {
    let sshd = Sshd::start().unwrap();
    let cli = Cli::new();
    cli.add_key_server("web", &sshd);
    // 24 MiB that is not all the same byte, hashed on the server.
    let data: Vec<u8> = (0u32..24 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
    let local = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(local.path(), &data).unwrap();
    let want = Command::new("sha256sum").arg(local.path()).output().unwrap();
    let want = text(&want.stdout).split_whitespace().next().unwrap().to_string();
    for mode in ["shared", "inprocess"] {
        let (code, out, err) = exec_with_stdin(&cli, mode, &["web", "--", "cat; echo done"], b"hello\n");
        assert_eq!((code, text(&out)), (Some(0), "hello\ndone\n".to_string()), "{mode}: {err}");

        let (code, out, err) = exec_with_stdin(&cli, mode, &["web", "--", "sha256sum | cut -c1-64"], &data);
        assert_eq!((code, text(&out).trim().to_string()), (Some(0), want.clone()), "{mode}: {err}");

        // -n: nothing is read, the command sees EOF at once.
        let (code, out, err) = exec_with_stdin(&cli, mode, &["-n", "web", "--", "cat; echo done"], b"hello\n");
        assert_eq!((code, text(&out)), (Some(0), "done\n".to_string()), "{mode}: {err}");

        // A command that reads nothing ends normally, however much is offered.
        let (code, out, err) = exec_with_stdin(&cli, mode, &["web", "--", "echo hi"], &data);
        assert_eq!((code, text(&out)), (Some(0), "hi\n".to_string()), "{mode}: {err}");
    }
}
