"""Admins' pages: contracts and programmes, the insured list checked («Проверить») and uploaded («Загрузить»)."""

from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import func, select

from telemed.members.models import Contract, Policy
from tests.support.clients import csrf_token, page_login, text_of

HEADER = "policy_number,full_name,birth_date,relation,main_policy_number,valid_from,valid_to,email"
GOOD = "P-900,Зайцев Олег,01.02.1980,self,,01.01.2026,31.12.2026,"
BAD = "P-901,Зайцева Ира,31.02.1982,self,,01.01.2026,31.12.2026,"


@pytest.fixture
def adm(app, factory):
    factory.user("adm", role="admin", consent=False)
    return page_login(app, "adm")


def form(token, **kw):
    return {
        "csrf_token": token,
        "number": "ДМС-77",
        "client": "АО «Север»",
        "starts_on": "2026-01-01",
        "ends_on": "2026-12-31",
        "telemedicine": "on",
        "urgent": "on",
        "covered_specialties": ["therapist", "psychologist"],
        "psychologist_limit": "3",
        **kw,
    }


def test_admins_find_the_area_in_the_menu_and_keep_patients(adm):
    page = adm.get("/admin/contracts")
    assert page.status_code == 200
    assert 'href="/admin/contracts"' in page.text and 'href="/patients"' in page.text


def test_the_menu_shows_administration_to_admins_only(app, factory):
    factory.user("rec", role="records", consent=False)
    page = page_login(app, "rec").get("/patients")
    assert page.status_code == 200 and 'href="/admin/contracts"' not in page.text


def test_an_admin_creates_and_edits_a_contract_in_russian(db, adm):
    token = csrf_token(adm.get("/admin/contracts").text)
    r = adm.post("/admin/contracts", data=form(token))
    assert r.status_code == 302
    with db.session() as s:
        c = s.scalar(select(Contract).where(Contract.number == "ДМС-77"))
        assert (c.urgent, c.covered_specialties, c.psychologist_limit) == (
            True,
            ["therapist", "psychologist"],
            3,
        )
    page = adm.get(r.headers["Location"])
    assert "Программа" in text_of(page.text) or "Договор" in text_of(page.text)
    r = adm.post(
        f"/admin/contracts/{c.id}", data=form(csrf_token(page.text), psychologist_limit="5", urgent="")
    )
    assert r.status_code == 302
    with db.session() as s:
        c = s.get(Contract, c.id)
        assert (c.urgent, c.psychologist_limit) == (False, 5)
    again = adm.post("/admin/contracts", data=form(csrf_token(page.text)))
    assert again.status_code == 422 and "ДМС-77" in again.text


def test_the_check_shows_the_errors_by_line_and_the_upload_applies_a_clean_file(db, factory, adm):
    contract = factory.contract(starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31))
    page = adm.get(f"/admin/contracts/{contract.id}")
    token = csrf_token(page.text)
    assert "Проверить" in page.text and "Загрузить" in page.text

    def send(rows, action):
        data = "\n".join([HEADER, *rows]).encode()
        body = {"csrf_token": token, "action": action, "file": (io.BytesIO(data), "list.csv")}
        return adm.post(
            f"/admin/contracts/{contract.id}/insured", data=body, content_type="multipart/form-data"
        )

    r = send([GOOD, BAD], "apply")
    assert r.status_code == 200 and 'data-applied="false"' in r.text
    text = text_of(r.text)
    assert "<tr><td>3</td><td>birth_date</td>" in r.text and "ДД.ММ.ГГГГ" in text
    with db.session() as s:
        assert (
            s.scalar(select(func.count()).select_from(Policy).where(Policy.contract_id == contract.id)) == 0
        )
    r = send([GOOD], "check")
    assert 'data-applied="false"' in r.text and "import-errors" not in r.text
    r = send([GOOD], "apply")
    assert 'data-applied="true"' in r.text
    with db.session() as s:
        assert (
            s.scalar(select(func.count()).select_from(Policy).where(Policy.contract_id == contract.id)) == 1
        )


@pytest.mark.parametrize("role", ["member", "doctor", "records", "curator"])
def test_other_roles_are_refused(app, factory, role):
    contract = factory.contract()
    factory.user("x", role=role, consent=role != "member")
    client = page_login(app, "x")
    assert client.get("/admin/contracts").status_code == 403
    assert client.get(f"/admin/contracts/{contract.id}").status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(app, factory):
    r = app.test_client().get("/admin/contracts")
    assert r.status_code in (302, 401)


def test_the_pages_speak_english_when_asked(factory, adm):
    contract = factory.contract()
    ru = adm.get(f"/admin/contracts/{contract.id}").text
    assert "Список застрахованных" in ru and "Администрирование" in ru
    en = adm.get(f"/admin/contracts/{contract.id}?lang=en").text
    assert "Insured list" in en and "Administration" in en and "Check" in en
    assert "Contracts" in adm.get("/admin/contracts").text  # the choice is remembered
