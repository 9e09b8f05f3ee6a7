"""sshdeck-mcp driven by the official Python MCP SDK client over real stdio, against the test sshd.

Run by mcp/tests/python_sdk.rs, which starts the sshd and passes, in the environment:
SSHDECK_MCP (the binary), SSHD_PORT, SSHD_USER, SSHD_KEY, SSHD_SCRATCH, NODE_CONTRACT (the Node
orchestrator's tools/list) and SCENARIO (run one scenario, or all). Every tool result, success or
failure, is validated against the tool's advertised outputSchema with jsonschema (the SDK itself
validates successes only). Prints one line per scenario and a closing "N passed, M failed".
"""

import asyncio
import hashlib
import json
import os
import sys
import shutil
import tempfile
import time
import traceback
from contextlib import asynccontextmanager
from pathlib import Path

import jsonschema
import mcp.types as types
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

BIN = os.environ["SSHDECK_MCP"]
PORT = int(os.environ["SSHD_PORT"])
USER = os.environ["SSHD_USER"]
KEY = os.environ["SSHD_KEY"]
SCRATCH = Path(os.environ["SSHD_SCRATCH"])
CONTRACT = json.loads(Path(os.environ["NODE_CONTRACT"]).read_text())


def server_entry(**extra):
    return {"host": "127.0.0.1", "port": PORT, "user": USER, "keyPath": KEY, **extra}


class Client:
    """A session plus every tool's outputSchema (listed with MCP_TOOLSETS=all)."""

    def __init__(self, session, data_dir, schemas):
        self.s = session
        self.data = Path(data_dir)
        self.schemas = schemas

    async def call(self, tool, args, **kw):
        r = await self.s.call_tool(tool, args, **kw)
        schema = self.schemas.get(tool)
        if schema is not None:
            assert r.structured_content is not None, f"{tool}: no structuredContent: {r}"
            errors = list(jsonschema.Draft202012Validator(schema).iter_errors(r.structured_content))
            assert not errors, f"{tool}: result does not match its outputSchema: {[e.message for e in errors]}: {r.structured_content}"
        return r


SCHEMAS = {}


@asynccontextmanager
async def client(env=None, servers=None, files=None, elicit=None, data_dir=None):
    data = data_dir or tempfile.mkdtemp(prefix="sshdeck-py-")
    if servers is not None:
        Path(data, "servers.json").write_text(json.dumps(servers))
    for name, text in (files or {}).items():
        Path(data, name).write_text(text)
    full_env = {"MCP_DATA_DIR": data, "PATH": os.environ.get("PATH", "")}
    full_env.update(env or {})
    params = StdioServerParameters(command=BIN, env=full_env)
    kw = {"elicitation_callback": elicit} if elicit else {}
    async with stdio_client(params) as (r, w):
        async with ClientSession(r, w, **kw) as s:
            await s.initialize()
            yield Client(s, data, SCHEMAS)


async def load_schemas():
    data = tempfile.mkdtemp(prefix="sshdeck-py-")
    params = StdioServerParameters(command=BIN, env={"MCP_DATA_DIR": data, "MCP_TOOLSETS": "all"})
    async with stdio_client(params) as (r, w):
        async with ClientSession(r, w) as s:
            await s.initialize()
            for t in (await s.list_tools()).tools:
                SCHEMAS[t.name] = t.output_schema


def sc(r):
    return r.structured_content or {}


def code(r):
    return sc(r).get("error", {}).get("code")


WEB = {"web": server_entry()}


# --- scenarios ---------------------------------------------------------------------------------

