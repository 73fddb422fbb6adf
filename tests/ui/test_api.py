"""The HTTP API over real HTTP against the real Assistant: every endpoint, and every error path."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr
from recassist.ui.app import create_app
from ui_helpers import XSS_ITEM, running

ARRIVAL, INTERSTELLAR = "164179", "109487"


@pytest.fixture(scope="module")
def api(base_url):
    with httpx.Client(base_url=base_url, timeout=60) as client:
        yield client


def assert_error(response: httpx.Response, status: int, code: str) -> dict:
    """Every error has the one shape, with a message a person can act on."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"status", "code", "message", "details"}
    assert error["status"] == status and error["code"] == code
    assert len(error["message"]) > 10
    return error


# --- probes and docs ------------------------------------------------------------------------------


def test_health_ready_and_docs(api, engine):
    assert api.get("/healthz").json() == {"status": "ok"}
    ready = api.get("/readyz").json()
    assert ready["status"] == "ready" and ready["items"] == len(engine.catalog)
    assert ready["indexed_items"] == len(engine.catalog)  # read from the vector index itself
    # What serves now: this engine has no LLM and no trained conversation layer.
    assert ready["llm"]["state"].startswith("off") and ready["conversation_layer"].startswith("hand-set blend")
    assert ready["conversation_layer_trained_on"] == {}
    assert ready["ranker"]["name"] and ready["training"]["state"]
    assert "swagger" in api.get("/docs").text.lower()
    paths = api.get("/openapi.json").json()["paths"]
    for path in (
        "/v1/recommendations",
        "/v1/profiles/extract",
        "/v1/users/{user_id}/profile",
        "/v1/feedback",
        "/v1/chat",
        "/v1/items/{item_id}",
        "/healthz",
        "/readyz",
    ):
        assert path in paths
    assert set(paths["/v1/users/{user_id}/profile"]) == {"get", "patch", "delete"}


def test_readyz_answers_503_naming_the_backend_that_fails(api, engine, monkeypatch):
    from recassist.foundation.errors import StoreError

    def broken() -> None:
        raise StoreError("profile store /data/recassist.sqlite3 is not a database")

    monkeypatch.setattr(engine.store, "ping", broken)
    err = assert_error(api.get("/readyz"), 503, "store_unavailable")
    assert "profile store" in err["message"]
    assert api.get("/healthz").status_code == 200  # the process itself is up


# --- recommendations and extraction ------------------------------------------------------------------


def test_recommendations_for_text_carry_scores_reasons_and_evidence(api, engine):
    body = api.post("/v1/recommendations", json={"text": "I loved Arrival and Interstellar", "k": 4}).json()
    items = body["items"]
    assert 1 <= len(items) <= 4
    assert [it["rank"] for it in items] == list(range(1, len(items) + 1))
    for it in items:
        assert it["item_id"] in engine.catalog and it["item_id"] not in (ARRIVAL, INTERSTELLAR)
        assert it["title"] == engine.catalog.get(it["item_id"]).title
        assert it["explanation"] and it["evidence"]["ranker"]
    assert {p["item_id"] for p in body["profile"]["liked_items"]} == {ARRIVAL, INTERSTELLAR}


def test_recommendations_obey_filters_and_persist_the_users_profile(api, engine):
    flt = {"year": {"$gte": 1990, "$lt": 2000}, "genre": {"$nin": ["Comedy"]}}
    body = api.post(
        "/v1/recommendations",
        json={
            "user_id": "api-filters",
            "text": "I loved Interstellar",
            "k": 5,
            "filters": flt,
            "explain": False,
        },
    ).json()
    assert body["items"]
    for it in body["items"]:
        item = engine.catalog.get(it["item_id"])
        assert 1990 <= item.year < 2000 and "Comedy" not in item.genres
    stored = api.get("/v1/users/api-filters/profile").json()
    assert [p["item_id"] for p in stored["liked_items"]] == [INTERSTELLAR]


def test_recommendations_reject_bad_requests(api):
    assert_error(api.post("/v1/recommendations", json={"k": 3}), 422, "invalid_request")  # neither user nor text
    err = assert_error(
        api.post("/v1/recommendations", json={"text": "x", "k": 0, "colour": "red"}), 422, "invalid_request"
    )
    assert {d["loc"] for d in err["details"]} == {"body.k", "body.colour"}
    bad_filter = {"text": "sci-fi", "filters": {"runtime": {"$lt": 90}}}
    assert_error(api.post("/v1/recommendations", json=bad_filter), 422, "invalid_request")
    bad_op = {"text": "sci-fi", "filters": {"year": {"$regex": "19.*"}}}
    assert_error(api.post("/v1/recommendations", json=bad_op), 422, "invalid_request")
    not_json = api.post("/v1/recommendations", content=b"{nope", headers={"content-type": "application/json"})
    assert_error(not_json, 422, "invalid_request")


