#!/usr/bin/env python3
"""A stand-in for a CA that offers ARI (RFC 9773), in front of a Pebble that does not: serves
Pebble's directory with "renewalInfo" added, and renewalInfo documents chosen by certID.
Everything else (nonces, accounts, orders) stays Pebble's own URLs.

usage: ari_directory.py PORT PEBBLE_DIRECTORY CA_FILE CERT KEY STATE_DIR
  STATE_DIR/later  certIDs (one a line) whose window is a month away
  STATE_DIR/bad    certIDs answered with a document that is not a window
  any other certID: a window that ended yesterday. Each request is logged to STATE_DIR/log.
"""
import datetime, http.server, json, os, ssl, sys, urllib.request

port, upstream, ca_file, cert, key, state = sys.argv[1:7]
ctx = ssl.create_default_context(cafile=ca_file)
directory = json.load(urllib.request.urlopen(upstream, context=ctx))
directory["renewalInfo"] = f"https://127.0.0.1:{port}/ari/"


def ids(name):
    try:
        return set(open(os.path.join(state, name)).read().split())
    except FileNotFoundError:
        return set()


def stamp(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(os.path.join(state, "log"), "a") as log:
            log.write(self.path + "\n")
        now = datetime.datetime.now(datetime.timezone.utc)
        if self.path == "/dir":
            body = json.dumps(directory)
        elif self.path.startswith("/ari/"):
            cert_id = self.path[len("/ari/"):]
            if cert_id in ids("bad"):
                body = '{"suggestedWindow": {"start": "tomorrow"}}'
            elif cert_id in ids("later"):
                body = json.dumps({"suggestedWindow": {
                    "start": stamp(now + datetime.timedelta(days=30)),
                    "end": stamp(now + datetime.timedelta(days=31))},
                    "explanationURL": "https://ca.example/why"})
            else:
                body = json.dumps({"suggestedWindow": {
                    "start": stamp(now - datetime.timedelta(days=2)),
                    "end": stamp(now - datetime.timedelta(days=1))}})
        else:
            self.send_error(404)
            return
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Retry-After", "21600")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Handler)
tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
tls.load_cert_chain(cert, key)
server.socket = tls.wrap_socket(server.socket, server_side=True)
server.serve_forever()
