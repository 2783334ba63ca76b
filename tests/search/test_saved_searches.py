"""Saved searches over a real backend: each user (viewers too) keeps their own named searches;
another user's are invisible and untouchable; bad, oversized and hostile input gets a clear 4xx."""

from __future__ import annotations

import pytest

from backend.search.saved import MAX_SAVED_PER_USER
from tests.backend.conftest import api, backend_stack, module_backend  # noqa: F401  (fixtures)
from tests.backend.test_roles import viewer  # noqa: F401  (fixture)
from tests.support.api import ApiClient

PATH = "/api/v1/saved-searches"


def _names(client: ApiClient) -> list[str]:
    response = client.http.get(PATH)
    assert response.status_code == 200, response.text
    return [s["name"] for s in response.json()]


def test_a_viewer_saves_lists_renames_and_deletes_their_own(api: ApiClient, viewer: ApiClient) -> None:  # noqa: F811
    with viewer:
        created = viewer.http.post(
            PATH, json={"name": " slow gpt-4o ", "query": "gen_ai.request.model = gpt-4o duration > 5s"}
        )
        assert created.status_code == 201, created.text
        saved = created.json()
        assert (
            saved["name"] == "slow gpt-4o" and saved["query"] == "gen_ai.request.model = gpt-4o duration > 5s"
        )
        assert viewer.http.post(PATH, json={"name": "alice", "query": "user.id = alice"}).status_code == 201
        assert _names(viewer) == ["alice", "slow gpt-4o"]
        assert _names(api) == []  # the admin does not see a viewer's searches

        again = viewer.http.post(PATH, json={"name": "alice", "query": "refund"})
        assert again.status_code == 409 and "exists already" in again.json()["detail"]

        renamed = viewer.http.put(f"{PATH}/{saved['id']}", json={"name": "slow", "query": "duration > 10s"})
        assert renamed.status_code == 200 and renamed.json()["query"] == "duration > 10s"
        assert _names(viewer) == ["alice", "slow"]

        # Another user's search answers like a missing one.
        assert api.http.put(f"{PATH}/{saved['id']}", json={"name": "x", "query": "x"}).status_code == 404
        assert api.http.delete(f"{PATH}/{saved['id']}").status_code == 404
        assert viewer.http.delete(f"{PATH}/{saved['id']}").status_code == 204
        assert viewer.http.delete(f"{PATH}/{saved['id']}").status_code == 404
        assert _names(viewer) == ["alice"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "x", "query": "user.id ="}, "expected a value"),
        ({"name": "x", "query": "(" * 20 + "a" + ")" * 20}, "nested deeper"),
        ({"name": "x", "query": "x" * 1001}, "at most 1000 characters"),
        ({"name": "", "query": "refund"}, "name cannot be empty"),
        ({"name": "   ", "query": "refund"}, "name cannot be empty"),
        ({"name": "n" * 201, "query": "refund"}, "at most 200 characters"),
        ({"name": "x"}, "Field required"),
        ({"name": 5, "query": "refund"}, "valid string"),
        ({"name": "x\ud800", "query": "refund"}, ""),
    ],
)
def test_bad_input_is_refused_clearly(api: ApiClient, body: dict[str, object], message: str) -> None:  # noqa: F811
    if body.get("name") == "x\ud800":
        response = api.http.post(
            PATH,
            content=b'{"name": "x\\ud800", "query": "refund"}',
            headers={"content-type": "application/json"},
        )
    else:
        response = api.http.post(PATH, json=body)
    assert response.status_code == 422, response.text
    assert message in response.text
    assert _names(api) == []


def test_injection_is_stored_as_text(api: ApiClient) -> None:  # noqa: F811
    query = 'name = "x\'); DROP TABLE saved_searches; --"'
    assert api.http.post(PATH, json={"name": "'; DROP TABLE users; --", "query": query}).status_code == 201
    listed = api.http.get(PATH).json()
    assert [(s["name"], s["query"]) for s in listed] == [("'; DROP TABLE users; --", query)]


def test_each_user_keeps_a_bounded_number(api: ApiClient) -> None:  # noqa: F811
    for i in range(MAX_SAVED_PER_USER):
        assert api.http.post(PATH, json={"name": f"s{i:03d}", "query": "refund"}).status_code == 201
    refused = api.http.post(PATH, json={"name": "one more", "query": "refund"})
    assert refused.status_code == 409 and f"At most {MAX_SAVED_PER_USER}" in refused.json()["detail"]


def test_signed_out_requests_are_refused(api: ApiClient) -> None:  # noqa: F811
    api.sign_out()
    assert api.http.get(PATH).status_code == 401
    assert api.http.post(PATH, json={"name": "x", "query": "refund"}).status_code == 401
