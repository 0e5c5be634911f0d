"""Writes aks.schema.json: the wire shape of the AKS models Fleet's tests check requests and
answers against, read from the official `azure-mgmt-containerservice` Python package (generated
by Microsoft from the `Azure/azure-rest-api-specs` TypeSpec of Microsoft.ContainerService).

    python3 -m venv /tmp/az && /tmp/az/bin/pip install azure-mgmt-containerservice==41.8.0
    /tmp/az/bin/python extract_schema.py > aks.schema.json
"""

import enum
import json
import re
import sys
import typing

from azure.mgmt.containerservice import models, _configuration
from azure.mgmt.containerservice._utils.model_base import Model, _RestField

ROOTS = ["ManagedCluster", "CredentialResults", "AgentPool", "ErrorResponse"]


def fields_of(cls):
    found = {}
    for klass in reversed(cls.__mro__):
        for attr, value in vars(klass).items():
            if isinstance(value, _RestField):
                found[attr] = value
    return found


def required_attrs(cls):
    required = set()
    for klass in cls.__mro__:
        doc = klass.__doc__ or ""
        for attr, text in re.findall(r":ivar (\w+): (.*?)(?=\n    :|\Z)", doc, re.S):
            if re.search(r"\bRequired\.", text):
                required.add(attr)
    return required


def describe(annotation, pending):
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin is typing.Union:
        models_in = [a for a in args if isinstance(a, type) and issubclass(a, Model)]
        if models_in:
            return describe(models_in[0], pending)
        enums = [a for a in args if isinstance(a, type) and issubclass(a, enum.Enum)]
        if enums:
            return {"type": "string", "enum": sorted(e.value for e in enums[0])}
        return describe(args[0], pending)
    if origin in (list, typing.List):
        return {"type": "array", "items": describe(args[0], pending)}
    if origin in (dict, typing.Dict):
        return {"type": "map", "values": describe(args[1], pending)}
    if isinstance(annotation, type) and issubclass(annotation, Model):
        pending.append(annotation.__name__)
        return {"type": "object", "model": annotation.__name__}
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return {"type": "string", "enum": sorted(e.value for e in annotation)}
    names = {str: "string", int: "integer", float: "number", bool: "boolean"}
    if annotation in names:
        return {"type": names[annotation]}
    return {"type": "any"}


def operations():
    """Method and path of each managed cluster and agent pool request builder."""
    from azure.mgmt.containerservice.operations import _operations

    source = open(_operations.__file__).read()
    found = {}
    for name, body in re.findall(r"\ndef build_((?:managed_clusters|agent_pools)_\w+)_request\((.*?)\n    return HttpRequest", source, re.S):
        url = re.search(r'_url = "([^"]+)"', body)
        method = re.search(r'return HttpRequest\(method="(\w+)"', source[source.index(body):])
        if url and method:
            found[name] = {"method": method.group(1), "path": url.group(1)}
    return dict(sorted(found.items()))


def main():
    schema = {
        "source": "azure-mgmt-containerservice 41.8.0 (PyPI), MIT licence, generated from Azure/azure-rest-api-specs",
        "apiVersion": None,
        "models": {},
    }
    text = open(_configuration.__file__).read()
    schema["apiVersion"] = re.search(r'api_version: str = kwargs.pop\("api_version", "([^"]+)"\)', text).group(1)
    pending = list(ROOTS)
    while pending:
        name = pending.pop()
        if name in schema["models"]:
            continue
        cls = getattr(models, name)
        hints = typing.get_type_hints(cls, {**vars(sys.modules[cls.__module__]), "_models": models})
        required = required_attrs(cls)
        properties = {}
        for attr, field in fields_of(cls).items():
            shape = describe(hints.get(attr, typing.Any), pending)
            shape["visibility"] = sorted(field._visibility or ["read", "create", "update"])
            if attr in required:
                shape["required"] = True
            if field._format:
                shape["format"] = field._format
            properties[field._rest_name_input or attr] = shape
        schema["models"][name] = {"properties": dict(sorted(properties.items()))}
    schema["models"] = dict(sorted(schema["models"].items()))
    schema["operations"] = operations()
    json.dump(schema, sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")


main()
