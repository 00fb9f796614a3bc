"""The fake praxis-os release history: what each tagged version ships and how it differs."""

from __future__ import annotations

from dataclasses import dataclass

LEGACY_WORKFLOW_TOOLS = (
    "start_workflow",
    "get_current_phase",
    "get_task",
    "complete_phase",
    "get_workflow_state",
    "create_workflow",
)


@dataclass(frozen=True)
class Release:
    """One tagged version of the fake source and the facts tests may assert about it."""

    tag: str
    version: str
    date: str
    tool_modules: dict[str, tuple[str, ...]]  # module under server/tools -> tool names
    workflows: tuple[str, ...]
    has_usage: bool
    transport_required: bool
    fakedep: str
    index_table: str
    meta_dir: str  # standards category holding meta-workflow docs
    process_doc: str  # ai-assistant/<name>.md, renamed in v1.6.0
    workflow_tools_package: bool  # workflow_tools.py split into a package

    @property
    def tools(self) -> tuple[str, ...]:
        """Every tool name this version defines (with all groups enabled), sorted."""
        return tuple(sorted(t for names in self.tool_modules.values() for t in names))

    @property
    def mcp_server_key(self) -> str:
        return "praxis-os" if self.version >= "1.6" else "agent-os-rag"


RELEASES: tuple[Release, ...] = (
    Release(
        tag="v1.3.0",
        version="1.3.0",
        date="2025-10-07T12:00:00+00:00",
        tool_modules={
            "rag_tools": ("search_standards",),
            "workflow_tools": LEGACY_WORKFLOW_TOOLS,
            "server_info_tools": ("current_date",),
        },
        workflows=("spec_creation_v1", "spec_execution_v1", "workflow_creation_v1"),
        has_usage=True,
        transport_required=False,
        fakedep="1.0",
        index_table="agent_os_standards",
        meta_dir="meta-framework",
        process_doc="agent-os-development-process",
        workflow_tools_package=False,
    ),
    Release(
        tag="v1.4.0",
        version="1.4.0",
        date="2025-10-14T12:00:00+00:00",
        tool_modules={
            "rag_tools": ("search_standards",),
            "workflow_tools": (*LEGACY_WORKFLOW_TOOLS, "validate_workflow"),
            "browser_tools": ("aos_browser",),
            "server_info_tools": ("get_server_info", "current_date"),
        },
        workflows=(
            "spec_creation_v1",
            "spec_execution_v1",
            "workflow_creation_v1",
            "agent_os_upgrade_v1",
        ),
        has_usage=True,
        transport_required=False,
        fakedep="1.0",
        index_table="agent_os_standards",
        meta_dir="meta-framework",
        process_doc="agent-os-development-process",
        workflow_tools_package=False,
    ),
    Release(
        tag="v1.5.0",
        version="1.5.0",
        date="2025-10-23T12:00:00+00:00",
        tool_modules={
            "rag_tools": ("search_standards",),
            "workflow_tools": ("aos_workflow",),
            "browser_tools": ("aos_browser",),
            "server_info_tools": ("get_server_info", "current_date"),
        },
        workflows=(
            "spec_creation_v1",
            "spec_execution_v1",
            "workflow_creation_v1",
            "agent_os_upgrade_v1",
            "standards_creation_v1",
        ),
        has_usage=False,
        transport_required=False,
        fakedep="1.0",
        index_table="agent_os_standards",
        meta_dir="meta-framework",
        process_doc="agent-os-development-process",
        workflow_tools_package=True,
    ),
    Release(
        tag="v1.6.0",
        version="1.6.0",
        date="2025-10-29T12:00:00+00:00",
        tool_modules={
            "rag_tools": ("search_standards",),
            "workflow_tools": ("pos_workflow",),
            "browser_tools": ("pos_browser",),
            "server_info_tools": ("get_server_info", "current_date"),
        },
        workflows=(
            "spec_creation_v1",
            "spec_execution_v1",
            "workflow_creation_v1",
            "praxis_os_upgrade_v1",
            "standards_creation_v1",
        ),
        has_usage=False,
        transport_required=True,
        fakedep="2.0",
        index_table="praxis_os_standards",
        meta_dir="meta-workflow",
        process_doc="praxis-os-development-process",
        workflow_tools_package=True,
    ),
)

TAGS: tuple[str, ...] = tuple(r.tag for r in RELEASES)

# workflow renames between consecutive releases: old name -> new name
WORKFLOW_RENAMES = {"agent_os_upgrade_v1": "praxis_os_upgrade_v1"}

TOOL_GROUPS = {
    "rag_tools": "rag",
    "workflow_tools": "workflow",
    "browser_tools": "browser",
    "server_info_tools": "always",
}


def release(tag: str) -> Release:
    """The release for `tag` ("v1.5.0" or "1.5.0")."""
    wanted = tag if tag.startswith("v") else f"v{tag}"
    for r in RELEASES:
        if r.tag == wanted:
            return r
    raise KeyError(f"no sandbox release {tag!r}; known: {', '.join(TAGS)}")
