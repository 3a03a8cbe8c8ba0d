"""The OpenAPI 3.1 document, built from the endpoint lists and the pydantic models."""

from __future__ import annotations

import copy
import re
from typing import Any, get_args

from pydantic import BaseModel

from service.models import LinkKind, Patch, Problem
from service.routes import KEY_PARAMETERS, Endpoint, KeyConvertor, RowIdConvertor

_REF = "#/components/schemas/{model}"
_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
_COMMON_ERRORS = {
    "400": "the body is not JSON",
    "404": "a named row does not exist",
    "408": "the body stopped coming",
    "413": "the body is too large",
    "415": "the body is not application/json",
    "422": "invalid input, with the fields at fault",
    "503": "the database is unavailable, timed out, or a row is locked (see Retry-After)",
}
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "retries with the same key and request within 24 h get the first answer again",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
}
_IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": "the ETag the change is based on; 412 if the resource changed since",
    "schema": {"type": "string"},
}
_IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "an ETag the client holds; 304 if it is still current",
    "schema": {"type": "string"},
}
# Routes whose single document If-Match guards (service.routes.if_match)
_GUARDED = ("patch_", "delete_project", "delete_epic", "delete_feature", "delete_task", "change_status")


# PostgreSQL text and jsonb cannot hold U+0000: every string of a request says so,
# and the server refuses it with a 422 naming the field (service.request_input).
_NO_NUL = "^[^\\x00]*$"
_JSON = {"$ref": _REF.format(model="JsonValue")}
_JSON_VALUE = {
    "description": "any JSON value whose strings and keys hold no U+0000",
    "anyOf": [
        {"type": ["null", "boolean", "number"]},
        {"type": "string", "pattern": _NO_NUL},
        {"type": "array", "items": _JSON},
        {"type": "object", "additionalProperties": _JSON, "propertyNames": {"pattern": _NO_NUL}},
    ],
}


def _storable(node: Any) -> None:
    """Say in a request's schema what the database can store: strings without U+0000,
    free JSON (metadata) as JsonValue."""
    if isinstance(node, list):
        for item in node:
            _storable(item)
        return
    if not isinstance(node, dict):
        return
    kinds = node.get("type")
    if (kinds == "string" or (isinstance(kinds, list) and "string" in kinds)) and not (
        {"format", "enum", "const"} & node.keys()
    ):
        pattern = node.get("pattern")
        if pattern is None:
            node["pattern"] = _NO_NUL
        elif pattern != _NO_NUL and not _lists_its_characters(pattern):
            node["allOf"] = [{"pattern": _NO_NUL}]
    if node.get("type") == "object" and node.get("additionalProperties") in (True, {}):
        node["additionalProperties"] = _JSON
        node["propertyNames"] = {"pattern": _NO_NUL}
    if node.get("items") in (True, {}):
        node["items"] = _JSON
    for key, value in node.items():
        if key not in ("additionalProperties", "items") or value is not _JSON:
            _storable(value)


def _lists_its_characters(pattern: str) -> bool:
    """An anchored pattern of listed characters only (the key formats) leaves U+0000 out."""
    bare = pattern.replace("\\.", "")
    return (
        pattern.startswith("^") and pattern.endswith("$") and "[^" not in pattern and "\\S" not in pattern
    ) and "." not in bare


class _Components:
    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def ref(self, model: type[BaseModel]) -> dict[str, str]:
        if model.__name__ not in self.schemas:
            schema = model.model_json_schema(ref_template=_REF, mode="serialization")
            if issubclass(model, Patch):  # a field left out is left as it is: no default
                for name, prop in schema["properties"].items():
                    prop.pop("default", None)
                    if name in model.NOT_NULL:  # may be left out, but null is refused
                        _not_null(prop)
            self.schemas.update(schema.pop("$defs", {}))
            self.schemas[model.__name__] = schema
        return {"$ref": _REF.format(model=model.__name__)}


def _not_null(prop: dict[str, Any]) -> None:
    options = [option for option in prop.pop("anyOf", []) if option.get("type") != "null"]
    if len(options) == 1:
        prop.update(options[0])
    elif options:
        prop["anyOf"] = options


def _response_schema(components: _Components, shape: Any) -> dict[str, Any] | None:
    if shape is None:
        return None
    if shape is str:
        return {"type": "string"}
    if isinstance(shape, list):  # a page: {"items": [...], "next": cursor | null}
        return {
            "type": "object",
            "properties": {
                "items": {"type": "array", "items": components.ref(shape[0])},
                "next": {"type": ["string", "null"]},
            },
            "required": ["items", "next"],
            "additionalProperties": False,
        }
    return components.ref(shape)


