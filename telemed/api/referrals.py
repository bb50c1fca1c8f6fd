"""API: referrals («Направления») of signed conclusions, and the catalogue of tests and studies."""

from __future__ import annotations

from flask import jsonify

from telemed import errors
from telemed.api import api
from telemed.api.contract import ChoiceParam, IntParam, TextParam, documented
from telemed.api.openapi_parts import json_response, ref
from telemed.auth.web import current_actor
from telemed.records import access, referral_catalogue, referrals
from telemed.records.audit_web import audited
from telemed.translatable import _l
from telemed.web import db_session, now

CATALOGUE_Q = TextParam("q", max_len=100)
CATALOGUE_LANG = ChoiceParam("lang", ("ru", "en"))
CATALOGUE_LIMIT = IntParam("limit", 20, lo=1, hi=100)
LIMIT, OFFSET = IntParam("limit", 100, lo=1, hi=500), IntParam("offset", 0, hi=10**6)


@api.get("/referrals")
@documented(json_response(ref("ReferralList")), errors=(403,), query=(LIMIT, OFFSET))
def list_referrals():
    """The member's referrals and their dependants', newest first, each with its ``status``:
    ``issued``, ``booked`` (a consultation of the referral's specialty was booked while it was
    valid) or ``expired`` (30 days passed unbooked). 403 ``forbidden`` for doctors and staff.
    ``limit`` (default 100) and ``offset`` page the list."""
    with audited("referral", "read") as ctx:
        items = referrals.list_for(
            db_session(), ctx["actor"], now=now(), limit=LIMIT.read(), offset=OFFSET.read()
        )
    return jsonify({"items": items})


@api.get("/referral-catalogue")
@documented(
    json_response(ref("ReferralCatalogue")),
    errors=(403,),
    query=(CATALOGUE_Q, CATALOGUE_LANG, CATALOGUE_LIMIT),
)
def referral_catalogue_search():
    """Search the tests and studies a doctor refers to (codes of the «Номенклатура медицинских
    услуг»), by code prefix or words of the Russian or English title. Doctors, records staff and
    admins; 403 ``forbidden`` for members and curators. ``title`` is in ``lang`` (``ru`` default)."""
    if not access.may_search_referral_catalogue(current_actor()):
        raise errors.NotPermitted(_l("Only clinicians search the catalogue of tests and studies."))
    lang = CATALOGUE_LANG.read() or "ru"
    found = referral_catalogue.search(CATALOGUE_Q.read() or "", limit=CATALOGUE_LIMIT.read())
    items = [
        {
            "code": s.code,
            "kind": s.kind,
            "title": s.title(lang),
            "title_ru": s.title_ru,
            "title_en": s.title_en,
        }
        for s in found
    ]
    return jsonify({"items": items})
