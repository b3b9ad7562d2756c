"""The SDK's own MCP client, connected in-process to paperchat's MCP server over one bot: for
synchronous tests, its event loop in a portal's thread."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from anyio.from_thread import start_blocking_portal
from mcp import Client
from mcp_types import CallToolResult

from bot import PaperBot
from bot.surfaces.mcp_server import build_server


class Session:
    """A connected MCP client for synchronous tests: its event loop runs in a portal's
    thread, for as long as the session is open."""

    def __init__(self, portal, client: Client):
        self.portal, self.client = portal, client

    def tools(self) -> dict:
        return {tool.name: tool for tool in self.portal.call(self.client.list_tools).tools}

    def call(self, name: str, **arguments) -> CallToolResult:
        return self.portal.call(self.client.call_tool, name, arguments)

    def ok(self, name: str, **arguments) -> dict:
        """A call that succeeds: its structured content."""
        result = self.call(name, **arguments)
        assert not result.is_error, result.content
        assert result.content[0].type == "text" and result.content[0].text
        return result.structured_content

    def error(self, name: str, **arguments) -> str:
        """A call that fails as a tool error: its message."""
        result = self.call(name, **arguments)
        assert result.is_error and result.structured_content is None
        (content,) = result.content
        assert "Traceback" not in content.text
        return content.text


@contextlib.contextmanager
def mcp_session(bot: PaperBot) -> Iterator[Session]:
    with start_blocking_portal() as portal, \
            portal.wrap_async_context_manager(Client(build_server(lambda: bot))) as client:
        yield Session(portal, client)