async def node_parameters_are_accepted():
    """Every Node tool sshdeck has takes each of Node's parameters (with Node's types)."""
    values = {"string": "nosuch", "boolean": False, "number": 1, "integer": 1, "array": [], "object": {}}
    special = {
        ("task_queue", "status"): "partial",
        ("task_transfer", "direction"): "server_to_server",
        ("task_transfer_multi", "direction"): "server_to_server",
        ("task_logs", "level"): "info",
        ("api_add", "health_check_method"): "GET",
        ("api_add", "auth_method"): "none",
        ("api_add", "url"): "http://127.0.0.1:9",
        ("task_exec_sequence", "commands"): ["true"],
        ("task_transfer_multi", "files"): [{"local": "/tmp/x", "remote": "/tmp/y", "source_alias": "nosuch"}],
        ("server_group_set", "aliases"): ["nosuch"],
        ("task_status", "id"): "0000000000000",
        ("task_wait", "id"): "0000000000000",
        ("task_retry", "id"): "0000000000000",
        ("task_exec_interactive", "responses"): {"Continue?": "y"},
    }
    async with client(env={"MCP_TOOLSETS": "all"}) as c:
        ours = {t.name for t in (await c.s.list_tools()).tools}
        checked = 0
        for tool in CONTRACT["tools"]:
            name = tool["name"]
            if name not in ours:
                continue
            props = tool["inputSchema"].get("properties", {})
            required = tool["inputSchema"].get("required", [])

            def value(p):
                spec = props[p]
                if (name, p) in special:
                    return special[(name, p)]
                if "enum" in spec:
                    return spec["enum"][0]
                t = spec.get("type") or spec.get("anyOf", [{}])[0].get("type", "string")
                return values.get(t, "nosuch")

            base = {p: value(p) for p in required}
            for p in props:
                args = dict(base)
                args[p] = value(p)
                if name.startswith("task_exec"):
                    args["dry_run"] = True  # nothing runs, whatever the arguments
                r = await c.call(name, args)
                msg = sc(r).get("error", {}).get("message", "")
                assert "unknown field" not in msg and "invalid type" not in msg, f"{name}.{p}={args[p]!r}: {msg}"
                checked += 1
        assert checked > 60, checked
        # An argument neither Node nor sshdeck knows stays INVALID_ARGUMENT.
        r = await c.call("task_exec", {"alias": "web", "cmd": "true", "no_such_argument": 1})
        assert code(r) == "INVALID_ARGUMENT", r


async def timeouts_are_seconds():
    async with client(servers=WEB) as c:
        t0 = time.monotonic()
        r = await c.call("task_exec", {"alias": "web", "cmd": "sleep 0.4; echo ok", "timeout": 30})
        assert sc(r)["status"] == "completed" and sc(r)["stdout"] == "ok\n", r
        r = await c.call("task_exec", {"alias": "web", "cmd": "sleep 0.4; echo ok", "timeout": 0})
        assert sc(r)["status"] == "completed", f"0 is no limit: {r}"
        t0 = time.monotonic()
        r = await c.call("task_exec", {"alias": "web", "cmd": "sleep 5", "timeout": 0.5})
        assert sc(r)["status"] == "timed_out" and code(r) == "COMMAND_TIMEOUT", r
        assert time.monotonic() - t0 < 4, "a fraction of a second is honoured"
        r = await c.call("task_exec_interactive", {"alias": "web", "cmd": "sleep 0.3; echo i", "timeout": 10})
        assert sc(r)["status"] == "completed", r
        r = await c.call("task_exec_sequence", {"alias": "web", "timeout": 1, "commands": ["true", "sleep 5", "echo never"]})
        assert sc(r)["status"] == "timed_out" and len(sc(r)["steps"]) == 2, r
        r = await c.call("task_exec_sequence", {"alias": "web", "commands": [{"command": "sleep 0.3", "timeout": 20}]})
        assert sc(r)["status"] == "completed", r
        r = await c.call("task_exec", {"alias": "web", "cmd": "true", "timeout": -1})
        assert code(r) == "INVALID_ARGUMENT", r


APT_LIKE = r"""
echo "Reading package lists... Done"
printf 'After this operation, 1024 kB of additional disk space will be used.\nDo you want to continue? [Y/n] '
read a; echo "continue:$a"
printf 'Restart services during package upgrades without asking? [yes/no] '
read b; echo "restart:$b"
"""


async def seed_001_interactive_example():
    """Seed 001's task_exec_interactive example: each prompt answered once, by its own rule."""
    async with client(servers={"prod_vps": server_entry()}) as c:
        r = await c.call("task_exec_interactive", {
            "alias": "prod_vps", "cmd": APT_LIKE, "autoRespond": True,
            "responses": {"Do you want to continue": "Y", "Restart services": "yes"},
        })
        out = sc(r)["stdout"]
        assert sc(r)["status"] == "completed", r
        assert "continue:Y" in out and "restart:yes" in out, out
        # Literal keys: brackets and question marks mean themselves; `re:` asks for a regex.
        r = await c.call("task_exec_interactive", {
            "alias": "prod_vps", "cmd": "read -p 'Overwrite config? [y/N] ' a; echo got:$a",
            "responses": {"Overwrite config? [y/N]": "y"}, "autoRespond": False})
        assert "got:y" in sc(r)["stdout"], r
        r = await c.call("task_exec_interactive", {
            "alias": "prod_vps", "cmd": "read -p 'Port 2222: ' a; echo got:$a",
            "responses": {"re:^Port \\d+:": "22"}, "autoRespond": False})
        assert "got:22" in sc(r)["stdout"], r
        r = await c.call("task_exec_interactive", {"alias": "prod_vps", "cmd": "echo plain; tty >/dev/null || echo notty", "interactive": False})
        assert sc(r)["stdout"] == "plain\nnotty\n", f"interactive: false runs without a PTY: {r}"


