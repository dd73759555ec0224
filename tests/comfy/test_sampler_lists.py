"""ComfyUI's sampler and scheduler lists read from ``comfy/samplers.py``, and whether a
pack's source changes them."""

from __future__ import annotations

import ast
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchman.comfy.sampler_lists import (
    changes_sampler_lists,
    mentions_sampler_lists,
    read_sampler_lists,
    shared_list_key,
)

# The shape of today's comfy/samplers.py: schedulers as a dict's keys.
CURRENT_SAMPLERS = b"""
from functools import partial
class SchedulerHandler(NamedTuple):
    handler: Callable
    use_ms: bool = True

KSAMPLER_NAMES = ["euler", "euler_ancestral", "dpmpp_2m", "res_multistep"]

SCHEDULER_HANDLERS = {
    "simple": SchedulerHandler(simple_scheduler),
    "karras": SchedulerHandler(k_diffusion_sampling.get_sigmas_karras, use_ms=False),
    "beta": SchedulerHandler(beta_scheduler),
}
SCHEDULER_NAMES = list(SCHEDULER_HANDLERS)

def calculate_sigmas(model_sampling, scheduler_name, steps):
    handler = SCHEDULER_HANDLERS.get(scheduler_name)
    if handler is None:
        raise ValueError(f"error invalid scheduler {scheduler_name}")

SAMPLER_NAMES = KSAMPLER_NAMES + ["ddim", "uni_pc", "uni_pc_bh2"]

class KSampler:
    SCHEDULERS = SCHEDULER_NAMES
    SAMPLERS = SAMPLER_NAMES

    def __init__(self, model, steps, device, sampler=None, scheduler=None):
        if scheduler not in self.SCHEDULERS:
            scheduler = self.SCHEDULERS[0]
        if sampler not in self.SAMPLERS:
            sampler = self.SAMPLERS[0]
        self.scheduler = scheduler
"""

# The shape of an older one: schedulers as a written list.
OLDER_SAMPLERS = b"""
KSAMPLER_NAMES = ["euler", "lms"]
SCHEDULER_NAMES = ["normal", "karras", "exponential", "simple", "ddim_uniform"]
SAMPLER_NAMES = KSAMPLER_NAMES + ["ddim", "uni_pc", "uni_pc_bh2"]

class KSampler:
    SCHEDULERS = SCHEDULER_NAMES
    SAMPLERS = SAMPLER_NAMES
"""

SAMPLERS = {"euler", "euler_ancestral", "dpmpp_2m", "res_multistep", "ddim", "uni_pc", "uni_pc_bh2"}


def test_todays_samplers_file_gives_every_list_with_the_schedulers_as_the_dicts_keys() -> None:
    lists = read_sampler_lists(CURRENT_SAMPLERS)
    assert lists["KSampler.SAMPLERS"] == SAMPLERS == lists["SAMPLER_NAMES"]
    assert lists["KSampler.SCHEDULERS"] == {"simple", "karras", "beta"}
    assert lists["SCHEDULER_NAMES"] == {"simple", "karras", "beta"}
    assert lists["KSAMPLER_NAMES"] == {"euler", "euler_ancestral", "dpmpp_2m", "res_multistep"}


def test_an_older_samplers_file_with_written_lists_reads_the_same_way() -> None:
    lists = read_sampler_lists(OLDER_SAMPLERS)
    assert lists["KSampler.SCHEDULERS"] == {
        "normal", "karras", "exponential", "simple", "ddim_uniform"
    }  # fmt: skip
    assert lists["KSampler.SAMPLERS"] == {"euler", "lms", "ddim", "uni_pc", "uni_pc_bh2"}


def test_a_list_bound_twice_or_built_by_a_call_is_not_known() -> None:
    source = OLDER_SAMPLERS + b"\nKSAMPLER_NAMES = load_names()\n"
    lists = read_sampler_lists(source)
    assert "KSAMPLER_NAMES" not in lists and "KSampler.SAMPLERS" not in lists
    assert lists["KSampler.SCHEDULERS"]  # the other list is still read
    built = (
        b"SCHEDULER_NAMES = sorted(HANDLERS)\nclass KSampler:\n    SCHEDULERS = SCHEDULER_NAMES\n"
    )
    assert read_sampler_lists(built) == {}


