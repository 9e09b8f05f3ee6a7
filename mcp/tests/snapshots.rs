//! diff_folders and the snapshot tools over real stdio against a real sshd: trees hashed in place with
//! ignore patterns, snapshots deduplicated in the store, diffs between them, restores (plan, refusal
//! without force, atomic writes with modes), deletion with garbage collection, the policy's denied
//! paths, and a store left consistent by a kill in the middle of a snapshot.

#[path = "support/client.rs"]
mod client;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sshdeck_testkit::Sshd;

use client::Client;
use client::structured as sc;

/// A directory the test sshd's user may write in (its subdirectories too).
fn open_dir(p: &Path) {
    std::fs::create_dir_all(p).unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o777)).unwrap();
}

fn write(root: &Path, rel: &str, body: &[u8], mode: u32) {
    let p = root.join(rel);
    let mut dir = p.parent().unwrap().to_path_buf();
    let mut made = Vec::new();
    while !dir.exists() {
        made.push(dir.clone());
        dir = dir.parent().unwrap().to_path_buf();
    }
    for d in made.iter().rev() {
        open_dir(d);
    }
    std::fs::write(&p, body).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn remote(p: &Path) -> Value {
    json!({"type": "remote", "alias": "web", "path": p.display().to_string()})
}

fn strings(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect();
    out.sort();
    out
}

fn tree() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    open_dir(dir.path());
    let app = dir.path().join("app");
    open_dir(&app);
    write(&app, "a.txt", b"one\ntwo\nthree\n", 0o644);
    write(&app, "sub/b.txt", b"bee\n", 0o604);
    write(&app, "run.sh", b"#!/bin/sh\necho hi\n", 0o755);
    write(&app, "blob.bin", &[0, 1, 2, 255], 0o644);
    write(&app, "node_modules/dep/x.js", b"ignored\n", 0o644);
    write(&app, "we ird\nname.txt", b"odd\n", 0o644);
    (dir, app)
}