async def destructive_commands_need_confirmation():
    harmless = "dd if=/dev/zero of=/dev/null count=1"  # matches the dd-onto-a-device pattern
    async with client(servers=WEB) as c:
        r = await c.call("task_exec", {"alias": "web", "cmd": harmless})
        assert r.is_error and code(r) == "CONFIRMATION_REQUIRED", r
        assert "force" in sc(r)["error"]["message"], r
        r = await c.call("task_exec", {"alias": "web", "cmd": harmless, "dry_run": True})
        d = sc(r)
        assert d["dryRun"] and d["targets"] == ["web"] and d["destructive"] and not d["wouldRun"], d
        r = await c.call("task_exec", {"alias": "web", "cmd": "uptime", "dry_run": True})
        assert sc(r)["wouldRun"] and sc(r)["policy"] == "allowed", r
        r = await c.call("task_exec", {"alias": "web", "cmd": harmless, "force": True})
        assert sc(r)["status"] == "completed", r
        r = await c.call("task_exec_sequence", {"alias": "web", "commands": ["true", harmless]})
        assert code(r) == "CONFIRMATION_REQUIRED", r
    asked = []

    async def yes(ctx, params):
        asked.append(params.message)
        return types.ElicitResult(action="accept", content={"confirm": True})

    async def no(ctx, params):
        asked.append(params.message)
        return types.ElicitResult(action="decline")

    async with client(servers=WEB, elicit=yes) as c:
        r = await c.call("task_exec", {"alias": "web", "cmd": harmless})
        assert sc(r)["status"] == "completed", f"confirmed by the human: {r}"
        assert asked and harmless in asked[0], asked
    async with client(servers=WEB, elicit=no) as c:
        r = await c.call("task_exec", {"alias": "web", "cmd": harmless})
        assert code(r) == "CONFIRMATION_REQUIRED" and "did not confirm" in sc(r)["error"]["message"], r


async def skip_policy_never_bypasses_the_operator():
    async with client(servers=WEB, files={"policy.toml": "deny = ['\\bforbidden-cmd\\b']\n"}) as c:
        r = await c.call("task_exec", {"alias": "web", "cmd": "forbidden-cmd", "skip_policy": True})
        assert code(r) == "POLICY_DENIED" and "skip_policy" in sc(r)["error"]["message"], r
        r = await c.call("task_exec_sequence", {"alias": "web", "commands": ["forbidden-cmd"], "skip_policy": True})
        assert code(r) == "POLICY_DENIED", r


async def registry_keeps_unknown_fields_and_honours_readonly():
    servers = {
        "ro": server_entry(readonly=True, description="Node 11 entry", meta={"z": 1, "a": [1, 2]}),
        "web": server_entry(env="prod"),
    }
    async with client(servers=servers) as c:
        before = json.loads((c.data / "servers.json").read_text())
        r = await c.call("server_add", {"alias": "new", "host": "127.0.0.1", "user": USER, "keyPath": KEY, "port": PORT})
        assert not r.is_error, r
        r = await c.call("server_add", {"alias": "web", "port": PORT})  # a merge: host, user, key kept
        assert sc(r)["action"] == "updated", r
        after = json.loads((c.data / "servers.json").read_text())
        for alias in ("ro", "web"):
            for k, v in before[alias].items():
                assert after[alias].get(k) == v, f"{alias}.{k}: {v!r} became {after[alias].get(k)!r}"
        assert oct((c.data / "servers.json").stat().st_mode & 0o777) == "0o600"
        r = await c.call("task_exec", {"alias": "ro", "cmd": "touch /tmp/never"})
        assert code(r) == "READ_ONLY", r
        r = await c.call("task_exec_sequence", {"alias": "ro", "commands": ["true"]})
        assert code(r) == "READ_ONLY", r
        r = await c.call("task_exec_interactive", {"alias": "ro", "cmd": "true"})
        assert code(r) == "READ_ONLY", r
        src = SCRATCH / "ro-src.txt"
        src.write_text("x")
        r = await c.call("task_transfer", {"alias": "ro", "direction": "upload", "local": str(src), "remote": str(SCRATCH / "ro-up.txt")})
        assert code(r) == "READ_ONLY", r
        r = await c.call("task_transfer", {"alias": "ro", "direction": "download", "remote": str(src), "local": tempfile.mkdtemp() + "/"})
        assert sc(r).get("status") == "completed", f"reads still work: {r}"
        r = await c.call("tail_file", {"alias": "ro", "filepath": str(src)})
        assert sc(r).get("status") == "completed", r
        # A field removed with null.
        r = await c.call("server_add", {"alias": "web", "keyPath": None})
        after = json.loads((c.data / "servers.json").read_text())
        assert "keyPath" not in after["web"] and after["web"]["env"] == "prod", after["web"]
        r = await c.call("server_add", {"alias": "brand-new"})
        assert code(r) == "INVALID_ARGUMENT" and "host" in sc(r)["error"]["message"], r