def test_a_samplers_file_that_changes_its_own_lists_gives_none() -> None:
    assert read_sampler_lists(OLDER_SAMPLERS + b'\nKSAMPLER_NAMES.append("extra")\n') == {}


def test_a_second_ksampler_class_leaves_the_class_lists_unknown() -> None:
    lists = read_sampler_lists(OLDER_SAMPLERS + b"\nKSampler = Other\n")
    assert "KSampler.SAMPLERS" not in lists
    assert "SAMPLER_NAMES" in lists


@pytest.mark.parametrize("data", [b"", b"def (:", b"\x00\x01", b"KSAMPLER_NAMES = [1, 2]"])
def test_a_broken_or_odd_samplers_file_gives_nothing_and_never_raises(data: bytes) -> None:
    assert read_sampler_lists(data) == {}


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("comfy.samplers.KSampler.SAMPLERS", "KSampler.SAMPLERS"),
        ("comfy.samplers.KSampler.SCHEDULERS", "KSampler.SCHEDULERS"),
        ("comfy.samplers.SAMPLER_NAMES", "SAMPLER_NAMES"),
        ("comfy.samplers.SCHEDULER_NAMES", "SCHEDULER_NAMES"),
        ("comfy.samplers.KSAMPLER_NAMES", "KSAMPLER_NAMES"),
        ("KSampler.SAMPLERS", None),  # maybe a pack's own KSampler class
        ("samplers.SAMPLER_NAMES", None),
        ("comfy.samplers.KSampler.OTHER", None),
        ("mine.samplers.KSampler.SAMPLERS", None),
        ("comfy.samplers.SCHEDULER_HANDLERS", None),  # a dict, not a list of choices
    ],
)
def test_only_a_list_written_from_comfy_samplers_down_is_a_shared_list(
    written: str, key: str | None
) -> None:
    assert shared_list_key(ast.parse(written, mode="eval").body) == key


def changes(source: str) -> bool:
    return changes_sampler_lists(ast.parse(textwrap.dedent(source)))


