"""v3 bodies parsed strictly with the messages of tests/proto/v3.proto, as a protobuf-based client parses them.

The proto is compiled once per process by the protoc that grpcio-tools ships (no system protoc, nothing
generated in the repository), into a descriptor pool of its own. `json_format.Parse` is strict by default: an
unknown field, a wrong type or an unknown enum name is rejected.

    parse_strict("CreateBookingResponse", body)   # any message, a dict or the bytes as sent
    parse_answer("CreateBooking", body)           # <Method>Response, plus the sandbox's canonical form
    watch = watch_answers(app)                    # every 200 /v3 answer of `app` checked as it is sent
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

PROTO = Path(__file__).parent / "proto" / "v3.proto"
PACKAGE = "ext.maps.booking.partner.v3"

# Fault kinds that break an answer on purpose (the body is cut, empty or never sent): not a message to parse.
BODY_BREAKING_FAULTS = frozenset({"malformed_json", "empty_response", "drop_connection"})

_INT64 = {
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_FIXED64,
    FieldDescriptor.TYPE_SFIXED64,
}
_INT32 = {
    FieldDescriptor.TYPE_INT32,
    FieldDescriptor.TYPE_UINT32,
    FieldDescriptor.TYPE_SINT32,
    FieldDescriptor.TYPE_FIXED32,
    FieldDescriptor.TYPE_SFIXED32,
}


class ProtoMismatch(AssertionError):
    """A body that the v3 messages reject, or that is not in the sandbox's canonical form."""


@functools.cache
def message_classes() -> dict[str, type[Message]]:
    """Every top-level message of v3.proto by short name, compiled once (a second or so) per process."""
    with tempfile.TemporaryDirectory(prefix="v3proto-") as folder:
        out = Path(folder) / "v3.pb"
        # A child process: grpc_tools.protoc.main in-process would print its errors where pytest may not show them.
        compiled = subprocess.run(
            [
                sys.executable,
                "-m",
                "grpc_tools.protoc",
                f"--proto_path={PROTO.parent}",
                f"--descriptor_set_out={out}",
                PROTO.name,
            ],
            capture_output=True,
            text=True,
        )
        if compiled.returncode != 0:
            raise RuntimeError(f"protoc could not compile {PROTO}:\n{compiled.stderr}")
        files = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    pool = descriptor_pool.DescriptorPool()  # its own pool: no clash with any other ext.maps.booking proto loaded
    for file in files.file:
        pool.Add(file)
    package = pool.FindFileByName(PROTO.name)
    return {name: message_factory.GetMessageClass(d) for name, d in package.message_types_by_name.items()}


def message_class(name: str) -> type[Message]:
    """The class of message `name` (short name, e.g. "Booking"); ProtoMismatch naming the file if it has none."""
    classes = message_classes()
    if name not in classes:
        raise ProtoMismatch(f"no message {name} in {PROTO.relative_to(PROTO.parents[2])} ({PACKAGE}); add it there")
    return classes[name]


def parse_strict(message_name: str, body: Any) -> Message:
    """`body` (a dict, or the JSON text or bytes as sent) parsed as `message_name` by json_format.Parse, strictly.

    Raises ProtoMismatch with the parser's reason and the body.
    """
    text = body.decode() if isinstance(body, bytes) else body if isinstance(body, str) else json.dumps(body)
    message = message_class(message_name)()
    try:
        json_format.Parse(text, message)  # ignore_unknown_fields=False: an unknown field is an error
    except json_format.ParseError as exc:
        raise ProtoMismatch(f"a strict proto3 parser rejects this {message_name}: {exc}\n  body: {text}") from None
    return message


def canonical_form_problems(message_name: str, body: dict) -> list[str]:
    """Where `body` is valid proto3 JSON but not the sandbox's canonical form: names not snake_case (the proto's
    own), int64 not a string, int32 not a number, an enum by number. Parse accepts all of these."""
    return _problems(message_class(message_name).DESCRIPTOR, body, message_name)


