"""Spec files: the shipped ones load; malformed ones fail with file and line, exit code 2."""

import subprocess
import sys
from pathlib import Path

import pytest

from attncost.errors import SpecError
from attncost.networks import load_spec

SPECS = sorted((Path(__file__).parents[2] / "specs").glob("resnet*.yaml"))


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_shipped_specs_load(path):
    spec = load_spec(path)
    assert spec.attention


@pytest.mark.parametrize("text, line, message", [
    ("network: resnet50\nattention: {module: cbma}\n", 2, "did you mean 'cbam'"),
    ("network: resnet50\nplacement: every_block\n", 2, "unknown key 'placement'"),
    ("network: resnet50\nattention: {module: se, where: everywhere}\n", 2, "where='everywhere'"),
    ("network: resnet5\n", 1, "unknown network"),
    ("network: [resnet50\n", 2, "malformed YAML"),
])
def test_malformed_specs_name_file_and_line(tmp_path, text, line, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(SpecError, match=message) as info:
        load_spec(path)
    assert str(info.value).startswith(f"{path}:{line}:")
    proc = subprocess.run([sys.executable, "-m", "attncost.cli", "network", str(path)], capture_output=True, text=True)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_cbam_spec_reproduces_the_paper_row():
    proc = subprocess.run([sys.executable, "-m", "attncost.cli", "network", str(SPECS[1]), "--convention", "macs",
                           "--format", "json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert '"network": "resnet50-v1"' in proc.stdout


DEFINITIONS = sorted((Path(__file__).parents[2] / "specs" / "networks").glob("*.yaml"))


def test_reference_networks_are_the_definition_files():
    from attncost.networks import NETWORKS
    from attncost.networks.registry import load_definition

    assert len(DEFINITIONS) == len(NETWORKS) >= 13
    for path in DEFINITIONS:
        spec = load_definition(path)
        assert NETWORKS[spec.name] == spec


@pytest.mark.parametrize("text, line, message", [
    ("name: x\nfamily: resnet\nblock: bottleneck\nlayers: [3, 4, 6, 3]\nstride: 2\n", 5, "unknown key 'stride'"),
    ("name: x\nfamily: densenet\n", 2, "family 'densenet'"),
    ("name: x\n", 1, "needs 'name' and 'family'"),
])
def test_malformed_definitions_name_file_and_line(tmp_path, text, line, message):
    from attncost.networks.registry import load_definition

    path = tmp_path / "net.yaml"
    path.write_text(text)
    with pytest.raises(SpecError, match=message) as info:
        load_definition(path)
    assert str(info.value).startswith(f"{path}:{line}:")
