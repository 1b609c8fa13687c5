"""requirements.txt and environment.yml must install the same pins."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pins(lines):
    out = {}
    for line in lines:
        line = line.split("#")[0].strip()
        m = re.match(r"^([A-Za-z0-9_.\-]+)\s*([=<>!~].*)$", line)
        if m:
            out[m.group(1).lower()] = m.group(2).replace(" ", "")
    return out


def test_requirements_pin_every_direct_dependency_exactly():
    req = pins((ROOT / "requirements.txt").read_text().splitlines())
    for name in ["torch", "tensorflow", "keras", "astronn", "galsim", "h5py", "astropy", "astroquery", "numpy",
                 "matplotlib", "seaborn", "scikit-learn", "tqdm", "jupyter", "nbval", "papermill", "pytest"]:
        assert req.get(name, "").startswith("=="), f"{name} is not pinned exactly in requirements.txt"
    assert req["torch"] == "==2.13.0"
    assert "tensorflow-cpu" not in req, "astroNN needs 'tensorflow'; both would install over each other"
    assert req["setuptools"] == ">=77.0.3,<82"


def test_environment_yml_agrees_with_requirements():
    env = (ROOT / "environment.yml").read_text()
    assert re.search(r"python=3\.11", env)
    lines = env.splitlines()
    start = next(i for i, l in enumerate(lines) if l.strip() == "- pip:")
    indent = len(lines[start]) - len(lines[start].lstrip())
    pip_lines = []
    for l in lines[start + 1:]:
        if l.strip() and len(l) - len(l.lstrip()) <= indent:
            break
        if l.strip().startswith("- "):
            pip_lines.append(l.strip()[2:].strip())
    req = pins((ROOT / "requirements.txt").read_text().splitlines())
    inline = pins(pip_lines)
    for name, spec in inline.items():  # a pin written into environment.yml must not contradict the list
        assert req.get(name) == spec, f"environment.yml pins {name}{spec}, requirements.txt {req.get(name)}"
    if "-r requirements.txt" not in pip_lines:
        assert inline == req, "environment.yml neither includes requirements.txt nor repeats its pins"