def test_extract_reads_a_grounded_profile_and_stores_nothing(api):
    profile = api.post("/v1/profiles/extract", json={"text": "I loved Arrival, Gravity bored me"}).json()
    assert [p["item_id"] for p in profile["liked_items"]] == [ARRIVAL]
    assert profile["liked_items"][0]["source"]["text"]
    assert_error(api.post("/v1/profiles/extract", json={"text": "x", "user_id": "u"}), 422, "invalid_request")


# --- profiles and feedback ------------------------------------------------------------------------------


def test_profile_get_patch_delete(api):
    api.post("/v1/recommendations", json={"user_id": "api-edit", "text": "I loved Arrival and Moon", "k": 1})
    liked = [p["item_id"] for p in api.get("/v1/users/api-edit/profile").json()["liked_items"]]
    assert ARRIVAL in liked
    ops = [{"op": "remove_item", "list": "liked_items", "item_id": ARRIVAL}]
    after = api.patch("/v1/users/api-edit/profile", json={"ops": ops}).json()
    assert ARRIVAL not in [p["item_id"] for p in after["liked_items"]]
    # Removing it again names what the list does hold.
    assert_error(api.patch("/v1/users/api-edit/profile", json={"ops": ops}), 404, "not_found")
    assert_error(api.patch("/v1/users/api-edit/profile", json={"ops": [{"op": "explode"}]}), 422, "invalid_request")
    assert_error(api.patch("/v1/users/api-edit/profile", json={"ops": []}), 422, "invalid_request")
    assert api.delete("/v1/users/api-edit/profile").status_code == 204
    assert_error(api.get("/v1/users/api-edit/profile"), 404, "not_found")
    assert_error(api.get("/v1/users/bad%20id/profile"), 422, "invalid_request")


def test_feedback_updates_the_profile_and_seen_items_never_return(api):
    api.post("/v1/recommendations", json={"user_id": "api-fb", "text": "I loved Interstellar", "k": 1})
    first = api.post("/v1/recommendations", json={"user_id": "api-fb", "k": 3, "explain": False}).json()["items"]
    seen, liked = first[0]["item_id"], first[1]["item_id"]
    profile = api.post("/v1/feedback", json={"user_id": "api-fb", "item_id": seen, "kind": "seen"}).json()
    assert seen in [p["item_id"] for p in profile["constraints"]["seen_items"]]
    profile = api.post("/v1/feedback", json={"user_id": "api-fb", "item_id": liked, "kind": "like"}).json()
    assert liked in [p["item_id"] for p in profile["liked_items"]]
    again = api.post("/v1/recommendations", json={"user_id": "api-fb", "k": 10, "explain": False}).json()["items"]
    assert seen not in [it["item_id"] for it in again]
    unknown = api.post("/v1/feedback", json={"user_id": "api-fb", "item_id": "999999999", "kind": "like"})
    assert_error(unknown, 404, "unknown_item")
    assert_error(
        api.post("/v1/feedback", json={"user_id": "api-fb", "item_id": seen, "kind": "love"}),
        422,
        "invalid_request",
    )


# --- chat ---------------------------------------------------------------------------------------------------


def test_chat_turns_share_a_session_and_refine_the_profile(api, engine):
    first = api.post("/v1/chat", json={"user_id": "api-chat", "message": "I loved Arrival and Interstellar"}).json()
    assert first["session_id"] and first["intent"] == "recommend" and first["items"]
    assert first["profile_changes"]
    second = api.post(
        "/v1/chat",
        json={"user_id": "api-chat", "message": "older, before 2000", "session_id": first["session_id"]},
    ).json()
    assert second["session_id"] == first["session_id"]
    assert second["profile"]["constraints"]["years"]["max_year"] < 2000
    assert all(engine.catalog.get(it["item_id"]).year < 2000 for it in second["items"])
    assert_error(api.post("/v1/chat", json={"user_id": "api-chat"}), 422, "invalid_request")


# --- catalog updates ----------------------------------------------------------------------------------------