async def node_groups_file_and_bare_group_names():
    groups = json.dumps({"edge": ["web", "web2"]})
    servers = {"web": server_entry(), "web2": server_entry()}
    async with client(servers=servers, files={"server_groups.json": groups}, env={"MCP_TOOLSETS": "all"}) as c:
        for alias in ("edge", "group:edge", ["web", "web2"]):
            r = await c.call("task_exec", {"alias": alias, "cmd": "echo fan"})
            hosts = sc(r).get("hosts", [])
            assert sorted(h["alias"] for h in hosts) == ["web", "web2"], r
        r = await c.call("server_group_set", {"name": "db", "aliases": ["web"]})
        saved = json.loads((c.data / "server_groups.json").read_text())
        assert saved == {"edge": ["web", "web2"], "db": ["web"]}, saved
        r = await c.call("fleet_status", {"alias": "edge", "timeout_s": 10})
        assert sc(r)["total"] == 2 and sc(r)["ok"] == 2, r


async def queue_views_and_sequences():
    async with client(servers=WEB) as c:
        ids = []
        for i in range(3):
            r = await c.call("task_exec", {"alias": "web", "cmd": f"echo {i}"})
            ids.append(sc(r)["id"])
        r = await c.call("task_queue", {})
        listed = [j["id"] for j in sc(r)["jobs"]]
        assert listed[:3] == ids[::-1], f"every job, newest first: {listed}"
        r = await c.call("task_queue", {"status": "completed", "limit": 2, "compact": False})
        assert len(sc(r)["jobs"]) == 2 and "attempt" in sc(r)["jobs"][0], r
        r = await c.call("task_history", {"compact": True})
        assert "attempt" not in sc(r)["jobs"][0], r
        r = await c.call("task_exec_sequence", {"alias": "web", "continueOnError": True, "commands": ["exit 3", "echo after", {"command": "exit 4"}]})
        steps = sc(r)["steps"]
        assert sc(r)["status"] == "completed" and not r.is_error, r
        assert [s.get("exitCode") for s in steps] == [3, 0, 4], steps


async def long_calls_give_a_result_the_client_accepts():
    async with client(servers=WEB, env={"MCP_SYNC_TIMEOUT_S": "1"}) as c:
        r = await c.call("task_exec", {"alias": "web", "cmd": "sleep 2.5; echo late"})
        assert sc(r)["status"] == "running" and "task_wait" in sc(r)["message"], r
        r = await c.call("task_wait", {"id": sc(r)["id"], "timeout": 15})
        assert sc(r)["status"] == "completed" and "late" in sc(r)["outputTail"], r


async def cut_output_says_where_the_rest_is():
    async with client(servers=WEB, env={"MCP_INLINE_OUTPUT_BYTES": "256"}) as c:
        r = await c.call("task_exec", {"alias": "web", "cmd": "seq 1 5000"})
        job = sc(r)["id"]
        out = sc(r)["stdout"]
        assert f"sshdeck://jobs/{job}/output" in out and "output_offset" in out, out[:600]
        r = await c.call("task_status", {"id": job, "output_offset": 0, "output_bytes": 1000})
        first = sc(r)
        assert first["output"].startswith("1\n2\n") and first["nextOffset"] == 1000 and first["outputTotal"] > 20000, first
        r = await c.call("task_status", {"id": job, "output_offset": first["outputTotal"] - 5})
        assert sc(r)["output"] == "5000\n", sc(r)
        res = await c.s.read_resource(f"sshdeck://jobs/{job}/output?offset=0&length=10")
        text = res.contents[0].text
        assert text.startswith("1\n2\n3\n4\n5\n") and "next page" in text, text


