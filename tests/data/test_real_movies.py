"""``movies`` from a tiny movies.db written with bokeh-sampledata's exact SQLite schema: the join, the text and
tabular modalities with their gaps imputed, the three tasks with missing labels masked, historic ratings
mapped, stratified splits, the cache, and a missing package naming its install command."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
import torch

from mmbench.data import DatasetError
from mmbench.data.loading import load, resolve
from mmbench.data.missing import MISSING_CLASS
from mmbench.data.real import movies
from mmbench.data.real.movies import GENRES, RATINGS

#: bokeh-sampledata 2026.1's schema, as ``sqlite_master`` shows it
OMDB = ('CREATE TABLE "omdb" ("ID" INTEGER, "imdbID" TEXT, "Title" TEXT, "Year" INTEGER, "Rating" TEXT, '
        '"Runtime" REAL, "Genre" TEXT, "Released" TEXT, "Director" TEXT, "Writer" TEXT, "Cast" TEXT, '
        '"Metacritic" INTEGER, "imdbRating" REAL, "imdbVotes" INTEGER, "Language" TEXT, "Country" TEXT, '
        '"Awards" TEXT, "lastUpdated" TEXT, "Oscars" INTEGER)')
TOMATOES = ('CREATE TABLE "tomatoes" ("ID" INTEGER, "Image" TEXT, "Rating" REAL, "Meter" INTEGER, "Reviews" INTEGER, '
            '"Fresh" INTEGER, "Rotten" INTEGER, "Consensus" TEXT, "userMeter" INTEGER, "userRating" REAL, '
            '"userReviews" INTEGER, "DVD" TEXT, "BoxOffice" REAL, "Production" TEXT, "Website" TEXT, "lastUpdated" TEXT)')
N = 80
#: the MPAA rating of film i: a quarter labelled (with historic names among them), the rest NULL
RATING_CYCLE = ["G", None, "PG", None, "PG-13", None, "R", None, "NC-17", None, "GP", None, "X", None, "M/PG", None,
                None, None, None, None]


def film(i: int) -> tuple[tuple, tuple]:
    genres = ", ".join(GENRES[(i + k) % len(GENRES)] for k in range(1 + i % 3)) if i % 17 else ""
    omdb = (1000 + i, f"tt{i:07d}", f"Film number {i}", 1950 + i % 60, RATING_CYCLE[i % len(RATING_CYCLE)],
            None if i % 9 == 0 else 80.0 + i, genres, "2000-01-01", f"Director {i % 7}",
            None if i % 4 == 0 else f"Writer {i % 5}", "" if i % 10 == 0 else f"Actor {i}, Actor {i + 1}",
            None, None, None, "English", "United States", None, "2026-10-18", 0)
    tomatoes = (1000 + i, None, 6.0, None if i % 23 == 0 else (i * 7) % 101, 10 + i, 5, 5, None, None, None, None,
                None, None, None, None, "2026-10-18")
    return omdb, tomatoes


def write_movies_db(path: Path, n: int = N) -> Path:
    with sqlite3.connect(path) as db:
        db.execute(OMDB)
        db.execute(TOMATOES)
        for i in reversed(range(n)):  # the join orders by ID, not by insertion
            o, t = film(i)
            db.execute(f"INSERT INTO omdb VALUES ({', '.join('?' * len(o))})", o)
            db.execute(f"INSERT INTO tomatoes VALUES ({', '.join('?' * len(t))})", t)
    return path


@pytest.fixture
def source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MMBENCH_DATASETS_DIR", str(tmp_path / "built"))
    return write_movies_db(tmp_path / "movies.db")


def _spec(source: Path, **options):
    return resolve({"name": "movies", "options": {"source": str(source), **options}})


def _all(data, task: str) -> torch.Tensor:
    return torch.cat([data.splits[r].targets[task] for r in ("train", "validation", "test")])


def test_text_and_tabular_to_genre_tomatometer_and_mpaa(source: Path):
    spec = _spec(source)
    assert (spec.missing_labels, spec.missing_features) == ("mask", "impute")
    assert spec.metadata["size"]["total"] == N and spec.revision.startswith("sha256:")
    data = load(spec)
    assert sum(len(s) for s in data.splits.values()) == N
    assert data.modality_info["text"].columns == ("title", "director", "writer", "cast")
    assert data.modality_info["tabular"].shape == (3 + 1,)  # year, runtime, reviews + the indicator of runtime's gaps
    info = data.task_info
    assert (info["genre"].type, info["genre"].out_dim) == ("multilabel", len(GENRES))
    assert (info["tomatometer"].type, info["mpaa"].type, info["mpaa"].out_dim) == ("regression", "classification", 5)
    assert all(t.masked for t in info.values())


def test_values_missing_labels_and_historic_ratings(source: Path):
    table = movies.build_movies(source, "checksum", 0)
    rows = {int(t.split()[-1]): r for split in table.values() for t, r in zip(split["title"], split)}
    assert rows[3]["genre"] == [GENRES.index("Biography")] and rows[5]["genre"] == [5, 6, 7]
    assert rows[17]["genre"] is None and rows[0]["genre"] is None     # empty genre strings are missing labels
    assert rows[23]["tomatometer"] is None and rows[5]["tomatometer"] == 35.0
    names = {i: (None if rows[i]["mpaa"] is None else RATINGS[rows[i]["mpaa"]]) for i in range(20)}
    assert [names[i] for i in (0, 2, 4, 6, 8, 10, 12, 14)] == ["G", "PG", "PG-13", "R", "NC-17", "PG", "NC-17", "PG"]
    assert names[1] is None
    assert rows[10]["cast"] is None and rows[4]["writer"] is None and rows[9]["runtime"] is None
    data = load(_spec(source))
    mpaa = _all(data, "mpaa")
    assert int((mpaa == MISSING_CLASS).sum()) == sum(RATING_CYCLE[i % len(RATING_CYCLE)] is None for i in range(N))
    genre = _all(data, "genre")
    assert int(torch.isnan(genre).any(dim=1).sum()) == sum(1 for i in range(N) if i % 17 == 0)
    texts = [t for r in ("train", "validation", "test") for t in data.splits[r].modalities["text"]]
    assert "Film number 10\nDirector 3\nWriter 0\n" in texts  # a missing cast is the empty string


def test_the_split_keeps_the_labelled_share_of_mpaa(source: Path):
    source = write_movies_db(source.with_name("more.db"), n=200)  # enough rows per rating to stratify all splits
    data = load(_spec(source))
    shares = {r: float((s.targets["mpaa"] != MISSING_CLASS).float().mean()) for r, s in data.splits.items()}
    assert max(shares.values()) - min(shares.values()) < 0.1
    other = load(_spec(source, split_seed=1))
    assert other.fingerprint != data.fingerprint


def test_default_missing_label_policy_is_mask_and_error_names_the_options(source: Path):
    with pytest.raises(DatasetError, match="missing_labels: mask"):
        load(_spec(source, missing_labels="error"))


def test_the_table_is_cached_on_disk(source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    first = load(_spec(source))
    (folder,) = (tmp_path / "built").glob("movies-*")
    assert "CC0" in (folder / "README.md").read_text()
    monkeypatch.setattr(movies, "_build", lambda *a: pytest.fail("rebuilt although cached"))
    assert load(_spec(source)).fingerprint == first.fingerprint


def test_a_missing_package_names_its_install_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "bokeh_sampledata" else real(name, *a))
    with pytest.raises(DatasetError, match=r'pip install "mmbench\[real-data\]"'):
        resolve("movies")
    with pytest.raises(DatasetError, match=r'pip install "mmbench\[real-data\]"'):
        resolve({"name": "movies", "options": {"source": str(tmp_path / "missing.db")}})


def test_another_database_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MMBENCH_DATASETS_DIR", str(tmp_path / "built"))
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE films (id INTEGER)")
    with pytest.raises(DatasetError, match="is not bokeh-sampledata's movies.db"):
        resolve({"name": "movies", "options": {"source": str(path)}})


def test_the_installed_package_is_found_when_present():
    pytest.importorskip("bokeh_sampledata")
    path = movies.default_source()
    assert path.name == "movies.db" and path.is_file()
    assert np.isfinite(path.stat().st_size)
