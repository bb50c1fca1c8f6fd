"""The doctor writes the conclusion in Chromium (autosaved draft, ICD-10 search, signature); the member reads it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from telemed.records.models import Conclusion
from tests.support import otp
from tests.support.browser import wait_for
from tests.support.factories import PASSWORD, make_consultation

pytestmark = pytest.mark.e2e
PHONE = {"width": 390, "height": 844}
EDITOR = "#conclusion-editor"


@pytest.fixture
def world(factory):
    contract = factory.contract()
    anna, patient = factory.member("anna", contract=contract)
    doctor = factory.doctor("therapist", username="drt", name="Соколова Марина")
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    return {
        "consultation": make_consultation(
            factory, anna, patient, doctor, contract, start=start, status="in_progress"
        )
    }


def draft(db, cid) -> Conclusion | None:
    with db.session() as s:
        return s.scalar(select(Conclusion).where(Conclusion.consultation_id == cid))


def wait_saved(page) -> None:
    page.wait_for_selector(f'{EDITOR}[data-save-state="saved"]', timeout=10_000)


def test_doctor_writes_and_signs_then_the_member_reads_and_downloads(app, db, world, logged_in_page) -> None:
    cid = world["consultation"].id
    doctor = logged_in_page("drt", viewport=PHONE)
    doctor.goto(f"/consultations/{cid}")
    doctor.click(f"#conclusion a[href='/consultations/{cid}/conclusion']")
    assert doctor.url.endswith(f"/consultations/{cid}/conclusion")
    editor = doctor.locator(EDITOR)
    assert editor.get_attribute("data-state") == "draft" and editor.get_attribute("data-save-state") == "idle"

    # the draft saves itself about a second after typing stops
    doctor.locator("textarea[name=complaints]").press_sequentially("Кашель, температура 37,8", delay=5)
    assert editor.get_attribute("data-save-state") == "pending"
    wait_saved(doctor)
    assert draft(db, cid).complaints == "Кашель, температура 37,8"
    assert doctor.text_content(f"{EDITOR} .save-status").strip() != ""
    doctor.fill("textarea[name=anamnesis]", "Болеет 3 дня")
    doctor.fill("textarea[name=objective]", "Со слов пациента")
    doctor.fill("textarea[name=recommendations]", "Обильное питьё")
    # referrals: a test found in the catalogue by words of its title, and a specialist
    doctor.click(".add-referral")
    code = doctor.locator(".referral-row").nth(0).locator("input[name=referral_code]")
    code.press_sequentially("рентген легк", delay=10)
    doctor.wait_for_selector("#referral-services option[value='A06.09.007']", state="attached")
    code.fill("A06.09.007")
    code.dispatch_event("change")
    doctor.wait_for_function(
        "document.querySelector('.referral-row .referral-title').textContent.includes('Рентгенография')"
    )
    doctor.click(".add-referral")
    second = doctor.locator(".referral-row").nth(1)
    second.locator("select[name=referral_kind]").select_option("specialist")
    assert second.locator(".referral-code").is_hidden()
    second.locator("select[name=referral_specialty]").select_option("ent")
    second.locator("input[name=referral_note]").fill("при сохранении заложенности")
    doctor.fill("textarea[name=follow_up]", "Повторно через 5 дней")

    # ICD-10: type an everyday word, move down the suggestions with the keyboard, choose with Enter
    search = doctor.locator("#dx-search")
    search.fill("орви")  # one input event: one request, so the list below is the answer to the whole word
    doctor.wait_for_selector("#dx-options [role=option][data-code='J06.9']")
    assert search.get_attribute("aria-expanded") == "true"
    codes = doctor.eval_on_selector_all("#dx-options [role=option]", "els => els.map(e => e.dataset.code)")
    assert codes[0] == "J06.9" and all("J00" <= code[:3] <= "J06" for code in codes), codes
    for _ in range(codes.index("J06.9") + 1):
        search.press("ArrowDown")
    active = search.get_attribute("aria-activedescendant")
    assert doctor.get_attribute(f"#{active}", "data-code") == "J06.9"
    assert doctor.get_attribute(f"#{active}", "aria-selected") == "true"
    search.press("Enter")
    assert doctor.is_hidden("#dx-options") and search.get_attribute("aria-expanded") == "false"
    assert doctor.input_value("input[name=diagnosis_icd10]") == "J06.9"
    assert doctor.text_content(".icd10-chosen-code") == "J06.9"
    diagnosis_text = doctor.input_value("input[name=diagnosis_text]")
    assert diagnosis_text
    wait_saved(doctor)
    saved = draft(db, cid)
    assert (saved.diagnosis_icd10, saved.diagnosis_text) == ("J06.9", diagnosis_text)
    assert saved.referrals == [
        {"kind": "test", "code": "A06.09.007"},
        {"kind": "specialist", "specialty": "ent", "note": "при сохранении заложенности"},
    ]
    assert saved.signed_at is None

    # a wrong password is refused and nothing is signed; the right one signs
    doctor.click(f"{EDITOR} .sign-open")
    doctor.fill("input[name=password]", "wrong-password")
    doctor.fill(".sign-form input[name=otp]", "123456")
    doctor.click(".sign-form button[type=submit]")
    doctor.wait_for_selector(".sign-error:not([hidden])")
    assert editor.get_attribute("data-state") == "draft" and draft(db, cid).signed_at is None
    # the right password without the authenticator code is refused too
    doctor.fill("input[name=password]", PASSWORD)
    doctor.fill(".sign-form input[name=otp]", "000000" if otp.code_for() != "000000" else "111111")
    doctor.click(".sign-form button[type=submit]")
    wait_for(doctor, "document.querySelector('.sign-error').textContent.includes('код аутентификатора')")
    assert draft(db, cid).signed_at is None
    doctor.fill("input[name=password]", PASSWORD)
    doctor.fill(".sign-form input[name=otp]", otp.next_code("drt"))
    doctor.click(".sign-form button[type=submit]")
    doctor.wait_for_selector(f'{EDITOR}[data-state="signed"]', timeout=10_000)
    assert doctor.is_disabled("textarea[name=complaints]") and doctor.is_disabled("#dx-search")
    assert doctor.is_hidden(".sign-area") and "Соколова Марина" in doctor.text_content(
        ".signed-area .signature"
    )
    assert draft(db, cid).signed_at is not None

    # corrections are addenda
    doctor.fill(".addendum-form textarea[name=text]", "Уточнение: температура 38,1")
    doctor.fill(".addendum-form input[name=reason]", "Опечатка")
    doctor.click(".addendum-form button[type=submit]")
    doctor.wait_for_selector('.addenda[data-count="1"]')
    assert "Уточнение: температура 38,1" in doctor.text_content(".addenda")
    assert doctor.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # the member sees the signed conclusion, the clinic notice, and downloads the PDF
    member = logged_in_page("anna", viewport=PHONE)
    member.goto(f"/consultations/{cid}")
    panel = member.locator("#conclusion")
    assert panel.get_attribute("data-state") == "signed"
    text = panel.text_content()
    for value in (
        "Кашель, температура 37,8",
        "J06.9",
        diagnosis_text,
        "A06.09.007",
        "Рентгенография легких",
        "при сохранении заложенности",
        "Повторно через 5 дней",
        "Уточнение: температура 38,1",
        "Соколова Марина",
        "выдаются в клинике",
    ):
        assert value in text, value
    href = member.get_attribute("#conclusion a[href$='conclusion.pdf']", "href")
    assert href == f"/api/v1/consultations/{cid}/conclusion.pdf"
    pdf = member.request.get(href)
    assert (
        pdf.status == 200
        and pdf.headers["content-type"] == "application/pdf"
        and pdf.body().startswith(b"%PDF")
    )
    assert member.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert member.locator(f"a[href='/consultations/{cid}/conclusion']").count() == 0

    # ... and finds it in the e-card, reached from the navigation (behind «Меню» on a phone)
    member.click("header details.menu > summary")
    member.click("header nav a[href='/record']")
    member.wait_for_selector("#ecard .entry[data-kind='conclusion']")
    assert member.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
