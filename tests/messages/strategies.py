"""Hypothesis strategies that build valid roadcloud messages from their own type annotations.

``from_model(BSM)`` walks ``msgspec.inspect.type_info`` — field types with their ``Meta`` ranges, lengths
and patterns — so a new field or a changed range is picked up without touching the tests. ``overrides``
narrows single fields, keyed by (struct class, attribute name), where a test needs realistic values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
import msgspec.inspect as mi
from hypothesis import strategies as st

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

Overrides = Mapping[tuple[type, str], st.SearchStrategy[Any]]


def from_model(
    model_type: type, *, max_list: int = 3, overrides: Overrides | None = None
) -> st.SearchStrategy[Any]:
    """Random valid instances of ``model_type``; lists hold at most ``max_list`` items above their minimum."""
    return _strategy(mi.type_info(model_type), max_list=max_list, overrides=overrides or {})


def _strategy(info: mi.Type, *, max_list: int, overrides: Overrides) -> st.SearchStrategy[Any]:
    strategy: st.SearchStrategy[Any]
    if isinstance(info, mi.StructType):
        fields = {
            field.name: (
                overrides[(info.cls, field.name)]
                if (info.cls, field.name) in overrides
                else _strategy(field.type, max_list=max_list, overrides=overrides)
            )
            for field in info.fields
        }
        strategy = st.builds(info.cls, **fields)
    elif isinstance(info, mi.IntType):
        lower = info.ge if info.ge is not None else (info.gt + 1 if info.gt is not None else INT64_MIN)
        upper = info.le if info.le is not None else (info.lt - 1 if info.lt is not None else INT64_MAX)
        strategy = st.integers(min_value=lower, max_value=upper)
    elif isinstance(info, mi.FloatType):
        strategy = st.floats(
            min_value=info.ge if info.ge is not None else info.gt,
            max_value=info.le if info.le is not None else info.lt,
            exclude_min=info.gt is not None,
            exclude_max=info.lt is not None,
            allow_nan=False,
            allow_infinity=False,
        )
    elif isinstance(info, mi.StrType):
        min_size, max_size = info.min_length or 0, info.max_length
        if info.pattern is not None:
            strategy = st.from_regex(info.pattern, fullmatch=True).filter(
                lambda text: min_size <= len(text) <= (max_size if max_size is not None else len(text))
            )
        else:
            strategy = st.text(min_size=min_size, max_size=max_size if max_size is not None else 32)
    elif isinstance(info, mi.BoolType):
        strategy = st.booleans()
    elif isinstance(info, mi.EnumType):
        strategy = st.sampled_from(list(info.cls))
    elif isinstance(info, mi.ListType):
        min_size = info.min_length or 0
        max_size = min_size + max_list
        if info.max_length is not None:
            max_size = min(max_size, info.max_length)
        strategy = st.lists(
            _strategy(info.item_type, max_list=max_list, overrides=overrides),
            min_size=min_size,
            max_size=max_size,
        )
    elif isinstance(info, mi.DictType):
        min_size = info.min_length or 0
        max_size = min_size + max_list
        if info.max_length is not None:
            max_size = min(max_size, info.max_length)
        strategy = st.dictionaries(
            _strategy(info.key_type, max_list=max_list, overrides=overrides),
            _strategy(info.value_type, max_list=max_list, overrides=overrides),
            min_size=min_size,
            max_size=max_size,
        )
    elif isinstance(info, mi.UnionType):
        strategy = st.one_of(
            *(_strategy(member, max_list=max_list, overrides=overrides) for member in info.types)
        )
    elif isinstance(info, mi.NoneType):
        strategy = st.none()
    else:
        raise NotImplementedError(f"no strategy for {info!r}; add a branch to tests/messages/strategies.py")
    return strategy


def int_fields(model_type: type) -> list[tuple[str, str, int]]:
    """(attribute, wire name, upper bound) of every top-level bounded int field of a struct."""
    info = mi.type_info(model_type)
    assert isinstance(info, mi.StructType)
    found = []
    for field in info.fields:
        field_type = field.type
        if isinstance(field_type, mi.UnionType):
            ints = [member for member in field_type.types if isinstance(member, mi.IntType)]
            field_type = ints[0] if ints else field_type
        if isinstance(field_type, mi.IntType) and field_type.le is not None:
            found.append((field.name, field.encode_name, field_type.le))
    return found


def wire_form(message: msgspec.Struct) -> dict[str, Any]:
    """The JSON object a message encodes to, for tests that tamper with single fields."""
    value = msgspec.to_builtins(message)
    assert isinstance(value, dict)
    return value
