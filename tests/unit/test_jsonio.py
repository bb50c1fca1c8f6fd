"""The app's JSON writer: orjson for speed, Flask's standard writer for what orjson cannot write."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from flask import Flask, jsonify, render_template_string

from telemed.jsonio import FastJSONProvider


@pytest.fixture
def flask_app():
    app = Flask(__name__)
    app.json = FastJSONProvider(app)
    with app.app_context():
        yield app


def test_a_body_is_utf8_in_the_order_it_was_built(flask_app):
    r = jsonify({"z": 1, "name": "Иванова", "a": [1, 2.5, None, True]})
    assert r.mimetype == "application/json"
    assert r.get_data() == '{"z":1,"name":"Иванова","a":[1,2.5,null,true]}\n'.encode()


def test_what_orjson_cannot_write_goes_through_flask(flask_app):
    big = 2**70
    assert json.loads(jsonify({"n": big}).get_data()) == {"n": big}
    assert json.loads(jsonify({"d": Decimal("1.50")}).get_data()) == {"d": "1.50"}
    assert json.loads(jsonify({1: "int key"}).get_data()) == {"1": "int key"}


def test_tojson_in_templates_stays_html_safe(flask_app):
    html = render_template_string("{{ data|tojson }}|{{ data|tojson(indent=1) }}", data={"x": "</script>"})
    compact, indented = html.split("|")
    assert "</script>" not in html
    assert json.loads(compact) == json.loads(indented) == {"x": "</script>"}
