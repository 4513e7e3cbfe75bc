"""The plans behind v3/loader.py: one straight-line function per message, generated from its marshmallow schema.

A plan reads a body straight into what `schema.load` returns, through marshmallow's public API only: the fields in
the schema's order, the key spellings BaseSchema accepts, each field's type and validators, then the methods
contract.py marks @checks and @builds. A plan that meets anything else raises Off, and the loader asks marshmallow.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeGuard, TypeVar

from marshmallow import Schema, ValidationError, fields, missing
from marshmallow.validate import Length, OneOf, Range

from ..api.common import INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN, BaseSchema, Int32, Int64, ProtoEnum, snake_case
from . import exchange
from .contract import BUILDS, CHECKS, ROLE
from .exchange import note_warning

Convert = Callable[[Any], Any]  # a JSON value in, its loaded value out (or Off raised)
T = TypeVar("T")
_MAX_SHAPES = 64  # key sequences remembered per message: clients send a few; a flood of others only costs speed


class Off(Exception):
    """The plan declines this body: marshmallow's load gives the result or the error."""


def _warnings_of(call: Callable[[], Any]) -> tuple[str, ...]:
    """The warnings `call` notes (in a throwaway exchange): the schema's own wording, learned once."""
    probe = exchange.Exchange(environ={}, path="", http_method="")
    token = exchange.serving(probe)
    try:
        call()
    except ValidationError:
        pass
    finally:
        exchange.done(token)
    return tuple(probe.warnings)


class _NoFields(BaseSchema):
    """What BaseSchema says of an unknown key, asked once."""


_KEY = "\x00key"
_UNKNOWN_KEY_NOTES = _warnings_of(lambda: _NoFields().load({_KEY: 0}))
# Shapes that no plan reads as they are: two spellings of one field (which value wins depends on the values), and
# a required field absent (marshmallow words the 400). They stand where a shape names its unknown keys.
_RESPELL, _ABSENT = ("respell",), ("absent",)

_TEMPLATE = """\
def convert(value):
    if type(value) is not dict:
        raise Off
    keys = tuple(value)
    unknown,{reads} = shapes.get(keys) or learn(keys)
    if unknown:
        if unknown is RESPELL:
            return convert(respelled(value))
        if unknown is ABSENT:
            raise Off
        note_unknown(value, unknown)
    out = {{}}
"""


def message_plan(schema: Schema) -> Convert | None:
    """The generated plan for one BaseSchema (None: marshmallow always loads it)."""
    load_fields = schema.load_fields
    if (
        not isinstance(schema, BaseSchema)
        or schema.many
        or any(f.data_key is not None or "." in (f.attribute or "") for f in load_fields.values())
    ):
        return None
    names = tuple(load_fields)
    spellings = {}
    for name in names:
        words = name.split("_")
        camel = words[0] + "".join(word.title() for word in words[1:])
        if camel not in load_fields and snake_case(camel) == name:
            spellings[camel] = name
        spellings[name] = name
    shapes: dict[tuple, Any] = {}

    def learn(keys: tuple) -> tuple:
        """For one key sequence: (unknown keys, then the key each field is read from or None), or a mark."""
        read_from: dict[str, str] = {}
        unknown = []
        for key in keys:
            name = spellings.get(key) or snake_case(key)
            if name not in load_fields:
                unknown.append(key)
            elif name in read_from:
                return (_RESPELL, *names)  # not remembered: rare, and read exactly by respelled()
            else:
                read_from[name] = key
        if any(field.required and name not in read_from for name, field in load_fields.items()):
            shape: tuple = (_ABSENT, *names)
        else:
            shape = (tuple(unknown), *(read_from.get(name) for name in names))
        if len(shapes) >= _MAX_SHAPES:
            shapes.clear()
        shapes[keys] = shape
        return shape

    def respelled(value: dict) -> dict:
        """BaseSchema's reading of the keys, exactly: nulls dropped, the later spelling wins, unknown keys noted."""
        out = {}
        for key, item in value.items():
            if item is not None:
                name = spellings.get(key) or snake_case(key)
                if name in load_fields:
                    out[name] = item
                else:
                    _note_unknown({key: item}, (key,))
        return out

    namespace: dict[str, Any] = {
        "Off": Off,
        "ValidationError": ValidationError,
        "RESPELL": _RESPELL,
        "ABSENT": _ABSENT,
        "shapes": shapes,
        "learn": learn,
        "respelled": respelled,
        "note_unknown": _note_unknown,
        "passes": _passes,
    }
    source = [_TEMPLATE.format(reads="".join(f" k{i}," for i in range(len(names))))]
    for i, (name, field) in enumerate(load_fields.items()):
        source.append(_read_field(i, name, field, namespace))
    roles = [
        (getattr(method, ROLE, None), getattr(schema, attr))  # bound: marshmallow's order (by name)
        for attr, method in inspect.getmembers(type(schema), inspect.isfunction)
    ]
    checks = [method for role, method in roles if role == CHECKS]
    builds = [method for role, method in roles if role == BUILDS]
    namespace.update({f"check{j}": method for j, method in enumerate(checks)})
    namespace.update({f"build{j}": method for j, method in enumerate(builds)})
    if checks:
        source.append(
            "    try:\n"
            + "".join(f"        check{j}(out)\n" for j in range(len(checks)))
            + "    except ValidationError:\n        raise Off from None\n"
        )
    if builds:  # a build that refuses raises ValidationError: marshmallow words it as the 400
        source.append(
            "    try:\n"
            + "".join(f"        out = build{j}(out)\n" for j in range(len(builds)))
            + "    except ValidationError:\n        raise Off from None\n"
        )
    source.append("    return out\n")
    exec(compile("".join(source), f"<loader of {type(schema).__name__}>", "exec"), namespace)
    return namespace["convert"]


