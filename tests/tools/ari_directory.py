#!/usr/bin/env python3
"""A stand-in for a CA that offers ARI (RFC 9773), in front of a Pebble that does not: serves
Pebble's directory with "renewalInfo" added, and renewalInfo documents chosen by certID.
Every other request (nonces, accounts, orders) is forwarded to Pebble with this server's Host,
so Pebble names its URLs (and account kids) here and a JWS's "url" matches; the payload of each
newOrder is logged to STATE_DIR/orders (one JSON a line: what a client sent as "replaces").

usage: ari_directory.py PORT PEBBLE_DIRECTORY CA_FILE CERT KEY STATE_DIR
  STATE_DIR/later  certIDs (one a line) whose window is a month away
  STATE_DIR/bad    certIDs answered with a document that is not a window
  any other certID: a window that ended yesterday. Each request is logged to STATE_DIR/log.
"""
import base64, datetime, http.server, json, os, ssl, sys, urllib.error, urllib.parse, urllib.request

port, upstream, ca_file, cert, key, state = sys.argv[1:7]
ctx = ssl.create_default_context(cafile=ca_file)
directory = json.load(urllib.request.urlopen(upstream, context=ctx))
here = f"127.0.0.1:{port}"
upstream_host = urllib.parse.urlsplit(upstream).netloc
new_order_path = urllib.parse.urlsplit(directory["newOrder"]).path
for name, url in list(directory.items()):
    if isinstance(url, str) and urllib.parse.urlsplit(url).netloc == upstream_host:
        directory[name] = url.replace(upstream_host, here, 1)
directory["renewalInfo"] = f"https://{here}/ari/"


def ids(name):
    try:
        return set(open(os.path.join(state, name)).read().split())
    except FileNotFoundError:
        return set()


def stamp(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def b64url_json(text):
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)) or b"null")


class Handler(http.server.BaseHTTPRequestHandler):
    def forward(self, method):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
        if method == "POST" and self.path == new_order_path:
            with open(os.path.join(state, "orders"), "a") as log:
                log.write(json.dumps(b64url_json(json.loads(body)["payload"])) + "\n")
        headers = {"Host": here}
        if self.headers.get("Content-Type"):
            headers["Content-Type"] = self.headers["Content-Type"]
        req = urllib.request.Request(f"https://{upstream_host}{self.path}", data=body or None,
                                     headers=headers, method=method)
        try:
            r = urllib.request.urlopen(req, context=ctx)
        except urllib.error.HTTPError as e:
            r = e
        data = r.read()
        self.send_response(r.status if hasattr(r, "status") else r.code)
        for name in ("Content-Type", "Location", "Replay-Nonce", "Link", "Retry-After", "Cache-Control"):
            for value in r.headers.get_all(name) or []:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(data)

    def do_POST(self):
        self.forward("POST")

    def do_HEAD(self):
        self.forward("HEAD")

    def do_GET(self):
        if self.path != "/dir" and not self.path.startswith("/ari/"):
            self.forward("GET")
            return
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