@pytest.mark.parametrize(
    "source",
    [
        # RES4LYF: handlers and names extended at import.
        """
        from comfy.samplers import SCHEDULER_HANDLERS, SCHEDULER_NAMES, SchedulerHandler
        if "bong_tangent" not in SCHEDULER_HANDLERS:
            SCHEDULER_HANDLERS["bong_tangent"] = SchedulerHandler(handler=f, use_ms=True)
        """,
        """
        from comfy.samplers import SCHEDULER_NAMES
        SCHEDULER_NAMES.append("beta57")
        """,
        """
        from comfy.samplers import KSampler
        for idx, sampler in enumerate(extra):
            KSampler.SAMPLERS.insert(idx + 1, sampler)
        """,
        # efficiency-nodes: the class's list swapped at run time.
        """
        def sample(self):
            comfy.samplers.KSampler.SCHEDULERS = SCHEDULERS
        """,
        # A name bound to the list, extended elsewhere in the module.
        """
        names = comfy.samplers.KSAMPLER_NAMES
        def add():
            names.extend(["mine"])
        """,
        # The same inside one function.
        """
        def add():
            names = comfy.samplers.KSampler.SAMPLERS
            names += ["mine"]
        """,
        "comfy.samplers.SAMPLER_NAMES += ['mine']",
        "comfy.samplers.KSampler.SCHEDULERS.reverse()",  # in place, as mixlab does
        "del comfy.samplers.SCHEDULER_HANDLERS['beta']",
        "comfy.samplers.KSampler.SAMPLERS[:] = new",
        "setattr(comfy.samplers.KSampler, 'SAMPLERS', new)",
        "getattr(comfy.samplers, 'KSAMPLER_NAMES').append('mine')",
        "comfy.samplers.KSampler = MyKSampler",
        "register_samplers(comfy.samplers.KSAMPLER_NAMES)",  # may keep and change it
        "register(names=comfy.samplers.KSAMPLER_NAMES)",
        # Ways to reach a list that a second engineer's review found unseen at first.
        "from comfy.samplers import KSAMPLER_NAMES as names\nnames.append('mine')",
        "def add():\n    from comfy.samplers import SCHEDULER_NAMES as n\n    n.append('x')",
        "for lst in (comfy.samplers.KSAMPLER_NAMES, comfy.samplers.SAMPLER_NAMES):\n"
        "    lst.append('mine')",
        "targets = {'s': comfy.samplers.SAMPLER_NAMES}\ntargets['s'].append('mine')",
        "a, b = comfy.samplers.KSAMPLER_NAMES, comfy.samplers.SAMPLER_NAMES\nb.append('x')",
        """
        class Adder:
            def __init__(self):
                self.names = comfy.samplers.KSAMPLER_NAMES
            def add(self):
                self.names.append("mine")
        """,
        """
        def outer():
            names = comfy.samplers.KSAMPLER_NAMES
            def inner():
                names.append("mine")
            inner()
        """,
        """
        def bind():
            global names
            names = comfy.samplers.KSAMPLER_NAMES
        def add():
            names.append("mine")
        """,
        "def add(n, names=comfy.samplers.KSAMPLER_NAMES):\n    names.append(n)",
        "vars(comfy.samplers)['SCHEDULER_NAMES'].append('mine')",
        "getattr(comfy.samplers, which).append('mine')",
        "from comfy import samplers\ngetattr(samplers, which).append('mine')",
        "comfy.samplers = my_samplers",
        "sys.modules['comfy.samplers'] = my_samplers",
    ],
)
def test_a_change_of_the_lists_is_seen(source: str) -> None:
    assert changes(source)


@pytest.mark.parametrize(
    "source",
    [
        # Impact Pack: a list of its own, built from the shared one.
        "SCHEDULERS = comfy.samplers.KSampler.SCHEDULERS + ['AYS SDXL', 'GITS[coeff=1.2]']",
        """
        class Sampler:
            @classmethod
            def INPUT_TYPES(s):
                return {"required": {"sampler_name": (comfy.samplers.KSampler.SAMPLERS,),
                                     "scheduler": (comfy.samplers.SCHEDULER_NAMES, )}}
        """,
        "ok = name in comfy.samplers.KSampler.SAMPLERS",
        "names = list(comfy.samplers.KSampler.SAMPLERS)\nnames.append('mine')",
        "first = comfy.samplers.SAMPLER_NAMES[0]",
        "io.Combo.Input('sampler_name', options=comfy.samplers.SAMPLER_NAMES)",
        "for name in comfy.samplers.KSampler.SCHEDULERS:\n    print(len(SCHEDULER_NAMES))",
        # A method patched on the class is not a list.
        "comfy.samplers.KSampler.sample = patched_sample",
        # A local of one function bound to the list is not another function's local.
        """
        def pick():
            sampler = comfy.samplers.KSampler.SAMPLERS
            return sampler[0]
        def run(sampler):
            common_ksampler(model, sampler)
        """,
        "x = comfy.samplers.KSampler(model, steps=steps, sampler=name, scheduler=other)",
        "KSampler = NODE_CLASS_MAPPINGS['KSampler']\nrun(KSampler)",
        # Iterating a list gives its texts, not the list.
        "for name in comfy.samplers.KSAMPLER_NAMES:\n    register(name)",
        "node = comfy.samplers.KSampler(model, sampler=comfy.samplers.KSampler.SAMPLERS[0])",
        "from comfy.samplers import KSAMPLER_NAMES\nprint(sorted(KSAMPLER_NAMES))",
        "self.samplers = build()",
        "setattr(self, key, value)",
        # A pack's own module named samplers (TRELLIS's) is not ComfyUI's.
        "from . import samplers\nsampler = getattr(samplers, name)(**args)",
    ],
)
def test_reading_or_copying_the_lists_is_no_change(source: str) -> None:
    assert not changes(source)


