"""Contract checks of HTTP exchanges against the vendors' own OpenAPI documents.

``SpecValidator.load("ramp" | "visma" | "visma-legacy", specs_dir)`` reads one spec once per
process. ``validate_request``, ``validate_response`` and ``validate_httpx_exchange`` return
``None`` when the exchange follows the spec, else raise one ``AssertionError`` listing every
mismatch (operation, status, JSON pointer, reason).

How the specs are read. The vendors publish OpenAPI 3.0 (Ramp, Visma) and Swagger 2.0 (Visma
legacy) written with conventions their servers honour but a literal Draft 2020-12 reading does
not. This docstring is the one place that states how we read them:

- ``nullable: true`` (and Swagger's ``x-nullable``) beside ``$ref``/``allOf``/``anyOf``/``oneOf``
  means "this schema or null" and becomes ``anyOf: [schema, {"type": "null"}]``. Beside a
  ``type`` it adds ``"null"`` to the type (and ``None`` to an ``enum``).
- ``format: date-time`` accepts any ISO-8601 date-time, with or without a UTC offset (Visma
  sends ``2026-08-03T09:00:00.000``), but not a bare date; ``format: date`` accepts ISO-8601
  dates. ``uuid``, ``int32``, ``int64`` and ``decimal`` (a string holding a finite decimal
  number, as Ramp writes amounts and rates) are checked; other formats are accepted as written.
- A schema listing ``properties`` without a ``type`` is an object (971 Visma schemas do this), so
  an unwrapped ``"postPeriod": "112026"`` fails where Visma expects ``{"value": "112026"}``.
- ``discriminator`` is ignored and ``oneOf`` means "at least one matches" (``anyOf``): Ramp's
  unions name a ``schema_type`` discriminator that some variants do not declare.
- ``readOnly`` properties are not required in requests, nor ``writeOnly`` ones in responses.
- Swagger 2.0 operations are rewritten to the 3.0 shape (body parameter -> ``requestBody``,
  response ``schema`` -> ``content`` per ``produces``); ``#/definitions`` refs resolve in place.
- Paths: a query string or an ``http(s)://host`` prefix is ignored and literal segments win over
  parameters. Visma matches case-insensitively (path and query names); "visma" also accepts the
  legacy ``/API/controller/api`` prefix, "visma-legacy" its ``/API`` base path.
- Responses: the status must be declared (or ``default`` exist); with no declared schema only the
  status is checked. A missing body (``None``) passes for 204/205/304 and where the schema is a
  bare ``{"type": "object"}`` (Visma's 201 replies carry only a ``Location`` header).
- Requests: declared query and path parameters are decoded by their schema type and validated;
  undeclared or repeated scalar query parameters fail, so do missing required ones, a body the
  operation does not declare and a missing required body. Only JSON bodies are schema-checked,
  except that a form body sent where the operation's description names form encoding but its
  ``content`` lists only JSON (Ramp's token endpoints) is checked against that JSON schema.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import httpx
import jsonschema.validators  # type: ignore[import-untyped]
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped]
from referencing import Registry
from referencing.jsonschema import DRAFT202012

__all__ = ["SpecName", "SpecValidator"]

SpecName = Literal["ramp", "visma", "visma-legacy"]

_FILES: dict[str, str] = {
    "ramp": "ramp-developer-api.openapi.json",
    "visma": "visma-net-erp-api.openapi.json",
    "visma-legacy": "visma-net-api-legacy-9.11.swagger.json",
}
# Prefixes stripped (case-insensitively) before matching, per spec.
_PREFIXES: dict[str, tuple[str, ...]] = {
    "ramp": (),
    "visma": ("/api/controller/api",),
    "visma-legacy": ("/api",),
}
_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
_EMPTY_OK_STATUSES = frozenset({204, 205, 304})
_FORM = "application/x-www-form-urlencoded"
_SECRET_KEY = re.compile(r"secret|token|password|authorization|api[_-]?key|^code$", re.IGNORECASE)
_MAX_REPR = 200
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_DELIMITERS = {"csv": ",", "ssv": " ", "tsv": "\t", "pipes": "|", "multi": ","}
_SWAGGER_SCHEMA_KEYS = (
    "type", "format", "items", "enum", "default", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "minLength", "maxLength", "pattern", "minItems", "maxItems",
    "uniqueItems", "multipleOf", "x-nullable",
)  # fmt: skip

# -- formats ------------------------------------------------------------------------------

_FORMATS = FormatChecker(formats=())


def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    datetime.fromisoformat(value)
    return bool(_DATE_TIME.match(value))


def _is_date(value: object) -> bool:
    if isinstance(value, str):
        date.fromisoformat(value)
    return True


def _is_uuid(value: object) -> bool:
    if isinstance(value, str):
        uuid.UUID(value)
        return bool(_UUID.match(value))
    return True


def _is_decimal(value: object) -> bool:
    if isinstance(value, str):
        return Decimal(value).is_finite()
    return True


def _int_in_range(fmt: str) -> Callable[[object], bool]:
    low, high = _INT_RANGES[fmt]

    def check(value: object) -> bool:
        if isinstance(value, bool) or not isinstance(value, int):
            return True
        return low <= value <= high

    return check


_FORMATS.checks("date-time", raises=ValueError)(_is_date_time)
_FORMATS.checks("date", raises=ValueError)(_is_date)
_FORMATS.checks("uuid", raises=ValueError)(_is_uuid)
_FORMATS.checks("decimal", raises=ArithmeticError)(_is_decimal)
for _fmt in _INT_RANGES:
    _FORMATS.checks(_fmt)(_int_in_range(_fmt))


def _required_unless(flag: str) -> Callable[..., Iterator[Any]]:
    """A ``required`` keyword that excuses properties marked ``flag`` (readOnly/writeOnly)."""

    def required(validator: Any, names: Any, instance: Any, schema: Any) -> Iterator[Any]:
        if not validator.is_type(instance, "object"):
            return
        props = schema.get("properties") or {}
        for name in names:
            declared = props.get(name)
            if name not in instance and not (isinstance(declared, dict) and declared.get(flag)):
                yield ValidationError(f"{name!r} is a required property")

    return required


_VALIDATOR_CLASSES: dict[str, Any] = {
    "request": jsonschema.validators.extend(
        Draft202012Validator, {"required": _required_unless("readOnly")}
    ),
    "response": jsonschema.validators.extend(
        Draft202012Validator, {"required": _required_unless("writeOnly")}
    ),
}

# -- reading the vendors' schemas ------------------------------------------------------------


class _SchemaReader:
    """Rewrites vendor schemas into Draft 2020-12 terms (rules in the module docstring).

    Memoised by object identity so a schema shared by several media types is rewritten once.
    """

    _MAPS = ("properties", "patternProperties", "dependentSchemas", "$defs")
    _LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
    _SINGLE = ("items", "additionalProperties", "not", "contains", "propertyNames")

    def __init__(self) -> None:
        self._memo: dict[int, Any] = {}

    def __call__(self, schema: Any) -> Any:
        if not isinstance(schema, dict):
            return schema
        if id(schema) not in self._memo:
            self._memo[id(schema)] = schema
            self._memo[id(schema)] = self._rewrite(schema)
        return self._memo[id(schema)]

    def _rewrite(self, schema: dict[str, Any]) -> Any:
        for key in self._MAPS:
            if isinstance(schema.get(key), dict):
                schema[key] = {name: self(sub) for name, sub in schema[key].items()}
        for key in self._LISTS:
            if isinstance(schema.get(key), list):
                schema[key] = [self(sub) for sub in schema[key]]
        for key in self._SINGLE:
            if isinstance(schema.get(key), dict):
                schema[key] = self(schema[key])
        schema.pop("discriminator", None)
        if "oneOf" in schema:
            branches = schema.pop("oneOf")
            if "anyOf" in schema:
                schema.setdefault("allOf", []).append({"anyOf": branches})
            else:
                schema["anyOf"] = branches
        for flag, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
            flagged = schema.get(flag)
            if isinstance(flagged, bool):  # the OpenAPI 3.0 / Swagger boolean form
                del schema[flag]
                if flagged and limit in schema:
                    schema[flag] = schema.pop(limit)
        if schema.get("type") == "file":
            del schema["type"]
        if "type" not in schema and "properties" in schema:
            schema["type"] = "object"
        nullable = bool(schema.pop("nullable", False)) | bool(schema.pop("x-nullable", False))
        if not nullable:
            return schema
        if any(key in schema for key in ("$ref", "allOf", "anyOf")):
            outer = {k: schema[k] for k in ("readOnly", "writeOnly") if k in schema}
            return {"anyOf": [schema, {"type": "null"}], **outer}
        if isinstance(schema.get("type"), str):
            schema["type"] = [schema["type"], "null"]
        if isinstance(schema.get("enum"), list) and None not in schema["enum"]:
            schema["enum"] = [*schema["enum"], None]
        return schema

    def content(self, holder: Any) -> None:
        """Rewrite the schemas of a requestBody/response object's media types."""
        if isinstance(holder, dict):
            for media in (holder.get("content") or {}).values():
                if isinstance(media, dict) and "schema" in media:
                    media["schema"] = self(media["schema"])

    def parameters(self, params: Any) -> None:
        for param in params if isinstance(params, list) else []:
            if isinstance(param, dict) and "schema" in param:
                param["schema"] = self(param["schema"])


