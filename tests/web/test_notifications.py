"""Notifications: the in-app list and bell, e-mail over a real SMTP server (with .ics), reminders
once in their windows even with two workers, nothing lost while the mail server is down, the
channels a member chooses, and the events that notify."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import func, select, update

from telemed.auth.models import User
from telemed.catalog.models import Doctor
from telemed.notifications import mailer
from telemed.notifications.models import MailMessage, Notification
from telemed.scheduling.models import Consultation
from telemed.worker import run_due
from tests.support.clients import ApiClient, page_login
from tests.support.factories import make_consultation, next_slot_start
from tests.support.smtp import SmtpServer, free_port
from tests.web.test_api_auth import assert_error


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


@pytest.fixture
def w(app, factory, smtp):
    app.extensions["telemed.smtp"] = mailer.SmtpSettings.from_url(smtp.url)
    contract = factory.contract()
    anna, patient = factory.member("anna", contract=contract)
    child = factory.patient(name="Миша", birth_date=date(2018, 2, 3), guardian=anna, contract=contract)
    boris, _ = factory.member("boris", contract=contract)
    doctor = factory.doctor("therapist", username="drt", name="Соколова Марина")
    pediatrician = factory.doctor("pediatrician", username="drp", name="Петрова Ольга")
    with factory.db.transaction() as s:
        s.execute(update(User).where(User.id == anna.id).values(email="anna@example.org"))
    return {
        "contract": contract,
        "anna": anna,
        "patient": patient,
        "child": child,
        "boris": boris,
        "doctor": doctor,
        "pediatrician": pediatrician,
    }


def book(app, doctor, factory, start=None, who="anna", **body):
    slot = factory.slot(doctor, start)
    r = ApiClient(app, who).post(
        "/api/v1/consultations", json={"slot_id": slot.id, "reason": "Кашель", **body}
    )
    assert r.status_code == 201, r.json
    return r.json


def inbox_of(db, user_id):
    with db.session() as s:
        return list(
            s.scalars(select(Notification).where(Notification.user_id == user_id).order_by(Notification.id))
        )


def calendar_of(message) -> Calendar:
    parts = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1
    return Calendar.from_ical(parts[0].get_content())


def test_a_booking_is_in_the_bell_and_mailed_with_a_calendar_event(app, db, factory, w, smtp):
    start = next_slot_start(days=3)
    c = book(app, w["doctor"], factory, start)
    anna = ApiClient(app, "anna")
    r = anna.get("/api/v1/notifications", headers={"Accept-Language": "ru"})
    assert r.status_code == 200 and r.headers["X-Unread-Count"] == "1"
    [n] = r.json
    assert n["kind"] == "booked" and n["consultation_id"] == c["id"] and n["read_at"] is None
    assert "Терапевт" in n["title"] and "Кашель" not in n["title"]  # no reason, no diagnosis
    assert set(n) == {"id", "kind", "title", "created_at", "read_at", "consultation_id"}
    english = anna.get("/api/v1/notifications", headers={"Accept-Language": "en"}).json[0]["title"]
    assert english.startswith("Consultation booked: Therapist")

    done = run_due(app)
    assert done["mail_sent"] == 1
    [mail] = smtp.inbox.wait_for(1)
    assert smtp.inbox.envelopes[0][1] == ["anna@example.org"]
    assert mail["Subject"].startswith("Вы записаны на консультацию: Терапевт")
    assert "Кашель" not in mail.get_body(("plain",)).get_content()
    cal = calendar_of(mail)
    [event] = cal.walk("VEVENT")
    assert cal["METHOD"] == "PUBLISH" and event["UID"] == f"consultation-{c['id']}@telemed"
    assert event.decoded("DTSTART") == start and event.decoded("DTEND") == start + timedelta(minutes=30)
    assert run_due(app)["mail_sent"] == 0  # sent once
    assert len(smtp.messages) == 1


def test_the_doctor_cancelling_tells_the_member_why_and_withdraws_the_event(app, db, factory, w, smtp):
    c = book(app, w["doctor"], factory)
    r = ApiClient(app, "drt").post(
        f"/api/v1/consultations/{c['id']}/cancel", json={"reason": "Болезнь врача"}
    )
    assert r.status_code == 200, r.json
    kinds = [n.kind for n in inbox_of(db, w["anna"].id)]
    assert kinds == ["booked", "cancelled"]
    run_due(app)
    cancelled = [m for m in smtp.inbox.wait_for(2) if "отменена" in m["Subject"]]
    assert len(cancelled) == 1
    assert "Болезнь врача" in cancelled[0].get_body(("plain",)).get_content()
    cal = calendar_of(cancelled[0])
    assert cal["METHOD"] == "CANCEL" and cal.walk("VEVENT")[0]["UID"] == f"consultation-{c['id']}@telemed"


def test_a_member_cancelling_is_not_told_of_it(app, db, factory, w):
    c = book(app, w["doctor"], factory)
    assert ApiClient(app, "anna").post(f"/api/v1/consultations/{c['id']}/cancel", json={}).status_code == 200
    assert [n.kind for n in inbox_of(db, w["anna"].id)] == ["booked"]


def test_reminders_come_once_each_inside_their_windows(app, db, factory, w, smtp):
    start = next_slot_start(days=3)
    c = make_consultation(factory, w["anna"], w["patient"], w["doctor"], w["contract"], start=start)
    late = make_consultation(
        factory, w["anna"], w["patient"], w["doctor"], w["contract"], start=start + timedelta(hours=2)
    )
    with db.transaction() as s:  # booked 90 minutes before its start: no "tomorrow" reminder for it
        s.execute(
            update(Consultation)
            .where(Consultation.id == late.id)
            .values(created_at=late.starts_at - timedelta(minutes=90))
        )

    def kinds_at(moment):
        run_due(app, now=moment)
        return [(n.kind, n.consultation_id) for n in inbox_of(db, w["anna"].id)]

    assert kinds_at(start - timedelta(hours=25)) == []
    assert kinds_at(start - timedelta(hours=23)) == [("reminder_24h", c.id)]
    assert kinds_at(start - timedelta(hours=20)) == [("reminder_24h", c.id)]
    after_15 = kinds_at(start - timedelta(minutes=10))
    assert after_15 == [("reminder_24h", c.id), ("reminder_15m", c.id)]
    assert kinds_at(start - timedelta(minutes=5)) == after_15
    at_late = kinds_at(late.starts_at - timedelta(minutes=14))
    assert at_late[2:] == [("reminder_15m", late.id)]  # its 24 h window passed while booked in silence
    mails = smtp.inbox.wait_for(3)
    assert len(mails) == 3
    fifteen = [m for m in mails if "15" in m["Subject"]][0]
    assert "http://localhost:5000/check" in fifteen.get_body(("plain",)).get_content()


def test_two_workers_send_every_reminder_once(app, db, factory, w, smtp):
    start = next_slot_start(days=3)
    for i in range(20):
        make_consultation(
            factory,
            w["anna"],
            w["patient"],
            w["doctor"],
            w["contract"],
            start=start + timedelta(minutes=30 * i),
        )
    moment = start - timedelta(hours=12)  # every 24 h reminder is due
    failures: list[BaseException] = []
    barrier = threading.Barrier(2)

    def worker():
        try:
            barrier.wait()
            run_due(app, now=moment)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert failures == []
    notes = inbox_of(db, w["anna"].id)
    assert len(notes) == 20 and len({n.consultation_id for n in notes}) == 20
    run_due(app, now=moment)  # what one worker left pending, if anything
    mails = smtp.inbox.wait_for(20)
    assert len(mails) == 20 and len({m["Message-ID"] for m in mails}) == 20


def test_nothing_is_lost_while_the_mail_server_is_down(app, db, factory, w):
    port = free_port()
    app.extensions["telemed.smtp"] = mailer.SmtpSettings.from_url(f"smtp://127.0.0.1:{port}")
    book(app, w["doctor"], factory)
    now = datetime.now(UTC)
    assert run_due(app, now=now)["mail_sent"] == 0
    with db.session() as s:
        [m] = s.scalars(select(MailMessage))
        assert m.sent_at is None and m.failed_at is None and m.attempts == 1
        assert m.due_at >= now + mailer.RETRY_BASE and m.claimed_by is None and "server" in m.last_error
    assert run_due(app, now=now + timedelta(seconds=5))["mail_sent"] == 0  # backing off: not retried yet
    with SmtpServer(port=port) as smtp:
        assert run_due(app, now=now + mailer.RETRY_BASE + timedelta(seconds=1))["mail_sent"] == 1
        assert len(smtp.inbox.wait_for(1)) == 1
    with db.session() as s:
        [m] = s.scalars(select(MailMessage))
        assert m.sent_at is not None and m.attempts == 2


def test_a_refused_recipient_fails_for_good_and_the_others_go(app, db, factory, w, smtp):
    assert mailer.backoff(1) == mailer.RETRY_BASE and mailer.backoff(2) == 2 * mailer.RETRY_BASE
    assert mailer.backoff(50) == mailer.RETRY_MAX
    with db.transaction() as s:
        s.execute(update(User).where(User.id == w["boris"].id).values(email="boris@refused.example.org"))
    book(app, w["doctor"], factory, who="boris")
    book(app, w["doctor"], factory)
    assert run_due(app)["mail_sent"] == 1
    assert smtp.inbox.envelopes[0][1] == ["anna@example.org"]
    with db.session() as s:
        refused = s.scalar(select(MailMessage).where(MailMessage.to_addr == "boris@refused.example.org"))
    assert refused.failed_at is not None and refused.sent_at is None and "550" in refused.last_error


def test_without_a_mail_server_mail_is_dropped_not_kept(app, db, factory, w):
    app.extensions["telemed.smtp"] = None
    book(app, w["doctor"], factory)
    run_due(app)
    with db.session() as s:
        [m] = s.scalars(select(MailMessage))
    assert m.failed_at is not None and m.sent_at is None and "no SMTP" in m.last_error


def test_reading_marks_and_strangers_get_404(app, db, factory, w):
    book(app, w["doctor"], factory)
    book(app, w["doctor"], factory)
    anna, boris = ApiClient(app, "anna"), ApiClient(app, "boris")
    items = anna.get("/api/v1/notifications").json
    assert [n["id"] for n in items] == sorted((n["id"] for n in items), reverse=True)  # newest first
    newest, older = items
    assert_error(boris.post(f"/api/v1/notifications/{newest['id']}/read"), 404, "not_found")
    assert boris.get("/api/v1/notifications").json == []
    r = anna.post(f"/api/v1/notifications/{newest['id']}/read")
    assert r.status_code == 200 and r.json["read_at"]
    again = anna.post(f"/api/v1/notifications/{newest['id']}/read").json
    assert again["read_at"] == r.json["read_at"]
    page = anna.get("/api/v1/notifications")
    assert page.headers["X-Unread-Count"] == "1"
    assert [n["id"] for n in anna.get(f"/api/v1/notifications?before={newest['id']}").json] == [older["id"]]
    assert anna.post("/api/v1/notifications/read-all").json == {"marked": 1}
    assert anna.get("/api/v1/notifications").headers["X-Unread-Count"] == "0"
    assert ApiClient(app).get("/api/v1/notifications").status_code == 401


def test_members_choose_channels_per_kind(app, db, factory, w, smtp):
    anna = ApiClient(app, "anna")
    defaults = anna.get("/api/v1/notification-preferences").json
    assert defaults["booked"] == {"in_app": True, "email": True} and len(defaults) == 10
    r = anna.put("/api/v1/notification-preferences", json={"booked": {"email": False}})
    assert r.status_code == 200 and r.json["booked"] == {"in_app": True, "email": False}
    book(app, w["doctor"], factory)
    run_due(app)
    assert smtp.messages == [] and len(anna.get("/api/v1/notifications").json) == 1
    anna.put("/api/v1/notification-preferences", json={"booked": {"in_app": False, "email": True}})
    book(app, w["doctor"], factory)
    assert len(anna.get("/api/v1/notifications").json) == 1  # the second one is by e-mail only
    run_due(app)
    assert len(smtp.inbox.wait_for(1)) == 1
    for bad in ({"nonsense": {"email": False}}, {"booked": {"sms": True}}, {"booked": {"email": "no"}}):
        assert_error(anna.put("/api/v1/notification-preferences", json=bad), 422, "validation_error")
    assert_error(anna.put("/api/v1/notification-preferences", json=[]), 400, "bad_request")


def test_the_other_events_notify_without_a_diagnosis(app, db, factory, w, smtp):
    from telemed.video import service as video
    from tests.support.factories import actor
    from tests.web.test_records_api import DRAFT, signed

    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    c = make_consultation(factory, w["anna"], w["patient"], w["doctor"], w["contract"], start=start)
    with db.session() as s:
        doctor_user = s.get(User, s.scalar(select(Doctor.user_id).where(Doctor.id == w["doctor"].id)))
    for sid in ("sid-1", "sid-2"):  # the doctor enters twice (a reconnection): the member hears it once
        with db.transaction() as s:
            room = s.get(Consultation, c.id)
            video.enter(
                s, actor(doctor_user), room, sid, process_id="p", now=datetime.now(UTC), early_minutes=15
            )
    signed(app, c.id)
    anna = ApiClient(app, "anna")
    items = anna.get("/api/v1/notifications", headers={"Accept-Language": "ru"}).json
    assert [n["kind"] for n in reversed(items)] == ["doctor_in_room", "conclusion_signed", "referral_issued"]
    assert all(n["consultation_id"] == c.id for n in items)
    for n in items:
        assert DRAFT["diagnosis"]["text"] not in n["title"] and "J06" not in n["title"]
    run_due(app)
    mails = smtp.inbox.wait_for(3)
    referral_mail = [m for m in mails if "направление" in m["Subject"]][0]
    body = referral_mail.get_body(("plain",)).get_content()
    assert "http://localhost:5000/referrals" in body
    for m in mails:
        text = m.get_body(("plain",)).get_content()
        assert "J06" not in text and DRAFT["diagnosis"]["text"] not in text and "B03.016.002" not in text


def test_second_opinion_steps_and_an_urgent_pick_up_notify_the_member(app, db, factory, w):
    factory.user("cur", role="curator", consent=False)
    anna, cur = ApiClient(app, "anna"), ApiClient(app, "cur")
    r = anna.post(
        "/api/v1/second-opinions",
        json={"icd10": "M54.5", "condition": "Боль в спине", "question": "Нужна ли операция?"},
    )
    assert r.status_code == 201, r.json
    assert (
        cur.post(f"/api/v1/second-opinions/{r.json['id']}/status", json={"status": "contacted"}).status_code
        == 200
    )
    [n] = anna.get("/api/v1/notifications", headers={"Accept-Language": "ru"}).json
    assert n["kind"] == "opinion_status" and "куратор связался с вами" in n["title"]
    assert "M54" not in n["title"] and "спине" not in n["title"]
    assert ApiClient(app, "boris").get("/api/v1/notifications").json == []


def test_the_doctor_running_late_is_told_once(app, db, factory, w):
    now = datetime.now(UTC).replace(microsecond=0)
    make_consultation(
        factory,
        w["boris"],
        w["patient"],
        w["doctor"],
        w["contract"],
        start=now - timedelta(minutes=40),
        status="in_progress",
    )
    mine = make_consultation(
        factory, w["anna"], w["patient"], w["doctor"], w["contract"], start=now - timedelta(minutes=5)
    )
    other = make_consultation(
        factory, w["anna"], w["patient"], w["pediatrician"], w["contract"], start=now - timedelta(minutes=5)
    )
    run_due(app, now=now)
    run_due(app, now=now + timedelta(minutes=1))
    late = [n for n in inbox_of(db, w["anna"].id) if n.kind == "doctor_late"]
    assert [n.consultation_id for n in late] == [mine.id]
    assert other.id not in [n.consultation_id for n in late]


def test_the_notifications_page_lists_and_saves_the_channels(app, db, factory, w):
    c = book(app, w["doctor"], factory)
    client = page_login(app, "anna")
    page = client.get("/notifications")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-kind="booked"' in html and 'data-unread="1"' in html
    from tests.support.clients import csrf_token

    token = csrf_token(html)
    r = client.post("/notifications/preferences", data={"csrf_token": token, "on": ["booked:in_app"]})
    assert r.status_code == 302
    prefs = ApiClient(app, "anna").get("/api/v1/notification-preferences").json
    assert prefs["booked"] == {"in_app": True, "email": False} and prefs["cancelled"] == {
        "in_app": False,
        "email": False,
    }
    [n] = inbox_of(db, w["anna"].id)
    r = client.post(f"/notifications/{n.id}/open", data={"csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/consultations/{c['id']}")
    assert 'data-unread="0"' in client.get("/notifications").get_data(as_text=True)
    with db.session() as s:
        assert (
            s.scalar(select(func.count()).select_from(Notification).where(Notification.read_at.is_(None)))
            == 0
        )


def test_a_doctor_taking_an_urgent_request_notifies_its_member(app, db, factory):
    from tests.support import urgent as u

    w = u.world(factory)
    cid = u.ask(app, w["anna"])
    assert inbox_of(db, w["anna"].id) == []
    u.claim(app, u.user_of(app, "drt1"), cid)
    [n] = ApiClient(app, "anna").get("/api/v1/notifications", headers={"Accept-Language": "ru"}).json
    assert n["kind"] == "urgent_taken" and n["consultation_id"] == cid and "Терапевт" in n["title"]
    assert ApiClient(app, "boris").get("/api/v1/notifications").json == []


@pytest.mark.parametrize("role", ["member", "doctor", "records", "admin", "curator"])
def test_every_role_reads_only_its_own_notifications(app, db, factory, w, role):
    """The list, marking and the channels are each user's own, whatever the role."""
    book(app, w["doctor"], factory)
    [theirs] = inbox_of(db, w["anna"].id)
    who = factory.user(f"someone-{role}", role=role, consent=role == "member")
    client = ApiClient(app, who.username)
    r = client.get("/api/v1/notifications")
    assert r.status_code == 200 and r.json == [] and r.headers["X-Unread-Count"] == "0"
    assert_error(client.post(f"/api/v1/notifications/{theirs.id}/read"), 404, "not_found")
    assert client.post("/api/v1/notifications/read-all").json == {"marked": 0}
    assert (
        client.put("/api/v1/notification-preferences", json={"booked": {"email": False}}).status_code == 200
    )
    assert ApiClient(app, "anna").get("/api/v1/notification-preferences").json["booked"]["email"] is True
    with db.session() as s:
        assert s.get(Notification, theirs.id).read_at is None