def _read_field(i: int, name: str, field: fields.Field, namespace: dict) -> str:
    """The plan's lines that read field number `i` (its key in the body: k<i>, None when absent) into `out`."""
    attribute = repr(field.attribute or name)
    convert = [*_conversion(i, name, field, namespace), f"out[{attribute}] = v"]
    default = field.load_default
    if field.required:  # present: the shape says so
        lines = [f"v = value[k{i}]", "if v is None:", "    raise Off", *convert]
    elif default is missing:
        lines = [
            f"if k{i} is not None:",
            f"    v = value[k{i}]",
            "    if v is not None:",
            *("        " + line for line in convert),
        ]
    else:
        namespace[f"d{i}"] = default
        lines = [
            f"v = value.get(k{i})",
            "if v is not None:",
            *("    " + line for line in convert),
            "else:",
            f"    out[{attribute}] = d{i}{'()' if callable(default) else ''}",
        ]
    return "".join(f"    {line}\n" for line in lines)


def _conversion(i: int, name: str, field: fields.Field, namespace: dict) -> list[str]:
    """Lines that turn the JSON value `v` into the field's loaded value, or raise Off."""
    own = field.pre_load or field.post_load  # the field's own functions: its deserialize runs them
    # An enum read inline by name; by number (rare) the plan declines and the field's own load reads it.
    string = not own and (_is(field, fields.String) or _is(field, ProtoEnum))
    # An int32 read inline when a JSON integer in its range; any other form (a string, 4.0) by the field's own load.
    int32 = not own and _is(field, Int32)
    integer = int32 or (not own and _is(field, fields.Integer) and field.strict)
    reader = None if own or string or integer else _reader(field, name)
    if string or integer:
        lines, tests = [], [f"type(v) is not {'str' if string else 'int'}"]
        if int32:
            tests += _bounds("v", f"{i}_int32", INT32_MIN, INT32_MAX, True, True, namespace)
    elif reader is None:
        namespace[f"f{i}"] = _whole(field, name)
        return [f"v = f{i}(v)"]
    else:
        namespace[f"f{i}"] = reader
        lines, tests = [f"v = f{i}(v)"], []
        if _is(field, Int64) and (field.minimum or 0) <= 0:
            # The everyday spelling inline: a plain decimal string of up to 18 digits is a non-negative int64.
            lines = [
                "if type(v) is str and len(v) <= 18 and v.isdigit() and v.isascii():",
                "    v = int(v)",
                "else:",
                f"    v = f{i}(v)",
            ]
    sized = string or _is(field, fields.List)
    for j, validator in enumerate(field.validators):  # the kinds the contract uses inline, any other called
        label = f"{i}_{j}"
        if _is(validator, Length) and sized:
            equal = [] if validator.equal is None else [f"len(v) != {validator.equal!r}"]
            tests += (
                ["not v"]
                if (validator.min, validator.max) == (1, None)
                else _bounds("len(v)", label, validator.min, validator.max, True, True, namespace) + equal
            )
        elif _is(validator, OneOf) and string and all(type(c) is str for c in validator.choices):
            namespace[f"in{label}"] = frozenset(validator.choices)
            tests.append(f"v not in in{label}")
        elif _is(validator, Range) and integer:
            tests += _bounds(
                "v", label, validator.min, validator.max, validator.min_inclusive, validator.max_inclusive, namespace
            )
        else:
            namespace[f"v{label}"] = validator
            tests.append(f"not passes(v{label}, v)")
    return lines + ([f"if {' or '.join(tests)}:", "    raise Off"] if tests else [])


