"""Drives the gateway with the official MCP Python SDK (a client no one here wrote).

Usage: python_sdk_client.py http URL TOKEN     (2025-11-25: initialize, a session, DELETE)
       python_sdk_client.py modern URL TOKEN   (`Client` in its default auto mode: 2026-07-28)
       python_sdk_client.py stdio BINARY       (env carries the gateway's settings)

Prints one JSON line with what it saw; exits non-zero on any failed expectation. The SDK's
own warnings (a failed session termination, say) go to stderr, where the tests look.
"""

import asyncio
import json
import logging
import os
import sys

from mcp import ClientSession
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

# How many tools the gateway lists: the Rust test passes the catalog's count.
EXPECTED_TOOLS = int(os.environ["EXPECTED_TOOLS"])


def check(cond, what):
    if not cond:
        raise SystemExit(f"interop failure: {what}")


async def exercise(session: ClientSession) -> dict:
    init = await session.initialize()
    tools = (await session.list_tools()).tools
    names = sorted(t.name for t in tools)
    check(len(names) == EXPECTED_TOOLS, f"{EXPECTED_TOOLS} tools, got {len(names)}")
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


async def modern(url: str, token: str) -> dict:
    # Every request the client sends, with the headers the gateway routes on.
    sent = []

    async def record(request):
        sent.append({h: request.headers.get(h) for h in ("mcp-method", "mcp-protocol-version", "mcp-session-id")})

    async with create_mcp_http_client(headers={"Authorization": f"Bearer {token}"}) as http:
        http.event_hooks["request"].append(record)
        async with Client(streamable_http_client(url, http_client=http)) as client:
            # auto mode falls back to initialize on anything that is not a modern answer.
            check(client.protocol_version == "2026-07-28", f"negotiated {client.protocol_version}")
            check(client.server_info.name == "toolbridge-mcp", f"server info {client.server_info}")
            check(client.server_capabilities.tools is not None, "discover offers tools")
            tools = (await client.list_tools()).tools
            check(len(tools) == EXPECTED_TOOLS, f"{EXPECTED_TOOLS} tools, got {len(tools)}")
            # Served from the client's cache while the list's ttlMs lasts.
            again = (await client.list_tools()).tools
            check(len(again) == EXPECTED_TOOLS, "cached listing")
            created = await client.call_tool("create_note", {"title": "from python 2026", "content": "hi"})
            check(not created.is_error, f"create_note failed: {created.content}")
            uid = created.structured_content["uid"]
            deleted = await client.call_tool("delete_note", {"uid": uid})
            check(not deleted.is_error, f"delete_note failed: {deleted.content}")
            gone = await client.call_tool("get_note", {"uid": uid})
            check(gone.is_error, "get after delete is an error")
            protocol = client.protocol_version
    methods = [r["mcp-method"] for r in sent]
    check("initialize" not in methods, f"no initialize: {methods}")
    check(all(r["mcp-protocol-version"] == "2026-07-28" for r in sent), f"headers: {sent}")
    check(not any(r["mcp-session-id"] for r in sent), "no session id")
    return {
        "protocol": protocol,
        "tools": len(tools),
        "toolsListRequests": methods.count("tools/list"),
        "methods": methods,
        "created": uid,
        "deleted": deleted.structured_content["deletedAt"],
    }


async def over_stdio(binary: str) -> dict:
    # The SDK passes only a safe default environment to the child: hand over the gateway's.
    env = {k: v for k, v in os.environ.items() if k.startswith(("TOOLBRIDGE_", "TENANT_"))}
    params = StdioServerParameters(command=binary, args=["stdio"], env=env)
    async with stdio_client(params) as streams:
        read, write = streams[0], streams[1]
        async with ClientSession(read, write) as session:
            return await exercise(session)


def main() -> None:
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    mode = sys.argv[1]
    if mode == "http":
        seen = asyncio.run(over_http(sys.argv[2], sys.argv[3]))
    elif mode == "modern":
        seen = asyncio.run(modern(sys.argv[2], sys.argv[3]))
    else:
        seen = asyncio.run(over_stdio(sys.argv[2]))
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
