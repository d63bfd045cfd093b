"""A real SMTP server for campanile's email tests: aiosmtpd on 127.0.0.1.

Every accepted message is written to OUT_DIR/N.json: the envelope, the headers and each MIME
part, decoded with Python's email package, plus the raw message. The listening port is written
to OUT_DIR/port once the server accepts connections.

Options: --tls none|starttls|implicit, --cert/--key (PEM) for TLS, --auth USER:PASSWORD to
require authentication, --reject CODE (repeatable): answer the next messages' DATA with these
SMTP replies, in order, before accepting.
"""

import argparse
import socket
import json
import os
import ssl
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

REPLIES = {
    "451": "451 4.3.0 Try again later",
    "550": "550 5.7.1 Relaying denied",
}


class Recorder:
    def __init__(self, out_dir, rejects):
        self.out_dir = out_dir
        self.rejects = list(rejects)
        self.count = 0
        self.refused = 0

    async def handle_DATA(self, server, session, envelope):
        if self.rejects:
            code = self.rejects.pop(0)
            self.refused += 1
            with open(os.path.join(self.out_dir, "refused-%d" % self.refused), "w") as f:
                f.write(code)
            return REPLIES[code]
        import email
        from email import policy

        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=policy.default)
        parts = []
        for part in message.walk():
            if part.is_multipart():
                continue
            parts.append(
                {
                    "content_type": part.get_content_type(),
                    "charset": part.get_content_charset(),
                    "content": part.get_content(),
                }
            )
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "authenticated_as": login_of(session),
            "tls": uses_tls(server, session),
            "content_type": message.get_content_type(),
            "headers": {k: str(v) for k, v in message.items()},
            "parts": parts,
            "raw": raw.decode("utf-8", "replace"),
        }
        self.count += 1
        path = os.path.join(self.out_dir, "%d.json" % self.count)
        with open(path + ".tmp", "w") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)
        return "250 2.0.0 Message accepted"


def uses_tls(server, session):
    """Whether this session is encrypted: after STARTTLS (session.ssl) or from the first byte
    (implicit TLS, where aiosmtpd leaves session.ssl unset but the transport is TLS)."""
    if session.ssl is not None:
        return True
    transport = getattr(server, "transport", None)
    return transport is not None and transport.get_extra_info("ssl_object") is not None


def login_of(session):
    """The user the session authenticated as, if any."""
    login = getattr(session, "auth_data", None)
    if not getattr(session, "authenticated", False):
        return None
    return login.decode() if isinstance(login, bytes) else str(login)


def authenticator_for(user, password):
    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == user
            and auth_data.password.decode() == password
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data.login if ok else None)

    return authenticate


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--tls", default="none", choices=["none", "starttls", "implicit"])
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--auth")
    p.add_argument("--reject", action="append", default=[], choices=sorted(REPLIES))
    a = p.parse_args()

    context = None
    if a.tls != "none":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(a.cert, a.key)
    # Debian's aiosmtpd connects to its own port to check it started, so it cannot take port 0:
    # ask the kernel for a free port first.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    kwargs = {"hostname": "127.0.0.1", "port": free_port, "server_hostname": "smtp.campanile.test"}
    if a.tls == "starttls":
        kwargs.update(tls_context=context, require_starttls=True)
    elif a.tls == "implicit":
        kwargs.update(ssl_context=context)
    if a.auth:
        user, password = a.auth.split(":", 1)
        kwargs.update(
            authenticator=authenticator_for(user, password),
            auth_required=True,
            auth_require_tls=True,
        )
    controller = Controller(Recorder(a.out, a.reject), **kwargs)
    controller.start()
    port = controller.server.sockets[0].getsockname()[1]
    with open(os.path.join(a.out, "port.tmp"), "w") as f:
        f.write(str(port))
    os.rename(os.path.join(a.out, "port.tmp"), os.path.join(a.out, "port"))
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
