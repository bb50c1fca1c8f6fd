"""Group commit of chat messages: batch authorization, batch access checks, failure isolation.

Against a real database (SQLite and PostgreSQL). The socket tests (tests/socket) cover the same
writer end to end through a live server.
"""

import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert

from telemed import errors
from telemed.auth import service as auth_service
from telemed.auth.models import User
from telemed.chat import service as chat
from telemed.chat.models import Message
from telemed.chat.writer import MessageWriter, Outgoing
from telemed.scheduling import service as scheduling
from tests.support.factories import actor, make_consultation


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def world(factory):
    contract = factory.contract()
    anna, anna_p = factory.member("anna", contract=contract)
    boris, boris_p = factory.member("boris", contract=contract)
    mom = factory.user("mom")
    child = factory.patient(name="Child", birth_date=date(2018, 2, 3), guardian=mom, contract=contract)
    doctor = factory.doctor(username="drt")
    other_doctor = factory.doctor(username="dro")
    with factory.db.session() as s:
        doctor_user, other_doctor_user = s.get(User, doctor.user_id), s.get(User, other_doctor.user_id)
    return {
        "anna": anna,
        "boris": boris,
        "mom": mom,
        "doctor": doctor_user,
        "other_doctor": other_doctor_user,
        "c_anna": make_consultation(factory, anna, anna_p, doctor, contract),
        "c_boris": make_consultation(factory, boris, boris_p, doctor, contract),
        "c_child": make_consultation(factory, mom, child, doctor, contract),
        "c_cancelled": make_consultation(factory, anna, anna_p, doctor, contract, status="cancelled"),
        "c_old": make_consultation(factory, anna, anna_p, doctor, contract, start=now() - timedelta(days=10)),
    }


def token(db, user, *, ttl=timedelta(hours=1)) -> auth_service.Credential:
    with db.transaction() as s:
        raw = auth_service.issue_token(s, s.get(type(user), user.id), now=now(), ttl=ttl)
    return auth_service.Credential("token", raw)


@pytest.fixture
def sent():
    return []


@pytest.fixture
def writer(db, sent):
    return MessageWriter(db, broadcast=sent.extend, clock=now, open_hours=lambda: 72)


def test_states_for_many_applies_the_rule_of_get_for(db, world):
    """Every party kind (patient, guardian, booker, doctor) and every stranger, in one statement."""
    users = [world[k] for k in ("anna", "boris", "mom", "doctor", "other_doctor")]
    consultations = [world[k] for k in ("c_anna", "c_boris", "c_child", "c_cancelled")]
    asks = [(u.id, c.id) for u in users for c in consultations] + [(world["anna"].id, 10**9)]
    with db.session() as s:
        states = scheduling.states_for_many(s, asks)
        for u in users:
            for c in consultations:
                try:
                    scheduling.get_for(s, actor(u), c.id)
                    party = True
                except errors.NotFound:
                    party = False
                assert ((u.id, c.id) in states) is party, (u.username, c.id)
    assert (world["mom"].id, world["c_child"].id) in states  # a guardian
    assert (world["boris"].id, world["c_anna"].id) not in states
    assert states[(world["doctor"].id, world["c_cancelled"].id)].status == "cancelled"


def test_actors_for_revalidates_every_credential(db, world):
    anna, boris, mom = world["anna"], world["boris"], world["mom"]
    good, expired, revoked, inactive = (
        token(db, anna),
        token(db, anna, ttl=timedelta(seconds=-1)),
        token(db, boris),
        token(db, mom),
    )
    with db.transaction() as s:
        auth_service.revoke_token(s, revoked.value, now=now())
        s.get(type(mom), mom.id).is_active = False
        sid = auth_service.open_login_session(
            s, s.get(type(boris), boris.id), now=now(), ttl=timedelta(hours=1)
        )
        old_sid = auth_service.open_login_session(
            s, s.get(type(anna), anna.id), now=now() - timedelta(days=2), ttl=timedelta(hours=1)
        )
    cookie, old_cookie = (
        auth_service.Credential("login_session", sid),
        auth_service.Credential("login_session", old_sid),
    )
    with db.session() as s:
        found = auth_service.actors_for(
            s,
            [
                good,
                expired,
                revoked,
                inactive,
                cookie,
                old_cookie,
                auth_service.Credential("token", "forged"),
            ],
            now=now(),
        )
    assert found == {good: actor(anna), cookie: actor(boris)}


