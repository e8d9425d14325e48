"""The addon loader: manifests, load order by ``depends``, clear errors for bad set-ups."""

from pathlib import Path

import pytest

from addon.base.core.addons import (
    ADDONS_PATH,
    AddonError,
    discover,
    load_order,
    read_manifest,
)


def make_addon(root: Path, name: str, depends=(), manifest: str | None = None) -> Path:
    folder = root / name
    folder.mkdir()
    if manifest is None:
        manifest = repr({"name": name, "version": "1.0.0", "depends": list(depends), "summary": f"The {name} addon"})
    (folder / "__manifest__.py").write_text(manifest, encoding="utf-8")
    (folder / "__init__.py").write_text("def register(host):\n    pass\n", encoding="utf-8")
    return folder


def names(manifests) -> list[str]:
    return [m.name for m in manifests]


def test_load_order_follows_depends(tmp_path):
    make_addon(tmp_path, "zeta", depends=["base"])  # sorts last by name, must still come after base only
    make_addon(tmp_path, "lock", depends=["booking", "base"])
    make_addon(tmp_path, "booking", depends=["base"])
    make_addon(tmp_path, "base")
    make_addon(tmp_path, "alpha", depends=["lock"])
    (tmp_path / "not_an_addon").mkdir()  # no manifest: ignored
    (tmp_path / "README.md").write_text("hello")

    available = discover(tmp_path)
    assert set(available) == {"alpha", "base", "booking", "lock", "zeta"}
    order = names(load_order(available))
    assert sorted(order) == sorted(available), "each addon exactly once"
    for addon, manifest in available.items():
        for dependency in manifest.depends:
            assert order.index(dependency) < order.index(addon), f"{dependency} must load before {addon}"
    assert order[0] == "base"


def test_load_order_of_a_selection_brings_its_dependencies(tmp_path):
    make_addon(tmp_path, "base")
    make_addon(tmp_path, "booking", depends=["base"])
    make_addon(tmp_path, "lock", depends=["booking"])
    make_addon(tmp_path, "other", depends=["base"])
    assert names(load_order(discover(tmp_path), ["lock"])) == ["base", "booking", "lock"]
    assert names(load_order(discover(tmp_path), ["base"])) == ["base"]


def test_manifest_fields(tmp_path):
    folder = make_addon(tmp_path, "booking", depends=["base"])
    manifest = read_manifest(folder)
    assert (manifest.name, manifest.version, manifest.depends, manifest.summary) == (
        "booking", "1.0.0", ("base",), "The booking addon")
    assert manifest.path == folder


def test_missing_dependency_is_a_clear_error(tmp_path):
    make_addon(tmp_path, "base")
    make_addon(tmp_path, "resivo", depends=["base", "booking"])
    with pytest.raises(AddonError) as caught:
        load_order(discover(tmp_path))
    message = str(caught.value)
    assert "'booking'" in message and "needed by resivo" in message
    assert str(tmp_path) in message, "the error says where it looked"

    with pytest.raises(AddonError, match="'nothing' not found"):
        load_order(discover(tmp_path), ["nothing"])


@pytest.mark.parametrize(
    "graph, cycle",
    [
        ({"a": ["b"], "b": ["a"]}, "a -> b -> a"),
        ({"a": ["b"], "b": ["c"], "c": ["a"]}, "a -> b -> c -> a"),
        ({"a": ["a"]}, "a -> a"),
        ({"base": [], "a": ["base", "b"], "b": ["c"], "c": ["b"]}, "b -> c -> b"),
    ],
)
def test_circular_dependency_is_a_clear_error(tmp_path, graph, cycle):
    for name, depends in graph.items():
        make_addon(tmp_path, name, depends=depends)
    with pytest.raises(AddonError) as caught:
        load_order(discover(tmp_path))
    assert str(caught.value) == f"circular addon dependency: {cycle}"


@pytest.mark.parametrize(
    "manifest, message",
    [
        ("{'name': 'shop', 'version': '1', 'depends': [],", "not a plain dict literal"),
        ("{'name': 'shop', 'version': '1', 'depends': [], 'summary': open('x').read()}", "not a plain dict literal"),
        ("import os\n{'name': 'shop'}", "not a plain dict literal"),
        ("['shop', '1', [], 'summary']", "must be a dict"),
        ("{'name': 'shop', 'version': '1'}", "lacks depends, summary"),
        ("{'name': 'store', 'version': '1', 'depends': [], 'summary': 's'}", "declares the name 'store'"),
        ("{'name': 'shop', 'version': '1', 'depends': 'base', 'summary': 's'}", "depends must be a list"),
        ("{'name': 'shop', 'version': '1', 'depends': ['base', 3], 'summary': 's'}", "depends must be a list"),
    ],
)
def test_malformed_manifest_is_a_clear_error(tmp_path, manifest, message):
    make_addon(tmp_path, "shop", manifest=manifest)
    with pytest.raises(AddonError, match="shop") as caught:
        discover(tmp_path)
    assert message in str(caught.value)


def test_the_shipped_addons_load_in_a_valid_order():
    available = discover()
    assert {"base", "booking"} <= set(available)
    assert all(m.path.parent == ADDONS_PATH for m in available.values())
    order = names(load_order(available))
    assert order[0] == "base"
    assert order.index("booking") > order.index("base")
    assert "resivo" not in available["booking"].depends, "booking must not know about lock vendors"


def test_host_loads_the_shipped_addons_in_order(tmp_path):
    from addon.base.core.host import load_host
    from tests.conftest import base_environ

    host = load_host(wanted=["booking"], environ=base_environ(tmp_path))
    assert host.addon_names == ["base", "booking"]
    assert "booking.object" in host.registry.loader_factories
