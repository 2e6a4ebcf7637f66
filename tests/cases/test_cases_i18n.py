"""The review page's catalogue: every string the code and templates show is translated, and the
committed .mo is exactly what the committed .po compiles to (nothing is compiled at run time)."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from case_builders import file_new

from streetwatch.cases import i18n
from streetwatch.cases.error_messages import CODE_MESSAGES, error_message, script_error_messages
from streetwatch.cases.i18n import LOCALE_DIR, Locale, choose_language, translations
from streetwatch.cases.labels import (
    CLASS_LABELS,
    EVENT_LABELS,
    REJECT_REASON_MSGIDS,
    ROLE_LABELS,
    VIOLATION_LABELS,
    ZONE_KIND_LABELS,
)
from streetwatch.cases.lifecycle import STATUS_LABELS, CaseStatus
from streetwatch.cases.script_messages import script_messages
from streetwatch.cases.service import ErrorCode
from streetwatch.cases.service_codes import load_catalogue
from streetwatch.contract import EvidenceRole
from streetwatch.models.taxonomy import CLASS_NAMES
from streetwatch.verdicts import REJECT_REASON_LABELS

CASES_DIR = Path(i18n.__file__).resolve().parent
CATALOGUES = [p for p in LOCALE_DIR.glob("*/LC_MESSAGES/messages.po")]


def extracted() -> set[str]:
    with (CASES_DIR / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = dict(DEFAULT_KEYWORDS) | {"N_": None}
    found = extract_from_dir(str(CASES_DIR), method_map, options_map, keywords=keywords)
    return {message if isinstance(message, str) else message[0] for _f, _l, message, _c, _x in found}


def test_there_is_a_chinese_catalogue() -> None:
    assert [p.parent.parent.name for p in CATALOGUES] == ["zh_CN"]


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda p: p.parent.parent.name)
def test_every_string_is_translated(po: Path) -> None:
    with po.open("rb") as handle:
        catalogue = read_po(handle)
    # A plural entry's id is (singular, plural) and its string one text per form: all must be there.
    translated = {
        m.id[0] if isinstance(m.id, tuple) else m.id
        for m in catalogue
        if m.id and (all(m.string) if isinstance(m.string, tuple) else m.string) and not m.fuzzy
    }
    wanted = extracted()
    assert len(wanted) > 50
    missing = sorted(wanted - translated)
    assert not missing, f"untranslated in {po} (run `make i18n` and fill msgstr): {missing}"


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda p: p.parent.parent.name)
def test_committed_mo_is_the_compiled_po(po: Path) -> None:
    with po.open("rb") as handle:
        catalogue = read_po(handle)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)
    assert po.with_suffix(".mo").read_bytes() == compiled.getvalue(), f"{po.with_suffix('.mo')} is stale: `make i18n`"


def test_labels_in_both_languages() -> None:
    zh = Locale("zh_CN", ZoneInfo("Asia/Shanghai"))
    en = Locale("en", ZoneInfo("Asia/Shanghai"))
    assert zh.gettext(STATUS_LABELS[CaseStatus.REJECTED]) == "已作废"
    assert zh.gettext(STATUS_LABELS[CaseStatus.CLOSED]) == "已结案"
    assert en.gettext(STATUS_LABELS[CaseStatus.CLOSED]) == "Closed"
    names = {zh.gettext(label) for label in VIOLATION_LABELS.values()}
    assert names == {"违法停车", "占道经营", "暴露垃圾", "露天焚烧"}


def test_reject_reasons_are_in_the_catalogue() -> None:
    assert set(REJECT_REASON_MSGIDS) == set(REJECT_REASON_LABELS.values())
    zh = Locale("zh_CN", ZoneInfo("Asia/Shanghai"))
    assert all(zh.gettext(label) != label for label in REJECT_REASON_LABELS.values())


def test_local_time_and_language_choice() -> None:
    moment = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    assert Locale("zh_CN", ZoneInfo("Asia/Shanghai")).local(moment) == "2026-03-01 10:00:00"
    assert Locale("en", ZoneInfo("Europe/Berlin")).local(moment) == "2026-03-01 03:00:00"
    assert Locale("zh_CN", ZoneInfo("Asia/Shanghai")).utc_offset() == "UTC+08:00"
    assert choose_language("en", "zh_CN", "zh_CN") == "en"
    assert choose_language(None, "en", "zh_CN") == "en"
    assert choose_language("xx", None, "zh_CN") == "zh_CN"
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        translations("fr")


SCRIPTS = sorted((CASES_DIR / "static").glob("*.js"))


def test_history_steps_that_are_not_status_changes_have_labels() -> None:
    from streetwatch.cases.service import ORIGINAL_VIEWED

    assert set(EVENT_LABELS) == {"boxes", ORIGINAL_VIEWED}
    zh = Locale("zh_CN", ZoneInfo("Asia/Shanghai"))
    assert [zh.gettext(EVENT_LABELS[k]) for k in ("boxes", ORIGINAL_VIEWED)] == ["修改标注框", "查看原图"]


def test_every_model_class_and_frame_role_has_a_label_in_both_languages() -> None:
    assert tuple(CLASS_LABELS) == CLASS_NAMES
    assert set(ROLE_LABELS) == {r.value for r in EvidenceRole}
    zh = script_messages(Locale("zh_CN", ZoneInfo("Asia/Shanghai")))["classes"]
    en = script_messages(Locale("en", ZoneInfo("Asia/Shanghai")))["classes"]
    assert zh["stall"] == "摊位" and en["stall"] == "stall" and en["dining_table"] == "table"
    assert all(zh[c] != en[c] for c in CLASS_NAMES)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_scripts_show_only_catalogue_strings(script: Path) -> None:
    """What a script puts on the page goes through t()/tn()/classLabel(); every key it asks for exists
    and is translated."""
    source = script.read_text(encoding="utf-8")
    zh = script_messages(Locale("zh_CN", ZoneInfo("Asia/Shanghai")))["messages"]
    en = script_messages(Locale("en", ZoneInfo("Asia/Shanghai")))["messages"]
    keys = set(re.findall(r"\bt\(\s*\"([^\"]+)\"", source))
    keys |= {f"{k}.{form}" for k in re.findall(r"\btn\(\s*\"([^\"]+)\"", source) for form in ("one", "other")}
    assert keys <= set(zh), f"{script.name} asks for keys the page does not carry: {sorted(keys - set(zh))}"
    assert all(zh[k] != en[k] for k in keys)
    shown = re.findall(r"(?:\.say\(|textContent\s*=|\.title\s*=|placeholder\s*=|alert\()\s*([^;]*)", source)
    literal = [expr for expr in shown if re.match(r"\s*[`\"']", expr) and not re.match(r"\s*[\"']{2}", expr)]
    assert not literal, f"{script.name} shows hard-coded text: {literal}"
    ternary = [expr for expr in shown if re.search(r"\?\s*[`\"'][^`\"']", expr)]
    assert not ternary, f"{script.name} shows hard-coded text: {ternary}"


def test_the_page_names_frames_and_classes_in_its_language(sqlite_server) -> None:  # type: ignore[no-untyped-def]
    """Frame roles and the model's class on the evidence are words for people, in the page's language."""
    token, device, cameras = sqlite_server.new_device()
    with sqlite_server.client() as client:
        case = file_new(client, token, device, cameras[0], seed=990)
    with sqlite_server.reviewer_client() as reviewer:
        edit = {"boxes": [{"class": "stall", "box": [1, 1, 20, 20]}]}
        assert reviewer.put(f"/api/v1/cases/{case['id']}/boxes", json=edit).status_code == 200
    with sqlite_server.client(follow_redirects=False) as client:
        assert client.post("/review/login", data={"token": sqlite_server.reviewer}).status_code == 303
        zh = client.get(f"/review/cases/{case['id']}").text
        en = client.get(f"/review/cases/{case['id']}?lang=en").text
    captions = [re.sub(r"\s+", " ", c).split(" · ")[0] for c in re.findall(r"<figcaption>(.*?)</figcaption>", zh)]
    assert captions and all(c in {"首次发现", "首次发现（原图）", "确认", "确认（原图）"} for c in captions), captions
    assert re.search(r'class="label">汽车 \d\.\d\d<', zh)
    # The box edit in the history is a step of its own, not "待受理 → 待受理".
    steps = [
        re.sub(r"\s+", " ", c).strip() for c in re.findall(r"<tr><td>.*?</td><td>.*?</td>\s*<td>(.*?)</td>", zh, re.S)
    ]
    assert steps == ["待受理", "修改标注框"], steps
    # ... and its note is in the page's language too (the audit trail keeps the English line).
    notes = [re.sub(r"\s+", " ", n).strip() for n in re.findall(r"<td>([^<]*)</td></tr>", zh)]
    assert notes[-1] == "1 个框（新画 1，修正 0，删除模型框 1）；类别：摊位；修改前 1 个", notes
    assert "boxes: 1 (1 drawn, 0 corrected, 1 model boxes deleted); classes: stall; before: 1" in en
    captions_en = [c.split(" · ")[0] for c in re.findall(r"<figcaption>(.*?)</figcaption>", en)]
    assert "confirmation, clean" in captions_en and re.search(r'class="label">car \d\.\d\d<', en)


def test_every_zone_kind_the_codes_tell_apart_has_a_label_in_both_languages() -> None:
    kinds = {k for s in load_catalogue().services if s.when is not None for k in s.when.zone_kinds}
    assert kinds and kinds <= set(ZONE_KIND_LABELS), (
        f"zone kinds without a label: {sorted(kinds - set(ZONE_KIND_LABELS))}"
    )
    zh = Locale("zh_CN", ZoneInfo("Asia/Shanghai"))
    assert all(zh.gettext(label) != label for label in ZONE_KIND_LABELS.values())


@pytest.mark.parametrize(
    ("zone_kind", "zh_text", "en_text"),
    [("shop_front", "店铺门前", "shop front"), ("street_food", "餐饮摊点区", "street food area"),
     ("night_market", "night_market", "night_market")],
)  # fmt: skip
def test_the_page_names_the_zone_kind_in_its_language(
    sqlite_server, zone_kind: str, zh_text: str, en_text: str
) -> None:  # type: ignore[no-untyped-def]
    """A kind the codes know is a word in the page's language; a city's own kind shows as its id."""
    token, device, cameras = sqlite_server.new_device()
    with sqlite_server.client() as client:
        case = file_new(client, token, device, cameras[0], seed=995, violation_type="occupied_lane_vending",
                        standard_code="05-01", zone_kind=zone_kind,
                        detections=[{"class": "stall", "confidence": 0.8, "box": [5.0, 5.0, 30.0, 40.0]}])  # fmt: skip
    with sqlite_server.client(follow_redirects=False) as client:
        assert client.post("/review/login", data={"token": sqlite_server.reviewer}).status_code == 303
        pages = {lang: client.get(f"/review/cases/{case['id']}?lang={lang}").text for lang in ("zh_CN", "en")}
    for lang, text in (("zh_CN", zh_text), ("en", en_text)):
        camera_row = re.search(r"<dd>[^<]*· (?:区域|zone) zone-1 \(([^)]*)\)", pages[lang])
        assert camera_row is not None and camera_row.group(1) == text, (lang, camera_row and camera_row.group(0))


def test_every_error_code_has_a_known_message_in_both_languages() -> None:
    zh = Locale("zh_CN", ZoneInfo("Asia/Shanghai"))
    en = Locale("en", ZoneInfo("Asia/Shanghai"))
    assert set(CODE_MESSAGES) == set(ErrorCode)
    assert error_message(zh, "step_not_allowed", 409) == "案件当前状态下不能进行此步骤，请刷新页面"
    assert error_message(zh, None, 409) == "案件已有变动，请刷新页面"  # no code: by the status
    assert error_message(zh, "no_such_code", 422) == "提交的内容无效"
    assert error_message(zh, None, 503) == "服务出错，请重试；如仍出错，请告知管理员"
    assert error_message(en, None, 0) == "the service could not be reached; check the connection and try again"
    zh_table, en_table = script_error_messages(zh), script_error_messages(en)
    assert set(zh_table) == set(en_table) >= {c.value for c in ErrorCode} | {"http_401", "server", "unreachable"}
    assert all(zh_table[k] != en_table[k] for k in zh_table)


def test_api_errors_carry_their_code(sqlite_server) -> None:  # type: ignore[no-untyped-def]
    """The code beside the (unchanged) English detail: what the page words a refusal by."""
    token, device, cameras = sqlite_server.new_device()
    with sqlite_server.client() as client:
        case = file_new(client, token, device, cameras[0], seed=996)
        anonymous = client.put(f"/api/v1/cases/{case['id']}/boxes", json={"boxes": []})
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "not_signed_in"
    with sqlite_server.reviewer_client() as reviewer:
        path = f"/api/v1/cases/{case['id']}/transitions"
        assert reviewer.post(path, json={"to": "accepted"}).status_code == 200
        again = reviewer.post(path, json={"to": "accepted"})
        missing = reviewer.put("/api/v1/cases/2000000000/boxes", json={"boxes": []})
        department = reviewer.post(path, json={"to": "dispatched", "department": "nobody"})
    assert (again.status_code, again.json()["code"]) == (409, "step_not_allowed")
    assert again.json()["detail"].startswith(f"case {case['id']}: ")
    assert (missing.status_code, missing.json()["code"]) == (404, "no_case")
    assert (department.status_code, department.json()["code"]) == (422, "unknown_department")
