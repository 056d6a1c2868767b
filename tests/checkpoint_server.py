"""A local HTTP server for the tests that load checkpoints from URLs, and
a checkpoint whose pickle runs a command when it is unpickled."""
import http.server
import os
import threading
from pathlib import Path
from types import SimpleNamespace

import torch


class RunsCommand:
    """Unpickled as ``os.system(command)``: a pickle payload."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command, ))


def save_payload_checkpoint(path, marker):
    """A checkpoint that, when unpickled without restriction, creates the
    file ``marker``."""
    torch.save({'state_dict': {}, 'meta': RunsCommand(f'touch {marker}')},
               path)
    return path


#: environment that makes urllib reach the test server directly
NO_PROXY = {name: '127.0.0.1,localhost' for name in ('NO_PROXY', 'no_proxy')}


def start_server(root):
    """Serve the folder ``root`` on 127.0.0.1 from a thread.

    Returns a namespace with ``url`` (no trailing slash), ``requests`` (the
    paths asked for, in order) and ``stop()``. Callers set ``NO_PROXY``
    (:data:`NO_PROXY`) so that a configured proxy is bypassed.
    """
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):

        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    def stop():
        server.shutdown()
        server.server_close()

    return SimpleNamespace(url=f'http://127.0.0.1:{server.server_port}',
                           root=Path(root), requests=requests, stop=stop)
