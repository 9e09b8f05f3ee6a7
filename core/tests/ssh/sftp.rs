use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use sshdeck_core::Deck;
use sshdeck_core::jobs::{Job, JobSpec, JobStatus};
use sshdeck_core::sftp::{Direction, FileStatus, TransferItem, TransferReport};

use crate::env;

async fn transfer(
    deck: &Deck,
    dir: Direction,
    items: &[(&str, &str)],
    force: bool,
    verify: bool,
) -> (Job, TransferReport) {
    let items = items.iter().map(|(l, r)| TransferItem { local: l.to_string(), remote: r.to_string() }).collect();
    let job = deck
        .submit("t", JobSpec::Transfer { direction: dir, items, force, verify, source_alias: None }, "test", None)
        .unwrap();
    let done = deck.wait(&job.id, Some(Duration::from_secs(120))).await.unwrap();
    let report = done.result.as_ref().and_then(|r| r.transfer.clone()).unwrap_or_default();
    (done, report)
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for b in v.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    v
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_round_trip_with_sha256_modes_and_parents() {
    let e = env();
    let local = tempfile::tempdir().unwrap();
    let src = local.path().join("data.bin");
    let bytes = random_bytes(3 * 1024 * 1024 + 17);
    std::fs::write(&src, &bytes).unwrap();
    std::fs::set_permissions(&src, std::fs::Permissions::from_mode(0o640)).unwrap();
    let remote = e.sshd.scratch().join("deep/er/data.bin");
    let (job, r) = transfer(&e.deck, Direction::Upload, &[(&p(&src), &p(&remote))], false, true).await;
    assert_eq!((job.status, r.ok, r.bytes), (JobStatus::Completed, 1, bytes.len() as u64), "{r:?}");
    assert_eq!(std::fs::read(&remote).unwrap(), bytes, "missing parent directories were created");
    assert_eq!(std::fs::metadata(&remote).unwrap().permissions().mode() & 0o777, 0o640, "mode kept");

    let back = local.path().join("back");
    std::fs::create_dir(&back).unwrap();
    let (job, r) = transfer(&e.deck, Direction::Download, &[(&p(&back), &p(&remote))], false, true).await;
    assert_eq!((job.status, r.ok), (JobStatus::Completed, 1), "{r:?}");
    assert_eq!(std::fs::read(back.join("data.bin")).unwrap(), bytes);

    // Zero bytes.
    let empty = local.path().join("empty");
    std::fs::write(&empty, b"").unwrap();
    let (job, _) =
        transfer(&e.deck, Direction::Upload, &[(&p(&empty), &format!("{}/", p(e.sshd.scratch())))], false, true).await;
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(std::fs::metadata(e.sshd.scratch().join("empty")).unwrap().len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trees_and_globs_both_ways() {
    let e = env();
    let local = tempfile::tempdir().unwrap();
    let tree = local.path().join("site");
    for (f, body) in
        [("index.html", "i"), ("a/app.log", "l1"), ("a/b/deep.json", "{}"), ("a/other.log", "l2"), ("conf.json", "[]")]
    {
        let path = tree.join(f);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
    std::os::unix::fs::symlink("/etc", tree.join("etc-link")).unwrap();
    let dest = e.sshd.scratch().join("www/");
    let (job, r) = transfer(&e.deck, Direction::Upload, &[(&p(&tree), &format!("{}/", p(&dest)))], false, false).await;
    assert_eq!((job.status, r.ok, r.skipped), (JobStatus::Completed, 5, 1), "{r:?}");
    assert_eq!(std::fs::read_to_string(dest.join("site/a/b/deep.json")).unwrap(), "{}");

    let logs = e.sshd.scratch().join("logs");
    let pattern = format!("{}/a/*.log", p(&tree));
    let (_, r) = transfer(&e.deck, Direction::Upload, &[(&pattern, &p(&logs))], false, false).await;
    assert_eq!(r.ok, 2, "{r:?}");
    assert!(
        logs.join("app.log").exists() && logs.join("other.log").exists(),
        "matches land under the target by their path below the glob"
    );
    let pattern = format!("{}/**/*.json", p(&tree));
    let (_, r) =
        transfer(&e.deck, Direction::Upload, &[(&pattern, &p(&e.sshd.scratch().join("json")))], false, false).await;
    assert_eq!(r.ok, 2, "{r:?}");

    let down = local.path().join("down");
    let remote_glob = format!("{}/site/**/*.json", p(&dest));
    let (job, r) = transfer(&e.deck, Direction::Download, &[(&p(&down), &remote_glob)], false, false).await;
    assert_eq!((job.status, r.ok), (JobStatus::Completed, 2), "{r:?}");
    assert_eq!(std::fs::read_to_string(down.join("a/b/deep.json")).unwrap(), "{}");
    assert!(down.join("conf.json").exists());

    // A remote symlink is not followed on download; nothing lands outside the target.
    std::os::unix::fs::symlink("/etc/passwd", dest.join("site/passwd-link")).unwrap();
    let whole = local.path().join("whole");
    let (_, r) = transfer(&e.deck, Direction::Download, &[(&p(&whole), &p(&dest.join("site")))], false, false).await;
    assert!(r.files.iter().any(|f| f.status == FileStatus::Skipped && f.from.ends_with("passwd-link")), "{r:?}");
    assert!(!whole.join("passwd-link").exists() && whole.join("a/app.log").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overwrite_needs_force_and_replaces_atomically() {
    let e = env();
    let local = tempfile::tempdir().unwrap();
    let src = local.path().join("f.txt");
    std::fs::write(&src, "new").unwrap();
    let target = e.sshd.scratch().join("f.txt");
    std::fs::write(&target, "old").unwrap();
    // One file onto an existing one without force: refused before any byte is sent.
    let job = e
        .deck
        .submit(
            "t",
            JobSpec::Transfer {
                direction: Direction::Upload,
                items: vec![TransferItem { local: p(&src), remote: p(&target) }],
                force: false,
                verify: false,
                source_alias: None,
            },
            "test",
            None,
        )
        .unwrap();
    let job = e.deck.wait(&job.id, None).await.unwrap();
    let r = job.result.unwrap();
    assert_eq!(
        (job.status, r.end.error_code.as_deref(), r.end.stdout_bytes),
        (JobStatus::Failed, Some("ALREADY_EXISTS"), 0)
    );
    assert!(r.end.error_message.unwrap().contains("force"));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "old");
    let (job, r) = transfer(&e.deck, Direction::Upload, &[(&p(&src), &p(&target))], true, true).await;
    assert_eq!((job.status, r.ok), (JobStatus::Completed, 1), "{r:?}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
    let leftovers: Vec<_> = std::fs::read_dir(e.sshd.scratch()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left: {leftovers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_per_file_with_clear_codes() {
    let e = env();
    let local = tempfile::tempdir().unwrap();
    let ok = local.path().join("ok.txt");
    std::fs::write(&ok, "fine").unwrap();
    let items = [
        (p(&ok), p(&e.sshd.scratch().join("ok.txt"))),
        (p(&local.path().join("missing.txt")), p(&e.sshd.scratch().join("m.txt"))),
        (p(&ok), "/root/sshdeck-denied/ok.txt".to_string()),
    ];
    let items: Vec<(&str, &str)> = items.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let (job, r) = transfer(&e.deck, Direction::Upload, &items, false, false).await;
    assert_eq!((job.status, r.ok, r.failed), (JobStatus::Failed, 1, 2), "a partly failed transfer is failed: {r:?}");
    let codes: Vec<_> = r.files.iter().filter_map(|f| f.code.clone()).collect();
    assert!(codes.contains(&"NOT_FOUND".to_string()) && codes.contains(&"PERMISSION_DENIED".to_string()), "{codes:?}");
    let (job, r) =
        transfer(&e.deck, Direction::Download, &[(&p(local.path()), "/nonexistent/file")], false, false).await;
    assert_eq!((job.status, r.files[0].code.as_deref()), (JobStatus::Failed, Some("NOT_FOUND")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_connection_keeps_the_old_file_and_a_retry_succeeds() {
    let mut e = env();
    let local = tempfile::tempdir().unwrap();
    let src = local.path().join("big.bin");
    let bytes = random_bytes(200 * 1024 * 1024);
    std::fs::write(&src, &bytes).unwrap();
    let target = e.sshd.scratch().join("big.bin");
    std::fs::write(&target, "old content").unwrap();
    let items = vec![TransferItem { local: p(&src), remote: p(&target) }];
    let spec =
        JobSpec::Transfer { direction: Direction::Upload, items, force: true, verify: false, source_alias: None };
    let job = e.deck.submit("t", spec, "test", None).unwrap();
    // Kill sshd once bytes are flowing.
    for _ in 0..500 {
        if e.deck
            .transfer_progress(&job.id)
            .is_some_and(|p| p.bytes.load(std::sync::atomic::Ordering::Relaxed) > 1 << 20)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    e.sshd.kill_all();
    let done = e.deck.wait(&job.id, Some(Duration::from_secs(60))).await.unwrap();
    assert_eq!(done.status, JobStatus::Failed, "{done:?}");
    assert!(done.result.as_ref().unwrap().end.error_message.is_some());
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "old content", "the old file is intact");

    e.sshd.restart().unwrap();
    let retry = e.deck.retry(&job.id, "test", None).unwrap();
    let done = e.deck.wait(&retry.id, Some(Duration::from_secs(120))).await.unwrap();
    assert_eq!(done.status, JobStatus::Completed, "{done:?}");
    assert!(std::fs::read(&target).unwrap() == bytes);
    let names: Vec<_> = std::fs::read_dir(e.sshd.scratch()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(names.len(), 1, "no stray temporary file: {names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_gigabyte_sparse_file() {
    let e = env();
    let local = tempfile::tempdir().unwrap();
    let src = local.path().join("sparse.img");
    let f = std::fs::File::create(&src).unwrap();
    f.set_len(1 << 30).unwrap();
    drop(f);
    let target = e.sshd.scratch().join("sparse.img");
    let started = std::time::Instant::now();
    let (job, r) = transfer(&e.deck, Direction::Upload, &[(&p(&src), &p(&target))], false, false).await;
    assert_eq!((job.status, r.bytes), (JobStatus::Completed, 1 << 30), "{r:?}");
    assert_eq!(std::fs::metadata(&target).unwrap().len(), 1 << 30);
    eprintln!("1 GiB upload: {:?}", started.elapsed());
    std::fs::remove_file(&target).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_can_be_cancelled_and_leaves_the_target_alone() {
    let e = env();
    let local = tempfile::tempdir().unwrap();
    let src = local.path().join("big.bin");
    let f = std::fs::File::create(&src).unwrap();
    f.set_len(2 << 30).unwrap();
    drop(f);
    let target = e.sshd.scratch().join("big.bin");
    std::fs::write(&target, "keep me").unwrap();
    let items = vec![TransferItem { local: p(&src), remote: p(&target) }];
    let job = e
        .deck
        .submit(
            "t",
            JobSpec::Transfer { direction: Direction::Upload, items, force: true, verify: false, source_alias: None },
            "test",
            None,
        )
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    e.deck.cancel(&job.id).unwrap();
    let done = e.deck.wait(&job.id, Some(Duration::from_secs(30))).await.unwrap();
    assert_eq!(done.status, JobStatus::Cancelled, "{done:?}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
    let names: Vec<_> = std::fs::read_dir(e.sshd.scratch()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(names.len(), 1, "the temporary file was removed: {names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_works_on_names_with_backslashes_and_newlines_and_nul_is_refused_at_once() {
    let e = env();
    let local = tempfile::tempdir().unwrap();
    let src = local.path().join("data.bin");
    std::fs::write(&src, random_bytes(50_000)).unwrap();
    for name in ["back\\slash.bin", "new\nline.bin", "both\\\nand space.bin"] {
        let target = e.sshd.scratch().join(name);
        let (job, r) = transfer(&e.deck, Direction::Upload, &[(&p(&src), &p(&target))], true, true).await;
        assert_eq!((job.status, r.ok), (JobStatus::Completed, 1), "{name:?}: {r:?}");
        assert_eq!(std::fs::read(&target).unwrap(), std::fs::read(&src).unwrap());
        let back = local.path().join(format!("back-{}", name.replace(['\\', '\n'], "_")));
        let (job, r) = transfer(&e.deck, Direction::Download, &[(&p(&back), &p(&target))], true, true).await;
        assert_eq!((job.status, r.ok), (JobStatus::Completed, 1), "{name:?}: {r:?}");
    }
    let started = std::time::Instant::now();
    let items = vec![TransferItem { local: p(&src), remote: "/tmp/a\0b".into() }];
    let spec =
        JobSpec::Transfer { direction: Direction::Upload, items, force: true, verify: false, source_alias: None };
    let err = e.deck.submit("t", spec, "test", None).unwrap_err();
    assert_eq!(err.code(), "INVALID_ARGUMENT");
    let err =
        e.deck.submit("t", JobSpec::Exec { command: "echo a\0b".into(), timeout_ms: None, read: false }, "test", None);
    assert_eq!(err.unwrap_err().code(), "INVALID_ARGUMENT");
    assert!(started.elapsed() < Duration::from_secs(1), "refused before anything is sent");
}
