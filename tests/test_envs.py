"""The conda environments in envs/ (for `--sdm conda` on clusters) match what the project
declares in pyproject.toml and what the test suite runs with."""

import re
import tomllib
from importlib.metadata import version

import pytest
import yaml
from conftest import REPO
from packaging.requirements import Requirement

ENVS = sorted((REPO / "envs").glob("*.yaml"))


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> dict:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return {canonical(r.name): r for r in map(Requirement, project["dependencies"])}


def pins(env) -> dict[str, str]:
    spec = yaml.safe_load(env.read_text())
    pip = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict) and "pip" in d)
    out = {}
    for line in pip:
        name, _, pinned = line.partition("==")
        assert pinned, f"{env.name}: {line!r} is not pinned with =="
        out[canonical(name)] = pinned
    return out


@pytest.mark.parametrize("env", ENVS, ids=[e.stem for e in ENVS])
def test_env_pins_are_declared_and_are_what_the_tests_run_with(env):
    deps = declared()
    for name, pinned in pins(env).items():
        assert name in deps, f"{env.name}: {name} is not a dependency in pyproject.toml"
        assert deps[name].specifier.contains(pinned), f"{env.name}: {name}=={pinned} violates {deps[name]}"
        installed = version(name).split("+")[0]  # torch's CPU wheel is 2.13.0+cpu
        assert installed == pinned, f"{env.name}: pins {name}=={pinned}, tests run with {installed}"


def test_every_rule_uses_an_existing_env_and_envs_cover_the_dependencies():
    used = set()
    for rules in (REPO / "rules").glob("*.smk"):
        text = rules.read_text()
        n_rules = len(re.findall(r"^\s*rule \w+:", text, flags=re.M))  # rules under an if: are indented
        envs = re.findall(r'conda:\s*\n\s*"\.\./(envs/[\w.]+)"', text)
        assert len(envs) == n_rules, f"{rules.name}: every rule needs a conda: env"
        used.update(envs)
    assert used == {f"envs/{e.name}" for e in ENVS}, "an env file is unused or missing"
    covered = set().union(*(pins(e) for e in ENVS))
    # Snakemake runs the workflow; jsonschema and PyYAML only validate the config in it.
    assert set(declared()) - covered == {"snakemake", "jsonschema", "pyyaml"}