def sha(p):
    return hashlib.sha256(Path(p).read_bytes()).hexdigest()


async def policy_is_tightened_by_agents_and_loosened_only_by_the_human():
    """policy_blocklist_*: an agent adds a deny pattern; removing it needs the human's yes (elicitation)."""
    pattern = r"\bsystemctl\s+restart\s+nginx\b"
    asked = []

    async def yes(ctx, params):
        asked.append(params.message)
        return types.ElicitResult(action="accept", content={"confirm": True})

    async def no(ctx, params):
        asked.append(params.message)
        return types.ElicitResult(action="decline")

    root = tempfile.mkdtemp()
    async with client(servers=WEB, elicit=no, data_dir=root, env={"MCP_TOOLSETS": "all"}) as c:
        r = await c.call("policy_blocklist_add", {"pattern": pattern})
        assert sc(r)["changed"] is True, r
        r = await c.call("task_exec", {"alias": "web", "cmd": "systemctl restart nginx"})
        assert code(r) == "POLICY_DENIED", r
        r = await c.call("policy_blocklist_remove", {"pattern": pattern})
        assert code(r) == "POLICY_DENIED" and asked, r
        r = await c.call("policy_blocklist_list", {})
        assert pattern in sc(r)["added"], r
    async with client(servers=WEB, elicit=yes, data_dir=root, env={"MCP_TOOLSETS": "all"}) as c:
        r = await c.call("policy_blocklist_remove", {"pattern": pattern})
        assert sc(r)["changed"] is True, r
        r = await c.call("policy_blocklist_list", {})
        assert pattern not in sc(r)["added"], r


async def files_are_edited_under_their_hash():
    """file_read / file_edit / file_write as an agent uses them: read, edit with the hash, a stale hash refused."""
    path = SCRATCH / "files" / "nginx.conf"  # its directory made by sshdeck, as the server's user
    src = {"type": "remote", "alias": "web", "path": str(path)}
    async with client(servers=WEB) as c:
        r = await c.call("file_write", {"source": src, "content": "listen 80;\nserver_name a;\n"})
        assert sc(r)["written"] is True, r
        r = await c.call("file_read", {"source": src})
        first = sc(r)["sha256"]
        assert sc(r)["content"] == "listen 80;\nserver_name a;\n" and sc(r)["totalLines"] == 2, r
        r = await c.call("file_edit", {"source": src, "oldString": "listen 80", "newString": "listen 8080", "expectedHash": first})
        assert sc(r)["written"] is True and "+listen 8080;" in sc(r)["diff"], r
        r = await c.call("file_edit", {"source": src, "oldString": "a;", "newString": "b;", "expectedHash": first})
        assert code(r) == "HASH_MISMATCH" and sc(r)["currentHash"] != first, r
        assert path.read_text() == "listen 8080;\nserver_name a;\n"
        # An edit with a backup, then the snapshot put back: a plan first, refused without force.
        r = await c.call("file_edit", {"source": src, "newContent": "broken\n", "backup": True})
        snap = sc(r)["backup"]
        assert snap.startswith("snap-") and path.read_text() == "broken\n", r
        target = {"type": "remote", "alias": "web"}
        r = await c.call("snapshot_restore", {"snapshotId": snap, "target": target})
        assert sc(r)["dryRun"] is True and sc(r)["files"][0]["action"] == "overwrite", r
        r = await c.call("snapshot_restore", {"snapshotId": snap, "target": target, "dryRun": False})
        assert code(r) == "CONFIRMATION_REQUIRED", r
        r = await c.call("snapshot_restore", {"snapshotId": snap, "target": target, "dryRun": False, "force": True})
        assert sc(r)["written"] == 1 and path.read_text() == "listen 8080;\nserver_name a;\n", r


