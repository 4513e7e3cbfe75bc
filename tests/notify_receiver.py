"""A tiny HTTP server standing in for Google's notification endpoint in the notification tests."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """Keeps each PATCH (path, query, content type, body) and answers the next scripted status, else `status`."""

    def __init__(self, status: int = 200):
        self.received: list[dict] = []
        self.script: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_PATCH(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                path, _, query = self.path.partition("?")
                receiver.received.append(
                    {"path": path, "query": query, "type": self.headers["Content-Type"], "body": json.loads(body)}
                )
                answer_status = receiver.script.pop(0) if receiver.script else status
                answer = json.dumps({"echo": True} if answer_status == 200 else {"error": answer_status}).encode()
                self.send_response(answer_status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        """Stop serving and free the port."""
        self.server.shutdown()
        self.server.server_close()
