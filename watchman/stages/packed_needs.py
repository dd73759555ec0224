"""A workflow's needs packed as positional JSON-ready arrays, and rebuilt equal: the form
the needs cache (:mod:`watchman.stages.needs_cache`) keeps them in. A need's reference
that is one of the workflow's parse is written as its position there, so it comes back as
that very object, neither decoded nor kept twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from watchman.comfy.input_files import InputFileReference
from watchman.comfy.model_key import ModelKey
from watchman.comfy.number_ranges import bound
from watchman.comfy.workflow_model import ModelReference
from watchman.stages.input_needs import InputFileNeed
from watchman.stages.inventory.models import ModelFile
from watchman.stages.link_type_needs import MismatchedLink
from watchman.stages.needs import NodeNeed, WorkflowNeeds
from watchman.stages.needs_model import ModelNeed
from watchman.stages.range_needs import OutOfRangeValue
from watchman.stages.socket_needs import InactiveOutput, NoOutput, UnlinkedInput
from watchman.stages.type_needs import WrongTypeValue
from watchman.stages.value_needs import UnlistedValue
from watchman.stages.workflow_cache import pack_reference, unpack_reference


def pack_needs(
    needs: WorkflowNeeds,
    references: Sequence[ModelReference] = (),
    files: Sequence[InputFileReference] = (),
) -> list[Any]:
    """Return ``needs`` as positional JSON-ready lists (see :func:`unpack_needs`). A need's
    reference that is one of ``references`` (the workflow's parse: nearly always) is
    written as its position there, any other in full; an input file need, by its
    position in ``files`` (the parse's input files: always)."""
    positions = {id(reference): at for at, reference in enumerate(references)}
    file_positions = {id(reference): at for at, reference in enumerate(files)}

    def model_need(need: ModelNeed) -> list[Any]:
        at = positions.get(id(need.reference))
        return _pack_model_need(need, at if at is not None else pack_reference(need.reference))

    return [
        needs.status,
        [model_need(need) for need in needs.missing_models],
        [_pack_node_need(need) for need in needs.missing_nodes],
        [model_need(need) for need in needs.inactive_models],
        [_pack_node_need(need) for need in needs.inactive_nodes],
        list(needs.bypassed_node_ids),
        list(needs.muted_node_ids),
        [[file_positions[id(need.reference)], need.state] for need in needs.missing_inputs],
        [_pack_unlisted(value) for value in needs.unlisted_values],
        [[node.node_id, node.node_type, list(node.inputs)] for node in needs.unlinked_inputs],
        _pack_no_output(needs.no_output),
        [_pack_out_of_range(value) for value in needs.out_of_range],
        [_pack_wrong_type(value) for value in needs.wrong_type],
        [_pack_mismatched(link) for link in needs.mismatched_links],
    ]


def unpack_needs(
    packed: Sequence[Any],
    references: Sequence[ModelReference] = (),
    files: Sequence[InputFileReference] = (),
) -> WorkflowNeeds:
    """Rebuild the needs :func:`pack_needs` packed with the same ``references`` and
    ``files``, equal to the original (a reference written by position is the very object
    of ``references`` or ``files``).

    Raises:
        ValueError, TypeError, KeyError, IndexError: the packed value has another shape.
    """
    (
        status,
        models,
        nodes,
        inactive_models,
        inactive_nodes,
        bypassed,
        muted,
        inputs,
        unlisted,
        unlinked,
        no_output,
        out_of_range,
        wrong_type,
        mismatched,
    ) = packed
    if status not in ("ready", "missing_models", "missing_nodes", "uncertain"):
        raise ValueError(f"no workflow status {status!r}")
    return WorkflowNeeds(
        status=status,
        missing_models=tuple(_model_need(values, references) for values in models),
        missing_nodes=tuple(_node_need(values) for values in nodes),
        inactive_models=tuple(_model_need(values, references) for values in inactive_models),
        inactive_nodes=tuple(_node_need(values) for values in inactive_nodes),
        bypassed_node_ids=_texts(bypassed),
        muted_node_ids=_texts(muted),
        missing_inputs=tuple(_input_need(values, files) for values in inputs),
        unlisted_values=tuple(_unlisted(values) for values in unlisted),
        unlinked_inputs=tuple(_unlinked(values) for values in unlinked),
        no_output=_no_output(no_output),
        out_of_range=tuple(_out_of_range(values) for values in out_of_range),
        wrong_type=tuple(_wrong_type(values) for values in wrong_type),
        mismatched_links=tuple(_mismatched(values) for values in mismatched),
    )


def _pack_unlisted(value: UnlistedValue) -> list[Any]:
    return [value.node_id, value.node_type, value.input, value.value, value.offered,
            list(value.closest)]  # fmt: skip


def _unlisted(values: Sequence[Any]) -> UnlistedValue:
    node_id, node_type, input_name, value, offered, closest = values
    texts = (node_id, node_type, input_name, value, *closest)
    if not all(isinstance(text, str) for text in texts) or type(offered) is not int:
        raise TypeError("an unlisted value of another shape")
    return UnlistedValue(node_id, node_type, input_name, value, offered, tuple(closest))


def _pack_out_of_range(value: OutOfRangeValue) -> list[Any]:
    return [value.node_id, value.node_type, value.input, value.value, value.side,
            value.minimum, value.maximum]  # fmt: skip


def _out_of_range(values: Sequence[Any]) -> OutOfRangeValue:
    node_id, node_type, input_name, value, side, minimum, maximum = values
    if not all(isinstance(text, str) for text in (node_id, node_type, input_name)):
        raise TypeError("a value out of range of another shape")
    if bound(value) is None or side not in ("below", "above"):
        raise ValueError("a value out of range of another shape")
    if any(limit is not None and bound(limit) is None for limit in (minimum, maximum)):
        raise ValueError("a range of another shape")
    return OutOfRangeValue(node_id, node_type, input_name, value, side, minimum, maximum)


def _pack_wrong_type(value: WrongTypeValue) -> list[Any]:
    return [value.node_id, value.node_type, value.input, value.value, value.expected]


def _wrong_type(values: Sequence[Any]) -> WrongTypeValue:
    node_id, node_type, input_name, value, expected = values
    if not all(isinstance(text, str) for text in (node_id, node_type, input_name)) or not (
        value is None or isinstance(value, str)
    ):
        raise TypeError("a value of another type of another shape")
    if expected not in ("INT", "FLOAT"):
        raise ValueError(f"no number type {expected!r}")
    return WrongTypeValue(node_id, node_type, input_name, value, expected)


def _pack_mismatched(link: MismatchedLink) -> list[Any]:
    return [link.node_id, link.node_type, link.input, link.source_id, link.source_type,
            link.slot, link.received, link.expected]  # fmt: skip


def _mismatched(values: Sequence[Any]) -> MismatchedLink:
    node_id, node_type, input_name, source_id, source_type, slot, received, expected = values
    texts = (node_id, node_type, input_name, source_id, source_type, expected)
    if not all(isinstance(text, str) for text in texts) or type(slot) is not int:
        raise TypeError("a mismatched link of another shape")
    if not (received is None or isinstance(received, str)):
        raise TypeError("a mismatched link's received type is not a text")
    return MismatchedLink(
        node_id, node_type, input_name, source_id, source_type, slot, received, expected
    )


def _unlinked(values: Sequence[Any]) -> UnlinkedInput:
    node_id, node_type, inputs = values
    if not all(isinstance(text, str) for text in (node_id, node_type, *inputs)):
        raise TypeError("an unlinked input of another shape")
    return UnlinkedInput(node_id, node_type, tuple(inputs))


def _pack_no_output(no_output: NoOutput | None) -> list[Any] | None:
    if no_output is None:
        return None
    return [[node.node_id, node.node_type, node.state] for node in no_output.inactive]


def _no_output(values: Sequence[Any] | None) -> NoOutput | None:
    if values is None:
        return None
    inactive = []
    for node_id, node_type, state in values:
        if not (isinstance(node_id, str) and isinstance(node_type, str)):
            raise TypeError("an inactive output of another shape")
        if state not in ("bypassed", "muted"):
            raise ValueError(f"no node state {state!r}")
        inactive.append(InactiveOutput(node_id, node_type, state))
    return NoOutput(tuple(inactive))


def _input_need(values: Sequence[Any], files: Sequence[InputFileReference]) -> InputFileNeed:
    at, state = values
    if type(at) is not int or not 0 <= at < len(files):
        raise IndexError("an input need names a file the parse does not have")
    if state not in ("missing", "outside"):
        raise ValueError(f"no input need state {state!r}")
    return InputFileNeed(files[at], state)


def _pack_model_need(need: ModelNeed, reference: int | list[Any]) -> list[Any]:
    return [
        reference,
        need.key.folder,
        need.key.path,
        need.state,
        [pack_model_file(model) for model in need.locations],
        need.pick,
        need.problem,
        need.rewrite,
        need.more_locations,
    ]


def _model_need(values: Sequence[Any], references: Sequence[ModelReference]) -> ModelNeed:
    reference, folder, path, state, locations, pick, problem, rewrite, more = values
    if type(more) is not int or more < 0:
        raise ValueError(f"no count of more locations {more!r}")
    if state not in ("missing", "misplaced", "misspelled", "broken", "nameless"):
        raise ValueError(f"no need state {state!r}")
    if type(reference) is int:
        if not 0 <= reference < len(references):
            raise IndexError("a need names a reference the parse does not have")
        named = references[reference]
    else:
        named = unpack_reference(reference)
    return ModelNeed(
        named,
        ModelKey(_text_or_none(folder), _text(path)),
        state,
        tuple(ModelFile(*location) for location in locations),
        pick=_text_or_none(pick),
        problem=_text_or_none(problem),
        rewrite=_text_or_none(rewrite),
        more_locations=more,
    )


def _pack_node_need(need: NodeNeed) -> list[Any]:
    return [need.node_type, list(need.node_ids), need.cnr_id, need.aux_id]


def _node_need(values: Sequence[Any]) -> NodeNeed:
    node_type, node_ids, cnr_id, aux_id = values
    return NodeNeed(
        _text(node_type), _texts(node_ids), _text_or_none(cnr_id), _text_or_none(aux_id)
    )


def pack_model_file(model: ModelFile) -> list[Any]:
    return [model.folder, model.relative_path, model.root, model.size, model.mtime]


def _text(value: Any) -> str:
    if type(value) is not str:
        raise TypeError("a text is not a string")
    return value


def _text_or_none(value: Any) -> str | None:
    return None if value is None else _text(value)


def _texts(values: Iterable[Any]) -> tuple[str, ...]:
    return tuple(_text(value) for value in values)
