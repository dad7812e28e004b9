"""A real SMTP server for the notify tests (aiosmtpd): writes each accepted message, byte for
byte as received, to OUT_DIR/<n>.eml.

    python smtp_sink.py PORT OUT_DIR [ACCEPT_LIMIT]

Prints "ready" once listening on 127.0.0.1:PORT. With ACCEPT_LIMIT, after that many messages
the server refuses the next one (421, "shutting down") and exits: a mail server going down in
the middle of a run. With SINK_AUTH=user:password in the environment, clients must AUTH
(PLAIN or LOGIN) with those credentials. With SINK_TLS=cert.pem:key.pem, the server offers
STARTTLS with that certificate and requires it before MAIL.
"""

import os
import sys
import threading

from aiosmtpd.controller import Controller

port = int(sys.argv[1])
out_dir = sys.argv[2]
limit = int(sys.argv[3]) if len(sys.argv) > 3 else None
lock = threading.Lock()


class Sink:
    def __init__(self):
        self.accepted = 0

    async def handle_DATA(self, server, session, envelope):
        with lock:
            if limit is not None and self.accepted >= limit:
                threading.Timer(0.05, lambda: os._exit(0)).start()
                return "421 4.3.2 Service shutting down"
            self.accepted += 1
            n = len([f for f in os.listdir(out_dir) if f.endswith(".eml")]) + 1
            path = os.path.join(out_dir, f"{n:04d}.eml")
            with open(path + ".tmp", "wb") as f:
                f.write(envelope.original_content)
            os.replace(path + ".tmp", path)
        return "250 2.0.0 OK"


auth = os.environ.get("SINK_AUTH")
options = {}
if auth:
    from aiosmtpd.smtp import AuthResult

    user, password = auth.split(":", 1)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == user.encode() and auth_data.password == password.encode()
        # handled=False: aiosmtpd answers 535 itself on failure.
        return AuthResult(success=ok, handled=False)

    # Loopback only: AUTH without TLS is acceptable in the test, never in deployment.
    options = dict(authenticator=authenticator, auth_required=True, auth_require_tls=False)

tls = os.environ.get("SINK_TLS")
if tls:
    import ssl

    cert, key = tls.split(":", 1)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    options.update(tls_context=context, require_starttls=True)

controller = Controller(Sink(), hostname="127.0.0.1", port=port, **options)
controller.start()
print("ready", flush=True)
threading.Event().wait()
