"""What the end-to-end Python clients share: the protocol modes and how an error is reported."""

from mcp.shared.exceptions import MCPError

# Client(mode=...): a modern version string adopts it directly (no probe, no fallback);
# "legacy" forces the initialize handshake. "auto" (the default) would probe and fall back.
MODERN = "2026-07-28"
CLIENT_MODE = {"modern": MODERN, "legacy": "legacy"}


def error_of(e: BaseException) -> dict:
    """An exception as a JSON-able report; anyio task groups wrap what failed inside them: unwrap a lone one."""
    while len(getattr(e, "exceptions", ())) == 1:
        e = e.exceptions[0]
    out = {"type": type(e).__name__, "message": str(e)}
    if isinstance(e, MCPError):
        out.update(code=e.code, message=e.message)
    return out