def _is(thing: object, kind: type[T]) -> TypeGuard[T]:
    """Exactly of this class: a subclass may read values differently, so the plan calls it instead."""
    return type(thing) is kind


def _bounds(
    expr: str, label: str, low: Any, high: Any, low_inclusive: bool, high_inclusive: bool, namespace: dict
) -> list[str]:
    """Tests that `expr` is out of [low, high] (each bound optional, inclusive or not)."""
    namespace[f"lo{label}"], namespace[f"hi{label}"] = low, high
    return ([] if low is None else [f"{expr} {'<' if low_inclusive else '<='} lo{label}"]) + (
        [] if high is None else [f"{expr} {'>' if high_inclusive else '>='} hi{label}"]
    )


def _note_unknown(value: dict, unknown: tuple) -> None:
    for key in unknown:
        if value[key] is not None:  # a null is no field at all: BaseSchema says nothing of it
            for note in _UNKNOWN_KEY_NOTES:
                note_warning(note.replace(_KEY, key))


def _passes(validator: Callable[[Any], Any], value: Any) -> bool:
    """Does `value` pass a validator the plan does not know by type (it is called, as marshmallow calls it)?"""
    try:
        return validator(value) is not False
    except (ValidationError, TypeError):
        return False


def _reader(field: fields.Field, name: str | None) -> Convert | None:
    """A converter for a field read through a call (messages, lists, dicts, int64s), without its validators."""
    if _is(field, fields.Nested) and not field.many:
        return message_plan(field.schema)
    if _is(field, fields.List) and not field.inner.allow_none:
        return _list(_converter(field.inner, None))  # marshmallow names no attribute for a list's items
    if _is(field, fields.Dict) and field.key_field is None and field.value_field is None:
        return _dict
    if _is(field, fields.Raw):
        return _same
    if _is(field, Int64):
        return _int64(field, name)
    return None


def _converter(field: fields.Field, name: str | None) -> Convert:
    """A converter for a field, validators included (a list's items)."""
    reader = None if field.pre_load or field.post_load else _reader(field, name)
    validators = list(field.validators)
    if reader is None:
        return _whole(field, name)
    if not validators:
        return reader

    def validated(value):
        out = reader(value)
        for validator in validators:
            if not _passes(validator, out):
                raise Off
        return out

    return validated


def _whole(field: fields.Field, name: str | None) -> Convert:
    """The field's own public deserialize (validators included): for kinds the plan does not know."""

    def convert(value):
        try:
            return field.deserialize(value, name)
        except ValidationError:
            raise Off from None

    return convert


def _list(item: Convert) -> Convert:
    def convert(value):
        if type(value) is not list or (item is _same and None in value):  # other items refuse a null themselves
            raise Off
        return [item(each) for each in value]

    return convert


def _dict(value: Any) -> dict:
    if type(value) is not dict:
        raise Off
    return dict(value)  # marshmallow's Dict hands back a copy


def _same(value: Any) -> Any:
    return value


def _int64(field: Int64, name: str | None) -> Convert:
    """Int64: plain decimal strings and JSON numbers read here; any other spelling by the field itself."""
    low = INT64_MIN if field.minimum is None else max(field.minimum, INT64_MIN)
    number_notes = _warnings_of(lambda: field.deserialize(max(low, 0), name))  # "sent as a JSON number"
    whole = _whole(field, name)

    def convert(value):
        if type(value) is str and len(value) <= 18 and value.isdigit() and value.isascii():
            number = int(value)  # up to 18 digits ("" is no digit): inside int64
        elif type(value) is int:
            for note in number_notes:
                note_warning(note)
            number = value
            if number > INT64_MAX:
                raise Off
        else:
            return whole(value)
        if number < low:
            raise Off
        return number

    return convert
