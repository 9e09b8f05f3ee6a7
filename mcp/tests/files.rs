//! file_read, file_write and file_edit over real stdio against a real sshd: hashes, atomic writes
//! that keep the mode, the hash guard, dry-run diffs, binary content, local sources, backups.

#[path = "support/client.rs"]
mod client;

use std::os::unix::fs::PermissionsExt;

use serde_json::json;
use sshdeck_testkit::Sshd;
use sshdeck_testkit::procs::rss_kib;

use client::Client;

fn sha256(data: &[u8]) -> String {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), data).unwrap();
    let out = std::process::Command::new("sha256sum").arg(f.path()).output().unwrap();
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap().to_string()
}

use client::structured as sc;

#[test]
fn remote_files_are_read_with_their_hash_and_changed_atomically_under_its_guard() {
    let sshd = Sshd::start().unwrap();
    let mut c = Client::start(&[]);
    c.add_server(&sshd, "web");
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let path = dir.path().join("etc/app.conf");
    let remote = |p: &std::path::Path| json!({"type": "remote", "alias": "web", "path": p.display().to_string()});

    // A new file, its parent created.
    let body = "port=80\nname=web\n";
    let r = c.call("file_write", json!({"source": remote(&path), "content": body}));
    assert_eq!(
        (sc(&r)["written"].as_bool(), sc(&r)["sha256"].as_str()),
        (Some(true), Some(sha256(body.as_bytes()).as_str())),
        "{r}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), body);

    let r = c.call("file_read", json!({"source": remote(&path)}));
    let hash = sc(&r)["sha256"].as_str().unwrap().to_string();
    assert_eq!(
        (sc(&r)["content"].as_str(), sc(&r)["size"].as_u64(), sc(&r)["totalLines"].as_u64()),
        (Some(body), Some(17), Some(2))
    );
    let r = c.call("file_read", json!({"source": remote(&path), "offset": 2, "limit": 1}));
    assert_eq!(sc(&r)["content"], "name=web\n");

    // An edit keeps the file's mode, and is guarded by the hash read.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let r = c.call(
        "file_edit",
        json!({"source": remote(&path), "oldString": "port=80", "newString": "port=8080", "expectedHash": hash}),
    );
    assert_eq!((sc(&r)["written"].as_bool(), sc(&r)["replacements"].as_u64()), (Some(true), Some(1)), "{r}");
    assert!(sc(&r)["diff"].as_str().unwrap().contains("-port=80\n+port=8080\n"), "{r}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "port=8080\nname=web\n");
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640, "mode kept");
    assert!(!dir.path().join("etc/.app.conf.sshdeck.tmp").exists(), "no temporary file left");

    // The old hash is stale now: refused, with the current one; nothing changes.
    let now = sha256(b"port=8080\nname=web\n");
    let r = c.call(
        "file_edit",
        json!({"source": remote(&path), "oldString": "web", "newString": "api", "expectedHash": hash}),
    );
    assert_eq!((r["isError"].as_bool(), sc(&r)["error"]["code"].as_str()), (Some(true), Some("HASH_MISMATCH")), "{r}");
    assert_eq!(sc(&r)["currentHash"], now.as_str());
    let r = c.call("file_write", json!({"source": remote(&path), "content": "x", "expectedHash": hash}));
    assert_eq!(sc(&r)["error"]["code"], "HASH_MISMATCH", "{r}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "port=8080\nname=web\n");

    // Every call is a `file` job: the refused write ended failed with its code; the journal has the
    // tool and the path, never the content.
    let job = sc(&r)["jobId"].as_str().unwrap_or_else(|| panic!("{r}")).to_string();
    let s = c.call("task_status", json!({"id": job}));
    assert_eq!(
        (sc(&s)["kind"].as_str(), sc(&s)["status"].as_str(), sc(&s)["error"]["code"].as_str()),
        (Some("file"), Some("failed"), Some("HASH_MISMATCH")),
        "{s}"
    );
    assert_eq!(sc(&s)["command"], format!("file_write {}", path.display()), "{s}");
    let h = c.call("task_history", json!({"alias": "web", "compact": false}));
    assert!(
        sc(&h)["jobs"].as_array().unwrap().iter().any(|j| j["command"].as_str().unwrap().starts_with("file_read")),
        "{h}"
    );
    let journal = std::fs::read_to_string(c.data_dir().join("jobs/journal.jsonl")).unwrap();
    assert!(journal.contains("file_edit") && !journal.contains("port=8080"), "no content in the journal");

    // A dry run shows the diff and writes nothing; an ambiguous or missing oldString is refused.
    let r =
        c.call("file_edit", json!({"source": remote(&path), "oldString": "8080", "newString": "9090", "dryRun": true}));
    assert_eq!(sc(&r)["written"], false);
    assert!(sc(&r)["diff"].as_str().unwrap().contains("+port=9090"), "{r}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "port=8080\nname=web\n");
    let r = c.call("file_edit", json!({"source": remote(&path), "oldString": "=", "newString": ":"}));
    assert_eq!(
        (sc(&r)["error"]["code"].as_str(), sc(&r)["matches"].as_u64()),
        (Some("MULTIPLE_MATCHES"), Some(2)),
        "{r}"
    );
    let r = c.call("file_edit", json!({"source": remote(&path), "oldString": "absent", "newString": ":"}));
    assert_eq!(sc(&r)["error"]["code"], "OLDSTRING_NOT_FOUND", "{r}");

    // A backup is a snapshot of the old content in the data dir's store (0600), restorable.
    let old = "port=8080\nname=web\n";
    let r = c.call("file_edit", json!({"source": remote(&path), "newContent": "replaced\n", "backup": true}));
    let backup = sc(&r)["backup"].as_str().unwrap().to_string();
    let h = sha256(old.as_bytes());
    let object = c.data_dir().join("snapshots/objects").join(&h[..2]).join(&h[2..]);
    assert_eq!(std::fs::read_to_string(&object).unwrap(), old);
    assert_eq!(std::fs::metadata(&object).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "replaced\n");
    let r = c.call(
        "snapshot_restore",
        json!({"snapshotId": backup, "target": {"type": "remote", "alias": "web"},
        "dryRun": false, "force": true}),
    );
    assert_eq!(sc(&r)["written"], 1, "{r}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), old);
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640, "the mode comes back too");
    let r = c.call("file_write", json!({"source": remote(&path), "content": "replaced\n"}));
    assert_eq!(sc(&r)["written"], true, "{r}");

    // Binary content comes back base64; a missing file is NOT_FOUND.
    let bin = dir.path().join("blob.bin");
    std::fs::write(&bin, [0u8, 1, 2, 255, 0, 10]).unwrap();
    let r = c.call("file_read", json!({"source": remote(&bin)}));
    assert_eq!((sc(&r)["encoding"].as_str(), sc(&r)["content"].as_str()), (Some("base64"), Some("AAEC/wAK")), "{r}");
    let r = c.call("file_read", json!({"source": remote(&dir.path().join("nope"))}));
    assert_eq!(sc(&r)["error"]["code"], "NOT_FOUND", "{r}");

    // A large file goes through whole (3 MiB, streamed to the runner's command in frames).
    let big: String = (0..200_000).map(|i| format!("line {i:07}\n")).collect();
    let large = dir.path().join("large.txt");
    let r = c.call("file_write", json!({"source": remote(&large), "content": big}));
    assert_eq!(sc(&r)["written"], true, "{}", sc(&r));
    assert_eq!(std::fs::read_to_string(&large).unwrap(), big);
    let r = c.call("file_read", json!({"source": remote(&large), "offset": 199_999, "limit": 2}));
    assert_eq!(
        (sc(&r)["content"].as_str(), sc(&r)["sha256"].as_str()),
        (Some("line 0199998\nline 0199999\n"), Some(sha256(big.as_bytes()).as_str()))
    );

    // diff_files: a remote file against a local one, and a file against itself.
    let copy = dir.path().join("copy.conf");
    std::fs::write(&copy, "replaced\nadded\n").unwrap();
    let localc = json!({"type": "local", "path": copy.display().to_string()});
    let r = c.call("diff_files", json!({"source1": remote(&path), "source2": localc}));
    assert_eq!(
        (sc(&r)["identical"].as_bool(), sc(&r)["added"].as_u64(), sc(&r)["removed"].as_u64()),
        (Some(false), Some(1), Some(0)),
        "{r}"
    );
    assert!(sc(&r)["diff"].as_str().unwrap().contains("+added"), "{r}");
    let r = c.call("diff_files", json!({"source1": remote(&path), "source2": remote(&path)}));
    assert_eq!(sc(&r)["identical"], true, "{r}");
    assert_eq!(sc(&r)["sha256_1"], sc(&r)["sha256_2"]);

    // The same on this machine.
    let local = json!({"type": "local", "path": dir.path().join("local/x.txt").display().to_string()});
    let r = c.call("file_write", json!({"source": local, "content": "a\nb\n"}));
    assert_eq!(sc(&r)["written"], true, "{r}");
    let r = c.call("file_edit", json!({"source": local, "oldString": "b", "newString": "c"}));
    assert_eq!(sc(&r)["written"], true, "{r}");
    let r = c.call("file_read", json!({"source": local}));
    assert_eq!(sc(&r)["content"], "a\nc\n");
}

#[test]
fn compare_all_sources_groups_by_hash_with_the_majority_as_reference() {
    let sshd = Sshd::start().unwrap();
    let mut c = Client::start(&[]);
    for alias in ["web1", "web2", "web3"] {
        let r = c.call(
            "server_add",
            json!({"alias": alias, "host": "127.0.0.1", "port": sshd.port(), "user": sshd.user(), "tags": ["web"],
                   "keyPath": sshd.keys().ed25519.display().to_string()}),
        );
        assert_eq!(r["isError"], false, "{r}");
    }
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [("a.conf", "x=1\ny=2\n"), ("b.conf", "x=1\ny=2\n"), ("c.conf", "x=1\ny=3\n")] {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let at = |alias: &str, name: &str| json!({"type": "remote", "alias": alias, "path": dir.path().join(name).display().to_string()});
    let r = c.call(
        "compare_all_sources",
        json!({"sources": [at("web1", "a.conf"), at("web2", "c.conf"), at("web3", "b.conf"), at("web1", "missing.conf")]}),
    );
    let s = sc(&r);
    assert_eq!((s["total"].as_u64(), s["identical"].as_bool()), (Some(4), Some(false)), "{r}");
    let groups = s["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "{r}");
    assert_eq!((groups[0]["count"].as_u64(), groups[0]["reference"].as_bool()), (Some(2), Some(true)));
    assert_eq!(groups[0]["sha256"], sha256(b"x=1\ny=2\n").as_str());
    assert!(groups[1]["diff"].as_str().unwrap().contains("-y=2\n+y=3\n"), "{r}");
    assert_eq!(s["errors"][0]["code"], "NOT_FOUND", "{r}");
    // A fleet target on one path: every host's copy, here all the same.
    let r = c.call("compare_all_sources", json!({"sources": [at("tag:web", "a.conf")]}));
    assert_eq!((sc(&r)["total"].as_u64(), sc(&r)["identical"].as_bool()), (Some(3), Some(true)), "{r}");
}

#[test]
fn a_1_gib_file_is_hashed_whole_and_read_as_a_bounded_range() {
    let sshd = Sshd::start().unwrap();
    let mut c = Client::start(&[]);
    c.add_server(&sshd, "web");
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let big = dir.path().join("disk.img");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(1 << 30).unwrap(); // sparse: a gigabyte of zeros
    std::fs::set_permissions(&big, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = std::process::Command::new("sha256sum").arg(&big).output().unwrap();
    let whole = String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap().to_string();
    // The peak resident memory of the MCP server and the runner while the file is read.
    let (server, data) = (c.pid(), c.data_dir());
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut peak = std::collections::BTreeMap::new();
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                for pid in std::iter::once(server).chain(sshdeck_testkit::procs::runner_pids(&data)) {
                    let p = peak.entry(pid).or_insert(0);
                    *p = rss_kib(pid).max(*p);
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            peak
        })
    };
    let r =
        c.call("file_read", json!({"source": {"type": "remote", "alias": "web", "path": big.display().to_string()}}));
    let s = sc(&r);
    assert_eq!((s["size"].as_u64(), s["truncated"].as_bool()), (Some(1 << 30), Some(true)), "{}", s["size"]);
    assert_eq!(s["sha256"].as_str(), Some(whole.as_str()), "the hash covers the whole file");
    let content = s["content"].as_str().unwrap();
    assert!(content.len() <= (8 << 20) * 4 / 3 + 4, "a bounded range comes back: {} bytes", content.len());
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let peaks = sampler.join().unwrap();
    eprintln!("peak resident memory (KiB) by pid: {peaks:?}");
    assert_eq!(peaks.len(), 2, "the MCP server and its runner (which runs the read): {peaks:?}");
    for (pid, peak) in peaks {
        assert!(peak < 160 * 1024, "process {pid} peaked at {peak} KiB reading a 1 GiB file");
    }
}
