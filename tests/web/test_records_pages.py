"""Pages: the conclusion on the consultation page, the doctor's editor, the e-card and the records workspace."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from telemed.auth.models import User
from telemed.records import visits
from telemed.records.audit_models import AuditEvent
from telemed.records.models import Visit
from tests.support import otp
from tests.support.clients import ApiClient, csrf_token, page_login, text_of
from tests.support.factories import PASSWORD, actor, make_consultation

NOTICE = "Больничные листы, справки и рецепты выдаются в клинике, а не дистанционно."
DRAFT = {
    "complaints": "Кашель, температура 37,8",
    "anamnesis": "Болеет 3 дня",
    "objective": "Со слов пациента",
    "diagnosis": {"icd10": "J06.9", "text": "ОРВИ"},
    "recommendations": "Обильное питьё",
    "referrals": [
        {"kind": "test", "code": "B03.016.002"},
        {"kind": "test", "code": "A06.09.007", "note": "в двух проекциях"},
        {"kind": "specialist", "specialty": "ent"},
    ],
    "follow_up": "Повторно через 5 дней",
}


@pytest.fixture
def world(factory):
    contract = factory.contract()
    anna, patient = factory.member("anna", contract=contract)
    child = factory.patient(name="Миша Иванов", birth_date=date(2018, 2, 3), guardian=anna, contract=contract)
    factory.member("boris", contract=contract)
    doctor = factory.doctor("therapist", username="drt", name="Соколова Марина")
    pediatrician = factory.doctor("pediatrician", username="drp", name="Петрова Ольга")
    factory.doctor("cardiologist", username="dr2", name="Другой Врач")
    factory.user("rec", role="records", consent=False)
    factory.user("adm", role="admin", consent=False)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    c = make_consultation(factory, anna, patient, doctor, contract, start=start, status="in_progress")
    child_c = make_consultation(
        factory, anna, child, pediatrician, contract, start=start - timedelta(hours=2), status="in_progress"
    )
    return {
        "contract": contract,
        "anna": anna,
        "patient": patient,
        "child": child,
        "consultation": c,
        "child_consultation": child_c,
        "doctor": doctor,
    }


def client_for(app, who):
    return page_login(app, who) if who else app.test_client()


def write(app, cid, doctor="drt", body=DRAFT):
    api = ApiClient(app, doctor)
    r = api.client.put(f"/api/v1/consultations/{cid}/conclusion", json=body, headers=api._headers())
    assert r.status_code == 200, r.json
    return api


def sign(app, cid, doctor="drt", body=DRAFT):
    api = write(app, cid, doctor, body)
    assert (
        api.post(
            f"/api/v1/consultations/{cid}/conclusion/sign",
            json={"password": PASSWORD, "otp": otp.next_code(doctor)},
        ).status_code
        == 200
    )
    return api


def assert_status(response, status):
    if status == "login":
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    else:
        assert response.status_code == status


# --- access ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who, status",
    [("anna", 200), ("boris", 404), ("drt", 200), ("dr2", 404), ("rec", 200), ("adm", 200), (None, "login")],
)
def test_ecard_page_access_matrix(app, world, who, status):
    assert_status(client_for(app, who).get(f"/patients/{world['patient'].id}/record"), status)


@pytest.mark.parametrize("who, status", [("anna", 200), ("boris", 404), ("drp", 200), ("drt", 404)])
def test_guardian_and_the_childs_doctor_read_the_childs_ecard(app, world, who, status):
    assert_status(client_for(app, who).get(f"/patients/{world['child'].id}/record"), status)


@pytest.mark.parametrize(
    "who, status",
    [
        ("drt", 200),
        ("anna", 404),
        ("boris", 404),
        ("dr2", 404),
        ("drp", 404),
        ("rec", 404),
        ("adm", 404),
        (None, "login"),
    ],
)
def test_only_the_consultations_doctor_opens_the_editor(app, world, who, status):
    assert_status(client_for(app, who).get(f"/consultations/{world['consultation'].id}/conclusion"), status)


@pytest.mark.parametrize(
    "who, status", [("rec", 200), ("adm", 200), ("anna", 403), ("drt", 403), (None, "login")]
)
def test_patient_search_page_is_for_records_staff(app, world, who, status):
    assert_status(client_for(app, who).get("/patients?q=миша"), status)


def test_unknown_patient_is_404_even_for_records_staff(app, world):
    assert page_login(app, "rec").get("/patients/999999/record").status_code == 404


def test_navigation_links_by_role(app, world):
    member = page_login(app, "anna")
    r = member.get("/record")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/patients/{world['patient'].id}/record")
    cabinet = member.get("/cabinet").text
    assert 'href="/record"' in cabinet and 'href="/patients"' not in cabinet
    page = member.get(r.headers["Location"]).text
    assert f'href="/patients/{world["child"].id}/record"' in page  # the member switches to the child's e-card
    staff = page_login(app, "rec").get("/patients").text
    assert 'href="/patients"' in staff and 'href="/record"' not in staff
    assert 'href="/record"' not in page_login(app, "drt").get("/schedule").text


# --- the conclusion on the consultation page --------------------------------------------------------------------


def test_the_member_sees_the_signed_conclusion_with_the_pdf_and_the_notice(app, db, world):
    cid = world["consultation"].id
    member = page_login(app, "anna")
    write(app, cid)
    draft_page = member.get(f"/consultations/{cid}").text
    assert NOTICE in text_of(draft_page) and DRAFT["complaints"] not in draft_page  # nothing while unsigned
    assert "conclusion.pdf" not in draft_page and f'/consultations/{cid}/conclusion"' not in draft_page

    api = sign(app, cid)
    assert (
        api.post(
            f"/api/v1/consultations/{cid}/conclusion/addenda",
            json={"text": "Уточнение: температура 38,1", "reason": "Опечатка"},
        ).status_code
        == 201
    )
    html = member.get(f"/consultations/{cid}").text
    text = text_of(html)
    for value in (
        "Кашель, температура 37,8",
        "Болеет 3 дня",
        "Со слов пациента",
        "J06.9",
        "ОРВИ",
        "Обильное питьё",
        "B03.016.002 Общий (клинический) анализ крови",
        "A06.09.007 Рентгенография легких — в двух проекциях",
        "ЛОР",
        "Повторно через 5 дней",
        "Уточнение: температура 38,1",
        "Опечатка",
        NOTICE,
    ):
        assert value in text, value
    assert re.search(r'<p class="signature">[^<]*Соколова Марина, ', html)
    assert f'href="/api/v1/consultations/{cid}/conclusion.pdf"' in html
    assert f'href="/consultations/{cid}/conclusion"' not in html  # no editor for the patient
    english = text_of(member.get(f"/consultations/{cid}?lang=en").text)
    assert "Signed: Соколова Марина," in english and "Download PDF" in english and "Addenda" in english
    pdf = member.get(f"/api/v1/consultations/{cid}/conclusion.pdf", headers={"X-CSRFToken": csrf_token(html)})
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    with db.session() as s:
        reads = s.scalars(
            select(AuditEvent).where(
                AuditEvent.object_type == "conclusion",
                AuditEvent.action == "read",
                AuditEvent.actor_id == world["anna"].id,
            )
        ).all()
    assert [(r.object_id, r.outcome) for r in reads] == [(str(cid), "allowed"), (str(cid), "allowed")]


def test_the_guardian_sees_the_childs_signed_conclusion(app, world):
    cid = world["child_consultation"].id
    sign(app, cid, doctor="drp", body={**DRAFT, "diagnosis": {"icd10": "J02.9", "text": "Фарингит"}})
    html = page_login(app, "anna").get(f"/consultations/{cid}").text
    assert "J02.9" in html and "Фарингит" in html and f"/api/v1/consultations/{cid}/conclusion.pdf" in html


def test_the_doctor_gets_a_link_to_the_editor_not_the_patient_view(app, world):
    cid = world["consultation"].id
    doctor = page_login(app, "drt")
    html = doctor.get(f"/consultations/{cid}").text
    assert f'href="/consultations/{cid}/conclusion"' in html and NOTICE in text_of(html)
    assert re.search(
        rf'href="/consultations/{cid}/conclusion">\s*Conclusion\s*<',
        doctor.get(f"/consultations/{cid}?lang=en").text,
    )
    sign(app, cid)
    html = doctor.get(f"/consultations/{cid}").text
    assert "Кашель" not in html and "Соколова Марина, " in text_of(html)  # the state, not the patient's view


# --- the editor ---------------------------------------------------------------------------------------------


def test_the_editor_shows_the_draft_then_turns_read_only_once_signed(app, world):
    cid = world["consultation"].id
    doctor = page_login(app, "drt")
    empty = doctor.get(f"/consultations/{cid}/conclusion").text
    assert 'data-state="draft"' in empty and 'data-save-state="idle"' in empty
    assert "<fieldset >" in empty or "<fieldset>" in empty
    write(app, cid)
    draft = doctor.get(f"/consultations/{cid}/conclusion").text
    assert 'data-save-state="saved"' in draft and "Кашель, температура 37,8" in draft
    assert 'name="diagnosis_icd10" class="icd10-code" value="J06.9"' in draft
    rows = re.findall(r'<li class="referral-row">.*?</li>', draft, re.S)
    assert len(rows) == 3 + 1  # the last one is the template of a new row
    assert 'value="B03.016.002"' in rows[0] and "Общий (клинический) анализ крови" in rows[0]
    assert 'value="A06.09.007"' in rows[1] and 'value="в двух проекциях"' in rows[1]
    assert re.search(r'<option value="specialist" selected>', rows[2])
    assert re.search(r'<option value="ent" selected>', rows[2])
    sign(app, cid, body=DRAFT)
    signed = doctor.get(f"/consultations/{cid}/conclusion").text
    assert 'data-state="signed"' in signed and "<fieldset disabled>" in signed
    assert re.search(r'<div class="sign-area" hidden>', signed)
    assert re.search(r'<section class="card addenda-card" >', signed)  # the addendum form is shown


def test_the_editor_of_a_cancelled_consultation_is_closed(app, factory, world):
    c = make_consultation(
        factory, world["anna"], world["patient"], world["doctor"], world["contract"], status="cancelled"
    )
    html = page_login(app, "drt").get(f"/consultations/{c.id}/conclusion").text
    assert 'data-state="closed"' in html and "<fieldset disabled>" in html


# --- the e-card -----------------------------------------------------------------------------------------------


def upload(app, who, cid, name="ОАК.pdf"):
    api = ApiClient(app, who)
    body = (
        f'--B\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/pdf\r\n\r\n%PDF-1.4 test\r\n--B--\r\n"
    ).encode()
    r = api.client.post(
        f"/api/v1/consultations/{cid}/attachments",
        data=body,
        headers=api._headers(),
        content_type="multipart/form-data; boundary=B",
    )
    assert r.status_code == 201
    return r.json["id"]


def add_visits(app, world, n, **data):
    db = app.extensions["telemed.db"]
    with db.session() as s:
        rec = s.scalar(select(User).where(User.username == "rec"))
    for i in range(n):
        with db.transaction() as s:
            visits.add_visit(
                s,
                actor(rec),
                world["patient"].id,
                {
                    "date": (date(2026, 1, 1) + timedelta(days=i)).isoformat(),
                    "clinic": f"Клиника {i}",
                    "doctor_name": "Петров П. П.",
                    "diagnosis": {"icd10": "I10", "text": "Гипертензия"},
                    **data,
                },
                now=datetime.now(UTC),
                clinic_tz=ZoneInfo("Europe/Moscow"),
            )


def test_the_ecard_lists_every_kind_with_links_for_the_member(app, world):
    pid, cid = world["patient"].id, world["consultation"].id
    add_visits(app, world, 1, specialty="cardiologist", notes="Давление 150/90")
    aid = upload(app, "anna", cid)
    sign(app, cid)
    html = page_login(app, "anna").get(f"/patients/{pid}/record").text
    assert re.findall(r'data-kind="(\w+)"', html) == ["conclusion", "document", "visit"]
    assert (
        f'href="/consultations/{cid}"' in html
        and f'href="/api/v1/consultations/{cid}/conclusion.pdf"' in html
    )
    assert f'href="/api/v1/attachments/{aid}"' in html
    text = text_of(html)
    for value in (
        "J06.9",
        "ОРВИ",
        "Соколова Марина",
        "ОАК.pdf",
        "Клиника 0",
        "Петров П. П.",
        "I10",
        "Давление 150/90",
        "Кардиолог",
        "Терапевт",
    ):
        assert value in text, value
    assert f'/consultations/{cid}/conclusion"' not in html


def test_records_staff_read_the_conclusion_inline_and_never_get_an_edit_control(app, world):
    pid, cid = world["patient"].id, world["consultation"].id
    upload(app, "anna", cid)
    sign(app, cid)
    html = page_login(app, "rec").get(f"/patients/{pid}/record").text
    assert '<details class="full">' in html and "Кашель, температура 37,8" in html
    assert f'href="/consultations/{cid}' not in html  # neither the consultation page nor the editor
    assert "/api/v1/attachments/" not in html and "ОАК.pdf" in html  # documents stay with the participants
    assert "add-visit" in html


def test_visit_documents_download_from_the_ecard_for_every_reader(app, world):
    pid = world["patient"].id
    add_visits(app, world, 1)
    rec = ApiClient(app, "rec")
    visit_id = rec.get(f"/api/v1/patients/{pid}/record?kind=visit").json[0]["object_id"]
    body = (
        '--B\r\nContent-Disposition: form-data; name="file"; filename="ЭКГ.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n%PDF-1.4 ecg\r\n--B--\r\n"
    ).encode()
    r = rec.client.post(
        f"/api/v1/patients/{pid}/record/visits/{visit_id}/documents",
        data=body,
        headers=rec._headers(),
        content_type="multipart/form-data; boundary=B",
    )
    assert r.status_code == 201
    for who in ("rec", "anna", "drt"):
        html = page_login(app, who).get(f"/patients/{pid}/record?kind=document").text
        assert f'href="/api/v1/attachments/{r.json["id"]}"' in html and "ЭКГ.pdf" in html, who


def test_filters_and_pages(app, world):
    pid = world["patient"].id
    add_visits(app, world, 23)
    sign(app, world["consultation"].id)
    member = page_login(app, "anna")
    first = member.get(f"/patients/{pid}/record").text
    assert first.count('class="entry ') == 20 and 'rel="next"' in first and 'rel="prev"' not in first
    second = member.get(f"/patients/{pid}/record?page=2").text
    assert second.count('class="entry ') == 4 and 'rel="prev"' in second and 'rel="next"' not in second

    def kinds(query):
        return re.findall(r'data-kind="(\w+)"', member.get(f"/patients/{pid}/record?{query}").text)

    assert kinds("kind=conclusion") == ["conclusion"]
    assert kinds("text=орви") == ["conclusion"]
    assert kinds("specialty=therapist") == ["conclusion"]
    assert kinds("from=2026-01-02&to=2026-01-03") == ["visit", "visit"]
    assert kinds("kind=bogus&page=x") == re.findall(
        r'data-kind="(\w+)"', first
    )  # junk is ignored, not an error
    filtered = member.get(f"/patients/{pid}/record?kind=visit&page=1").text
    assert "kind=visit" in re.search(r'rel="next" href="([^"]+)"', filtered).group(1)


def test_ecard_page_views_are_audited_like_the_api(app, db, world):
    pid = world["patient"].id
    page_login(app, "rec").get(f"/patients/{pid}/record")
    page_login(app, "boris").get(f"/patients/{pid}/record")
    anonymous = app.test_client().get(f"/patients/{pid}/record")
    assert anonymous.status_code in (302, 401)  # to the login page, unlogged
    with db.session() as s:
        rows = s.scalars(
            select(AuditEvent).where(AuditEvent.object_type == "record").order_by(AuditEvent.id)
        ).all()
    assert [(r.actor_role, r.patient_id, r.action, r.outcome) for r in rows] == [
        ("records", pid, "read", "allowed"),
        ("member", pid, "read", "denied"),
    ]


# --- the records staff's workspace ---------------------------------------------------------------------------


def test_records_search_finds_a_patient_by_name_birth_date_and_policy(app, world):
    rec = page_login(app, "rec")
    child = world["child"].id
    for q in ("миша", "МИША ив", "03.02.2018"):
        html = rec.get("/patients", query_string={"q": q}).text
        assert (
            f'href="/patients/{child}/record"' in html and "Миша Иванов" in html and "03.02.2018" in html
        ), q
    policy = re.search(r"(P-\d+)", rec.get("/patients?q=миша").text).group(1)
    assert f'href="/patients/{child}/record"' in rec.get("/patients", query_string={"q": policy}).text
    nobody = rec.get("/patients?q=Несуществующий").text
    assert not re.search(r'href="/patients/\d+/record"', nobody)
    short = rec.get("/patients?q=м")
    assert short.status_code == 200 and 'aria-invalid="true"' in short.text


def test_a_visit_added_through_the_page_appears_on_the_ecard(app, db, world):
    pid = world["patient"].id
    rec = page_login(app, "rec")
    page = rec.get(f"/patients/{pid}/record").text
    form = {
        "csrf_token": csrf_token(page),
        "date": "2026-03-02",
        "clinic": "Клиника на Пятницкой",
        "doctor_name": "Петров П. П.",
        "specialty": "cardiologist",
        "diagnosis_icd10": "I10",
        "diagnosis_text": "Эссенциальная гипертензия",
        "notes": "Давление 150/90",
    }
    r = rec.post(f"/patients/{pid}/record/visits", data=form)
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/patients/{pid}/record")
    after = text_of(rec.get(r.headers["Location"]).text)
    assert "Очный приём" in after or "In-person visit" in after
    for value in (
        "Клиника на Пятницкой",
        "Петров П. П.",
        "I10",
        "Эссенциальная гипертензия",
        "Давление 150/90",
        "Кардиолог",
        "2 марта 2026",
    ):
        assert value in after, value
    assert "Клиника на Пятницкой" in page_login(app, "anna").get(f"/patients/{pid}/record").text
    with db.session() as s:
        visit = s.scalar(select(Visit).where(Visit.patient_id == pid))
        assert visit.specialty_code == "cardiologist" and visit.diagnosis_icd10 == "I10"
        write_log = s.scalar(select(AuditEvent).where(AuditEvent.object_type == "visit"))
        assert (write_log.action, write_log.outcome, write_log.object_id) == (
            "write",
            "allowed",
            str(visit.id),
        )


def test_the_visit_form_needs_csrf_and_records_staff(app, db, world):
    pid = world["patient"].id
    form = {"date": "2026-03-02", "clinic": "Клиника", "doctor_name": "Петров П. П."}
    rec = page_login(app, "rec")
    assert rec.post(f"/patients/{pid}/record/visits", data=form).status_code == 302  # refused: no CSRF token
    member = page_login(app, "anna")
    token = csrf_token(member.get(f"/patients/{pid}/record").text)
    assert (
        member.post(f"/patients/{pid}/record/visits", data={**form, "csrf_token": token}).status_code == 302
    )
    assert app.test_client().post(f"/patients/{pid}/record/visits", data=form).status_code in (302, 400)
    with db.session() as s:
        assert s.scalars(select(Visit)).all() == []


@pytest.mark.parametrize(
    "change, field",
    [
        ({"clinic": ""}, "clinic"),
        ({"date": "2999-01-01"}, "date"),
        ({"specialty": "wizard"}, "specialty"),
        ({"diagnosis_icd10": "Z99.999"}, "diagnosis"),
    ],
)
def test_a_refused_visit_keeps_the_form_and_says_why(app, db, world, change, field):
    pid = world["patient"].id
    rec = page_login(app, "rec")
    form = {
        "csrf_token": csrf_token(rec.get(f"/patients/{pid}/record").text),
        "date": "2026-03-02",
        "clinic": "Клиника на Пятницкой",
        "doctor_name": "Петров П. П.",
        "notes": "Заметка",
        **change,
    }
    r = rec.post(f"/patients/{pid}/record/visits", data=form)
    assert r.status_code == 422 and 'id="visit-error"' in r.text and "Петров П. П." in r.text
    assert "<details open>" in r.text
    with db.session() as s:
        assert s.scalars(select(Visit)).all() == []
