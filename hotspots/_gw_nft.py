"""Talking to nftables: libnftables in-process when available, else the ``nft`` command.

Each call is one transaction either way (``nft -f`` semantics). In-process avoids forking the
gateway's Python process for every accept, which under a crowd costs more than the rule
update itself.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import subprocess
import threading

from villenum.errors import GatewayError

_OUTPUT_JSON = 1 << 4  # NFT_CTX_OUTPUT_JSON
_lib: ctypes.CDLL | None = None
_lib_lock = threading.Lock()
_lib_tried = False


def _libnftables() -> ctypes.CDLL | None:
    global _lib, _lib_tried
    with _lib_lock:
        if not _lib_tried:
            _lib_tried = True
            name = ctypes.util.find_library("nftables") or "libnftables.so.1"
            try:
                lib = ctypes.CDLL(name)
            except OSError:
                return None
            lib.nft_ctx_new.restype = ctypes.c_void_p
            lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
            lib.nft_ctx_free.argtypes = [ctypes.c_void_p]
            lib.nft_ctx_buffer_output.argtypes = [ctypes.c_void_p]
            lib.nft_ctx_buffer_error.argtypes = [ctypes.c_void_p]
            lib.nft_ctx_get_output_buffer.restype = ctypes.c_char_p
            lib.nft_ctx_get_output_buffer.argtypes = [ctypes.c_void_p]
            lib.nft_ctx_get_error_buffer.restype = ctypes.c_char_p
            lib.nft_ctx_get_error_buffer.argtypes = [ctypes.c_void_p]
            lib.nft_ctx_output_set_flags.argtypes = [ctypes.c_void_p, ctypes.c_uint]
            lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
            _lib = lib
    return _lib


def nft(commands: str, json_output: bool = False) -> str:
    """Run nft commands as one transaction and return nft's output.

    Parameters
    ----------
    commands
        nft script text (what ``nft -f -`` reads).
    json_output
        Ask for JSON output (for ``list`` commands).

    Raises
    ------
    GatewayError
        If nftables refuses the commands (with its first error line) or is not installed.
    """
    lib = _libnftables()
    if lib is None:
        return _nft_command(commands, json_output)
    ctx = lib.nft_ctx_new(0)
    if not ctx:
        return _nft_command(commands, json_output)
    try:
        lib.nft_ctx_buffer_output(ctx)
        lib.nft_ctx_buffer_error(ctx)
        if json_output:
            lib.nft_ctx_output_set_flags(ctx, _OUTPUT_JSON)
        status = lib.nft_run_cmd_from_buffer(ctx, commands.encode())
        output = (lib.nft_ctx_get_output_buffer(ctx) or b"").decode()
        error = (lib.nft_ctx_get_error_buffer(ctx) or b"").decode()
    finally:
        lib.nft_ctx_free(ctx)
    if status != 0:
        raise GatewayError(f"nft refused the gateway rules: {_first_line(error)}")
    return output


def _nft_command(commands: str, json_output: bool) -> str:
    cmd = ["nft", "-j", "-f", "-"] if json_output else ["nft", "-f", "-"]
    try:
        proc = subprocess.run(cmd, input=commands, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise GatewayError("nftables is not installed (Debian package nftables)") from None
    if proc.returncode != 0:
        raise GatewayError(f"nft refused the gateway rules: {_first_line(proc.stderr)}")
    return proc.stdout


def _first_line(text: str) -> str:
    return next((ln.strip() for ln in text.splitlines() if ln.strip()), "unknown error")