def test_a_batch_judges_each_message_on_its_own(db, world, writer, sent):
    """One transaction, many senders: each gets its own outcome and refused ones write nothing."""
    anna, doctor = token(db, world["anna"]), token(db, world["doctor"])
    with db.transaction() as s:
        auth_service.revoke_token(s, (revoked := token(db, world["boris"])).value, now=now())
    batch = [
        Outgoing(anna, world["c_anna"].id, "first"),
        Outgoing(token(db, world["boris"]), world["c_anna"].id, "a stranger"),
        Outgoing(doctor, world["c_anna"].id, "second"),
        Outgoing(revoked, world["c_boris"].id, "revoked token"),
        Outgoing(anna, world["c_cancelled"].id, "cancelled"),
        Outgoing(anna, world["c_old"].id, "after 72 hours"),
        Outgoing(anna, world["c_anna"].id, "x" * (chat.TEXT_MAX + 1)),
        Outgoing(anna, world["c_anna"].id, "   "),
        Outgoing(token(db, world["mom"]), world["c_child"].id, "a guardian"),
        Outgoing(actor(world["doctor"]), world["c_boris"].id, "an authenticated actor"),
    ]
    results = writer._store(batch)
    codes = [r.code if isinstance(r, errors.DomainError) else "ok" for r in results]
    assert codes == [
        "ok",
        "not_found",
        "ok",
        "not_authenticated",
        "chat_read_only",
        "chat_read_only",
        "validation_error",
        "validation_error",
        "ok",
        "ok",
    ]
    stored = [r for r in results if isinstance(r, dict)]
    assert [r["id"] for r in stored] == sorted(r["id"] for r in stored)  # ids follow the batch order
    assert stored[1]["author"] == {
        "id": world["doctor"].id,
        "name": world["doctor"].full_name,
        "role": "doctor",
    }
    with db.session() as s:
        rows = s.query(Message).order_by(Message.id).all()
    assert [(m.id, m.consultation_id, m.author_id, m.text) for m in rows] == [
        (r["id"], r["consultation_id"], r["author"]["id"], r["text"]) for r in stored
    ]


