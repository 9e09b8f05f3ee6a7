use std::time::Duration;

use sshdeck_core::exec::{ExecOptions, Stream};

use crate::{code, env, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_stdout_stderr_and_signals() {
    let e = env();
    let out = run(&e.deck, "t", "echo out; echo err >&2; exit 3").await.unwrap();
    assert_eq!(out.exit_code, Some(3));
    assert_eq!(out.stdout.kept_bytes(), b"out\n");
    assert_eq!(out.stderr.kept_bytes(), b"err\n");
    assert!(!out.success());

    let out = run(&e.deck, "t", "kill -TERM $$").await.unwrap();
    assert_eq!((out.exit_code, out.exit_signal.as_deref()), (None, Some("TERM")));

    let out = run(&e.deck, "t", "printf '\\377\\376ok'").await.unwrap();
    assert_eq!(out.stdout.kept_bytes(), b"\xff\xfeok", "bytes are kept as sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_callback_sees_every_chunk_in_order() {
    let e = env();
    let mut seen: Vec<(Stream, Vec<u8>)> = Vec::new();
    let out = e
        .deck
        .exec("t", "for i in 1 2 3; do echo $i; sleep 0.05; done; echo bad >&2", e.deck.exec_options(), &mut |s, d| {
            seen.push((s, d.to_vec()))
        })
        .await
        .unwrap();
    let stdout: Vec<u8> = seen.iter().filter(|(s, _)| *s == Stream::Stdout).flat_map(|(_, d)| d.clone()).collect();
    assert_eq!(stdout, b"1\n2\n3\n");
    assert!(seen.iter().filter(|(s, _)| *s == Stream::Stdout).count() >= 3, "arrives as it is produced");
    assert_eq!(out.stderr.kept_bytes(), b"bad\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_kills_the_remote_command() {
    let e = env();
    let file = e.sshd.scratch().join("should-not-exist");
    let cmd = format!("echo started; sleep 3; touch {}", file.display());
    let opts = ExecOptions { timeout: Some(Duration::from_secs(1)), ..e.deck.exec_options() };
    let err = e.deck.exec("t", &cmd, opts, &mut |_, _| {}).await.unwrap_err();
    assert_eq!(err.code(), "COMMAND_TIMEOUT", "{err}");
    assert_eq!(err.partial_output().unwrap().stdout.kept_bytes(), b"started\n", "partial output kept");
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert!(!file.exists(), "the command went on running after the timeout");
    // The connection is still good for the next command.
    assert!(run(&e.deck, "t", "true").await.unwrap().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_kills_the_remote_command() {
    let e = env();
    let file = e.sshd.scratch().join("cancelled");
    let (tx, rx) = tokio::sync::watch::channel(false);
    let opts = ExecOptions { cancel: Some(rx), ..e.deck.exec_options() };
    let cmd = format!("sleep 2; touch {}", file.display());
    let deck = e.deck.clone();
    let task = tokio::spawn(async move { deck.exec("t", &cmd, opts, &mut |_, _| {}).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    tx.send(true).unwrap();
    assert_eq!(code(task.await.unwrap()), "CANCELLED");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(!file.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_is_bounded_head_and_tail() {
    let e = env();
    let opts = ExecOptions { capture_limit: 64 * 1024, ..e.deck.exec_options() };
    let cmd = "echo FIRST; head -c 3000000 /dev/zero | tr '\\0' x; echo; echo LAST";
    let out = e.deck.exec("t", cmd, opts, &mut |_, _| {}).await.unwrap();
    assert!(out.stdout.truncated());
    assert_eq!(out.stdout.total_bytes(), 6 + 3_000_000 + 1 + 5);
    let kept = out.stdout.kept_bytes();
    assert_eq!(kept.len(), 64 * 1024);
    assert!(kept.starts_with(b"FIRST\n") && kept.ends_with(b"x\nLAST\n"));
    assert!(out.stdout.text().contains("bytes omitted"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdin_is_closed_and_can_be_fed() {
    let e = env();
    let opts = ExecOptions { timeout: Some(Duration::from_secs(10)), ..e.deck.exec_options() };
    let out = e.deck.exec("t", "cat; echo done", opts.clone(), &mut |_, _| {}).await.unwrap();
    assert_eq!(out.stdout.kept_bytes(), b"done\n", "a command reading stdin must see EOF");
    let opts = ExecOptions { stdin: Some(b"fed\n".to_vec()), ..opts };
    let out = e.deck.exec("t", "cat", opts, &mut |_, _| {}).await.unwrap();
    assert_eq!(out.stdout.kept_bytes(), b"fed\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_typed() {
    let e = env();
    assert_eq!(code(run(&e.deck, "nope", "true").await), "NOT_FOUND");
    assert_eq!(code(run(&e.deck, "t", "   ").await), "INVALID_ARGUMENT");
}
