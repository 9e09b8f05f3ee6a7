"""The official Python MCP SDK's Streamable HTTP client against `sshdeck-mcp --http` (started by
tests/http.rs): tools, a command on the test sshd with progress, two clients at once seeing each
other's jobs, a read-only token refused on a mutating tool, jobs recorded with the token's name.

Environment: MCP_URL, TOKEN_RW, TOKEN_RO, SSHD_PORT, SSHD_USER, SSHD_KEY.
"""

import asyncio
import os
import sys
import traceback
from contextlib import asynccontextmanager

from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

URL = os.environ["MCP_URL"]


@asynccontextmanager
async def session(token):
    client = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    async with client, streamable_http_client(URL, http_client=client) as streams:
        read, write = streams[0], streams[1]
        async with ClientSession(read, write) as s:
            await s.initialize()
            yield s


def sc(r):
    return r.structured_content or {}


async def scenario():
    rw, ro = os.environ["TOKEN_RW"], os.environ["TOKEN_RO"]
    async with session(rw) as a, session(rw) as b:
        names = {t.name for t in (await a.list_tools()).tools}
        assert "task_exec" in names and "server_add" in names, names
        r = await a.call_tool("server_add", {"alias": "web", "host": "127.0.0.1", "port": int(os.environ["SSHD_PORT"]),
                                             "user": os.environ["SSHD_USER"], "keyPath": os.environ["SSHD_KEY"]})
        assert not r.is_error, r
        progress = []

        async def on_progress(p, total, message):
            progress.append(message)

        r = await a.call_tool("task_exec", {"alias": "web", "cmd": "echo hi; sleep 1.2; echo done"},
                              progress_callback=on_progress)
        assert not r.is_error and sc(r)["stdout"] == "hi\ndone\n", r
        assert sc(r)["origin"] == "mcp:agent", sc(r)
        assert progress, "progress notifications arrive over the SSE stream"
        job = sc(r)["id"]
        # The other client (its own session) sees that job: one deck, one job store.
        r = await b.call_tool("task_status", {"id": job})
        assert sc(r)["status"] == "completed", r
        r = await b.call_tool("task_history", {"alias": "web"})
        assert any(j["id"] == job for j in sc(r)["jobs"]), r
        # A call the client gives up on: the job is cancelled (the remote command killed).
        import anyio
        with anyio.move_on_after(1.0):
            await a.call_tool("task_exec", {"alias": "web", "cmd": "sleep 20; echo never"})
        for _ in range(50):
            r = await b.call_tool("task_queue", {"limit": 5})
            gone = [j for j in sc(r)["jobs"] if j["command"] == "sleep 20; echo never"]
            if gone and gone[0]["status"] == "cancelled":
                break
            await anyio.sleep(0.2)
        else:
            raise AssertionError(f"the abandoned call's job was not cancelled: {sc(r)}")
    async with session(ro) as v:
        r = await v.call_tool("task_exec", {"alias": "web", "cmd": "touch /tmp/nope"})
        assert r.is_error and sc(r)["error"]["code"] == "READ_ONLY", r
        r = await v.call_tool("server_list", {})
        assert not r.is_error and any(s["alias"] == "web" for s in sc(r)["servers"]), r


def main():
    try:
        asyncio.run(scenario())
    except BaseException:
        traceback.print_exc()
        print("http-client: FAILED", flush=True)
        return 1
    print("http-client: passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