async def shell_sessions_keep_state_between_calls():
    """shell_create / shell_exec / shell_list / shell_close as an agent uses them (Node's arguments)."""
    async with client(servers=WEB) as c:
        r = await c.call("shell_create", {"alias": "web", "workdir": "/tmp", "env": {"STAGE": "blue"}, "cmdTimeout": 60000})
        sid = sc(r)["sessionId"]
        assert sid.startswith("sh-") and sc(r)["cwd"] == "/tmp", r
        r = await c.call("shell_exec", {"sessionId": sid, "command": "cd / && export N=$((6*7))"})
        assert sc(r)["exitCode"] == 0 and sc(r)["cwd"] == "/", r
        r = await c.call("shell_exec", {"sessionId": sid, "command": "echo $STAGE $N; pwd"})
        assert sc(r)["stdout"] == "blue 42\n/\n" and sc(r)["timedOut"] is False, r
        r = await c.call("shell_exec", {"sessionId": sid, "command": "sleep 20", "timeout": 300})
        assert sc(r)["timedOut"] is True and code(r) == "COMMAND_TIMEOUT" and sc(r)["sessionOpen"] is True, r
        r = await c.call("shell_list", {})
        assert [s["sessionId"] for s in sc(r)["sessions"]] == [sid], r
        r = await c.call("shell_close", {"sessionId": sid})
        assert sc(r)["closed"] is True, r
        r = await c.call("shell_exec", {"sessionId": sid, "command": "true"})
        assert code(r) == "NOT_FOUND", r


async def notes_work_sessions_and_the_audit_trail():
    """What an agent remembers (a note, a work session with its job) and what the trail says it did."""
    async with client(servers=WEB) as c:
        r = await c.call("server_note_set", {"alias": "web", "services": ["nginx"], "note": "primary web"})
        assert sc(r)["note"]["services"] == ["nginx"], r
        r = await c.call("work_start", {"alias": "web", "tag": "tls", "message": "renew the certificate"})
        wid = sc(r)["session"]["id"]
        r = await c.call("task_exec", {"alias": "web", "cmd": "echo renewed"})
        job = sc(r)["id"]
        assert sc(r)["exitCode"] == 0, r
        r = await c.call("work_log", {"id": wid, "type": "command", "detail": "certbot renew"})
        assert sc(r)["session"]["log"][0]["type"] == "command", r
        r = await c.call("work_list", {})
        [session] = sc(r)["sessions"]
        assert [j["id"] for j in session["jobs"]] == [job], r
        r = await c.call("work_end", {"id": wid, "summary": "certificate renewed"})
        assert sc(r)["noted"] == ["web"], r
        r = await c.call("server_note_get", {"alias": "web"})
        note = sc(r)["note"]
        assert note["last_intervention"]["summary"] == "certificate renewed" and note["note"] == "primary web", r
        r = await c.call("api_add", {"alias": "billing", "url": "http://127.0.0.1:9/health", "api_key": "Py-Secret-4242",
                                     "auth_method": "api_key"})
        assert not r.is_error, r
        await c.call("server_note_list", {})  # read-only: not in the trail
        text = (c.data / "audit.jsonl").read_text()
        assert "Py-Secret-4242" not in text, text
        lines = [json.loads(l) for l in text.splitlines()]
        actions = [l["action"] for l in lines]
        assert actions == ["server_note_set", "work_start", "task_exec", "work_log", "work_end", "api_add"], actions
        assert all(l["result"] == "ok" for l in lines), lines
        assert lines[2]["job"] == job and lines[2]["targets"] == ["web"], lines[2]


async def fleet_insight_inventory_and_overview():
    """server_inventory and infra_overview as Node's callers call them: one alias, then the whole fleet."""
    servers = {"web": server_entry(), "web2": server_entry()}
    async with client(servers=servers) as c:
        r = await c.call("server_inventory", {"alias": "web"})
        inv = sc(r)
        assert not r.is_error and inv["cached"] is False, r
        assert any(p["port"] == PORT for p in inv["ports"]), inv["ports"]
        r = await c.call("server_inventory", {"alias": "web", "compact": True})
        assert sc(r)["cached"] is True and isinstance(sc(r)["services"]["systemd"], list), r
        r = await c.call("infra_overview", {"alias": "web"})
        o = sc(r)
        assert o["sources"]["ports"] == "ok" and "sites" not in o, r
        assert any(p.startswith(f"{PORT}") for p in o["ports"]), o["ports"]
        r = await c.call("infra_overview", {"live": True, "compact": False, "timeoutMs": 20000})
        hosts = sc(r)["hosts"]
        assert sorted(h["alias"] for h in hosts) == ["web", "web2"], r
        assert all(h["cached"] is False and isinstance(h["sites"], list) for h in hosts), r
        r = await c.call("infra_overview", {"alias": "web", "timeoutMs": 1})
        assert r.is_error and code(r) == "INVALID_ARGUMENT", r


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url):
    import urllib.request
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read().decode()