def test_put_item_makes_it_recommendable_and_delete_removes_it(api, engine):
    put = api.put("/v1/items/api-new-1", json=XSS_ITEM)
    assert put.status_code == 200 and put.json()["title"] == XSS_ITEM["title"]
    assert "api-new-1" in engine.catalog
    # The catalog ends in 2018: only the new item satisfies the filter, so it must come back.
    flt = {"year": {"$gte": 2020}}
    items = api.post("/v1/recommendations", json={"text": "science fiction", "filters": flt, "explain": False}).json()
    assert [it["item_id"] for it in items["items"]] == ["api-new-1"]
    assert api.delete("/v1/items/api-new-1").status_code == 204
    assert "api-new-1" not in engine.catalog
    items = api.post("/v1/recommendations", json={"text": "science fiction", "filters": flt, "explain": False}).json()
    assert items["items"] == []
    assert_error(api.delete("/v1/items/api-new-1"), 404, "unknown_item")
    assert_error(api.put("/v1/items/api-new-2", json={"title": ""}), 422, "invalid_request")
    assert_error(api.put("/v1/items/api-new-2", json={"title": "T", "rating": 5}), 422, "invalid_request")


def test_unknown_routes_and_methods_use_the_error_shape(api):
    assert_error(api.get("/v1/nothing-here"), 404, "not_found")
    assert_error(api.get("/v1/recommendations"), 405, "method_not_allowed")


# --- the edge: keys, sizes, rates, CORS ------------------------------------------------------------------


def _edge_app(engine, settings, **changes):
    return create_app(engine, settings.model_copy(update=changes), ui=False)


def test_api_keys_are_required_when_configured(engine, ui_settings):
    app = _edge_app(engine, ui_settings, api_keys=[SecretStr("k-one"), SecretStr("k-two")])
    with running(app) as url, httpx.Client(base_url=url, timeout=60) as c:
        err = assert_error(c.post("/v1/profiles/extract", json={"text": "Moon"}), 401, "unauthorized")
        assert "RECASSIST_API_KEYS" in err["message"]
        wrong = c.post("/v1/profiles/extract", json={"text": "Moon"}, headers={"Authorization": "Bearer k-three"})
        assert_error(wrong, 401, "unauthorized")
        assert wrong.headers["www-authenticate"] == "Bearer"
        for key in ("k-one", "k-two"):
            ok = c.post("/v1/profiles/extract", json={"text": "Moon"}, headers={"Authorization": f"Bearer {key}"})
            assert ok.status_code == 200
        assert c.get("/healthz").status_code == 200  # probes stay open for load balancers
        assert c.get("/readyz").status_code == 200


def test_request_bodies_over_the_limit_get_413(engine, ui_settings):
    app = _edge_app(engine, ui_settings, api_max_body_bytes=2048)
    with running(app) as url, httpx.Client(base_url=url, timeout=60) as c:
        big = {"text": "I loved Arrival. " * 200}
        err = assert_error(c.post("/v1/profiles/extract", json=big), 413, "request_too_large")
        assert "2048" in err["message"]

        def chunks():  # no Content-Length: counted as it arrives
            yield b'{"text": "'
            for _ in range(100):
                yield b"x" * 100
            yield b'"}'

        chunked = c.post("/v1/profiles/extract", content=chunks(), headers={"content-type": "application/json"})
        assert_error(chunked, 413, "request_too_large")
        assert c.post("/v1/profiles/extract", json={"text": "I loved Moon"}).status_code == 200


def test_rate_limit_answers_429_per_key(engine, ui_settings):
    app = _edge_app(engine, ui_settings, api_keys=[SecretStr("a"), SecretStr("b")], api_rate_limit_per_minute=3)
    with running(app) as url, httpx.Client(base_url=url, timeout=60) as c:
        as_a, as_b = {"Authorization": "Bearer a"}, {"Authorization": "Bearer b"}
        codes = [c.get("/v1/users/nobody/profile", headers=as_a).status_code for _ in range(4)]
        assert codes == [404, 404, 404, 429]
        limited = c.get("/v1/users/nobody/profile", headers=as_a)
        assert_error(limited, 429, "rate_limited")
        assert int(limited.headers["retry-after"]) >= 1
        assert c.get("/v1/users/nobody/profile", headers=as_b).status_code == 404  # another key, own budget


def test_cors_is_off_by_default_and_on_for_listed_origins(api, engine, ui_settings):
    headers = {"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"}
    assert "access-control-allow-origin" not in api.options("/v1/chat", headers=headers).headers
    assert "access-control-allow-origin" not in api.get("/healthz", headers=headers).headers
    app = _edge_app(engine, ui_settings, api_cors_origins=["https://elsewhere.example"])
    with running(app) as url, httpx.Client(base_url=url, timeout=60) as c:
        preflight = c.options("/v1/chat", headers=headers)
        assert preflight.headers["access-control-allow-origin"] == "https://elsewhere.example"
        other = c.options("/v1/chat", headers={**headers, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
