"""Equal values held once, up to a bound, and let go of once the workflows are read."""

from __future__ import annotations

from watchman.comfy.value_pool import ValuePool, release_pools


def test_an_equal_value_comes_back_as_the_first_one_seen() -> None:
    pool: ValuePool[tuple[str, ...]] = ValuePool(4)
    first = ("SaveImage", "VAEDecode")
    again = tuple(["SaveImage", "VAEDecode"])
    assert again is not first
    assert pool.shared(first) is first and pool.shared(again) is first


def test_past_its_bound_a_pool_keeps_nothing_new_and_hands_values_back_as_they_are() -> None:
    pool: ValuePool[tuple[int, ...]] = ValuePool(2)
    for number in range(5):
        pool.shared((number,))
    assert len(pool) == 2
    late = tuple([4])
    assert pool.shared(late) is late  # not kept: the pool is full


def test_releasing_the_pools_empties_each_and_the_values_in_use_stay() -> None:
    pool: ValuePool[tuple[str, ...]] = ValuePool(4)
    kept = pool.shared(("a",))
    release_pools()
    assert len(pool) == 0 and kept == ("a",)
    fresh = tuple(["a"])
    assert pool.shared(fresh) is fresh  # starts afresh
