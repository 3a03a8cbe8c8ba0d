"""An agent's loop through worktrack's MCP tools: claim -> heartbeat -> complete.

Usage: WORKTRACK_TOKEN=wt_... python mcp_agent.py http://127.0.0.1:8000/mcp PROJECT
"""

import os
import sys

import anyio
import httpx2  # the HTTP client the mcp SDK is built on
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client


async def work(url: str, project: str) -> None:
    token = os.environ.get("WORKTRACK_TOKEN", "")  # an agent token of the project
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()

        async def call(tool: str, **arguments: object) -> dict:
            result = await session.call_tool(tool, arguments)
            if result.is_error:  # the HTTP API's problem+json, as text
                raise RuntimeError(result.content[0].text)
            return result.structured_content

        while task := await call("claim_task", project=project, agent="agent-1", lease_seconds=600):
            print(f"claimed {task['key']}: {task['title']}")
            # ... the work; a long job renews its lease now and then:
            await call("heartbeat", project=project, key=task["key"], agent="agent-1")
            print("lease extended")
            evidence = {"commit": "abc123", "tests": "pytest: 12 passed"}
            done = await call(
                "update_task_status", project=project, key=task["key"], agent="agent-1",
                status="completed", note="parser written", evidence=evidence,
            )  # fmt: skip
            print(f"{done['key']} {done['status']}, evidence kept: {sorted(done['evidence'])}")
        print("no task is ready")


anyio.run(work, sys.argv[1], sys.argv[2])