#[test]
fn folders_compare_in_place_and_snapshots_round_trip() {
    let sshd = Sshd::start().unwrap();
    let mut c = Client::start(&[]);
    c.add_server(&sshd, "web");
    let (_dir, app) = tree();

    // A local copy that differs: a.txt edited, run.sh's mode, sub/b.txt missing, extra.txt added.
    let (_copy_dir, copy) = tree();
    std::fs::write(copy.join("a.txt"), "one\n2\nthree\nfour\n").unwrap();
    std::fs::set_permissions(copy.join("run.sh"), std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::remove_file(copy.join("sub/b.txt")).unwrap();
    write(&copy, "extra.txt", b"new\n", 0o644);
    write(&copy, "logs/x.log", b"noise\n", 0o644);
    let local = json!({"type": "local", "path": copy.display().to_string()});
    let r = c.call(
        "diff_folders",
        json!({"source1": remote(&app), "source2": local, "includeDiff": true,
            "ignorePatterns": ["node_modules", "*.log"]}),
    );
    let d = sc(&r);
    assert_eq!(strings(&d["onlyIn1"]), ["sub/b.txt"], "{r}");
    assert_eq!(strings(&d["onlyIn2"]), ["extra.txt"], "{r}");
    assert_eq!(strings(&d["identical"]), ["blob.bin", "we ird\nname.txt"], "{r}");
    let modified = d["modified"].as_array().unwrap();
    let a = modified.iter().find(|m| m["path"] == "a.txt").unwrap();
    assert_eq!((a["added"].as_u64(), a["removed"].as_u64()), (Some(2), Some(1)), "{a}");
    assert!(a["diff"].as_str().unwrap().contains("-two\n+2\n"), "{a}");
    let run = modified.iter().find(|m| m["path"] == "run.sh").unwrap();
    assert_eq!(run["modes"], json!(["755", "700"]), "same content, other mode: {run}");
    assert_eq!(d["same"], false);
    // Without ignore patterns of its own, Node's defaults apply (node_modules left out).
    let r = c.call("diff_folders", json!({"source1": remote(&app), "source2": remote(&app)}));
    assert_eq!((sc(&r)["same"].as_bool(), sc(&r)["identical"].as_array().unwrap().len()), (Some(true), 5), "{r}");

    // A snapshot of the tree; a second one after changes stores only what is new.
    let src = json!({"type": "remote", "alias": "web"});
    let path = app.display().to_string();
    let r = c.call("snapshot_create", json!({"source": src, "paths": [path], "tag": "before", "message": "pre"}));
    let before = sc(&r)["id"].as_str().unwrap_or_else(|| panic!("{r}")).to_string();
    assert_eq!((sc(&r)["files"].as_u64(), sc(&r)["newObjects"].as_u64()), (Some(5), Some(5)), "{r}");
    std::fs::write(app.join("a.txt"), "one\nTWO\nthree\n").unwrap();
    std::fs::remove_file(app.join("sub/b.txt")).unwrap();
    write(&app, "c.txt", b"sea\n", 0o644);
    std::fs::set_permissions(app.join("run.sh"), std::fs::Permissions::from_mode(0o744)).unwrap();
    let r = c.call("snapshot_create", json!({"source": src, "paths": [path], "tag": "after"}));
    let after = sc(&r)["id"].as_str().unwrap().to_string();
    assert_eq!((sc(&r)["files"].as_u64(), sc(&r)["newObjects"].as_u64()), (Some(5), Some(2)), "deduplicated: {r}");

    let r = c.call("snapshot_diff", json!({"snapshot1": "before", "snapshot2": after, "includeDiff": true}));
    let d = sc(&r);
    assert_eq!(strings(&d["added"]), [format!("{path}/c.txt")], "{r}");
    assert_eq!(strings(&d["removed"]), [format!("{path}/sub/b.txt")], "{r}");
    assert_eq!(d["modified"][0]["path"], format!("{path}/a.txt"), "{r}");
    assert!(d["modified"][0]["diff"].as_str().unwrap().contains("-two\n+TWO\n"), "{r}");

    let r = c.call("snapshot_list", json!({"sourceAlias": "web", "tag": "before"}));
    assert_eq!((sc(&r)["total"].as_u64(), sc(&r)["snapshots"][0]["id"].as_str()), (Some(1), Some(before.as_str())));

    // Restore: a plan by default, refused without force, then written with modes.
    let target = json!({"type": "remote", "alias": "web"});
    let r = c.call("snapshot_restore", json!({"snapshotId": before, "target": target}));
    let actions: Vec<(String, String)> = sc(&r)["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["action"] != "unchanged")
        .map(|f| {
            (f["path"].as_str().unwrap().trim_start_matches(&path).to_string(), f["action"].as_str().unwrap().into())
        })
        .collect();
    let want = [("/a.txt", "overwrite"), ("/run.sh", "mode"), ("/sub/b.txt", "create")];
    assert_eq!(actions, want.map(|(p, a)| (p.to_string(), a.to_string())), "{r}");
    assert_eq!(std::fs::read_to_string(app.join("a.txt")).unwrap(), "one\nTWO\nthree\n", "a dry run writes nothing");
    let r = c.call("snapshot_restore", json!({"snapshotId": before, "target": target, "dryRun": false}));
    assert_eq!(sc(&r)["error"]["code"], "CONFIRMATION_REQUIRED", "{r}");
    let r = c.call("snapshot_restore", json!({"snapshotId": before, "target": target, "dryRun": false, "force": true}));
    assert_eq!(sc(&r)["written"], 3, "{r}");
    assert_eq!(std::fs::read_to_string(app.join("a.txt")).unwrap(), "one\ntwo\nthree\n");
    assert_eq!(std::fs::read_to_string(app.join("sub/b.txt")).unwrap(), "bee\n");
    let mode = |p: &str| std::fs::metadata(app.join(p)).unwrap().permissions().mode() & 0o777;
    assert_eq!((mode("sub/b.txt"), mode("run.sh")), (0o604, 0o755), "modes restored");
    let r = c.call("snapshot_restore", json!({"snapshotId": before, "target": target}));
    assert!(sc(&r)["files"].as_array().unwrap().iter().all(|f| f["action"] == "unchanged"), "{r}");
    // Only some paths; a path outside the snapshot restores nothing.
    let r =
        c.call("snapshot_restore", json!({"snapshotId": after, "target": target, "paths": [format!("{path}/c.txt")]}));
    assert_eq!(sc(&r)["files"].as_array().unwrap().len(), 1, "{r}");

    // Deleting frees what no other snapshot uses; the other stays whole.
    let r = c.call("snapshot_delete", json!({"snapshotId": "after"}));
    assert_eq!(
        (sc(&r)["freed"]["objects"].as_u64(), sc(&r)["deleted"].as_str()),
        (Some(2), Some(after.as_str())),
        "{r}"
    );
    let r = c.call("snapshot_diff", json!({"snapshot1": before, "snapshot2": before}));
    assert_eq!(sc(&r)["unchanged"], 5, "{r}");
    let r = c.call("snapshot_delete", json!({"snapshotId": before}));
    assert_eq!(sc(&r)["freed"]["objects"], 5, "{r}");
    let r = c.call("snapshot_list", json!({}));
    assert_eq!((sc(&r)["total"].as_u64(), sc(&r)["store"]["objects"].as_u64()), (Some(0), Some(0)), "{r}");
    let r = c.call("snapshot_delete", json!({"snapshotId": before}));
    assert_eq!(sc(&r)["error"]["code"], "NOT_FOUND", "{r}");
}

#[test]
fn the_policy_keeps_file_tools_away_from_denied_paths() {
    let sshd = Sshd::start().unwrap();
    let mut c = Client::start(&[]);
    c.add_server(&sshd, "web");
    let (_dir, app) = tree();
    write(&app, "secret.key", b"KEY\n", 0o644);
    let policy = format!("deny_paths = ['{}/secret*']\n", app.display());
    std::fs::write(c.data_dir().join("policy.toml"), policy).unwrap();
    let r = c.call("file_read", json!({"source": remote(&app.join("secret.key"))}));
    assert_eq!(sc(&r)["error"]["code"], "POLICY_DENIED", "{r}");
    let r = c.call("file_read", json!({"source": remote(&app.join("sub/../secret.key"))}));
    assert_eq!(sc(&r)["error"]["code"], "POLICY_DENIED", "dots do not get around it: {r}");
    let r = c.call("file_write", json!({"source": remote(&app.join("secret.key")), "content": "x"}));
    assert_eq!(sc(&r)["error"]["code"], "POLICY_DENIED", "{r}");
    assert_eq!(std::fs::read_to_string(app.join("secret.key")).unwrap(), "KEY\n");
    // A directory snapshot leaves the denied file out and says so.
    let r = c.call(
        "snapshot_create",
        json!({"source": {"type": "remote", "alias": "web"}, "paths": [app.display().to_string()]}),
    );
    assert_eq!(sc(&r)["deniedByPolicy"], json!([format!("{}/secret.key", app.display())]), "{r}");
    assert!(!std::fs::read_dir(c.data_dir().join("snapshots/objects")).unwrap().flatten().any(|d| {
        std::fs::read_dir(d.path()).unwrap().flatten().any(|o| std::fs::read(o.path()).unwrap() == b"KEY\n")
    }));
    // A file the server's user may not read is left out and named, not a failure of the whole tree
    // (as root the test sshd's user is another account; otherwise it is this user, who reads all).
    write(&app, "private.txt", b"p\n", 0o600);
    let r = c.call(
        "snapshot_create",
        json!({"source": {"type": "remote", "alias": "web"}, "paths": [app.display().to_string()]}),
    );
    let unreadable =
        if sshdeck_testkit::is_root() { json!([format!("{}/private.txt", app.display())]) } else { Value::Null };
    assert_eq!(sc(&r)["unreadable"], unreadable, "{r}");
    let r = c.call("diff_folders", json!({"source1": remote(&app), "source2": remote(&app)}));
    assert_eq!(sc(&r)["unreadable"].as_array().unwrap().len(), usize::from(sshdeck_testkit::is_root()), "{r}");
}

/// Every manifest parses and every object it names is there with the content its name says.
fn store_is_consistent(data: &Path) -> usize {
    let root = data.join("snapshots");
    let mut snapshots = 0;
    for e in std::fs::read_dir(&root).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".json") {
            continue;
        }
        let v: Value = serde_json::from_slice(&std::fs::read(e.path()).unwrap()).expect("a manifest parses");
        for f in v["files"].as_array().unwrap() {
            let h = f["sha256"].as_str().unwrap();
            let body = std::fs::read(root.join("objects").join(&h[..2]).join(&h[2..])).expect("its objects exist");
            let out = std::process::Command::new("sha256sum")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .and_then(|mut child| {
                    use std::io::Write;
                    child.stdin.take().unwrap().write_all(&body)?;
                    child.wait_with_output()
                })
                .unwrap();
            assert!(String::from_utf8_lossy(&out.stdout).starts_with(h), "object {h} holds its content");
        }
        snapshots += 1;
    }
    snapshots
}

