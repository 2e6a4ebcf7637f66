"""Mask credentials in URLs before they are shown anywhere: logs, errors, APIs, metrics, cases.

Cameras are addressed as `rtsp://admin:Secret123@10.0.0.5/stream2`, and FFmpeg and our own
messages repeat the URL whenever a camera fails. The password must not leave the box in a log
line an installer pastes into a ticket, in `/cameras`, in a metrics label or in a case. This is
the one home for that rule (edge and case service alike): `mask_url` for a URL we hold,
`mask_secrets` for free text that may contain one (an exception message, a log record), and
`SecretMaskingFilter` so every log handler applies it whatever the code that logged forgot.

What is masked: the password of `user:password@` (the user name stays, an installer needs it to
tell which account is configured), a user-info without a colon that looks like a token
(`rtsp://TOKEN@host`), and the values of query parameters whose names say they are secrets
(`?password=…`, `&token=…`; some cameras take credentials that way).
"""

from __future__ import annotations

import logging
import re

MASK = "***"

# Query parameter names that carry credentials in camera and stream URLs (Hikvision/Dahua
# `?username=…&password=…`, signed URLs, API keys). Compared lower-case, `-`/`_` ignored.
_SECRET_PARAMS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "pass",
        "secret",
        "token",
        "accesstoken",
        "authtoken",
        "auth",
        "key",
        "apikey",
        "signature",
        "sig",
        "credential",
        "credentials",
    }
)

# `scheme://userinfo@` anywhere in a text: user-info is everything up to the last `@` of the URL
# (a URL ends at white space or a quote), so a password containing `@`, `:` or `/` is caught whole.
_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^\s'\"<>]*)@")
# A value ends before `&`, `#`, white space or a quote; punctuation closing a sentence
# ("… ?token=abc: refused") is not part of it.
_QUERY_PARAM = re.compile(r"(?P<sep>[?&;])(?P<name>[A-Za-z_-]+)=(?P<value>(?:[^&#\s'\"<>]*[^&#\s'\"<>:,;.)])?)")


def _mask_userinfo(userinfo: str) -> str:
    user, colon, _password = userinfo.partition(":")
    if colon:
        return f"{user}:{MASK}"
    return MASK  # `scheme://TOKEN@host`: a bare user-info is as secret as a password


def _is_secret_param(name: str) -> bool:
    return name.lower().replace("-", "").replace("_", "") in _SECRET_PARAMS


def _mask_query(text: str) -> str:
    def repl(match: re.Match[str]) -> str:
        if not _is_secret_param(match["name"]) or not match["value"]:
            return match[0]
        return f"{match['sep']}{match['name']}={MASK}"

    return _QUERY_PARAM.sub(repl, text)


def mask_url(url: str) -> str:
    """The URL with its password (and secret query values) replaced by `***`; other text unchanged.

    `rtsp://admin:Secret123@10.0.0.5:554/s2` -> `rtsp://admin:***@10.0.0.5:554/s2`. A file path or
    `usb:0` comes back as it was. Everything up to the last `@` counts as user-info, so a password
    with an unescaped `/`, `:` or `@` in it (which a strict URL parser would split wrongly, leaking
    its tail) is masked whole; at worst a path containing `@` is masked too, which only hides text.
    """
    return mask_secrets(url)


def mask_secrets(text: str) -> str:
    """Every URL credential in a free text masked (exception messages, log lines, FFmpeg errors)."""
    if "@" not in text and "=" not in text:  # the common case costs one scan
        return text
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{_mask_userinfo(m['userinfo'])}@", text)
    if "://" in text:
        text = _mask_query(text)
    return text


class SecretMaskingFilter(logging.Filter):
    """On a handler: the record's message (and traceback) with URL credentials masked.

    The message is formatted once here and the arguments dropped, so no formatter downstream can
    put the raw URL back.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_secrets(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_secrets(record.exc_text)
        return True


def install_log_masking(logger: logging.Logger | None = None) -> None:
    """Add the masking filter to every handler of `logger` (default: root) that lacks it."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, SecretMaskingFilter) for f in handler.filters):
            handler.addFilter(SecretMaskingFilter())