def _swagger_parameter(param: dict[str, Any]) -> dict[str, Any]:
    """A Swagger 2.0 non-body parameter in OpenAPI 3.0 shape."""
    if "$ref" in param:
        return param
    schema = {key: param[key] for key in _SWAGGER_SCHEMA_KEYS if key in param}
    fmt = param.get("collectionFormat", "csv")
    return {
        "name": param["name"],
        "in": param["in"],
        "required": bool(param.get("required")),
        "schema": schema,
        "explode": fmt == "multi",
        "x-delimiter": _DELIMITERS.get(fmt, ","),
    }


def _swagger_to_openapi3(doc: dict[str, Any]) -> None:
    """Rewrite Swagger 2.0 operations in place to the OpenAPI 3.0 shapes used here."""
    consumes = doc.get("consumes") or ["application/json"]
    produces = doc.get("produces") or ["application/json"]
    for item in doc.get("paths", {}).values():
        if isinstance(item.get("parameters"), list):
            item["parameters"] = [
                _swagger_parameter(p) for p in item["parameters"] if p.get("in") != "body"
            ]
        for method, op in item.items():
            if method not in _METHODS:
                continue
            plain, body, form = [], None, []
            for param in op.get("parameters", []):
                where = param.get("in")
                if where == "body":
                    body = param
                elif where == "formData":
                    form.append(param)
                else:
                    plain.append(_swagger_parameter(param))
            op["parameters"] = plain
            media_in = op.get("consumes") or consumes
            if body is not None:
                op["requestBody"] = {
                    "required": bool(body.get("required")),
                    "content": {mt: {"schema": body.get("schema", {})} for mt in media_in},
                }
            elif form:
                op["requestBody"] = {
                    "required": any(p.get("required") for p in form),
                    "content": {mt: {} for mt in media_in},
                }
            media_out = op.get("produces") or produces
            for response in op.get("responses", {}).values():
                if isinstance(response, dict) and "schema" in response:
                    schema = response.pop("schema")
                    response["content"] = {mt: {"schema": schema} for mt in media_out}


