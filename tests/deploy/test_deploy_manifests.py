"""compose.yaml and deploy/kubernetes/: valid against their schemas, and wired so the replicas serve one sandbox."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema_rs
import kubernetes_validate
import pytest
import yaml

from mock_server.config import FIELD_TYPES, env_name

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"
KUBE_DIR = ROOT / "deploy" / "kubernetes"
# schema/compose-spec.json of github.com/compose-spec/compose-spec at 170098ba07d9f53c383a41bfd4c5166b0a4529a6
# (last changed in a08f8d51631b7127ddac3d2c65537db429d0f1d0), vendored so the tests need no network.
COMPOSE_SCHEMA = Path(__file__).parent / "schemas" / "compose-spec.json"
# The oldest Kubernetes the manifests promise to work on, and the newest kubernetes-validate knows.
KUBE_VERSIONS = ("1.28", kubernetes_validate.latest_version())
HEALTH_PATH = "/_admin/health"
REDIS_PORT = 6379
IMAGE_PORT = 8080  # the Dockerfile's MOCK_PORT, which a replica keeps unless it sets its own
SETTINGS_VARS = frozenset(env_name(name) for name in FIELD_TYPES)


def load_compose() -> dict:
    """compose.yaml as Compose reads it (anchors and merge keys resolved)."""
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def load_kube() -> list[dict]:
    """Every Kubernetes object in deploy/kubernetes/ but the kustomization."""
    objects = []
    for path in sorted(KUBE_DIR.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            objects += [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]
    return objects


def compose_env(service: dict) -> dict[str, str]:
    """A service's environment, from either of Compose's spellings (a mapping, or a list of NAME=value)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {name: "" if value is None else str(value) for name, value in env.items()}


def compose_replicas(compose: dict) -> dict[str, dict]:
    """The services built from this repository's Dockerfile: the sandbox replicas."""
    return {name: service for name, service in compose["services"].items() if "build" in service}


def compose_redis_endpoints(compose: dict) -> set[tuple[str, int]]:
    """(service name, port) of each Redis service, reached by its name on Compose's network."""
    return {
        (name, REDIS_PORT) for name, service in compose["services"].items() if is_redis_image(service.get("image", ""))
    }


def compose_port(port: str | int | dict) -> tuple[str, int]:
    """(host port, container port) of a `ports` entry: "[IP:]HOST:CONTAINER[/proto]", "CONTAINER", or the long form."""
    if isinstance(port, dict):
        return str(port.get("published", "")), int(port["target"])
    parts = str(port).split("/")[0].rsplit(":", 2)
    return (parts[-2] if len(parts) > 1 else ""), int(parts[-1])


def is_redis_image(image: str) -> bool:
    """redis, redis:7, docker.io/library/redis:7-alpine, ..."""
    return image.rsplit("/", 1)[-1].split(":")[0].split("@")[0] == "redis"


def kube_env(container: dict) -> dict[str, str]:
    return {item["name"]: str(item.get("value", "")) for item in container.get("env", [])}


def kube_deployments(objects: list[dict]) -> list[dict]:
    return [obj for obj in objects if obj["kind"] == "Deployment"]


def kube_sandbox_deployments(objects: list[dict]) -> list[dict]:
    """Deployments running anything but Redis: the sandbox."""
    return [
        deployment
        for deployment in kube_deployments(objects)
        if not any(is_redis_image(c["image"]) for c in deployment["spec"]["template"]["spec"]["containers"])
    ]


def kube_redis_endpoints(objects: list[dict]) -> set[tuple[str, int]]:
    """(Service name, port) of each Service whose selector picks a Redis pod."""
    redis_labels = [
        deployment["spec"]["template"]["metadata"]["labels"]
        for deployment in kube_deployments(objects)
        if any(is_redis_image(c["image"]) for c in deployment["spec"]["template"]["spec"]["containers"])
    ]
    return {
        (service["metadata"]["name"], port["port"])
        for service in objects
        if service["kind"] == "Service"
        and any(service["spec"]["selector"].items() <= labels.items() for labels in redis_labels)
        for port in service["spec"]["ports"]
    }


def shared_store_problems(replicas: dict[str, dict[str, str]], redis_endpoints: set[tuple[str, int]]) -> list[str]:
    """What stops these replicas (name -> environment) from serving one sandbox from one Redis."""
    problems = []
    if len(replicas) < 2:
        problems.append(f"{len(replicas)} replica(s): scaling out needs at least 2")
    for name, env in replicas.items():
        for var in ("MOCK_SEED", "MOCK_STORE"):
            if not env.get(var):
                problems.append(f"{name} does not set {var}")
        if env.get("MOCK_DB_PATH"):
            problems.append(f"{name} sets MOCK_DB_PATH, the memory store's persistence, which Redis refuses")
    for var in ("MOCK_SEED", "MOCK_FIXTURE", "MOCK_STORE", "MOCK_STORE_PREFIX"):
        values = {env.get(var, "") for env in replicas.values()}
        if len(values) > 1:
            problems.append(f"the replicas differ in {var}: {sorted(values)}")
    for store in {env["MOCK_STORE"] for env in replicas.values() if env.get("MOCK_STORE")}:
        url = urlsplit(store)
        if url.scheme not in ("redis", "rediss") or (url.hostname, url.port or REDIS_PORT) not in redis_endpoints:
            problems.append(f"MOCK_STORE={store} names no Redis service here (they are {sorted(redis_endpoints)})")
    return problems


