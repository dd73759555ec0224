"""Every API answer is read leniently (issue 10 rule 8): a wrong type or an absurd number
is a skipped field, or that model's ERROR, never a crash of the resolver."""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watchman.home import Home
from watchman.remote.gateway import HttpGateway
from watchman.resolve.civitai import CivitaiBackend
from watchman.resolve.huggingface import _repo_file
from watchman.resolve.model import SearchRequest, Status

from .conftest import resolver_for, settings_for
from .servers import ReplayServer, Reply

SEARCH = "/api/v1/models"


def one_lora(**file_fields: Any) -> dict[str, Any]:
    entry = {"name": "absurd.safetensors", "downloadUrl": "https://c.invalid/1", **file_fields}
    return {"items": [{"id": 1, "type": "LORA", "modelVersions": [{"files": [entry]}]}]}


def test_an_absurd_size_is_a_skipped_field_not_an_overflow(
    server: ReplayServer, gateway: HttpGateway
) -> None:
    # JSON cannot say infinity; 1e308 * 1024 is one, and round(inf) raised OverflowError.
    server.route(
        "GET",
        SEARCH,
        Reply(
            200,
            '{"items": [{"id": 1, "type": "LORA", '
            '"modelVersions": [{"files": [{"name": "absurd.safetensors", "sizeKB": 1e308, '
            '"downloadUrl": "https://c.invalid/1", "hashes": {"SHA256": 12}}]}]}]}',
        ),
    )
    result = CivitaiBackend(gateway, server.url).search(
        SearchRequest("absurd.safetensors", "loras")
    )
    assert result.status is Status.FOUND
    assert (result.size, result.sha256) == (None, None)


def test_an_id_of_a_thousand_digits_is_not_an_id(
    server: ReplayServer, gateway: HttpGateway
) -> None:
    server.route("GET", "/api/v1/images", Reply(200, {"items": [{"id": "9" * 5000}]}))
    request = SearchRequest(
        "x.safetensors", "loras", embedded_url=f"https://civitai.com/images/{'9' * 5000}"
    )
    result = CivitaiBackend(gateway, server.url).search(request)
    assert (result.status, result.reason) == (Status.NOT_FOUND, "image_mismatch")


def test_an_answer_of_the_wrong_shape_is_a_not_found_not_a_crash(
    server: ReplayServer, home: Home, client: httpx.Client
) -> None:
    server.route("GET", SEARCH, Reply(200, [1, "two", {"items": "three"}]))
    settings = settings_for(civitai=server.url, order=("civitai",))
    with resolver_for(settings, home, client) as resolver:
        result = resolver.search(SearchRequest("shape.safetensors", "loras"))
    assert result.status is Status.NOT_FOUND


def test_a_surprise_inside_a_backend_is_that_model_s_error(
    home: Home, client: httpx.Client
) -> None:
    class Exploding:
        name = "civitai"

        def search(self, request: SearchRequest) -> Any:
            raise OverflowError("cannot convert float infinity to integer")

    settings = settings_for(order=("civitai",))
    with resolver_for(settings, home, client) as resolver:
        resolver.backends["civitai"] = Exploding()  # type: ignore[assignment]
        result = resolver.search(SearchRequest("boom.safetensors", "loras"))
    assert (result.status, result.reason) == (Status.ERROR, "bad_response")
    assert "OverflowError" in (result.detail or "")


OFFLINE_CIVITAI = CivitaiBackend(
    HttpGateway(httpx.Client(transport=httpx.MockTransport(lambda _: httpx.Response(599)))),
    "http://127.0.0.1:9",
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["absurd.safetensors", "LORA", "Checkpoint", "VAE", "SHA256", "9" * 40]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "items",
                    "modelVersions",
                    "files",
                    "name",
                    "type",
                    "sizeKB",
                    "hashes",
                    "primary",
                    "downloadUrl",
                    "SHA256",
                    "id",
                    "model",
                    "path",
                    "lfs",
                    "size",
                    "oid",
                ]
            ),
            children,
            max_size=6,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=json_values)
def test_any_civitai_shaped_answer_is_read_without_raising(payload: Any) -> None:
    from watchman.resolve.civitai_listing import files_of_models, files_of_version

    items = payload.get("items") if isinstance(payload, dict) else payload
    files = list(files_of_models(items if isinstance(items, list) else [payload]))
    files += list(files_of_version(payload, None))
    # Judging files sends nothing: the backend's gateway is never used here.
    near: list[Any] = []
    result = OFFLINE_CIVITAI.match_files(SearchRequest("absurd.safetensors", None), files, near)
    assert result is None or result.status is Status.FOUND


@settings(max_examples=150, deadline=None)
@given(entry=json_values)
def test_any_hub_tree_entry_is_read_without_raising(entry: Any) -> None:
    parsed = _repo_file("acme/x", entry)
    if parsed is not None:
        assert parsed.size is None or 0 <= parsed.size <= 1024**5
        assert ".." not in parsed.path.split("/")
