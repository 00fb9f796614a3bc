"""A tiny synchronous MCP stdio client for tests (the official SDK is the reference client)."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from typing import Any


class StdioClient:
    """Newline-delimited JSON-RPC over a server process's stdin/stdout, with timeouts."""

    def __init__(self, proc: subprocess.Popen[bytes], *, timeout: float = 10.0) -> None:
        self.proc, self.timeout = proc, timeout
        self._next_id = 0
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message).encode() + b"\n")
        self.proc.stdin.flush()

    def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send a request and return the whole response message (`result` or `error`).

        Raises:
            TimeoutError: no response within the timeout.
            EOFError: the server closed stdout.
        """
        self._next_id += 1
        msg: dict[str, Any] = {"jsonrpc": "2.0", "id": self._next_id, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)
        while True:
            try:
                line = self._lines.get(timeout=self.timeout)
            except queue.Empty:
                raise TimeoutError(f"no answer to {method} within {self.timeout}s") from None
            if line is None:
                raise EOFError(f"server closed stdout before answering {method}")
            reply: dict[str, Any] = json.loads(line)
            if reply.get("id") == self._next_id:
                return reply

    def initialize(self, protocol: str = "2025-06-18") -> dict[str, Any]:
        reply = self.request(
            "initialize",
            {
                "protocolVersion": protocol,
                "capabilities": {},
                "clientInfo": {"name": "sandbox-client", "version": "0"},
            },
        )
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return reply

    def tool_names(self) -> list[str]:
        return sorted(t["name"] for t in self.request("tools/list")["result"]["tools"])

    def call(self, name: str, arguments: dict[str, Any] | None = None) -> Any:
        """Call a tool and decode its JSON text content (raises RuntimeError on isError)."""
        result = self.request("tools/call", {"name": name, "arguments": arguments or {}})["result"]
        payload = json.loads(result["content"][0]["text"])
        if result.get("isError"):
            raise RuntimeError(f"tool {name} failed: {payload}")
        return payload