#[test]
fn a_kill_during_a_snapshot_leaves_the_store_consistent() {
    let sshd = Sshd::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    open_dir(dir.path());
    for i in 0..400 {
        write(dir.path(), &format!("d{}/f{i}.txt", i % 7), format!("{i}\n").repeat(2000).as_bytes(), 0o644);
    }
    let data = tempfile::tempdir().unwrap();
    let env = [("MCP_DATA_DIR", data.path().to_str().unwrap())];
    let args = json!({"source": {"type": "remote", "alias": "web"}, "paths": [dir.path().display().to_string()]});
    for (i, delay_ms) in [30, 120, 300, 700].into_iter().enumerate() {
        let mut c = Client::start(&env);
        if i == 0 {
            c.add_server(&sshd, "web");
        }
        c.send_request("tools/call", json!({"name": "snapshot_create", "arguments": args}));
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        c.kill();
        let n = store_is_consistent(data.path());
        eprintln!("killed after {delay_ms} ms: {n} snapshots");
        if i == 0 {
            assert_eq!(n, 0, "the first kill comes before the snapshot is recorded");
        }
    }
    // After the kills, a snapshot completes; deleting it collects every leftover.
    let mut c = Client::start(&env);
    let r = c.call("snapshot_create", args.clone());
    assert_eq!(sc(&r)["files"], 400, "{r}");
    let n = store_is_consistent(data.path());
    assert!(n >= 1);
    let r = c.call("snapshot_list", json!({"limit": 100}));
    for s in sc(&r)["snapshots"].as_array().unwrap() {
        let r = c.call("snapshot_delete", json!({"snapshotId": s["id"]}));
        assert!(sc(&r)["deleted"].is_string(), "{r}");
    }
    let objects = data.path().join("snapshots/objects");
    let left: usize =
        std::fs::read_dir(&objects).unwrap().flatten().map(|d| std::fs::read_dir(d.path()).unwrap().count()).sum();
    assert_eq!(left, 0, "no object or temporary file is left");
}