async def tunnels_forward_what_the_allowlist_allows():
    """tunnel_allowlist_add / tunnel_create / tunnel_list / tunnel_close with Node's arguments: an HTTP
    request through a local forward to a web server the "server" side reaches."""
    import http.server
    import threading

    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = f"hello {self.path}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    listen = free_port()
    args = {"name": "py-web", "type": "local", "listen_port": listen,
            "target": f"127.0.0.1:{web.server_address[1]}", "via": "web"}
    try:
        async with client(servers=WEB) as c:
            r = await c.call("tunnel_create", args)
            assert code(r) == "POLICY_DENIED" and r.is_error, r
            r = await c.call("tunnel_allowlist_add", {"port": listen})
            assert sc(r)["changed"] is True and listen in sc(r)["allowed"], r
            r = await c.call("tunnel_create", {**args, "key_path": "/nonexistent"})
            assert sc(r)["state"] == "up" and sc(r)["listenPort"] == listen and "key_path" in sc(r)["note"], r
            body = await asyncio.to_thread(http_get, f"http://127.0.0.1:{listen}/through")
            assert body == "hello /through", body
            r = await c.call("tunnel_list", {})
            [t] = sc(r)["tunnels"]
            assert t["name"] == "py-web" and t["totalConnections"] >= 1 and t["bytesReceived"] > 0, t
            r = await c.call("tunnel_close", {"name": "py-web"})
            assert not r.is_error, r
            try:
                await asyncio.to_thread(http_get, f"http://127.0.0.1:{listen}/closed")
                raise AssertionError("the listener is still open after tunnel_close")
            except OSError:
                pass
            r = await c.call("tunnel_close", {"name": "py-web"})
            assert code(r) == "NOT_FOUND", r
    finally:
        web.shutdown()


async def transfers_refuse_existing_files_and_copy_between_servers():
    servers = {"a": server_entry(), "b": server_entry()}
    src_dir = SCRATCH / "s2s"
    src_dir.mkdir(exist_ok=True)
    (src_dir / "one.bin").write_bytes(os.urandom(300_000))
    (src_dir / "two.log").write_text("two\n")
    (src_dir / "three.log").write_text("three\n")
    dest = SCRATCH / "s2s-dest"  # made by sshdeck, as the server's user
    async with client(servers=servers) as c:
        r = await c.call("task_transfer", {"alias": "b", "direction": "server_to_server", "source_alias": "a",
                                           "remote": str(src_dir / "one.bin"), "local": str(dest / "copy.bin"), "verify": True})
        assert sc(r)["status"] == "completed", r
        assert sha(dest / "copy.bin") == sha(src_dir / "one.bin")
        r = await c.call("task_transfer", {"alias": "b", "direction": "server_to_server", "source_alias": "a",
                                           "remote": str(src_dir / "one.bin"), "local": str(dest / "copy.bin")})
        assert code(r) == "ALREADY_EXISTS", r
        r = await c.call("task_transfer_multi", {"alias": "b", "direction": "server_to_server", "source_alias": "a",
                                                 "files": [{"local": str(dest) + "/logs/", "remote": str(src_dir) + "/*.log"}]})
        assert sc(r)["status"] == "completed", r
        assert (dest / "logs" / "two.log").read_text() == "two\n" and (dest / "logs" / "three.log").exists()
        # A whole directory, nested.
        tree = src_dir / "tree"
        (tree / "sub").mkdir(parents=True, exist_ok=True)
        (tree / "a.txt").write_text("a\n")
        (tree / "sub" / "b.txt").write_text("b\n")
        r = await c.call("task_transfer", {"alias": "b", "direction": "server_to_server", "source_alias": "a",
                                           "remote": str(tree), "local": str(dest / "tree-copy")})
        assert sc(r)["status"] == "completed", r
        assert (dest / "tree-copy" / "sub" / "b.txt").read_text() == "b\n", list(dest.rglob("*"))
        assert (dest / "tree-copy" / "a.txt").read_text() == "a\n"
        assert not [p for p in dest.rglob("*") if "sshdeck.tmp" in p.name], "no temporary file left"
        assert not list((c.data / "tmp").glob("*")), "the spool is removed"
        # One file onto an existing one, without force: refused before any byte is sent.
        local = Path(tempfile.mkdtemp()) / "big.bin"
        local.write_bytes(os.urandom(2_000_000))
        r = await c.call("task_transfer", {"alias": "a", "direction": "upload", "local": str(local), "remote": str(dest / "copy.bin")})
        assert code(r) == "ALREADY_EXISTS" and r.is_error, r
        assert sha(dest / "copy.bin") == sha(src_dir / "one.bin"), "unchanged"
        # Several files: the existing ones are skipped, counted and named in the first line.
        r = await c.call("task_transfer", {"alias": "a", "direction": "upload", "local": str(local.parent) + "/*.bin", "remote": str(dest) + "/"})
        r = await c.call("task_transfer", {"alias": "a", "direction": "upload", "local": str(local.parent) + "/*.bin", "remote": str(dest) + "/"})
        first = r.content[0].text.splitlines()[0]
        assert sc(r)["transfer"]["skipped"] == 1 and "skipped" in first and "big.bin" in first, first


