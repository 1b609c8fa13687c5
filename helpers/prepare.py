"""The data set a notebook works on, chosen by DATASET (mock | sdss) and PROFILE, built once and cached.

`make data` runs this module; every notebook calls :func:`dataset`, so each also runs on its own.
"""
from __future__ import annotations

import os

from . import data, mock
from .train import Profile, profile as get_profile


def dataset(name: str | None = None, profile=None, progress: bool = True) -> data.GalaxySet:
    """Load (building it first if needed) the set for a data set name and a profile.

    mock: the GalSim set of the profile's size. sdss: the downloaded Nair & Abraham set
    (`make data DATASET=sdss`), reduced to the profile's size by a stratified sample that keeps
    each galaxy's split.
    """
    name = name or os.environ.get("DATASET", "mock")
    prof = profile if isinstance(profile, Profile) else get_profile(profile)
    if name == "mock":
        path = mock.ensure(data.mock_path(prof.n_galaxies, data.MOCK_SEED), prof.n_galaxies, data.MOCK_SEED,
                           progress=progress)
        return data.load(path)
    if name == "sdss":
        return data.load(data.SDSS_PATH).stratified_sample(prof.n_galaxies, seed=data.MOCK_SEED)
    raise ValueError(f"unknown DATASET {name!r}: use 'mock' or 'sdss'")


def main():
    name = os.environ.get("DATASET", "mock")
    if name == "sdss":  # every time: cheap when complete, resumes an interrupted or partial download
        from . import download
        rc = download.main(["--dataset", "sdss", "--out", str(data.SDSS_PATH)])
        if rc:
            raise SystemExit(rc)
    s = dataset(name)
    print(f"{name}: {len(s)} galaxies, {s.attrs.get('source')} set ready")


if __name__ == "__main__":
    main()
