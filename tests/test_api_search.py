"""The /search and /health contract over the five sample documents."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

BINH_LUC_TARGET = "Tỷ lệ hộ nghèo (theo chuẩn mới) giảm còn 3,7%"


def test_binh_luc_poverty_target_comes_first(client: TestClient) -> None:
    response = client.post("/search", json={"query": "chỉ tiêu hộ nghèo 2023 của Bình Lục?"})
    assert response.status_code == 200
    first = response.json()["results"][0]
    assert BINH_LUC_TARGET in first["text"]
    assert first["document"]["locality"] == "Bình Lục"
    assert first["section"] == "Điều 2 › 2. Các chỉ tiêu kinh tế - xã hội chủ yếu năm 2023"


def test_query_without_diacritics_finds_the_same_line(client: TestClient) -> None:
    first = client.get("/search", params={"q": "chi tieu ho ngheo 2023 cua binh luc"}).json()["results"][0]
    assert BINH_LUC_TARGET in first["text"]


def test_results_quote_the_stored_text_verbatim(client: TestClient, sample_index) -> None:
    from index.collection import Collection

    store = Collection(sample_index).store
    body = client.post("/search", json={"query": "giải phóng mặt bằng", "k": 20}).json()
    assert body["results"], "expected passages about GPMB"
    for result in body["results"]:
        view = store.document_view(result["document"]["id"])
        assert view is not None
        assert view.text[result["start"]:result["end"]] == result["text"]
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)


def test_result_shape(client: TestClient) -> None:
    body = client.post("/search", json={"query": "thu ngân sách", "k": 3}).json()
    assert set(body) >= {"query", "took_ms", "results"}
    assert len(body["results"]) == 3
    result = body["results"][0]
    assert set(result) >= {"chunk_id", "score", "text", "section", "start", "end", "document"}
    assert set(result["document"]) >= {"id", "source", "title", "number", "doc_type", "issuer", "level",
                                       "locality", "province", "issued_date", "years"}


def test_get_and_post_agree(client: TestClient) -> None:
    posted = client.post("/search", json={"query": "nông thôn mới", "k": 5}).json()["results"]
    got = client.get("/search", params={"q": "nông thôn mới", "k": 5}).json()["results"]
    assert [r["chunk_id"] for r in posted] == [r["chunk_id"] for r in got]


def test_filter_restricts_documents(client: TestClient) -> None:
    body = client.post("/search", json={"query": "tỷ lệ hộ nghèo", "k": 20,
                                        "filters": {"locality": "Vĩnh Bảo"}}).json()
    assert body["results"]
    assert {r["document"]["locality"] for r in body["results"]} == {"Vĩnh Bảo"}


def test_health_counts(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["documents"] == 5
    assert body["chunks"] > 50
    assert body["dense"] == {"status": "disabled", "reason": "TRACUU_EMBED_MODEL=none: lexical search only"}


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"query": ""}, "query"),
        ({"query": "   \n\t"}, "empty"),
        ({"query": "x" * 1001}, "query"),
        ({"query": "hộ nghèo", "k": 0}, "k"),
        ({"query": "hộ nghèo", "k": 101}, "k"),
        ({"query": "hộ nghèo", "filters": {"tinh": "Hà Nam"}}, "tinh"),
        ({"query": "hộ nghèo", "filters": {"year": "hai nghìn"}}, "year"),
        ({"k": 5}, "query"),
    ],
)
def test_bad_search_input_is_a_json_4xx(client: TestClient, payload: dict, fragment: str) -> None:
    response = client.post("/search", json=payload)
    assert 400 <= response.status_code < 500
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert fragment in error["message"]


@pytest.mark.parametrize("params", [{"q": ""}, {"q": "a", "k": "0"}, {"q": "a", "k": "abc"},
                                    {"q": "a", "foo": "1"}, {"q": "x" * 1001}, {}])
def test_bad_get_search_is_a_json_4xx(client: TestClient, params: dict) -> None:
    response = client.get("/search", params=params)
    assert 400 <= response.status_code < 500
    assert "message" in response.json()["error"]


def test_malformed_json_body_is_4xx(client: TestClient) -> None:
    response = client.post("/search", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


def test_responses_say_where_the_time_went(client: TestClient) -> None:
    search = client.get("/search", params={"q": "chỉ tiêu hộ nghèo 2023", "mode": "lexical"}).json()
    assert {"filters", "tokenize", "lexical", "fusion", "serialise"} <= set(search["timings_ms"])
    assert sum(search["timings_ms"].values()) <= search["took_ms"] + 0.01
    ask = client.post("/ask", json={"question": "chỉ tiêu hộ nghèo 2023 của Bình Lục?"}).json()
    assert {"understand", "lexical", "fusion", "answer", "serialise"} <= set(ask["timings_ms"])
    assert sum(ask["timings_ms"].values()) <= ask["took_ms"] + 0.01


def test_collapse_gives_one_result_per_document_with_the_count_of_the_rest(client: TestClient) -> None:
    plain = client.post("/search", json={"query": "giải phóng mặt bằng", "k": 20}).json()["results"]
    body = client.post("/search", json={"query": "giải phóng mặt bằng", "k": 5, "collapse": "document"}).json()
    documents = [r["document"]["id"] for r in body["results"]]
    assert len(documents) == len(set(documents)) == min(5, len({r["document"]["id"] for r in plain}))
    assert documents[0] == plain[0]["document"]["id"]  # documents ranked by their best passage
    assert body["results"][0]["chunk_id"] == plain[0]["chunk_id"]
    assert all(r["more_in_document"] >= 0 for r in body["results"]) and body["results"][0]["more_in_document"] > 0
    again = client.get("/search", params={"q": "giải phóng mặt bằng", "k": 5, "collapse": "document"}).json()
    assert [r["document"]["id"] for r in again["results"]] == documents
    assert all(r["more_in_document"] is None for r in plain)


def test_a_query_typed_without_diacritics_says_how_it_was_understood(client: TestClient) -> None:
    body = client.get("/search", params={"q": "chi tieu ho ngheo 2023 cua binh luc"}).json()
    assert body["understood_as"] == "chỉ tiêu hộ nghèo 2023 của bình lục"
    assert client.get("/search", params={"q": "chỉ tiêu hộ nghèo 2023"}).json()["understood_as"] is None


def test_the_response_says_which_document_terms_were_read_for_everyday_words(client: TestClient) -> None:
    body = client.get("/search", params={"q": "Bình Lục nuôi bao nhiêu gà vịt năm 2023"}).json()
    assert body["also_read_as"] == "gia cầm"
    assert "1,5 triệu con" in body["results"][0]["text"]
    assert client.get("/search", params={"q": "chỉ tiêu hộ nghèo 2023"}).json()["also_read_as"] is None