def test_a_file_that_never_names_the_lists_is_not_parsed_for_them() -> None:
    assert not mentions_sampler_lists(b"class Foo:\n    pass\n")
    assert mentions_sampler_lists(b"x = comfy.samplers.KSampler.SAMPLERS")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_as_a_samplers_file_never_raise(data: bytes) -> None:
    lists = read_sampler_lists(data)
    assert all(isinstance(choices, frozenset) for choices in lists.values())


# A property over generated programs: whatever mix of binding, copying, reading and
# changing they make, a program that changes a list when run (here, against a stand-in
# comfy.samplers; these are the test's own programs, not a pack's) is seen to change it.
_LISTS = (
    "comfy.samplers.KSAMPLER_NAMES",
    "comfy.samplers.SAMPLER_NAMES",
    "comfy.samplers.KSampler.SCHEDULERS",
    "comfy.samplers.SCHEDULER_HANDLERS",
)
_VALUES = (*_LISTS, "list({0})", "{0} + ['w']", "({1}, {2})", "{{'k': {1}}}", "{0}", "len({0})")
_CHANGES = (
    "{0} = {v}",
    "{0}, {1} = {v}, {w}",
    "{0}.append('x')",
    "{0} += ['x']",
    "{0}['k'].append('x')",
    "{0}['k'] = 1",
    "for {1} in ({v}, {w}):\n    {1}.append('y')",
    "def f({1}={v}):\n    {1}.append('z')\nf()",
    "print(len({0}))",
    "{0} = sorted({v})",
)


def _stand_in() -> object:
    import types

    samplers = types.ModuleType("comfy.samplers")
    samplers.KSAMPLER_NAMES = ["euler"]  # type: ignore[attr-defined]
    samplers.SAMPLER_NAMES = ["euler", "ddim"]  # type: ignore[attr-defined]
    samplers.SCHEDULER_NAMES = ["simple"]  # type: ignore[attr-defined]
    samplers.SCHEDULER_HANDLERS = {"simple": None}  # type: ignore[attr-defined]
    samplers.KSampler = type(  # type: ignore[attr-defined]
        "KSampler", (), {"SAMPLERS": samplers.SAMPLER_NAMES, "SCHEDULERS": samplers.SCHEDULER_NAMES}
    )
    comfy = types.ModuleType("comfy")
    comfy.samplers = samplers  # type: ignore[attr-defined]
    return comfy


def _state(comfy: object) -> object:
    samplers = comfy.samplers  # type: ignore[attr-defined]
    return (
        list(samplers.KSAMPLER_NAMES),
        list(samplers.SAMPLER_NAMES),
        list(samplers.SCHEDULER_NAMES),
        dict(samplers.SCHEDULER_HANDLERS),
        list(samplers.KSampler.SAMPLERS),
        list(samplers.KSampler.SCHEDULERS),
    )


@st.composite
def _programs(draw: st.DrawFn) -> str:
    lines = []
    for _ in range(draw(st.integers(1, 5))):
        names = [draw(st.sampled_from(("a", "b", "c"))) for _ in range(2)]
        value, other = (
            draw(st.sampled_from(_VALUES)).format(
                draw(st.sampled_from(("a", "b", *_LISTS))),
                draw(st.sampled_from(_LISTS)),
                draw(st.sampled_from(_LISTS)),
            )
            for _ in range(2)
        )
        statement = draw(st.sampled_from(_CHANGES)).format(*names, v=value, w=other)
        body = "\n".join("    " + line for line in statement.splitlines())
        lines.append(f"try:\n{body}\nexcept Exception:\n    pass")
    return "\n".join(lines)


@settings(max_examples=600, deadline=None)
@given(program=_programs())
def test_a_generated_program_that_changes_a_list_when_run_is_seen_to(program: str) -> None:
    comfy = _stand_in()
    before = _state(comfy)
    exec(compile(program, "generated", "exec"), {"comfy": comfy})  # the test's own code
    if _state(comfy) != before:
        assert changes_sampler_lists(ast.parse(program)), program
