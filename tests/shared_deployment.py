"""The shared deployment's committed files as test data:
docs/shared-deployment/compose.yaml and the nginx.conf it mounts.

compose.yaml is read as compose reads it (YAML, merge keys, ``${VARIABLE}``
interpolation); nginx.conf is rendered for a test by replacing the replicas'
addresses and the listen port, and nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "docs" / "shared-deployment"
COMPOSE = FOLDER / "compose.yaml"
NGINX_CONF = FOLDER / "nginx.conf"
# Where the nginx image reads a site configuration from.
NGINX_SITE_PATH = "/etc/nginx/conf.d/default.conf"

# Compose's interpolation: $$, ${NAME}, ${NAME:-default}, ${NAME-default},
# ${NAME:?error}, ${NAME?error}.
_VARIABLE = re.compile(r"\$(?:(\$)|\{(\w+)(?:(:?)([-?])([^}]*))?\})")


class MissingVariable(ValueError):
    """A ``${NAME:?message}`` whose variable is not set."""


def interpolate(value: Any, variables: Mapping[str, str]) -> Any:
    """``value`` with compose's variables replaced, in every string it holds."""
    if isinstance(value, dict):
        return {key: interpolate(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, variables) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        dollar, name, colon, operator, argument = match.groups()
        if dollar:
            return "$"
        given = variables.get(name)
        unset = given is None or (colon == ":" and given == "")
        if operator == "-" and unset:
            return argument
        if operator == "?" and unset:
            raise MissingVariable(f"{name}: {argument}")
        return given or ""

    return _VARIABLE.sub(replace, value)


def compose_file(variables: Mapping[str, str]) -> dict[str, Any]:
    """compose.yaml as compose sees it with ``variables`` set."""
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text("utf-8"))
    return interpolate(loaded, variables)


def built_here(service: Mapping[str, Any]) -> bool:
    """Whether a service runs the image of this repository's Dockerfile."""
    build = service.get("build")
    context = build.get("context") if isinstance(build, dict) else build
    return context is not None and (FOLDER / context).resolve() == ROOT


def replica_names(compose: Mapping[str, Any]) -> list[str]:
    """The services running the emulator's image, in file order."""
    return [name for name, service in compose["services"].items() if built_here(service)]


def balancer_name(compose: Mapping[str, Any]) -> str:
    """The one service mounting nginx.conf."""
    [name] = [
        name
        for name, service in compose["services"].items()
        for volume in service.get("volumes", [])
        if (FOLDER / volume.split(":")[0]).resolve() == NGINX_CONF
    ]
    return name


def image_port() -> int:
    """The port the image's emulator listens on (the Dockerfile's OMNITRON_MOCK_PORT)."""
    found = re.search(r"OMNITRON_MOCK_PORT=(\d+)", (ROOT / "Dockerfile").read_text("utf-8"))
    assert found, "the Dockerfile sets no OMNITRON_MOCK_PORT"
    return int(found.group(1))


def balancer_port(compose: Mapping[str, Any]) -> int:
    """The port nginx listens on inside its container (the published port's target)."""
    [published] = compose["services"][balancer_name(compose)]["ports"]
    return int(str(published).rsplit(":", 1)[1].split("/")[0])


def upstream_servers() -> list[str]:
    """The ``server`` lines of nginx.conf's upstream block, as written."""
    block = re.search(r"upstream \w+ \{(.*?)\n\}", NGINX_CONF.read_text("utf-8"), re.S)
    assert block, "nginx.conf has no upstream block"
    return re.findall(r"^\s*server (\S+);", block.group(1), re.M)


def render_nginx_conf(replicas: Mapping[str, str], listen: str, container_port: int, compose_port: int) -> str:
    """nginx.conf with each replica service's ``NAME:PORT`` replaced by its
    address in ``replicas`` and ``listen PORT;`` by ``listen`` (each must be
    there exactly once): the rest of the committed file is used as is."""
    text = NGINX_CONF.read_text("utf-8")
    replacements = {f"server {name}:{container_port};": f"server {address};" for name, address in replicas.items()}
    replacements[f"listen {compose_port};"] = f"listen {listen};"
    for written, wanted in replacements.items():
        assert text.count(written) == 1, f"nginx.conf must hold {written!r} once"
        text = text.replace(written, wanted)
    return text
