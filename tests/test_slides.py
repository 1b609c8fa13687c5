"""helpers.slides: the deck is self-contained, its numbers come from results/, and it renders in a browser."""
import json
import re
import subprocess

import numpy as np
import pytest

from helpers import data, slides


def tiny_png(path, colour):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.imshow(np.outer(np.arange(20), np.ones(20)), cmap=colour)
    fig.savefig(path)
    plt.close(fig)


@pytest.fixture
def material(tmp_path):
    figures, results = tmp_path / "figures", tmp_path / "results"
    figures.mkdir()
    results.mkdir()
    for name in ("gallery_mock", "class_counts", "pytorch_confusion", "interpretation_saliency"):
        tiny_png(figures / f"{name}.png", "viridis")
    pc = {c: {"precision": 0.5, "recall": r, "f1": 0.5, "support": 10}
          for c, r in zip(("E", "S0", "Sp", "Irr+Misc"), (0.91, 0.47, 0.96, 0.0))}
    (results / "pytorch.json").write_text(json.dumps([
        {"model": "C2", "scheme": "4way", "dataset": "mock", "profile": "quick", "seed": 0, "n_test": 450,
         "accuracy": 0.8222, "balanced_accuracy": 0.598, "per_class": pc}]))
    return figures, results


def test_deck_reads_its_numbers_and_skips_what_is_missing(material, tmp_path):
    figures, results = material
    deck, sources = slides.build_slides(results, figures)
    titles = [s.title for s in deck]
    assert titles[0] == "Galaxy morphology with convolutional networks" and titles[-1].startswith("Where every number")
    assert "Results against the paper" in titles and "Where the networks go wrong" in titles
    assert "Extension: Keras on Galaxy10" not in titles  # no results, no figure: left out
    assert "results/binary.json" in sources["missing"] and sources["used"] == ["results/pytorch.json"]
    page = slides.render(deck, figures)
    assert "82.2 %" in page and "mock, quick, n_test = 450" in page and "0.47" in page


def test_deck_is_one_offline_file(material, tmp_path):
    figures, results = material
    out = slides.build(tmp_path / "deck.html", results, figures)
    page = out.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page), "external reference in the deck"
    assert page.count('src="data:image/png;base64,') == 4
    assert page.count('<section class="slide') == len(slides.build_slides(results, figures)[0])


def test_repository_deck_has_10_to_15_slides():
    if not (data.FIGURES_DIR / "pytorch_confusion.png").exists():
        pytest.skip("no figures yet (run make reproduce)")
    deck, _ = slides.build_slides()
    assert 10 <= len(deck) <= 15, [s.title for s in deck]


def _screenshot(browser, html, slide, out, tmp_path):
    profile = tmp_path / f"profile{slide}"
    cmd = slides.chromium_command(browser, str(profile), "--window-size=1280,720", f"--screenshot={out}",
                                  f"{html.as_uri()}#{slide}")
    subprocess.run(cmd, check=True, timeout=120, capture_output=True)
    from PIL import Image
    return np.asarray(Image.open(out).convert("RGB")).astype(float)


@pytest.mark.skipif(slides.chromium() is None, reason="chromium not installed (make setup installs it where apt-get is "
                                                       "available as root); the deck is still written")
def test_deck_renders_in_headless_chromium(tmp_path):
    if not (data.FIGURES_DIR / "pytorch_confusion.png").exists():
        pytest.skip("no figures yet (run make reproduce)")
    html = slides.build(tmp_path / "slides.html")
    deck, _ = slides.build_slides()
    background = np.array([0xfd, 0xfd, 0xfb], dtype=float)

    title = _screenshot(slides.chromium(), html, 1, tmp_path / "title.png", tmp_path)
    assert title.shape == (720, 1280, 3)
    heading = title[40:140]  # the title line
    assert (np.abs(heading - background).sum(axis=2) > 60).mean() > 0.02, "title slide: no title drawn"

    k = next(i for i, s in enumerate(deck, start=1) if "pytorch_confusion" in s.figures)
    fig = _screenshot(slides.chromium(), html, k, tmp_path / "figure.png", tmp_path)
    assert fig.shape == (720, 1280, 3)
    lower = fig[250:680]  # where the figure sits under the text
    assert (np.abs(lower - background).sum(axis=2) > 60).mean() > 0.05, "results slide: the figure is missing"
    assert lower.std() > 35

    with_dom = subprocess.run(slides.chromium_command(slides.chromium(), str(tmp_path / "dom"), "--dump-dom",
                                                      html.as_uri()), capture_output=True, text=True, timeout=120)
    for s in deck:
        assert f"<h1>{s.title.replace('&', '&amp;')}</h1>" in with_dom.stdout
