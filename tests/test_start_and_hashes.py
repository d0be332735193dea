"""Start-up and build-record shortcuts give what the long way gives: an installed package's
output formats are still found (entry points), and the build record's hashes made while a
helper writes are those of the files as they end up."""
import sys
import time

from editio import builders
from editio.cache import hashed_ahead, tree_manifest


def test_entry_points_are_looked_for_only_where_declared(tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "other-1.0.dist-info").mkdir(parents=True)
    (site / "other-1.0.dist-info" / "entry_points.txt").write_text(
        "[console_scripts]\nother = other:main\n")
    monkeypatch.setattr(sys, "path", [str(site)])
    assert not builders._may_declare("editio.builders")
    assert builders._may_declare("console_scripts")
    (site / "plugin-0.1.dist-info").mkdir()
    (site / "plugin-0.1.dist-info" / "entry_points.txt").write_text(
        "[editio.builders]\njson = plugin:BUILDER\n")
    assert builders._may_declare("editio.builders")


def test_a_zip_on_the_path_is_left_to_importlib_metadata(tmp_path, monkeypatch):
    z = tmp_path / "lib.zip"
    z.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    monkeypatch.setattr(sys, "path", [str(z)])
    assert builders._may_declare("editio.builders")
    egg = tmp_path / "plugin-0.1-py3.11.egg"
    (egg / "EGG-INFO").mkdir(parents=True)
    monkeypatch.setattr(sys, "path", [str(egg)])
    assert builders._may_declare("editio.builders")


def test_metadata_folders_are_matched_in_any_case(tmp_path, monkeypatch):
    (tmp_path / "Plugin-0.1.DIST-INFO").mkdir()
    (tmp_path / "Plugin-0.1.DIST-INFO" / "entry_points.txt").write_text(
        "[editio.builders]\njson = plugin:BUILDER\n")
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    assert builders._may_declare("editio.builders")


def test_the_registry_without_plugins_has_editios_formats():
    assert {"html", "pdf"} <= set(builders.registry())


def test_hashes_made_ahead_are_those_of_the_files_at_the_end(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("a.html", "b.html", "sub/c.css"):
        (tmp_path / name).write_text(f"{name} before")
    known = hashed_ahead(tmp_path)
    assert set(known) == {"a.html", "b.html", "sub/c.css"}
    time.sleep(0.01)
    (tmp_path / "a.html").write_text("a.html after, longer")     # changed
    (tmp_path / "b.html").unlink()
    (tmp_path / "b.html").write_text("b.html before")             # rewritten, same bytes
    (tmp_path / "new.json").write_text("{}")                      # written after
    assert tree_manifest(tmp_path, known) == tree_manifest(tmp_path)
