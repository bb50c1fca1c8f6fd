"""The single and the batch forms of an access rule agree, because both are built from one definition.

Who is party to a consultation (``scheduling.parties``): ``get_for`` (one consultation), ``list_for``
(a user's list) and ``states_for_many`` (the chat writer's batch check). Which credential is valid
(``auth.service``): ``user_for_login_session`` / ``user_for_token`` and the batch ``actors_for``.
"""

from datetime import UTC, date, datetime, timedelta
from itertools import product

import pytest

from telemed import errors
from telemed.auth import service as auth_service
from telemed.auth.models import User
from telemed.members.models import Guardianship
from telemed.scheduling import service as scheduling
from tests.support.factories import actor, make_consultation


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def world(factory):
    contract = factory.contract()
    anna, anna_p = factory.member("anna", contract=contract)
    mom = factory.user("mom")
    gran = factory.user("gran")
    child = factory.patient(name="Child", birth_date=date(2018, 2, 3), guardian=mom, contract=contract)
    with factory.db.transaction() as s:
        s.add(Guardianship(guardian_user_id=gran.id, patient_id=child.id))  # a second guardian
    stranger = factory.user("stranger")
    records = factory.user("rec", role="records")
    d1, d2 = factory.doctor(username="dr1"), factory.doctor(username="dr2")
    with factory.db.session() as s:
        doctors = [s.get(User, d1.user_id), s.get(User, d2.user_id)]
    consultations = [
        make_consultation(factory, anna, anna_p, d1, contract),
        make_consultation(factory, mom, child, d2, contract),  # booked by a guardian
        make_consultation(factory, anna, child, d1, contract, status="cancelled"),  # booked by someone else
    ]
    return {"users": [anna, mom, gran, stranger, records, *doctors], "consultations": consultations}


def test_get_for_list_for_and_the_batch_agree_on_every_pair(db, world):
    users, consultations = world["users"], world["consultations"]
    pairs = [(u.id, c.id) for u, c in product(users, consultations)]
    with db.session() as s:
        batch = scheduling.states_for_many(s, pairs)
        for u, c in product(users, consultations):
            try:
                scheduling.get_for(s, actor(u), c.id)
                single = True
            except errors.NotFound:
                single = False
            assert single == ((u.id, c.id) in batch), (u.username, c.id)
        for u in users:
            listed = {c.id for c in scheduling.list_for(s, actor(u), now=now())}
            assert listed == {cid for uid, cid in batch if uid == u.id}, u.username
    # the rule is not vacuous: some pairs are in, some out
    assert 0 < len(batch) < len(pairs)
    assert all(row.status for row in batch.values())


def _credentials(db, world):
    """A valid, an expired and a revoked token, a valid and an expired login session, and the
    valid token and session of a user deactivated afterwards."""
    anna, mom = world["users"][0], world["users"][1]
    hour = timedelta(hours=1)
    out = {}
    with db.transaction() as s:
        a, m = s.get(User, anna.id), s.get(User, mom.id)
        out["token"] = auth_service.issue_token(s, a, now=now(), ttl=hour)
        out["expired_token"] = auth_service.issue_token(s, a, now=now() - 2 * hour, ttl=hour)
        out["revoked_token"] = auth_service.issue_token(s, a, now=now(), ttl=hour)
        auth_service.revoke_token(s, out["revoked_token"], now=now())
        out["session"] = auth_service.open_login_session(s, a, now=now(), ttl=hour)
        out["expired_session"] = auth_service.open_login_session(s, a, now=now() - 2 * hour, ttl=hour)
        out["inactive_token"] = auth_service.issue_token(s, m, now=now(), ttl=hour)
        out["inactive_session"] = auth_service.open_login_session(s, m, now=now(), ttl=hour)
        m.is_active = False
    return out


def test_single_and_batch_credential_checks_agree(db, world):
    raw = _credentials(db, world)
    creds = {
        name: auth_service.Credential("login_session" if "session" in name else "token", value)
        for name, value in raw.items()
    }
    with db.session() as s:
        batch = auth_service.actors_for(s, creds.values(), now=now())
        for name, cred in creds.items():
            if cred.kind == "token":
                user = auth_service.user_for_token(s, cred.value, now=now())
            else:
                user = auth_service.user_for_login_session(s, cred.value, now=now())
            assert (user is not None) == (cred in batch), name
            if user is not None:
                assert batch[cred].id == user.id
    assert {name for name, cred in creds.items() if cred in batch} == {"token", "session"}
