"""What the review page tells an inspector when the service refuses something.

The API's errors are written for API clients, in English, with ids in them ("case 7: cannot go from
accepted to accepted"). The page shows a known message in its own language instead, picked by the
error's `code` (CaseServiceError's, sent as `code` beside `detail` in the JSON body), else by the
HTTP status; the raw detail stays on the page only as secondary text, for whoever reports it.
One table for both the server-rendered notices and the box editor's script (script_messages.py).
"""

from __future__ import annotations

from streetwatch.cases.i18n import N_, Locale
from streetwatch.cases.service import ErrorCode

CODE_MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.NOT_SIGNED_IN: N_("you are not signed in, or your sign-in has ended; sign in again"),
    ErrorCode.REVIEWERS_ONLY: N_("only reviewers may do this"),
    ErrorCode.FORM_EXPIRED: N_("this page is out of date; reload it and try again"),
    ErrorCode.NO_CASE: N_("there is no such case"),
    ErrorCode.STEP_NOT_ALLOWED: N_("this step is not possible in the case's current status; reload the page"),
    ErrorCode.CHANGED_MEANWHILE: N_("someone changed this case meanwhile; reload the page and try again"),
    ErrorCode.UNKNOWN_DEPARTMENT: N_("that department is not known"),
    ErrorCode.NO_FRAME: N_("this case has no frame to draw boxes on"),
    ErrorCode.INVALID_BOXES: N_("the boxes are not valid"),
}
# When an error has no code (a request the framework refused before the service saw it, a proxy).
STATUS_MESSAGES: dict[int, str] = {
    401: CODE_MESSAGES[ErrorCode.NOT_SIGNED_IN],
    403: N_("this is not allowed"),
    404: N_("not found"),
    409: N_("the case changed meanwhile; reload the page"),
    413: N_("what was sent is too large"),
    422: N_("what was sent is not valid"),
    429: N_("too many requests; wait a moment and try again"),
}
SERVER_FAILED = N_("the service failed; try again, and tell the administrator if it goes on")
UNREACHABLE = N_("the service could not be reached; check the connection and try again")


def error_message(loc: Locale, code: str | None, status: int) -> str:
    """The known message for an error, in the page's language (`status` 0: no answer at all)."""
    if code in CODE_MESSAGES:
        return loc.gettext(CODE_MESSAGES[ErrorCode(code)])
    if status in STATUS_MESSAGES:
        return loc.gettext(STATUS_MESSAGES[status])
    return loc.gettext(SERVER_FAILED if status >= 400 else UNREACHABLE)


def script_error_messages(loc: Locale) -> dict[str, str]:
    """The same table for the scripts: codes, `http_<status>`, `server` (5xx, others) and `unreachable`."""
    table = {code.value: loc.gettext(msgid) for code, msgid in CODE_MESSAGES.items()}
    table |= {f"http_{status}": loc.gettext(msgid) for status, msgid in STATUS_MESSAGES.items()}
    return table | {"server": loc.gettext(SERVER_FAILED), "unreachable": loc.gettext(UNREACHABLE)}
