#!/usr/bin/env python3
"""Generates tests/src/apiserver/protobuf/messages.json: the protobuf field table of the built-in
Kubernetes kinds (field number, field name, wire type, message reference), read from the prost
sources of the k8s-pb crate (kube-rs/k8s-pb), so the test API server can decode the protobuf request
bodies client-go's typed clients send (kubectl create namespace, kubectl auth can-i, ...).

Usage: tests/tools/gen_proto_table.py ~/.cargo/registry/src/*/k8s-pb-0.9.0 > tests/src/apiserver/protobuf/messages.json
"""
import json
import os
import re
import sys

PACKAGES = [
    "api/core/v1", "api/apps/v1", "api/batch/v1", "api/rbac/v1", "api/networking/v1", "api/policy/v1",
    "api/autoscaling/v1", "api/autoscaling/v2", "api/coordination/v1", "api/storage/v1",
    "api/authorization/v1", "api/authentication/v1", "api/scheduling/v1", "api/admissionregistration/v1",
    "api/discovery/v1", "api/events/v1",
    "apimachinery/pkg/apis/meta/v1", "apimachinery/pkg/runtime", "apimachinery/pkg/util/intstr",
    "apimachinery/pkg/api/resource", "apiextensions_apiserver/pkg/apis/apiextensions/v1",
]

ATTR = re.compile(r'#\[prost\((?P<kind>[a-z0-9_]+)(?: = "(?P<arg>[^"]*)")?(?:, (?P<label>optional|repeated|required))?, tag = "(?P<tag>\d+)"\)\]')
FIELD = re.compile(r'pub (?:r#)?(?P<name>[a-z0-9_]+):\s*(?P<ty>.+),$')
STRUCT = re.compile(r'^pub struct (?P<name>\w+) \{')


def definition(modules):
    parts = [("apiextensions-apiserver" if m == "apiextensions_apiserver" else m) for m in modules]
    return "io.k8s." + ".".join(parts)


def resolve(module, ty):
    ty = re.sub(r"\s+", "", ty).replace(",>", ">")
    for wrapper in ("::core::option::Option<", "::prost::alloc::vec::Vec<"):
        if ty.startswith(wrapper):
            ty = ty[len(wrapper):-1]
    if ty.startswith("::prost::alloc::collections::BTreeMap<"):
        ty = ty[len("::prost::alloc::collections::BTreeMap<"):-1].split(",", 1)[1]
    path = ty.split("::")
    current = list(module)
    while path and path[0] == "super":
        current.pop()
        path.pop(0)
    return definition(current + path[:-1]) + "." + path[-1]


def main(root):
    table = {}
    for package in PACKAGES:
        module = package.split("/")
        with open(os.path.join(root, "src", package, "mod.rs")) as f:
            lines = [line.strip() for line in f]
        message = None
        attr = None
        pending = ""
        for line in lines:
            if pending:
                line = pending + " " + line
                pending = ""
            unbalanced = line.count("<") != line.count(">")
            if line.startswith("pub ") and ":" in line and (unbalanced or not line.endswith(",")) and not line.endswith("{"):
                pending = line
                continue
            m = STRUCT.match(line)
            if m:
                message = definition(module) + "." + m.group("name")
                table[message] = []
                continue
            if line == "}":
                message = None
                continue
            if message is None:
                continue
            a = ATTR.match(line)
            if a:
                attr = a
                continue
            f = FIELD.match(line)
            if f and attr:
                kind = attr.group("kind")
                arg = attr.group("arg") or ""
                entry = [int(attr.group("tag")), f.group("name")]
                if kind == "btree_map":
                    value = arg.split(", ")[1]
                    entry += ["map_" + value]
                    entry += [resolve(module, f.group("ty")) if value == "message" else ""]
                else:
                    entry += [kind]
                    entry += [resolve(module, f.group("ty")) if kind == "message" else ""]
                entry += [1 if attr.group("label") == "repeated" else 0]
                table[message].append(entry)
                attr = None
    json.dump(table, sys.stdout, separators=(",", ":"), sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
