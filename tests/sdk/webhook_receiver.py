"""A webhook receiver for the tests: listens on 127.0.0.1:<port> and appends every POST it
gets ({"headers": lower-case names, "raw": the body, "body": parsed}) as one JSON line to <file>, answering 200.

Run as its own process, so a test can kill it and start it again on the same port."""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        record = {"headers": {k.lower(): v for k, v in self.headers.items()}, "raw": body.decode(), "body": json.loads(body)}
        with open(OUT, "a") as out:
            out.write(json.dumps(record) + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port, OUT = int(sys.argv[1]), sys.argv[2]
    ThreadingHTTPServer.allow_reuse_address = True
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print("ready", flush=True)
    server.serve_forever()
