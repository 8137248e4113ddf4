"""environment.yml (conda) and pyproject.toml (pip) ask for the same packages."""

import re
import tomllib

import yaml
from support.paths import ROOT

# conda-forge ships TensorFlow for the CPU under the plain name.
CONDA_NAME = {"tensorflow-cpu": "tensorflow"}


def parse(requirement):
    name, spec = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", requirement).groups()
    return name.lower(), spec.replace(" ", "")


def pyproject_requirements():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + project["optional-dependencies"]["test"]
    return dict(parse(r) for r in reqs), project["requires-python"]


def conda_requirements():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda, pip = {}, {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip.update(parse(r) for r in dep["pip"])
        else:
            name, spec = parse(dep.replace("=", "==", 1) if re.match(r"^[\w-]+=\d", dep) else dep)
            conda[name] = spec
    return env, conda, pip


def test_same_packages_and_versions():
    wanted, _ = pyproject_requirements()
    env, conda, pip = conda_requirements()
    assert env["channels"] == ["conda-forge"]
    listed = {**conda, **pip}
    for name, spec in wanted.items():
        name = CONDA_NAME.get(name, name)
        assert name in listed, f"{name} is in pyproject.toml but not in environment.yml"
        assert listed[name] == spec, f"{name}: pyproject says {spec!r}, conda {listed[name]!r}"
    extra = set(listed) - {CONDA_NAME.get(n, n) for n in wanted} - {"python", "pip"}
    assert extra == set(), "environment.yml lists packages pyproject.toml does not"


def test_issue_packages_and_python():
    _, requires_python = pyproject_requirements()
    _, conda, pip = conda_requirements()
    assert conda["python"] == "==3.11" and requires_python == ">=3.11"
    for name in ("jupyterlab", "tensorflow", "nbgrader", "numpy", "matplotlib",
                 "tensorboard", "ipywidgets"):
        assert name in conda, f"{name} must come from conda-forge"
    assert "playwright" in pip
