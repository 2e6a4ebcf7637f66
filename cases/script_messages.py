"""The strings the page's scripts show (static/box_editor.js), translated on the server.

The scripts hold no words of their own: the page carries one JSON dictionary (`page-messages`,
written by base.html) that they read, built here from the same gettext catalogue as the templates
(English msgids marked with `N_`, so `make i18n` extracts them). `%(name)s` placeholders are filled
in by the script. Plurals: the page's languages have at most two forms (Chinese one, English two),
so the dictionary carries the singular and the plural form and the script picks by `n == 1`.
"""

from __future__ import annotations

from streetwatch.cases.error_messages import script_error_messages
from streetwatch.cases.i18n import N_, Locale
from streetwatch.cases.labels import CLASS_LABELS

# key the script uses -> English msgid
MESSAGES: dict[str, str] = {
    "editing": N_("editing boxes"),
    "unsaved": N_("unsaved box edits: they are saved with the verdict, or press s"),
    "saving": N_("saving…"),
    "not_saved": N_("not saved: %(error)s"),
    "machine": N_("machine"),
    "human": N_("human"),
    "box_title": N_("%(cls)s (%(origin)s)"),
}


def script_messages(loc: Locale) -> dict[str, dict[str, str]]:
    """`messages` (key -> text; plurals as `key.one` / `key.other`), `classes` (taxonomy name -> label) and
    `errors` (an API error's `code`, `http_<status>`, `server`, `unreachable` -> the known message)."""
    messages = {key: loc.gettext(msgid) for key, msgid in MESSAGES.items()}
    for form, n in (("one", 1), ("other", 2)):  # spelled out in full so that extraction finds the plural
        messages[f"saved.{form}"] = loc.ngettext("saved %(n)s box", "saved %(n)s boxes", n)
    classes = {name: loc.gettext(label) for name, label in CLASS_LABELS.items()}
    return {"messages": messages, "classes": classes, "errors": script_error_messages(loc)}
