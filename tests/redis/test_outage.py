"""Redis stops answering while the app runs: logins stay limited (in the process's memory) and
never fail; ``/readyz`` says so (tests/web/test_readyz.py)."""

from tests.conftest import make_app
from tests.support.redis import start_redis

BAD_LOGIN = {"username": "nobody", "password": "wrong"}


def test_logins_stay_limited_without_redis(sqlite_url, tmp_path, redis_server):
    own = start_redis()  # stopped below; the test run's Redis keeps serving the other tests
    try:
        app = make_app(sqlite_url, tmp_path, REDIS_URL=own.url, LOGIN_RATE_LIMIT="3 per minute")
        client = app.test_client()
        assert client.post("/api/v1/auth/token", json=BAD_LOGIN).status_code == 401  # counted in Redis
        with own.client() as conn:
            assert list(conn.scan_iter(match="*login-user:nobody*"))
    finally:
        own.stop()
    codes = [client.post("/api/v1/auth/token", json=BAD_LOGIN).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]  # counted afresh in memory: never a 500, never unlimited
    assert client.post("/api/v1/auth/token", json=BAD_LOGIN).json["error"]["code"] == "rate_limited"
    app.extensions["telemed.db"].dispose()
