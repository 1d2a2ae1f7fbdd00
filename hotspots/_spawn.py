"""Worker processes as fresh interpreters talking pickles over a socket pair.

Both the SNMP poller's workers and the gateway's portal workers start this way rather than
through :mod:`multiprocessing`: forking is unsafe (their parents run threads and hold open
databases and sockets); ``spawn`` re-runs the parent's main script in every child (a script
without a ``__main__`` guard would start itself again) and adds a resource-tracker process,
13 MB of RSS that neither needs.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from multiprocessing.connection import Connection


def spawn_worker(entry: str, first_message: object) -> tuple[subprocess.Popen[bytes], Connection]:
    """Start ``entry`` (``"package.module:function"``) in a new interpreter.

    The function is called with the file descriptor of the child's end of a socket pair
    (wrap it in :class:`multiprocessing.connection.Connection`); ``first_message`` is the
    first thing it receives there. The child's end closes when the parent's does, so a
    worker can tell that its parent died.

    Returns
    -------
    (process, connection)
        The child and the parent's end of the socket pair.
    """
    module, function = entry.split(":")
    mine, theirs = socket.socketpair()
    with theirs:
        fd = theirs.fileno()
        process = subprocess.Popen(
            [sys.executable, "-c", f"from {module} import {function}; {function}({fd})"],
            pass_fds=[fd],
            stdin=subprocess.DEVNULL,
        )
    connection = Connection(mine.detach())
    connection.send(first_message)
    return process, connection