def _read_document(doc: dict[str, Any]) -> dict[str, Any]:
    """Rewrite a loaded spec in place so every schema reads as described above."""
    if str(doc.get("swagger", "")).startswith("2"):
        _swagger_to_openapi3(doc)
    reader = _SchemaReader()
    components = doc.get("components", {})
    for container in (components.get("schemas", {}), doc.get("definitions", {})):
        for name in list(container):
            container[name] = reader(container[name])
    reader.parameters(list(components.get("parameters", {}).values()))
    for holder in [*components.get("requestBodies", {}).values()]:
        reader.content(holder)
    for holder in [*components.get("responses", {}).values()]:
        reader.content(holder)
    for item in doc.get("paths", {}).values():
        reader.parameters(item.get("parameters"))
        for method, op in item.items():
            if method in _METHODS and isinstance(op, dict):
                reader.parameters(op.get("parameters"))
                reader.content(op.get("requestBody"))
                for response in op.get("responses", {}).values():
                    reader.content(response)
    return doc


# -- small pure helpers --------------------------------------------------------------------


@dataclass(frozen=True)
class _Route:
    """One path template: literal segments, and patterns for segments holding parameters."""

    template: str
    segments: tuple[str | re.Pattern[str], ...]
    names: tuple[str, ...]

    @property
    def rank(self) -> tuple[bool, ...]:
        """Sorts literal segments before parameters, left to right."""
        return tuple(not isinstance(seg, str) for seg in self.segments)