def _problems(message: Descriptor, node: Any, where: str) -> list[str]:
    if not isinstance(node, dict):
        return [f"{where}: a {message.name} must be a JSON object"]
    problems = []
    for key, value in node.items():
        field = message.fields_by_name.get(key)
        if field is None:
            problems.append(f"{where}.{key}: not the proto's field name (lowerCamelCase?)")
            continue
        items = value if field.is_repeated and isinstance(value, list) else [value]
        for i, item in enumerate(items):
            at = f"{where}.{key}" + (f"[{i}]" if field.is_repeated else "")
            if item is None:
                problems.append(f"{at}: null (omit a field at its default)")
            elif field.type == FieldDescriptor.TYPE_MESSAGE:
                problems.extend(_problems(field.message_type, item, at))
            elif field.type in _INT64 and not isinstance(item, str):
                problems.append(f"{at}: int64 {item!r} must be a JSON string")
            elif field.type in _INT32 and (isinstance(item, bool) or not isinstance(item, int)):
                problems.append(f"{at}: int32 {item!r} must be a JSON number")
            elif field.type == FieldDescriptor.TYPE_ENUM and not isinstance(item, str):
                problems.append(f"{at}: enum {item!r} must be its name")
    return problems


def parse_answer(method: str, body: Any) -> Message:
    """The 200 answer of v3 `method` parsed strictly as <method>Response, and in canonical form (README, JSON out)."""
    name = f"{method}Response"
    message = parse_strict(name, body)
    data = json.loads(body) if isinstance(body, bytes | str) else body
    problems = canonical_form_problems(name, data)
    if problems:
        raise ProtoMismatch(f"{name} is valid proto3 JSON but not canonical: " + "; ".join(problems))
    return message


def parse_request(method: str, body: Any) -> Message:
    """A request body parsed strictly as <method>Request (tests send what a protobuf-based client could send)."""
    return parse_strict(f"{method}Request", body)


class AnswerWatch:
    """Checks every 200 /v3 answer of an app with parse_answer, as sent; keeps what it checked and what failed.

    Installed as a step of the gateway's ALWAYS list right after `encode`, so it sees the very bytes the client
    gets (after any fault changed them). An exception there would only be logged, so rejections are kept instead.
    """

    def __init__(self) -> None:
        self.checked: Counter[str] = Counter()  # method -> answers parsed
        self.problems: list[str] = []

    def __call__(self, exchange) -> None:
        if exchange.rpc is None or exchange.status != 200 or exchange.http_method not in ("GET", "POST"):
            return
        if exchange.streamed or any(f.get("kind") in BODY_BREAKING_FAULTS for f in exchange.faults):
            return
        try:
            if exchange.fidelity.response_profile == "numbers":  # int64 as numbers, on purpose: valid, not canonical
                parse_strict(f"{exchange.rpc}Response", exchange.out)
            else:
                parse_answer(exchange.rpc, exchange.out)
        except ProtoMismatch as exc:
            self.problems.append(f"{exchange.http_method} {exchange.path}: {exc}")
        self.checked[exchange.rpc] += 1

    def assert_clean(self) -> None:
        """Fail with every rejection seen so far."""
        if self.problems:
            raise ProtoMismatch(f"{len(self.problems)} answer(s) rejected:\n" + "\n".join(self.problems))


def watch_answers(app) -> AnswerWatch:
    """Start checking every 200 /v3 answer of `app` (see AnswerWatch); returns the watch."""
    from mock_server import GATEWAY_KEY

    gateway = app.extensions[GATEWAY_KEY]
    watch = AnswerWatch()
    steps = list(gateway.always)
    at = next(i for i, (name, _) in enumerate(steps) if name == "encode") + 1
    steps.insert(at, ("proto_strict", watch))
    gateway.always = tuple(steps)
    return watch
