"""Template of the stand-in MCP server (`mcp_server/__main__.py` in every fake source version)."""

from __future__ import annotations

from praxis_upgrade.demo.releases import Release

MAIN_TEMPLATE = r'''"""prAxIs OS MCP server (sandbox stand-in, stdlib only).

MCP over stdio: newline-delimited JSON-RPC 2.0 on stdin/stdout, logs on stderr.
Usage: python -m mcp_server --transport {dual,stdio,http} [--log-level LEVEL]
Fault switches (env): FAKE_MCP_FAIL_START=1, FAKE_MCP_START_DELAY=<s>, FAKE_MCP_CRASH_AFTER=<n>,
FAKE_MCP_DROP_TOOL=<name>, FAKE_MCP_HANG=1, FAKE_MCP_IGNORE_SIGTERM=1.
The real server's habits (env): FAKE_MCP_START_CPU=<s> burns CPU for <s> seconds before it
answers (like loading an embedding model), FAKE_MCP_STRAY_STDOUT=<text> prints a stray line on
stdout before speaking MCP (a library that prints), FAKE_MCP_CRASH_START=<message> dies during
start-up with a traceback on stderr.
"""
import argparse
import datetime
import importlib
import inspect
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

VERSION = "@VERSION@"
FRAMEWORK_VERSION = "1.26.0"  # like the real server, initialize names its MCP framework's version
TRANSPORT_REQUIRED = @TRANSPORT_REQUIRED@
REQUIRED_FAKEDEP = "@FAKEDEP@"
INDEX_TABLE = "@INDEX_TABLE@"
SUPPORTED_PROTOCOLS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
FALLBACK_PROTOCOL = "2025-06-18"
DEFAULT_GROUPS = ["rag", "workflow", "browser"]
STATE_FILE = ".mcp_server_state.json"

logger = logging.getLogger("mcp_server")
_JSON_TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean",
               "dict": "object", "list": "array"}


class ToolTable:
    """The `mcp` object tool modules decorate with `@mcp.tool()`."""

    def __init__(self):
        self.tools = {}

    def tool(self):
        def decorate(fn):
            self.tools[fn.__name__] = fn
            return fn
        return decorate

    def schema(self, fn):
        props, required = {}, []
        for name, param in inspect.signature(fn).parameters.items():
            ann = param.annotation
            ann = getattr(ann, "__name__", str(ann))
            props[name] = {"type": _JSON_TYPES.get(ann, "string")}
            if param.default is inspect.Parameter.empty:
                required.append(name)
        return {"type": "object", "properties": props, "required": required}

    def listing(self):
        return [{"name": name, "description": inspect.getdoc(fn) or name,
                 "inputSchema": self.schema(fn)} for name, fn in sorted(self.tools.items())]


class Context:
    def __init__(self, base, config, transport):
        rag = config.get("rag", {}) if isinstance(config.get("rag"), dict) else {}
        self.base = base
        self.project_root = base.parent
        self.standards_path = self.project_root / rag.get("standards_path", ".praxis-os/standards")
        self.workflows_path = self.project_root / rag.get("workflows_path", ".praxis-os/workflows")
        self.index_path = self.project_root / rag.get("index_path",
                                                      ".praxis-os/.cache/vector_index")
        self.state_dir = base / ".cache" / "state"
        self.version = VERSION
        self.index_table = INDEX_TABLE
        self.transport = transport
        self.port = None
        self.pid = os.getpid()
        self.started = time.time()
        self.started_at = datetime.datetime.now(datetime.timezone.utc).isoformat()
        self.tools = []


class RpcError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class Server:
    def __init__(self, table, ctx):
        self.table, self.ctx = table, ctx
        self.requests = 0
        self.crash_after = os.environ.get("FAKE_MCP_CRASH_AFTER")
        self.lock = threading.Lock()

    def handle(self, msg):
        """Answer one JSON-RPC message; None for notifications."""
        if not isinstance(msg, dict) or msg.get("jsonrpc") != "2.0" or "method" not in msg:
            if (isinstance(msg, dict) and "method" not in msg
                    and ("result" in msg or "error" in msg)):
                return None  # a response from the client: nothing to do
            return _error(msg.get("id") if isinstance(msg, dict) else None, -32600,
                          "Invalid Request")
        if "id" not in msg:
            logger.debug("notification %s", msg["method"])
            return None
        with self.lock:
            if self.crash_after is not None and self.requests >= int(self.crash_after):
                sys.stderr.write("FAKE_MCP_CRASH_AFTER reached: crashing\n")
                sys.stderr.flush()
                os._exit(3)
            self.requests += 1
        try:
            return {"jsonrpc": "2.0", "id": msg["id"],
                    "result": self.dispatch(msg["method"], msg.get("params"))}
        except RpcError as exc:
            return _error(msg["id"], exc.code, str(exc))

    def dispatch(self, method, params):
        if params is not None and not isinstance(params, dict):
            raise RpcError(-32602, "params must be an object")
        params = params or {}
        if method == "initialize":
            asked = params.get("protocolVersion")
            if not isinstance(asked, str):
                raise RpcError(-32602, "initialize requires protocolVersion")
            return {"protocolVersion": asked if asked in SUPPORTED_PROTOCOLS else FALLBACK_PROTOCOL,
                    "capabilities": {"tools": {"listChanged": False}},
                    "serverInfo": {"name": "praxis-os-rag", "version": FRAMEWORK_VERSION}}
        if method == "ping":
            return {}
        if method == "tools/list":
            return {"tools": self.table.listing()}
        if method == "tools/call":
            return self.call(params)
        raise RpcError(-32601, "Method not found: %s" % method)

    def call(self, params):
        name, args = params.get("name"), params.get("arguments") or {}
        if name not in self.table.tools:
            raise RpcError(-32602, "Unknown tool: %s" % name)
        if not isinstance(args, dict):
            raise RpcError(-32602, "arguments must be an object")
        fn = self.table.tools[name]
        try:
            inspect.signature(fn).bind(**args)
        except TypeError as exc:
            raise RpcError(-32602, "Invalid arguments for %s: %s" % (name, exc)) from None
        try:
            result, is_error = fn(**args), False
        except Exception as exc:  # a tool failure is a result, not a protocol error
            logger.exception("tool %s failed", name)
            result, is_error = {"error": str(exc), "error_type": type(exc).__name__}, True
        return {"content": [{"type": "text", "text": json.dumps(result, default=str)}],
                "isError": is_error}


def _error(msg_id, code, message):
    return {"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}}


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m mcp_server",
                                     description="prAxIs OS MCP server")
    parser.add_argument("--transport", choices=["dual", "stdio", "http"],
                        required=TRANSPORT_REQUIRED,
                        default=None if TRANSPORT_REQUIRED else "stdio",
                        help="transport mode (required since 1.6.0)")
    parser.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        default="INFO")
    return parser.parse_args(argv)


def find_base():
    env = os.environ.get("AGENT_OS_BASE_PATH")
    candidates = []
    if env:
        candidates += [Path(env) / ".praxis-os", Path(env)]
    candidates += [Path.cwd() / ".praxis-os", Path(__file__).resolve().parent.parent]
    for candidate in candidates:
        if (candidate / "mcp_server").is_dir() or (candidate / "standards").is_dir():
            return candidate.resolve()
    return None


def load_config(base):
    try:
        with open(base / "config.json", encoding="utf-8") as f:
            config = json.load(f)
        return config if isinstance(config, dict) else {}
    except (OSError, ValueError):
        return {}


def check_fakedep():
    try:
        import fakedep
    except ImportError:
        return "fakedep is not installed (this server needs fakedep==%s); run: " \
               "venv/bin/python -m pip install -r mcp_server/requirements.txt" % REQUIRED_FAKEDEP
    if fakedep.__version__ != REQUIRED_FAKEDEP:
        return "fakedep %s is installed but prAxIs OS %s requires fakedep==%s; dependencies were " \
               "not upgraded" % (fakedep.__version__, VERSION, REQUIRED_FAKEDEP)
    return None


def register_tools(table, ctx, config):
    mcp_cfg = config.get("mcp", {}) if isinstance(config.get("mcp"), dict) else {}
    groups = mcp_cfg.get("enabled_tool_groups", DEFAULT_GROUPS)
    registry = importlib.import_module("mcp_server.server.tools.registry")
    registry.register_all_tools(table, ctx, groups)
    dropped = os.environ.get("FAKE_MCP_DROP_TOOL")
    if dropped:
        table.tools.pop(dropped, None)
    ctx.tools = sorted(table.tools)


def write_state(ctx):
    project = {"name": ctx.project_root.name, "root": str(ctx.project_root)}
    url = "http://127.0.0.1:%d/mcp" % ctx.port if ctx.port else None
    state = {"version": VERSION, "transport": ctx.transport, "port": ctx.port,
             "host": "127.0.0.1" if ctx.port else None, "path": "/mcp" if ctx.port else None,
             "url": url, "pid": ctx.pid, "started_at": ctx.started_at, "project": project}
    path = ctx.base / STATE_FILE
    tmp = ctx.base / ".mcp_server_state.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(state, f, indent=2)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def remove_state(ctx):
    path = ctx.base / STATE_FILE
    try:
        with open(path, encoding="utf-8") as f:
            if json.load(f).get("pid") != ctx.pid:
                return  # another server of this project owns it now
        path.unlink()
    except (OSError, ValueError):
        pass


def serve_http(server, ctx):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            if self.path != "/mcp":
                self.send_error(404)
                return
            body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
            try:
                reply = server.handle(json.loads(body))
            except ValueError:
                reply = _error(None, -32700, "Parse error")
            data = json.dumps(reply).encode() if reply is not None else b""
            self.send_response(200 if reply is not None else 202)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, fmt, *args):
            logger.debug("http: " + fmt, *args)

    for port in range(4242, 5243):
        try:
            httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        except OSError:
            continue
        ctx.port = port
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        return
    raise RuntimeError("no free port in 4242-5242")


def serve_stdio(server):
    out = sys.stdout
    for raw in sys.stdin.buffer:
        line = raw.decode("utf-8", "replace").strip()
        if not line:
            continue
        try:
            msg = json.loads(line)
        except ValueError:
            reply = _error(None, -32700, "Parse error")
        else:
            reply = server.handle(msg)
        if reply is not None:
            out.write(json.dumps(reply, ensure_ascii=False) + "\n")
            out.flush()


def _terminate(signum, frame):
    raise SystemExit(0)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(stream=sys.stderr, level=args.log_level,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    delay = float(os.environ.get("FAKE_MCP_START_DELAY", "0") or 0)
    if delay:
        time.sleep(delay)
    burn = float(os.environ.get("FAKE_MCP_START_CPU", "0") or 0)
    if burn:
        logger.info("loading the embedding model ...")
        until, spin = time.monotonic() + burn, 0
        while time.monotonic() < until:
            spin = (spin * 31 + 7) % 1000003
    stray = os.environ.get("FAKE_MCP_STRAY_STDOUT")
    if stray:
        print(stray, flush=True)
    crash = os.environ.get("FAKE_MCP_CRASH_START")
    if crash:
        raise RuntimeError(crash)
    if os.environ.get("FAKE_MCP_FAIL_START") == "1":
        logger.error("FAKE_MCP_FAIL_START=1: refusing to start")
        return 1
    problem = check_fakedep()
    if problem:
        logger.error("%s", problem)
        return 1
    base = find_base()
    if base is None:
        logger.error("Could not find .praxis-os directory "
                     "(set AGENT_OS_BASE_PATH or run from the project root)")
        return 1
    config = load_config(base)
    ctx = Context(base, config, args.transport)
    for label, path in (("standards_path", ctx.standards_path),
                        ("workflows_path", ctx.workflows_path)):
        if not path.is_dir():
            logger.error("Configuration validation failed: %s does not exist or is not a "
                         "directory: %s", label, path)
            return 1
    ctx.state_dir.mkdir(parents=True, exist_ok=True)
    table = ToolTable()
    register_tools(table, ctx, config)
    server = Server(table, ctx)
    if args.transport in ("http", "dual"):
        serve_http(server, ctx)
    signal.signal(signal.SIGTERM, signal.SIG_IGN if os.environ.get("FAKE_MCP_IGNORE_SIGTERM") == "1"
                  else _terminate)
    write_state(ctx)
    logger.info("prAxIs OS MCP server %s ready (transport=%s, tools=%s)", VERSION, args.transport,
                ",".join(ctx.tools))
    try:
        if os.environ.get("FAKE_MCP_HANG") == "1":
            logger.warning("FAKE_MCP_HANG=1: not answering")
            while True:
                time.sleep(3600)
        if args.transport == "http":
            while True:
                time.sleep(3600)
        serve_stdio(server)
    except KeyboardInterrupt:
        pass
    finally:
        remove_state(ctx)
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''


def main_module(rel: Release) -> str:
    """The stand-in server's `__main__.py` text for one release."""
    return (
        MAIN_TEMPLATE.replace("@VERSION@", rel.version)
        .replace("@TRANSPORT_REQUIRED@", str(rel.transport_required))
        .replace("@FAKEDEP@", rel.fakedep)
        .replace("@INDEX_TABLE@", rel.index_table)
    )
