"""Booking rules hold under concurrency, on SQLite and on PostgreSQL."""

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from telemed import errors
from telemed.scheduling.models import Consultation
from tests.service.test_booking_service import book


def race(n: int, attempt) -> list[str]:
    """Run ``attempt(i)`` in ``n`` threads released together; collect 'ok' or the error code."""
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait()
        try:
            attempt(i)
            return "ok"
        except errors.DomainError as exc:
            return exc.code

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def test_twenty_simultaneous_bookings_of_one_slot_one_wins(db, factory):
    contract = factory.contract()
    users = [factory.member(contract=contract)[0] for _ in range(20)]
    slot = factory.slot(factory.doctor())
    outcomes = race(20, lambda i: book(db, users[i], slot))
    assert outcomes.count("ok") == 1
    assert outcomes.count("slot_taken") == 19
    with db.session() as s:
        assert (
            s.scalar(select(func.count()).select_from(Consultation).where(Consultation.slot_id == slot.id))
            == 1
        )


def test_simultaneous_psychologist_bookings_never_exceed_the_limit(db, factory):
    contract = factory.contract(psychologist_limit=3)
    user, patient = factory.member(contract=contract)
    slots = factory.slots(factory.doctor("psychologist"), 8)
    outcomes = race(8, lambda i: book(db, user, slots[i]))
    assert outcomes.count("ok") == 3
    assert outcomes.count("limit_reached") == 5
    with db.session() as s:
        used = s.scalar(
            select(func.count())
            .select_from(Consultation)
            .where(Consultation.patient_id == patient.id, Consultation.status != "cancelled")
        )
    assert used == 3