def _path_parameter(name: str, convertor: str) -> dict[str, Any]:
    """A path parameter as its route's convertor (service.routes) matches it."""
    if convertor == "id":
        schema: dict[str, Any] = {
            "type": "integer",
            "minimum": 1,
            "maximum": 10**RowIdConvertor.DIGITS - 1,
        }
    elif name in KEY_PARAMETERS:
        schema = {"type": "string", "pattern": f"^{KeyConvertor.regex}$"}
    elif name == "kind":  # of a link (service.routes.tasks refuses others with 404)
        schema = {"type": "string", "enum": list(get_args(LinkKind))}
    else:  # a plain {name}: one path segment
        schema = {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _operation(components: _Components, endpoint: Endpoint) -> dict[str, Any]:
    parameters = [
        _path_parameter(name, convertor)
        for name, convertor in re.findall(r"{(\w+)(?::(\w+))?}", endpoint.path)
    ]
    if endpoint.query is not None:
        schema = endpoint.query.model_json_schema(ref_template=_REF)
        required = set(schema.get("required", []))
        for name, prop in schema["properties"].items():
            prop = {k: v for k, v in prop.items() if k not in ("title", "description")}
            parameter = {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": prop,
                "description": schema["properties"][name].get("description", ""),
            }
            if "contentMediaType" in prop:  # a JSON document in the query string
                document = {**prop["contentSchema"], "additionalProperties": True}
                del parameter["schema"]
                parameter["content"] = {"application/json": {"schema": document}}
            parameters.append(parameter)
    name = endpoint.operation_id
    api = not endpoint.probe  # behind the JSON API's guards (service.guards.json_api)
    if endpoint.method == "POST" and api and not endpoint.secret_answer:  # (which refuses the key)
        parameters.append(_IDEMPOTENCY_KEY)
    guarded = name.startswith(_GUARDED) and "{project}" in endpoint.path
    if guarded:
        parameters.append(_IF_MATCH)
    if endpoint.method == "GET" and api:
        parameters.append(_IF_NONE_MATCH)
    operation: dict[str, Any] = {
        "operationId": name,
        "summary": endpoint.summary,
        "parameters": parameters,
        "responses": {},
    }
    if endpoint.body is not None:
        operation["requestBody"] = {
            "required": not endpoint.body_optional,
            "content": {"application/json": {"schema": components.ref(endpoint.body)}},
        }
    for status, (description, shape) in sorted(endpoint.responses.items()):
        response: dict[str, Any] = {"description": description}
        content = _response_schema(components, shape)
        if content is not None:
            response["content"] = {endpoint.media_type: {"schema": content}}
        elif status >= 400:
            response["content"] = _PROBLEM
        operation["responses"][str(status)] = response
    if api:
        for code, description in _COMMON_ERRORS.items():
            operation["responses"].setdefault(code, {"description": description, "content": _PROBLEM})
    if endpoint.method == "GET" and api:
        operation["responses"]["304"] = {"description": "If-None-Match names the current ETag"}
    if guarded:
        operation["responses"]["412"] = {"description": "If-Match names an old ETag", "content": _PROBLEM}
    # Who may call it: the same rule service.access.Authorize applies.
    rule = endpoint.access_rule
    operation["x-worktrack-role"] = rule.need
    operation["description"] = _ROLE_WORDS[rule.need]
    if rule.need == "open":
        operation["security"] = []
        return operation
    operation["security"] = [{"bearer": []}]
    if rule.project_from == "sprint":
        operation["x-worktrack-project"] = "sprint"
        operation["description"] = "Needs the role read (or agent, write, admin) on a project of the sprint."
    operation["responses"]["401"] = {
        "description": "no token, or an unknown, expired or revoked one (WWW-Authenticate: Bearer)",
        "content": _PROBLEM,
    }
    operation["responses"]["403"] = {"description": "the token's role may not do this", "content": _PROBLEM}
    if rule.project_from is not None:
        operation["responses"].setdefault(
            "404", {"description": "no such project, or one the token does not list", "content": _PROBLEM}
        )
    return operation


_ROLE_WORDS = {
    "read": "Needs the role read (or agent, write, admin) on the project.",
    "agent": "Needs the role agent (or write, admin) on the project.",
    "write": "Needs the role write (or admin) on the project.",
    "admin": "Needs an admin token.",
    "token": "Needs any valid token.",
    "open": "Open to everyone.",
}


def openapi_path(path: str) -> str:
    """/sprints/{sprint_id:int} -> /sprints/{sprint_id}"""
    return re.sub(r"{(\w+):\w+}", r"{\1}", path)


def build(endpoints: list[Endpoint]) -> dict[str, Any]:
    components = _Components()
    components.ref(Problem)
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        path = openapi_path(endpoint.path)
        paths.setdefault(path, {})[endpoint.method.lower()] = _operation(components, endpoint)
    for item in paths.values():
        for operation in item.values():
            if "parameters" in operation:  # copies: the shared header parameters are constants
                operation["parameters"] = copy.deepcopy(operation["parameters"])
            for parameter in operation.get("parameters", []):
                _storable(parameter.get("schema") or parameter["content"]["application/json"]["schema"])
            body: Any = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            ref = body.get("schema", {}).get("$ref") or body.get("schema", {}).get("items", {}).get("$ref")
            if ref is not None:
                _storable(components.schemas[ref.rpartition("/")[2]])
    components.schemas["JsonValue"] = _JSON_VALUE
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "worktrack",
            "version": "0.1.0",
            "description": "Work tracking on PostgreSQL: projects, epics, features, tasks, the agent queue.",
        },
        "paths": paths,
        "components": {
            "schemas": components.schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "an API token, wt_...: `worktrack token create` or POST /tokens",
                }
            },
        },
    }
