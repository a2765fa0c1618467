"""What `skillet serve --http` tells a monitoring system, read the way one reads it.

Run by tests/observe_http.rs:  observe_http.py --base URL --token TOKEN --calls N

Calls the `echo` tool N times and `fails` once through the official MCP Python SDK, then scrapes
/metrics and parses it with prometheus_client's own parser (the reference implementation of the
text format), and reads /healthz and /readyz, with and without the token. Prints one JSON line:
{"samples": {"name{label=value,...}": value, ...}, "types": {family: type}, "status": {...}}.
"""

from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.request

import anyio
import httpx2 as httpx
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from prometheus_client.parser import text_string_to_metric_families


def get(url: str, token: str | None) -> tuple[int, str, str]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.headers.get("Content-Type", ""), answer.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()


async def call_tools(base: str, token: str, calls: int) -> None:
    http = httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60)
    server = streamable_http_client(f"{base}/mcp", http_client=http)
    async with Client(server, read_timeout_seconds=60) as client:
        for n in range(calls):
            result = await client.call_tool("echo", {"word": f"w{n}"})
            assert not result.is_error, result
        failed = await client.call_tool("fails", {})
        assert failed.is_error, failed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--calls", type=int, default=3)
    args = parser.parse_args()
    anyio.run(call_tools, args.base, args.token, args.calls)

    status = {}
    for path in ("/metrics", "/healthz", "/readyz"):
        status[f"{path} without token"] = get(args.base + path, None)[0]
    code, content_type, text = get(args.base + "/metrics", args.token)
    status["/metrics"] = code
    status["/metrics content type"] = content_type
    for path in ("/healthz", "/readyz"):
        code, _, body = get(args.base + path, args.token)
        status[path] = code
        status[path + " body"] = json.loads(body)

    samples, types = {}, {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}"] = sample.value
    print(json.dumps({"samples": samples, "types": types, "status": status}))


if __name__ == "__main__":
    main()
