"""An admin in Chromium: creates a contract, checks an insured list with a bad row («Проверить»: the
error's line is shown, nothing saved), uploads a clean one («Загрузить»); every admin page has no serious
axe-core violation and tap targets of at least 44 px on a phone."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from telemed.members.models import Contract, Policy
from tests.e2e.test_accessibility import (
    DESKTOP,
    PHONE,
    findings,
    open_as,  # noqa: F401  (fixture)
    visit,
)

pytestmark = pytest.mark.e2e
HEADER = "policy_number,full_name,birth_date,relation,main_policy_number,valid_from,valid_to,email"
GOOD = "P-1,Зайцев Олег,01.02.1980,self,,01.01.2026,31.12.2026,oleg@example.org"
BAD = "P-2,Зайцева Ира,01.02.1982,spouse,P-404,01.01.2026,31.12.2026,"


@pytest.fixture
def admin(factory):
    factory.user("adm", role="admin", consent=False)


def test_an_admin_sets_up_a_contract_and_imports_its_people(db, admin, open_as, tmp_path):  # noqa: F811
    page = open_as("adm", DESKTOP)
    visit(page, "/patients")
    page.get_by_role("link", name="Администрирование").click()
    page.wait_for_url("**/admin/contracts")
    page.fill("input[name=number]", "ДМС-2026/1")
    page.fill("input[name=client]", "ООО «Ромашка»")
    page.fill("input[name=starts_on]", "2026-01-01")
    page.fill("input[name=ends_on]", "2026-12-31")
    page.check("input[name=covered_specialties][value=therapist]")
    page.get_by_role("button", name="Создать договор").click()
    page.wait_for_url("**/admin/contracts/*")
    with db.session() as s:
        contract = s.scalar(select(Contract).where(Contract.number == "ДМС-2026/1"))
        assert contract is not None and contract.covered_specialties == ["therapist"]

    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([HEADER, GOOD, BAD]) + "\n", encoding="utf-8")
    page.set_input_files("input[name=file]", str(bad))
    page.get_by_role("button", name="Проверить").click()
    row = page.locator("table.import-errors tbody tr")
    assert row.count() == 1
    assert row.locator("td").first.text_content() == "3"
    assert "Основной полис не найден" in row.text_content()

    good = tmp_path / "good.csv"
    good.write_text("\n".join([HEADER, GOOD]) + "\n", encoding="utf-8")
    page.set_input_files("input[name=file]", str(good))
    page.get_by_role("button", name="Загрузить").click()
    assert page.locator(".import-result[data-applied=true]").is_visible()
    with db.session() as s:
        assert (
            s.scalar(select(func.count()).select_from(Policy).where(Policy.contract_id == contract.id)) == 1
        )


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_admin_pages_pass_axe_and_have_big_enough_targets(factory, admin, open_as, viewport):  # noqa: F811
    contract = factory.contract()
    doctor = factory.doctor("therapist")
    factory.user("rec1", role="records", consent=False)
    urls = (
        "/admin/contracts",
        f"/admin/contracts/{contract.id}",
        "/admin/doctors",
        f"/admin/doctors/{doctor.id}",
        "/admin/roster",
        "/admin/users",
    )
    found = findings(open_as("adm", viewport), urls, targets=viewport is PHONE)
    assert not found, "\n".join(found)