@dataclass(frozen=True)
class _Match:
    route: _Route
    method: str
    operation: dict[str, Any]
    values: dict[str, str]

    @property
    def pointer(self) -> str:
        return f"/paths/{_escape(self.route.template)}/{self.method}"


@dataclass(frozen=True)
class _Param:
    name: str
    location: str
    required: bool
    pointer: str
    schema: dict[str, Any]
    explode: bool
    delimiter: str


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _pointer_of(path: Sequence[Any]) -> str:
    return "".join("/" + _escape(str(part)) for part in path) or "(root)"


def _bind(route: _Route, segments: list[str], fold: bool) -> dict[str, str] | None:
    """Parameter values when ``segments`` fit ``route``, else None."""
    values: dict[str, str] = {}
    for expected, actual in zip(route.segments, segments, strict=True):
        text = unquote(actual)
        if isinstance(expected, str):
            if expected != (text.lower() if fold else text):
                return None
            continue
        found = expected.fullmatch(text)
        if found is None:
            return None
        values.update({route.names[int(g[1:])]: v for g, v in found.groupdict().items()})
    return values


def _redacted(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: "<redacted>" if _SECRET_KEY.search(str(k)) else _redacted(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return value


def _safe_repr(value: Any) -> str:
    text = repr(_redacted(value))
    return text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 3] + "..."


def _closest(error: Any) -> Any:
    """The most telling sub-error of an ``anyOf`` failure: from the branch that got furthest.

    Branches failing only on the instance's own type (e.g. the ``null`` branch added for
    ``nullable``) say least, then branches with fewer errors say more.
    """
    branches: dict[Any, list[Any]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    depth = len(error.absolute_path)

    def score(errors: list[Any]) -> tuple[bool, int]:
        type_only = all(e.validator == "type" and len(e.absolute_path) == depth for e in errors)
        return type_only, len(errors)

    chosen = min(branches.values(), key=score)
    return max(chosen, key=lambda e: len(e.absolute_path))


def _message(error: Any) -> str:
    path = list(error.absolute_path)
    if isinstance(error.instance, str) and path and _SECRET_KEY.search(str(path[-1])):
        return f"value <redacted> fails {error.validator!r}"
    if error.validator == "anyOf" and error.context:
        sub = _closest(error)
        where = _pointer_of(list(sub.absolute_path))
        return f"matches none of the allowed schemas; closest: at {where}: {_message(sub)}"
    return str(error.message.replace(repr(error.instance), _safe_repr(error.instance)))


def _describe(error: Any) -> str:
    """One readable line per jsonschema error, without secrets or megabytes of instance."""
    return f"at {_pointer_of(list(error.absolute_path))}: {_message(error)}"


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _is_json(media: str) -> bool:
    return media in {"application/json", "text/json"} or media.endswith("+json")


def _pick_media(content: Mapping[str, Any], media: str) -> str | None:
    by_type = {_media_type(key): key for key in content}
    for candidate in (media, media.split("/")[0] + "/*", "*/*"):
        if candidate in by_type:
            return by_type[candidate]
    return None


def _types_of(schema: Any) -> list[str]:
    """The JSON types a parameter schema declares, looking through anyOf/allOf branches."""
    if not isinstance(schema, dict):
        return []
    declared = schema.get("type")
    if isinstance(declared, str):
        return [declared]
    if isinstance(declared, list):
        return [t for t in declared if isinstance(t, str)]
    found: list[str] = []
    for branch in [*schema.get("anyOf", []), *schema.get("allOf", [])]:
        found += [t for t in _types_of(branch) if t not in found]
    return found


def _readings(raw: str, types: list[str]) -> list[Any]:
    """Readings of one query/path string: the declared non-string types first, then as is."""
    readings: list[Any] = []
    for kind in types:
        if kind == "integer" and re.fullmatch(r"-?\d+", raw):
            readings.append(int(raw))
        elif kind == "number":
            try:
                number = Decimal(raw)
            except InvalidOperation:
                continue
            if number.is_finite():
                readings.append(number)
        elif kind == "boolean" and raw.lower() in ("true", "false"):
            readings.append(raw.lower() == "true")
    return [*readings, raw]


def _query_text(value: object) -> str:
    """A query value as it goes over the wire, for callers passing ints or bools."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _status_keys(status: int) -> tuple[str, ...]:
    return (str(status), f"{status // 100}XX", f"{status // 100}xx", "default")


# -- the validator ---------------------------------------------------------------------------


class SpecValidator:
    """Validates concrete HTTP exchanges against one vendor spec; see the module docstring."""

    _cache: dict[tuple[str, Path], SpecValidator] = {}
    _lock = threading.Lock()

    def __init__(self, name: str, document: dict[str, Any]) -> None:
        """Wrap an already loaded spec; prefer ``load``, which caches per process."""
        self.name = name
        self._doc = _read_document(document)
        self._uri = f"https://specs.ml-connector.invalid/{name}.json"
        self._registry: Registry[Any] = Registry().with_resource(
            self._uri, DRAFT202012.create_resource(self._doc)
        )
        self._fold = name.startswith("visma")
        self._prefixes = _PREFIXES.get(name, ())
        self._routes: dict[int, list[_Route]] = {}
        for template in self._doc.get("paths", {}):
            route = self._compile(template)
            self._routes.setdefault(len(route.segments), []).append(route)
        self._validators: dict[tuple[str, str], Any] = {}
        self._params: dict[str, list[_Param]] = {}

    @classmethod
    def load(cls, name: SpecName, specs_dir: Path) -> SpecValidator:
        """The validator for spec ``name`` in ``specs_dir``, built once per process."""
        if name not in _FILES:
            raise ValueError(f"unknown spec {name!r}; expected one of {sorted(_FILES)}")
        key = (name, Path(specs_dir).resolve())
        with cls._lock:
            found = cls._cache.get(key)
            if found is None:
                document = json.loads((key[1] / _FILES[name]).read_text(encoding="utf-8"))
                found = cls._cache[key] = cls(name, document)
        return found

    def find_operation(self, method: str, path: str) -> tuple[str, dict[str, Any]]:
        """(path template, operation object) for a concrete path; AssertionError if none.

        For "visma-legacy" the operation is in its rewritten OpenAPI 3.0 shape.
        """
        found = self._match(method, path)
        return found.route.template, found.operation

    def validate_request(
        self,
        method: str,
        path: str,
        body: Any | None,
        query: Mapping[str, object] | None = None,
        *,
        content_type: str = "application/json",
    ) -> None:
        """Check path and query parameters (``path``'s own query string and ``query``) and body.

        ``body`` is the decoded JSON, or ``None`` for no body.
        """
        found = self._match(method, path)
        supplied = parse_qsl(self._split(path)[1], keep_blank_values=True)
        supplied += [(name, _query_text(value)) for name, value in (query or {}).items()]
        problems = self._request_problems(found, path, supplied)
        problems += self._request_body_problems(found, body, content_type)
        self._raise(self._title(method, path, found), problems)

    def validate_response(
        self,
        method: str,
        path: str,
        status: int,
        body: Any,
        *,
        content_type: str = "application/json",
        undeclared_ok: Collection[int] = (),
    ) -> None:
        """Check that ``status`` is declared and ``body`` (``None`` = no body) fits its schema.

        ``undeclared_ok`` lists statuses accepted without a declaration (e.g. an injected 429).
        """
        found = self._match(method, path)
        problems = self._response_problems(found, status, body, content_type, undeclared_ok)
        self._raise(self._title(method, path, found) + f" -> {status}", problems)

    def validate_httpx_exchange(
        self,
        request: httpx.Request,
        response: httpx.Response,
        *,
        undeclared_ok: Collection[int] = (),
    ) -> None:
        """Validate a recorded request and its response (both bodies must already be read)."""
        path = request.url.raw_path.decode("ascii")
        found = self._match(request.method, path)
        problems: list[str] = []
        request_type = request.headers.get("content-type", "application/json")
        request_body = self._decode(request.content, request_type, "request", problems)
        supplied = parse_qsl(request.url.query.decode("ascii"), keep_blank_values=True)
        problems += self._request_problems(found, path, supplied)
        problems += self._request_body_problems(found, request_body, request_type)
        response_type = response.headers.get("content-type", "application/json")
        response_body = self._decode(response.content, response_type, "response", problems)
        problems += self._response_problems(
            found, response.status_code, response_body, response_type, undeclared_ok
        )
        title = self._title(request.method, path, found) + f" -> {response.status_code}"
        self._raise(title, problems)

    # -- matching ---------------------------------------------------------------------------

    def _compile(self, template: str) -> _Route:
        segments: list[str | re.Pattern[str]] = []
        names: list[str] = []
        for raw in template.strip("/").split("/"):
            if "{" not in raw:
                segments.append(raw.lower() if self._fold else raw)
                continue
            pattern = ""
            for literal, name in re.findall(r"([^{]*)(?:\{([^}]+)\})?", raw):
                pattern += re.escape(literal)
                if name:
                    pattern += f"(?P<p{len(names)}>[^/]+)"
                    names.append(name)
            segments.append(re.compile(pattern, re.IGNORECASE if self._fold else 0))
        return _Route(template, tuple(segments), tuple(names))

    def _split(self, path: str) -> tuple[list[str], str]:
        """Path segments (prefix, host and query removed) and the raw query string."""
        if "://" in path:
            parts = urlsplit(path)
            path = parts.path + (f"?{parts.query}" if parts.query else "")
        path, _, query = path.partition("?")
        lowered = path.lower()
        for prefix in self._prefixes:
            if lowered == prefix or lowered.startswith(prefix + "/"):
                path = path[len(prefix) :]
                break
        return path.strip("/").split("/"), query

    def _match(self, method: str, path: str) -> _Match:
        segments, _ = self._split(path)
        verb = method.lower()
        best: _Match | None = None
        path_only = False
        for route in self._routes.get(len(segments), []):
            values = _bind(route, segments, self._fold)
            if values is None:
                continue
            operation = self._doc["paths"][route.template].get(verb)
            if verb not in _METHODS or not isinstance(operation, dict):
                path_only = True
            elif best is None or route.rank < best.route.rank:
                best = _Match(route, verb, operation, values)
        if best is None:
            reason = "method not declared for this path" if path_only else "no matching path"
            raise AssertionError(
                f"{self.name}: no operation for {method.upper()} {path} ({reason})"
            )
        return best

    # -- requests ---------------------------------------------------------------------------

    def _deref(self, node: Any, pointer: str) -> tuple[Any, str]:
        """Follow local ``$ref`` chains; returns the target and its JSON pointer."""
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            pointer = node["$ref"].removeprefix("#")
            node = self._doc
            for token in pointer.strip("/").split("/"):
                node = node[unquote(token).replace("~1", "/").replace("~0", "~")]
        return node, pointer

    def _parameters(self, found: _Match) -> list[_Param]:
        """Path-level and operation parameters merged (the operation's win), cached."""
        if found.pointer not in self._params:
            base = f"/paths/{_escape(found.route.template)}"
            item = self._doc["paths"][found.route.template]
            merged: dict[tuple[str, str], _Param] = {}
            for owner, node in ((base, item), (found.pointer, found.operation)):
                for index, raw in enumerate(node.get("parameters") or []):
                    param, pointer = self._deref(raw, f"{owner}/parameters/{index}")
                    schema, schema_pointer = self._deref(param.get("schema"), f"{pointer}/schema")
                    style = param.get("style", "form" if param["in"] == "query" else "simple")
                    merged[(param["in"], param["name"])] = _Param(
                        name=param["name"],
                        location=param["in"],
                        required=bool(param.get("required")),
                        pointer=schema_pointer,
                        schema=schema if isinstance(schema, dict) else {},
                        explode=bool(param.get("explode", style == "form")),
                        delimiter=param.get("x-delimiter", ","),
                    )
            self._params[found.pointer] = list(merged.values())
        return self._params[found.pointer]

    def _request_problems(
        self, found: _Match, path: str, supplied: list[tuple[str, str]]
    ) -> list[str]:
        params = self._parameters(found)
        problems: list[str] = []
        for param in params:
            if param.location == "path" and param.name in found.values and param.schema:
                where = f"path parameter {param.name!r}"
                problems += self._check_value(where, param, [found.values[param.name]])
        fold: Callable[[str], str] = str.lower if self._fold else str
        declared = {fold(p.name): p for p in params if p.location == "query"}
        given: dict[str, list[str]] = {}
        for name, value in supplied:
            given.setdefault(fold(name), []).append(value)
        for name in sorted(given.keys() - declared.keys()):
            problems.append(f"query parameter {name!r}: not declared by the operation")
        for name, param in declared.items():
            where = f"query parameter {param.name!r}"
            if name in given:
                problems += self._check_value(where, param, given[name])
            elif param.required:
                problems.append(f"{where}: required but missing")
        return problems

    def _check_value(self, where: str, param: _Param, raw: list[str]) -> list[str]:
        """Decode string parameter values by the declared type, then validate them."""
        if not param.schema:
            return []
        if _SECRET_KEY.search(param.name):
            found = self._check_value(where, replace(param, name="_"), raw)
            return [f"{where}: value <redacted> fails its schema"] if found else []
        if "array" in _types_of(param.schema):
            items = raw if param.explode else [v for r in raw for v in r.split(param.delimiter)]
            item_types = _types_of(self._deref(param.schema.get("items"), "")[0])
            value = [_readings(item, item_types)[0] for item in items]
            return [f"{where} {line}" for line in self._errors("request", param.pointer, value)]
        if len(raw) > 1:
            return [f"{where}: given {len(raw)} times but is not an array"]
        errors: list[str] = []
        for reading in _readings(raw[0], _types_of(param.schema)):
            found = self._errors("request", param.pointer, reading)
            if not found:
                return []
            errors = errors or found
        return [f"{where} {line}" for line in errors]

    def _request_body_problems(self, found: _Match, body: Any, content_type: str) -> list[str]:
        holder, pointer = self._deref(
            found.operation.get("requestBody"), f"{found.pointer}/requestBody"
        )
        if holder is None:
            if body is not None:
                return ["request body: sent, but the operation declares none"]
            return []
        if body is None:
            return ["request body: required but missing"] if holder.get("required") else []
        content: dict[str, Any] = holder.get("content") or {}
        media = _media_type(content_type)
        described = media in str(found.operation.get("description", "")).lower()
        if _pick_media(content, media) is None and described:
            # The prose names a media type the schema section omits (Ramp's token and receipt
            # endpoints): form fields are checked against the JSON schema, other bodies pass.
            json_key = next((k for k in content if _is_json(_media_type(k))), None)
            if media != _FORM or json_key is None:
                return []
            if isinstance(body, bytes | str):
                text = body.decode() if isinstance(body, bytes) else body
                body = dict(parse_qsl(text, keep_blank_values=True))
            content_type = json_key
        return self._body_problems("request body", holder, pointer, body, content_type, "request")

    # -- responses and bodies ---------------------------------------------------------------

    def _response_problems(
        self,
        found: _Match,
        status: int,
        body: Any,
        content_type: str,
        undeclared_ok: Collection[int],
    ) -> list[str]:
        responses: dict[str, Any] = found.operation.get("responses") or {}
        key = next((k for k in _status_keys(status) if k in responses), None)
        if key is None:
            if status in undeclared_ok:
                return []
            return [f"status {status}: not declared (declared: {', '.join(responses)})"]
        response, pointer = self._deref(responses[key], f"{found.pointer}/responses/{_escape(key)}")
        content: dict[str, Any] = response.get("content") or {}
        if not any(isinstance(m, dict) and "schema" in m for m in content.values()):
            return []
        if body is None:
            if status in _EMPTY_OK_STATUSES or self._bare_object(content):
                return []
            return [f"response {status} body: missing, but the spec declares one"]
        where = f"response {status} body"
        return self._body_problems(where, response, pointer, body, content_type, "response")

    def _body_problems(
        self,
        where: str,
        holder: dict[str, Any],
        pointer: str,
        body: Any,
        content_type: str,
        mode: str,
    ) -> list[str]:
        content: dict[str, Any] = holder.get("content") or {}
        media = _media_type(content_type)
        key = _pick_media(content, media)
        if key is None:
            return [f"{where}: content type {media!r} not declared (declared: {sorted(content)})"]
        if not _is_json(media) or "schema" not in content[key] or isinstance(body, bytes):
            return []
        schema_pointer = f"{pointer}/content/{_escape(key)}/schema"
        return [f"{where} {line}" for line in self._errors(mode, schema_pointer, body)]

    def _bare_object(self, content: dict[str, Any]) -> bool:
        """True when every media type declares just ``{"type": "object"}`` (no shape)."""
        for media in content.values():
            schema, _ = self._deref(media.get("schema"), "")
            if not isinstance(schema, dict) or set(schema) - {"type", "description"}:
                return False
            if schema.get("type") not in ("object", ["object", "null"]):
                return False
        return True

    @staticmethod
    def _decode(raw: bytes, content_type: str, where: str, problems: list[str]) -> Any:
        """JSON bodies decoded; other bodies kept as bytes; no body is None."""
        if not raw:
            return None
        if not _is_json(_media_type(content_type)):
            return raw
        try:
            return json.loads(raw)
        except ValueError as exc:
            problems.append(f"{where} body: not valid JSON ({exc})")
            return raw

    def _errors(self, mode: str, pointer: str, instance: Any) -> list[str]:
        """Readable mismatches of ``instance`` against the schema at ``pointer``."""
        key = (mode, pointer)
        validator = self._validators.get(key)
        if validator is None:
            ref = f"{self._uri}#{quote(pointer, safe='/~')}"
            validator = _VALIDATOR_CLASSES[mode](
                {"$ref": ref}, registry=self._registry, format_checker=_FORMATS
            )
            self._validators[key] = validator
        errors = validator.iter_errors(instance)
        ordered = sorted(errors, key=lambda e: [str(p) for p in e.absolute_path])
        return [_describe(error) for error in ordered]

    def _title(self, method: str, path: str, found: _Match) -> str:
        op_id = found.operation.get("operationId", "?")
        return f"{self.name} {method.upper()} {path} (operation {op_id}, {found.route.template})"

    @staticmethod
    def _raise(title: str, problems: list[str]) -> None:
        if problems:
            listing = "\n".join(f"  - {line}" for line in problems)
            raise AssertionError(f"{title} does not follow the spec:\n{listing}")
