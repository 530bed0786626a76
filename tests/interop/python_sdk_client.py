"""Drives the gateway with the official MCP Python SDK (a client no one here wrote).

Usage: python_sdk_client.py http URL TOKEN
       python_sdk_client.py stdio BINARY   (env carries the gateway's settings)

Prints one JSON line with what it saw; exits non-zero on any failed expectation.
"""

import asyncio
import json
import os
import sys

from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


def check(cond, what):
    if not cond:
        raise SystemExit(f"interop failure: {what}")


async def exercise(session: ClientSession) -> dict:
    init = await session.initialize()
    tools = (await session.list_tools()).tools
    names = sorted(t.name for t in tools)
    check(len(names) == 41, f"41 tools, got {len(names)}")
    by_name = {t.name: t for t in tools}
    check(by_name["delete_note"].annotations.destructive_hint is True, "delete is destructive")
    check(by_name["list_notes"].annotations.read_only_hint is True, "list is read-only")

    created = await session.call_tool("create_note", {"title": "from python", "content": "hello"})
    check(not created.is_error, f"create_note failed: {created.content}")
    note = created.structured_content
    check(note["payload"]["title"] == "from python", f"payload: {note}")
    uid = note["uid"]

    deleted = await session.call_tool("delete_note", {"uid": uid})
    check(not deleted.is_error, f"delete_note reported failure: {deleted.content}")
    check(deleted.structured_content["uid"] == uid, "delete shape")
    check("deletedAt" in deleted.structured_content, "delete shape has deletedAt")

    gone = await session.call_tool("get_note", {"uid": uid})
    check(gone.is_error, "get after delete is an error")
    text = " ".join(c.text for c in gone.content if getattr(c, "text", None))
    check("deleted" in text, f"error mentions deletion: {text}")

    bad = await session.call_tool("get_note", {"uid": "nope"})
    check(bad.is_error, "a bad uid is an error result")
    return {
        "server": init.server_info.name,
        "protocol": init.protocol_version,
        "tools": len(names),
        "created": uid,
        "deleted": deleted.structured_content["deletedAt"],
    }


async def over_http(url: str, token: str) -> dict:
    async with create_mcp_http_client(headers={"Authorization": f"Bearer {token}"}) as http:
        async with streamable_http_client(url, http_client=http) as streams:
            read, write = streams[0], streams[1]
            async with ClientSession(read, write) as session:
                return await exercise(session)


async def over_stdio(binary: str) -> dict:
    # The SDK passes only a safe default environment to the child: hand over the gateway's.
    env = {k: v for k, v in os.environ.items() if k.startswith(("TOOLBRIDGE_", "TENANT_"))}
    params = StdioServerParameters(command=binary, args=["stdio"], env=env)
    async with stdio_client(params) as streams:
        read, write = streams[0], streams[1]
        async with ClientSession(read, write) as session:
            return await exercise(session)


def main() -> None:
    mode = sys.argv[1]
    if mode == "http":
        seen = asyncio.run(over_http(sys.argv[2], sys.argv[3]))
    else:
        seen = asyncio.run(over_stdio(sys.argv[2]))
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
