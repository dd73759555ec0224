"""Reading Civitai's listings: an image's model versions."""

from __future__ import annotations

from watchman.resolve.civitai_listing import image_version_ids


def test_an_image_s_versions_are_named_once_in_order_however_often_repeated() -> None:
    resources = [{"modelVersionId": index % 1_000} for index in range(50_000)]
    item = {
        "modelVersionIds": [7, "7", None],
        "modelVersionId": 3,
        "meta": {"civitaiResources": resources},
    }
    assert image_version_ids(item) == [7, 3, *[n for n in range(1_000) if n not in (3, 7)]]