def test_concurrent_senders_are_stored_once_and_broadcast_in_id_order(db, world, writer, sent):
    senders = [
        (token(db, world["anna"]), world["c_anna"].id),
        (token(db, world["doctor"]), world["c_anna"].id),
        (token(db, world["boris"]), world["c_boris"].id),
        (token(db, world["mom"]), world["c_child"].id),
    ]
    acks: list = []

    def send(k: int) -> None:
        credential, cid = senders[k % len(senders)]
        for i in range(25):
            acks.append(writer.send(Outgoing(credential, cid, f"{k}-{i}"))["id"])

    threads = [threading.Thread(target=send, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(acks) == len(set(acks)) == 200
    assert sorted(p["id"] for p in sent) == sorted(acks)
    assert [p["id"] for p in sent] == sorted(p["id"] for p in sent)  # every room sees its messages in order
    with db.session() as s:
        assert s.query(Message).count() == 200


def test_a_failing_batch_is_retried_one_by_one(db, world, writer, sent, monkeypatch):
    """A database error in a batch sinks only the message that causes it; nothing of it is stored."""
    real = chat.store_messages

    def store(session, drafts, **kw):
        if any(d.text == "poison" for d in drafts):
            session.execute(
                insert(Message).values(
                    consultation_id=world["c_anna"].id, author_id=world["anna"].id, text="half-written"
                )
            )
            raise RuntimeError("database went away")
        return real(session, drafts, **kw)

    monkeypatch.setattr(chat, "store_messages", store)
    anna = token(db, world["anna"])
    items = [Outgoing(anna, world["c_anna"].id, text) for text in ("before", "poison", "after")]
    writer._process(items)
    results = [i.outcome.result(5) for i in items]
    assert isinstance(results[0], dict) and isinstance(results[2], dict)
    assert isinstance(results[1], errors.DomainError) and results[1].code == "internal_error"
    assert [p["text"] for p in sent] == ["before", "after"]
    with db.session() as s:
        assert [m.text for m in s.query(Message).order_by(Message.id)] == ["before", "after"]


def test_a_message_still_waiting_at_its_timeout_is_withdrawn(db, world, writer, sent, monkeypatch):
    """Senders run the batches themselves; one stuck behind a slow batch gives up and is never stored."""
    anna, doctor = token(db, world["anna"]), token(db, world["doctor"])
    real, started, release = writer._process, threading.Event(), threading.Event()

    def slow_process(batch):
        started.set()
        release.wait(10)
        real(batch)

    monkeypatch.setattr(writer, "_process", slow_process)
    first: list = []
    leader = threading.Thread(
        target=lambda: first.append(writer.send(Outgoing(anna, world["c_anna"].id, "first")))
    )
    leader.start()
    assert started.wait(5)
    with pytest.raises(errors.DomainError) as refused:
        writer.send(Outgoing(doctor, world["c_anna"].id, "too late"), timeout=0.3)
    assert refused.value.code == "internal_error"
    release.set()
    leader.join(10)
    assert first[0]["text"] == "first" and [p["text"] for p in sent] == ["first"]
    assert (
        writer.send(Outgoing(doctor, world["c_anna"].id, "again"))["text"] == "again"
    )  # the lead was given up
    with db.session() as s:
        assert [m.text for m in s.query(Message).order_by(Message.id)] == ["first", "again"]
    assert not any(t.name == "chat-writer" for t in threading.enumerate())


def test_close_waits_for_the_messages_handed_over_and_refuses_new_ones(db, world, writer, sent, monkeypatch):
    """A stopping server: what the writer holds is stored before ``close`` returns; later messages
    are refused at once and nothing of them is stored."""
    anna, doctor = token(db, world["anna"]), token(db, world["doctor"])
    real, started, release = writer._process, threading.Event(), threading.Event()

    def slow_process(batch):
        started.set()
        release.wait(10)
        real(batch)

    monkeypatch.setattr(writer, "_process", slow_process)
    acks: list = []
    senders = [
        threading.Thread(target=lambda: acks.append(writer.send(Outgoing(anna, world["c_anna"].id, "held")))),
        threading.Thread(
            target=lambda: acks.append(writer.send(Outgoing(doctor, world["c_anna"].id, "queued")))
        ),
    ]
    senders[0].start()
    assert started.wait(5)
    senders[1].start()
    for _ in range(500):  # until the second message waits behind the first
        if writer._pending:
            break
        time.sleep(0.01)
    closed: list = []
    closer = threading.Thread(target=lambda: closed.append(writer.close(timeout=10)))
    closer.start()
    time.sleep(0.2)
    assert closed == []  # still holding two messages
    with pytest.raises(errors.DomainError) as refused:
        writer.send(Outgoing(doctor, world["c_anna"].id, "after close"))
    assert refused.value.code == "internal_error"
    release.set()
    closer.join(10)
    for t in senders:
        t.join(10)
    assert closed == [True]
    assert sorted(a["text"] for a in acks) == ["held", "queued"]
    with db.session() as s:
        assert sorted(m.text for m in s.query(Message)) == ["held", "queued"]
    assert writer.close(timeout=0) is True  # idle: returns at once