async def toolsets_keep_the_listing_small():
    async with client() as c:
        listed = await c.s.list_tools()
        size = len(json.dumps([t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in listed.tools]))
        names = {t.name for t in listed.tools}
        assert "task_exec" in names and "toolsets" in names and "get_system_resources" not in names, names
        assert size <= 16 * 1024, size
        r = await c.call("get_services_status", {"alias": "nosuch"})
        assert code(r) == "NOT_FOUND", f"an unlisted tool still answers: {r}"
        r = await c.call("toolsets", {"enable": ["ops", "fleet"]})
        assert sorted(sc(r)["enabled"]) == ["fleet", "ops"], r
        names = {t.name for t in (await c.s.list_tools()).tools}
        assert "get_system_resources" in names and "fleet_status" in names


async def every_result_matches_its_schema_on_failure_paths():
    async with client(servers=WEB, env={"MCP_TOOLSETS": "all"}) as c:
        await c.call("api_add", {"alias": "down", "url": "http://127.0.0.1:9"})
        r = await c.call("api_check", {"alias": "down"})
        assert sc(r)["status"] == "DOWN" and isinstance(sc(r)["error"], dict), r
        r = await c.call("api_check", {"alias": "down", "server_alias": "web"})
        assert sc(r)["status"] == "DOWN", r
        r = await c.call("net_http_request", {"alias": "web", "url": "http://127.0.0.1:9/"})
        assert isinstance(sc(r).get("error"), dict), r
        for tool, args in [("task_status", {"id": "nope"}), ("task_exec", {"alias": "nosuch", "cmd": "x"}),
                           ("get_system_resources", {"alias": "nosuch"}), ("tail_file", {"alias": "web", "filepath": "/nonexistent"}),
                           ("task_transfer", {"alias": "web", "direction": "sideways", "remote": "/x", "local": "/y"})]:
            r = await c.call(tool, args)
            assert r.is_error, (tool, r)


SCENARIOS = [
    node_parameters_are_accepted,
    timeouts_are_seconds,
    seed_001_interactive_example,
    destructive_commands_need_confirmation,
    skip_policy_never_bypasses_the_operator,
    registry_keeps_unknown_fields_and_honours_readonly,
    node_groups_file_and_bare_group_names,
    queue_views_and_sequences,
    long_calls_give_a_result_the_client_accepts,
    cut_output_says_where_the_rest_is,
    transfers_refuse_existing_files_and_copy_between_servers,
    files_are_edited_under_their_hash,
    shell_sessions_keep_state_between_calls,
    tunnels_forward_what_the_allowlist_allows,
    notes_work_sessions_and_the_audit_trail,
    fleet_insight_inventory_and_overview,
    policy_is_tightened_by_agents_and_loosened_only_by_the_human,
    toolsets_keep_the_listing_small,
    every_result_matches_its_schema_on_failure_paths,
]


async def main():
    await load_schemas()
    wanted = os.environ.get("SCENARIO", "all")
    passed = failed = 0
    for scenario in SCENARIOS:
        if wanted != "all" and scenario.__name__ != wanted:
            continue
        try:
            await asyncio.wait_for(scenario(), 120)
            passed += 1
            print(f"ok     {scenario.__name__}", flush=True)
        except BaseException:
            failed += 1
            print(f"FAILED {scenario.__name__}\n{traceback.format_exc()}", flush=True)
    print(f"python-sdk: {passed} passed, {failed} failed", flush=True)
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    # Every data dir lives under one root removed at the end: each dir's runner (see README) leaves
    # when its socket disappears.
    # A runner may still write its last runtime file while the tree goes: removal is retried.
    root = tempfile.mkdtemp(prefix="sshdeck-py-")
    tempfile.tempdir = root
    try:
        code = asyncio.run(main())
    finally:
        tempfile.tempdir = None
        for attempt in range(50):
            try:
                shutil.rmtree(root)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.1)
    sys.exit(code)