def image_user() -> int:
    """The uid of the Dockerfile's USER line."""
    match = re.search(r"^USER (\d+)", (ROOT / "Dockerfile").read_text(encoding="utf-8"), flags=re.M)
    assert match, "the Dockerfile names no numeric USER"
    return int(match.group(1))


def test_compose_file_matches_the_compose_spec():
    validator = jsonschema_rs.validator_for(json.loads(COMPOSE_SCHEMA.read_text(encoding="utf-8")))
    errors = [
        f"{'/'.join(map(str, error.instance_path))}: {error.message}" for error in validator.iter_errors(load_compose())
    ]
    assert errors == []


def test_compose_replicas_share_one_seed_and_one_redis_store():
    compose = load_compose()
    replicas = {name: compose_env(service) for name, service in compose_replicas(compose).items()}
    assert shared_store_problems(replicas, compose_redis_endpoints(compose)) == []


def test_compose_replicas_are_built_from_the_dockerfile_and_start_after_redis_is_healthy():
    compose = load_compose()
    redis_services = {name for name, _ in compose_redis_endpoints(compose)}
    assert redis_services, "no Redis service"
    assert [name for name in redis_services if "healthcheck" not in compose["services"][name]] == []
    for name, service in compose_replicas(compose).items():
        build = service["build"] if isinstance(service["build"], dict) else {"context": service["build"]}
        assert (COMPOSE.parent / build["context"] / build.get("dockerfile", "Dockerfile")).resolve() == (
            ROOT / "Dockerfile"
        ), name
        waits_for = {dep for dep, how in service["depends_on"].items() if how.get("condition") == "service_healthy"}
        assert redis_services <= waits_for, f"{name} does not wait for {redis_services - waits_for} to be healthy"


def test_compose_replicas_publish_their_own_host_port_and_check_health_on_the_container_port():
    published = []
    for name, service in compose_replicas(load_compose()).items():
        container_port = int(compose_env(service).get("MOCK_PORT") or IMAGE_PORT)
        ports = [compose_port(port) for port in service["ports"]]
        assert [target for _, target in ports] == [container_port], name
        published += [host for host, _ in ports if host]  # "" is an ephemeral port: never shared
        check = " ".join(service["healthcheck"]["test"])
        assert f":{container_port}{HEALTH_PATH}" in check, f"{name}'s healthcheck does not poll {HEALTH_PATH}"
    assert len(published) == len(set(published)), f"replicas share a host port: {published}"


@pytest.mark.parametrize("version", KUBE_VERSIONS)
def test_kubernetes_manifests_match_their_schemas(version):
    """Strict: a misspelt or misplaced field is an error, as `kubectl apply --validate=strict` makes it."""
    for obj in load_kube():
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = ".".join(map(str, error.path))
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']} at {where}: {error.message}")


def test_kustomization_lists_every_manifest():
    kustomization = yaml.safe_load((KUBE_DIR / "kustomization.yaml").read_text(encoding="utf-8"))
    manifests = {path.name for path in KUBE_DIR.glob("*.yaml")} - {"kustomization.yaml"}
    assert sorted(kustomization["resources"]) == sorted(manifests)


def test_kubernetes_sandbox_runs_replicas_sharing_one_seed_and_one_redis_store():
    objects = load_kube()
    (deployment,) = kube_sandbox_deployments(objects)
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    # Every pod of the Deployment is a replica with this container's environment.
    replicas = {f"replica {i}": kube_env(container) for i in range(deployment["spec"].get("replicas", 1))}
    assert shared_store_problems(replicas, kube_redis_endpoints(objects)) == []


def test_kubernetes_probes_and_service_reach_health_on_the_container_port():
    objects = load_kube()
    (deployment,) = kube_sandbox_deployments(objects)
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    container_port = int(kube_env(container).get("MOCK_PORT") or IMAGE_PORT)
    port_names = {port.get("name"): port["containerPort"] for port in container["ports"]}

    def resolve(port: int | str) -> int:
        return port_names[port] if isinstance(port, str) else port

    for probe in ("readinessProbe", "livenessProbe"):
        http = container[probe]["httpGet"]
        assert (http["path"], resolve(http["port"])) == (HEALTH_PATH, container_port), probe
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    services = [
        obj for obj in objects if obj["kind"] == "Service" and obj["spec"]["selector"].items() <= labels.items()
    ]
    assert [resolve(port["targetPort"]) for service in services for port in service["spec"]["ports"]] == [
        container_port
    ]


def test_kubernetes_sandbox_runs_as_the_image_user_within_resource_bounds():
    (deployment,) = kube_sandbox_deployments(load_kube())
    pod = deployment["spec"]["template"]["spec"]
    assert (pod["securityContext"]["runAsNonRoot"], pod["securityContext"]["runAsUser"]) == (True, image_user())
    for container in pod["containers"]:
        resources = container["resources"]
        assert {"cpu", "memory"} <= resources["requests"].keys() and {"memory"} <= resources["limits"].keys()


@pytest.mark.parametrize("source", ["compose", "kubernetes"])
def test_every_mock_variable_is_a_setting(source):
    if source == "compose":
        envs = [compose_env(service) for service in load_compose()["services"].values()]
    else:
        envs = [
            kube_env(container)
            for obj in kube_deployments(load_kube())
            for container in obj["spec"]["template"]["spec"]["containers"]
        ]
    named = {var for env in envs for var in env if var.startswith("MOCK_")}
    assert named, f"{source} sets no MOCK_* variable"
    unknown = sorted(named - SETTINGS_VARS)
    assert unknown == [], f"{source} sets {unknown}, which are not fields of mock_server.config.Settings"
