"""Host adapters (core/io/hosts.py, plugins/<host>/adapter.py) through the real XMP writer: sidecar names, ratings, rejects, colour labels and
keyword lists per host; exiftool, exiv2 and exempi read the same values; sidecars the hosts wrote keep the rest."""

from __future__ import annotations

import inspect
import io
import json
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace
from xml.etree import ElementTree

import pytest
from PIL import Image
from skimage import data as skdata

from keepers.core import pm
from keepers.core.errors import UserError
from keepers.core.hookspecs import hookimpl
from keepers.core.io.hosts import HostAdapter, adapter_for, adapters, role
from keepers.core.types import Reason, Verdict
from keepers.core.io.xmp import SidecarWriter, read_sidecar

FIXTURES = Path(__file__).parent / "fixtures" / "sidecars"
HOSTS = ("generic", "lightroom", "darktable", "digikam")
_JPEG: list[bytes] = []


def photo(folder: Path, name: str) -> Path:
    if not _JPEG:
        buf = io.BytesIO()
        Image.fromarray(skdata.chelsea()[::8, ::8]).save(buf, "JPEG", quality=85)
        _JPEG.append(buf.getvalue())
    p = folder / name
    p.write_bytes(_JPEG[0])
    return p


def verdict(stars=4, keywords=("animal|cat",), **kw) -> Verdict:
    return Verdict(score=kw.pop("score", 7.0), verdict=kw.pop("verdict", "good" if stars >= 3 else "bad"),
                   confidence=0.8, stars=stars, reasons=[Reason("noise", "Visible noise", 0.3, 0.4)],
                   keywords=list(keywords), **kw)


def write(path: Path, v: Verdict, host: str, **kw):
    with SidecarWriter() as w:
        return w.write(path, v, analyzers={"sharpness": "1"}, host=adapter_for(None, host), **kw)


def tags(path: Path) -> dict:
    out = subprocess.run(["exiftool", "-j", "-G1", "-struct", str(path)], capture_output=True, text=True, check=True)
    return {k: v for k, v in json.loads(out.stdout)[0].items()
            if k != "SourceFile" and not k.startswith(("System:", "File:", "ExifTool:"))}


def exiv2(path: Path) -> dict[str, str]:
    rows = {}
    for line in subprocess.run(["exiv2", "-px", str(path)], capture_output=True, text=True).stdout.splitlines():
        key, _t, _n, *value = line.split(None, 3)
        rows[key] = value[0] if value else ""
    return rows


NS = {"xmp": "http://ns.adobe.com/xap/1.0/", "dc": "http://purl.org/dc/elements/1.1/",
      "lr": "http://ns.adobe.com/lightroom/1.0/", "digiKam": "http://www.digikam.org/ns/1.0/",
      "darktable": "http://darktable.sf.net/", "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#"}


def exempi(path: Path) -> ElementTree.Element:
    out = subprocess.run(["exempi", "-X", "-x", str(path)], capture_output=True, text=True).stdout
    return ElementTree.fromstring(out[out.index("<"):])


def exempi_value(root, prop: str) -> str | None:
    prefix, name = prop.split(":")
    el = root.find(f".//{prop}", NS)
    if el is not None:
        return el.text
    for d in root.iter(f"{{{NS['rdf']}}}Description"):
        v = d.get(f"{{{NS[prefix]}}}{name}")
        if v is not None:
            return v
    return None


def exempi_list(root, prop: str) -> list[str]:
    return [li.text for li in root.findall(f".//{prop}//rdf:li", NS)]


def test_each_host_names_the_sidecar_it_reads(tmp_path):
    raw, jpg = photo(tmp_path, "DSC_1.NEF"), photo(tmp_path, "DSC_2.jpg")
    names = {h: (adapter_for(None, h).sidecar(raw).name, adapter_for(None, h).sidecar(jpg).name) for h in HOSTS}
    assert names == {"generic": ("DSC_1.NEF.xmp", "DSC_2.jpg.xmp"), "lightroom": ("DSC_1.xmp", "DSC_2.xmp"),
                     "darktable": ("DSC_1.NEF.xmp", "DSC_2.jpg.xmp"), "digikam": ("DSC_1.NEF.xmp", "DSC_2.jpg.xmp")}
    res = write(raw, verdict(), "lightroom")
    assert res.sidecar == tmp_path / "DSC_1.xmp" and tags(res.sidecar)["XMP-photoshop:SidecarForExtension"] == "NEF"
    assert adapter_for(None, "digikam").sidecar(raw) == res.sidecar  # an existing sidecar is found, never a second


def test_a_reject_is_minus_one_for_darktable_and_lightroom_and_pick_label_rejected_for_digikam(tmp_path):
    seen = {}
    for h in HOSTS:
        d = tmp_path / h
        d.mkdir()
        s = read_sidecar(write(photo(d, "a.jpg"), verdict(-1, ["flaw|motion blur"]), h).sidecar)
        seen[h] = (s["rating"], s["label"], s["pick_label"], s["color_label"], s["darktable_colorlabels"])
    assert seen == {"generic": (-1, "Red", None, None, []), "lightroom": (-1, "Red", None, None, []),
                    "darktable": (-1, None, None, None, [0]), "digikam": (0, None, 1, 1, [])}


def test_a_burst_pick_is_green_an_alternate_gets_no_label_and_labels_are_configurable(tmp_path):
    pick = verdict(5, ["group|burst", "group|pick"], group="g1", pick=True)
    alternate = verdict(4, ["group|alternate", "group|burst"], group="g1")
    assert (role(pick), role(alternate), role(verdict(2, verdict="bad")), role(verdict(-1))) == \
        ("pick", "alternate", "other", "reject")
    got = {}
    for h in HOSTS:
        d = tmp_path / h
        d.mkdir()
        a, b = read_sidecar(write(photo(d, "a.jpg"), pick, h).sidecar), read_sidecar(write(photo(d, "b.jpg"),
                                                                                           alternate, h).sidecar)
        got[h] = (a["label"], a["darktable_colorlabels"], a["color_label"], a["pick_label"],
                  b["label"], b["darktable_colorlabels"], b["color_label"], b["pick_label"])
    assert got["generic"] == got["lightroom"] == ("Green", [], None, None, None, [], None, None)
    assert got["darktable"] == (None, [2], None, None, None, [], None, None)
    assert got["digikam"] == (None, [], 4, 3, None, [], None, 2)  # accepted / pending
    custom = HostAdapter({"alternate": "yellow", "pick": ""})
    assert custom.colour(alternate) == "yellow" and custom.colour(pick) is None and custom.colour(verdict(-1)) == "red"
    with pytest.raises(UserError, match="colour"):
        HostAdapter({"pick": "teal"})


def test_a_label_is_keepers_only_where_there_was_none_and_goes_when_the_role_changes(tmp_path):
    img = photo(tmp_path, "a.jpg")
    side = tmp_path / "a.jpg.xmp"
    assert read_sidecar(write(img, verdict(-1), "generic").sidecar)["label"] == "Red"
    assert read_sidecar(write(img, verdict(4), "generic").sidecar)["label"] is None  # a keeper: Keepers' red goes
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-XMP-xmp:Label=Blue", str(side)], check=True)
    s = read_sidecar(write(img, verdict(-1), "generic").sidecar)
    assert s["label"] == "Blue" and s["properties_set"] == []  # the photographer's blue stays
    # darktable: Keepers owns one entry of darktable:colorlabels, the photographer's others stay
    img2 = photo(tmp_path, "b.jpg")
    shutil.copy(FIXTURES / "darktable.xmp", tmp_path / "b.jpg.xmp")  # colorlabels [2] (green), theirs
    assert read_sidecar(write(img2, verdict(-1), "darktable").sidecar)["darktable_colorlabels"] == [2, 0]
    assert read_sidecar(write(img2, verdict(4), "darktable").sidecar)["darktable_colorlabels"] == [2]


@pytest.mark.parametrize("where", ["sidecar", "photo"])
def test_no_label_is_written_beside_the_photographers_where_digikam_or_darktable_reads_it_too(tmp_path, where):
    # digiKam shows digiKam:ColorLabel before xmp:Label (Lightroom's), darktable the other way round: Keepers'
    # Red beside the photographer's Blue took its place in digiKam (the same went for Nikon NX's photoshop:Urgency)
    img = photo(tmp_path, "a.jpg")
    side = tmp_path / "a.jpg.xmp"
    target = side if where == "sidecar" else img
    if where == "sidecar":
        write(img, verdict(4), "generic")  # a sidecar with no label: here the photographer gives one
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-XMP-xmp:Label=Blue", str(target)], check=True)
    for host, key in (("digikam", "color_label"), ("darktable", "darktable_colorlabels")):
        s = read_sidecar(write(img, verdict(-1), host).sidecar)
        assert s["label"] == "Blue" and s[key] in (None, []), (host, s)
    urgent = photo(tmp_path, "b.jpg")  # Nikon NX's label: digiKam reads it after its own
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-XMP-photoshop:Urgency=5", str(urgent)], check=True)
    assert read_sidecar(write(urgent, verdict(-1), "digikam").sidecar)["color_label"] is None
    # a label a Lightroom-conventions run of Keepers set stays Keepers' to replace in digiKam's terms
    mine = photo(tmp_path, "c.jpg")
    assert read_sidecar(write(mine, verdict(-1), "generic").sidecar)["label"] == "Red"
    assert read_sidecar(write(mine, verdict(-1), "digikam").sidecar)["color_label"] == 1


def _exiftool(path: Path, *assignments: str) -> None:
    subprocess.run(["exiftool", "-q", "-overwrite_original", *assignments, str(path)], check=True)


def test_keepers_label_gives_way_to_one_the_photographer_gives_later_but_not_to_digikams_copy_of_it(tmp_path):
    img = photo(tmp_path, "a.jpg")
    side = write(img, verdict(-1), "digikam").sidecar
    assert read_sidecar(side)["color_label"] == 1
    # digiKam, setting Keepers' red itself, writes its number and name along: still Keepers' label
    _exiftool(side, "-XMP-photoshop:Urgency=1", "-XMP-xmp:Label=Red")
    assert read_sidecar(write(img, verdict(-1), "digikam").sidecar)["color_label"] == 1
    # the photographer's blue, given in another program: Keepers' red, which digiKam would show first, goes
    _exiftool(side, "-XMP-xmp:Label=Blue", "-XMP-photoshop:Urgency=")
    s = read_sidecar(write(img, verdict(-1), "digikam").sidecar)
    assert s["color_label"] is None and s["label"] == "Blue", s


@pytest.mark.parametrize("assignment", ["-XMP-photoshop:Urgency=0", "-XMP-xmp:Label=Approved"])
def test_a_value_digikam_shows_as_no_colour_leaves_keepers_label_to_be_written(tmp_path, assignment):
    # Urgency 0 is "no label" to digiKam, and a Bridge label ("Approved") is no colour to digiKam or darktable: taken
    # for the photographer's, Keepers' label was given up for good
    img = photo(tmp_path, "a.jpg")
    _exiftool(img, assignment)
    assert read_sidecar(write(img, verdict(-1), "digikam").sidecar)["color_label"] == 1
    dt = photo(tmp_path, "b.jpg")  # (darktable shows no colour then: any xmp:Label hides its own labels)
    _exiftool(dt, assignment)
    assert read_sidecar(write(dt, verdict(-1), "darktable").sidecar)["darktable_colorlabels"] == [0]


def test_digikam_gets_tag_paths_with_slashes_and_keeps_what_it_showed_before(tmp_path):
    img = photo(tmp_path, "a.jpg")
    subprocess.run(["exiftool", "-q", "-o", str(tmp_path / "a.jpg.xmp"), "-XMP-lr:HierarchicalSubject=places|Norway",
                    "-XMP-dc:Subject=Norway", "-XMP-dc:Subject=boat"], check=True)
    res = write(img, verdict(keywords=["animal|bird", "gear|f/2.8 lens"]), "digikam")
    s = read_sidecar(res.sidecar)
    # digiKam reads TagsList first: the photographer's hierarchical and flat keywords are copied in beside ours
    assert s["tags_list"] == ["places/Norway", "boat", "Keepers/animal/bird", "Keepers/gear/f-2.8 lens"]
    assert res.keywords_copied == ["places/Norway", "boat"]
    assert "places/Norway" not in s["keywords_added"] and "Keepers/animal/bird" in s["keywords_added"]
    write(img, verdict(keywords=[]), "digikam")
    assert read_sidecar(res.sidecar)["tags_list"] == ["places/Norway", "boat"]  # only Keepers' own went


def test_darktables_import_rating_counts_as_unset_only_for_the_darktable_adapter(tmp_path):
    img = photo(tmp_path, "a.jpg")
    side = tmp_path / "a.jpg.xmp"
    shutil.copy(FIXTURES / "darktable.xmp", side)
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-XMP-xmp:Rating=1", str(side)], check=True)
    with SidecarWriter() as w:
        generic = w.write(img, verdict(3), analyzers={}, host=adapter_for(None, "generic"), dry_run=True)
        dt = w.write(img, verdict(3), analyzers={}, host=adapter_for(None, "darktable"))
    assert not generic.rating_written and dt.rating_written and read_sidecar(side)["rating"] == 3
    # a 0 (unrated) in a sidecar Keepers never wrote is no rating either; after Keepers wrote, RatingSet decides
    img2 = photo(tmp_path, "b.jpg")
    subprocess.run(["exiftool", "-q", "-o", str(tmp_path / "b.jpg.xmp"), "-XMP-xmp:Rating=0"], check=True)
    assert write(img2, verdict(2), "digikam").rating_written


@pytest.mark.skipif(not (shutil.which("exiv2") and shutil.which("exempi")), reason="needs exiv2 and exempi")
@pytest.mark.parametrize("host", HOSTS)
@pytest.mark.parametrize("fixture", [None, "darktable", "lightroom", "digikam", "foreign"])
def test_exiftool_exiv2_and_exempi_read_what_each_host_adapter_wrote_and_the_hosts_own_content_stays(
        tmp_path, host, fixture):
    img = photo(tmp_path, "IMG_0042.CR2")
    before = {}
    if fixture:
        side = adapter_for(None, host).sidecar(img)
        shutil.copy(FIXTURES / f"{fixture}.xmp", side)
        before = tags(side)
    v = verdict(-1, ["animal|bird", "scène|plage"], verdict="bad")
    res = write(img, v, host)
    s, after, x = read_sidecar(res.sidecar), tags(res.sidecar), exiv2(res.sidecar)
    root = exempi(res.sidecar)
    # the same rating and keywords for all three readers
    assert x["Xmp.xmp.Rating"] == exempi_value(root, "xmp:Rating") == str(s["rating"])
    assert set(x["Xmp.dc.subject"].split(", ")) == set(exempi_list(root, "dc:subject")) == set(s["keywords"])
    assert set(x["Xmp.lr.hierarchicalSubject"].split(", ")) == set(exempi_list(root, "lr:hierarchicalSubject")) \
        == set(s["hierarchical"])
    assert {"Keepers|animal|bird", "Keepers|scène|plage"} <= set(s["hierarchical"]) and "plage" in s["keywords"]
    if host == "digikam":
        theirs = str(before.get("XMP-digiKam:PickLabel", 1))  # digiKam's own pick label stays
        assert x["Xmp.digiKam.PickLabel"] == exempi_value(root, "digiKam:PickLabel") == theirs
        assert set(x["Xmp.digiKam.TagsList"].split(", ")) == set(exempi_list(root, "digiKam:TagsList")) \
            >= {"Keepers/animal/bird", "Keepers/scène/plage"}
    if host == "darktable" and "XMP-xmp:Label" not in before:
        assert "0" in x["Xmp.darktable.colorlabels"].split(", ") and "0" in exempi_list(root, "darktable:colorlabels")
    elif host == "darktable":  # the photographer's xmp:Label (Lightroom's), which darktable shows before its own
        assert "0" not in exempi_list(root, "darktable:colorlabels")
    # everything else the host wrote is as it was (exiftool drops empty rdf lists: they hold nothing)
    if fixture:
        ours = ("XMP-keepers:", "XMP-x:XMPToolkit", "XMP-xmp:Rating", "XMP-xmp:Label", "XMP-dc:Subject",
                "XMP-lr:HierarchicalSubject", "XMP-digiKam:", "XMP-darktable:Colorlabels")
        kept = {k: val for k, val in before.items() if not k.startswith(ours) and val not in ("", [])}
        assert kept == {k: val for k, val in after.items() if not k.startswith(ours)}
        for tag in ("XMP-dc:Subject", "XMP-lr:HierarchicalSubject", "XMP-digiKam:TagsList",
                    "XMP-darktable:Colorlabels"):
            old = before.get(tag, [])
            old = old if isinstance(old, list) else [old]
            new = after.get(tag, [])
            assert (new if isinstance(new, list) else [new])[: len(old)] == old  # theirs first, untouched
        for tag in ("XMP-xmp:Rating", "XMP-xmp:Label", "XMP-digiKam:PickLabel", "XMP-digiKam:ColorLabel"):
            if tag in before:
                assert after[tag] == before[tag], tag  # the photographer's rating and labels


class _Photoprism(HostAdapter):
    name = "photoprism"
    naming = "lightroom"


class _MyDarktable(HostAdapter):
    name = "darktable"
    naming = "lightroom"


class _ThirdParty:
    @hookimpl
    def keepers_host_adapters(self, settings):
        return [_Photoprism(), _MyDarktable()]


def test_a_plugin_adds_or_replaces_a_host_adapter_through_the_hook():
    plugin = _ThirdParty()
    pm.manager.register(plugin, name="test-photoprism")  # after the built-ins, as an installed plugin would be
    try:
        found = adapters(SimpleNamespace(host="photoprism"))
        assert set(HOSTS) | {"photoprism"} <= set(found)
        assert adapter_for(SimpleNamespace(host="photoprism")).naming == "lightroom"
        assert isinstance(adapter_for(None, "darktable"), _MyDarktable)  # the plugin's wins over the built-in
    finally:
        pm.manager.unregister(plugin)
    with pytest.raises(UserError, match="unknown host 'photoprism'"):
        adapter_for(SimpleNamespace(host="photoprism"))
    assert not isinstance(adapter_for(None, "darktable"), _MyDarktable)


def test_each_hosts_adapter_is_a_plugin_of_its_own_in_plugins_host(tmp_path):
    found = adapters()
    assert {n: type(a).__module__ for n, a in found.items()} == {
        "generic": "keepers.core.io.hosts", "lightroom": "keepers.plugins.lightroom.adapter",
        "darktable": "keepers.plugins.darktable.adapter", "digikam": "keepers.plugins.digikam.adapter"}
    # registered like any plugin: without its module the host is unknown, and the others work on
    name = "keepers.plugins.digikam.adapter"
    module = pm.manager.unregister(name=name)
    try:
        with pytest.raises(UserError, match="unknown host 'digikam'"):
            adapter_for(None, "digikam")
        assert write(photo(tmp_path, "a.NEF"), verdict(), "lightroom").sidecar == tmp_path / "a.xmp"
    finally:
        pm.manager.register(module, name=name)
    assert adapter_for(None, "digikam").sidecar(tmp_path / "b.NEF").name == "b.NEF.xmp"


def test_keepers_cull_with_host_digikam_writes_digikams_sidecar(tmp_path):
    from keepers.core import pipeline

    if "adapter_for" not in inspect.getsource(pipeline):
        pytest.skip("core/pipeline.py does not use the host adapters yet (see the hosts report)")
    from helpers import keepers

    photos = tmp_path / "photos"
    photos.mkdir()
    img = photo(photos, "cat.jpg")
    p = keepers("cull", "--json", "--host", "digikam", photos, tmp=tmp_path)
    assert p.returncode in (0, 1), p.stderr
    s = read_sidecar(img.with_name("cat.jpg.xmp"))
    assert s["host"] == "digikam" and s["rating"] is not None and s["rating"] >= 0
    assert all(t.startswith("Keepers/") for t in s["tags_list"])


def test_keepers_hosts_lists_the_adapters_and_where_the_host_plugins_are(tmp_path):
    from helpers import KEEPERS, isolated_env, keepers

    p = keepers("hosts", "--json", tmp=tmp_path)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert set(HOSTS) <= set(out["adapters"]) and out["adapters"]["lightroom"]["naming"] == "lightroom"
    assert out["adapters"]["generic"]["labels"]["reject"] == "red"
    assert Path(out["lightroom_plugin"], "Info.lua").is_file() and Path(out["darktable_script"]).is_file()
    (tmp_path / "config.toml").write_text('[labels]\nalternate = "yellow"\npick = ""\n')
    env = {**isolated_env(tmp_path), "KEEPERS_CONFIG": str(tmp_path / "config.toml")}
    p = subprocess.run([KEEPERS, "hosts", "--json"], capture_output=True, text=True, env=env, timeout=120)
    labels = json.loads(p.stdout)["adapters"]["digikam"]["labels"]
    assert labels["alternate"] == "yellow" and labels["pick"] is None


def test_keepers_cull_for_lightroom_writes_no_sidecar_lightroom_ignores_and_says_who_applies_it(tmp_path,
                                                                                                  shared_data):
    """Lightroom reads the XMP inside JPEG/TIFF/PSD/PNG/DNG and ignores a sidecar beside them: none is written nor
    counted; the summary and --json say the plug-in applies them, or --embed writes them into the files."""
    from helpers import keepers, records

    photos = tmp_path / "photos"
    photos.mkdir()
    jpg = photo(photos, "cat.jpg")
    tif = photos / "scan.tif"
    Image.open(io.BytesIO(skdata_jpeg("coffee"))).save(tif, "TIFF")
    raw = photos / "raw.nef"
    shutil.copy(shared_data / "camera" / "photos" / "Nikon_uncompressed.nef", raw)
    p = keepers("cull", "--json", "--host", "lightroom", photos, tmp=tmp_path)
    assert p.returncode == 0, p.stderr
    rec = records(p)
    for name, f in (("cat.jpg", jpg), ("scan.tif", tif)):
        assert rec[name]["sidecars"] == [] and rec[name]["via_plugin"] == [str(f)] and rec[name]["embedded"] == []
    assert rec["raw.nef"]["sidecars"] == [str(photos / "raw.xmp")] and rec["raw.nef"]["via_plugin"] == []
    assert sorted(f.name for f in photos.iterdir()) == ["cat.jpg", "raw.nef", "raw.xmp", "scan.tif"]

    p = keepers("cull", "--host", "lightroom", photos, tmp=tmp_path)  # the summary a photographer reads
    assert p.returncode == 0, p.stderr
    assert re.search(r"left to the host's plug-in.*\D2\s", p.stdout), p.stdout

    before = jpg.read_bytes()
    p = keepers("cull", "--json", "--host", "lightroom", "--embed", photos, tmp=tmp_path)
    assert p.returncode == 0, p.stderr
    rec = records(p)
    assert rec["cat.jpg"]["embedded"] == [str(jpg)] and rec["cat.jpg"]["via_plugin"] == []
    assert read_sidecar_of_photo(jpg)["Verdict"] == rec["cat.jpg"]["verdict"] and jpg.read_bytes() != before
    assert read_sidecar_of_photo(tif)["Verdict"] == rec["scan.tif"]["verdict"]
    assert sorted(f.name for f in photos.iterdir()) == ["cat.jpg", "raw.nef", "raw.xmp", "scan.tif"]

    p = keepers("cull", "--host", "lightroom", "--embed", photos, tmp=tmp_path)  # the photos Keepers wrote into
    assert p.returncode == 0, p.stderr  # are not new photos to it: nothing is analysed nor written again
    assert re.search(r"analysed now / from catalog\D+0 / 3", p.stdout), p.stdout
    assert "written into the photos" not in p.stdout


def skdata_jpeg(name: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(getattr(skdata, name)()[::4, ::4]).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def read_sidecar_of_photo(path: Path) -> dict:
    """keepers:* as exiftool reads them from inside a photo."""
    out = subprocess.run(["exiftool", "-config", str(Path(__file__).parents[1] / "core" / "io" / "exiftool_config.pl"),
                          "-j", "-XMP-keepers:all", str(path)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)[0]


# what the photographer does in each host to take Keepers' reject label off: exiftool edits the sidecar as the host
# writes it (digiKam: PickLabel 0 "none" and no colour; darktable: Keepers' entry out of darktable:colorlabels)
UNLABEL = {"generic": ["-XMP-xmp:Label="], "lightroom": ["-XMP-xmp:Label="],
           "darktable": ["-XMP-darktable:DarktableColorLabels-=0"],
           "digikam": ["-XMP-digiKam:PickLabel=0", "-XMP-digiKam:ColorLabel="]}


@pytest.mark.parametrize("host", HOSTS)
def test_a_reject_label_and_rating_the_photographer_removed_stay_removed_on_every_later_cull(tmp_path, host):
    """Keepers set a reject's label and rating; the photographer disagreed and removed both in their program. A later
    cull (a new verdict, another reject) must not put them back: they were Keepers', now they are the photographer's."""
    img = photo(tmp_path, "IMG_1.CR2")
    side = write(img, verdict(-1), host).sidecar
    s = read_sidecar(side)
    assert s["rating"] == (0 if host == "digikam" else -1) and s["properties_set"]  # Keepers' reject, labelled
    config = Path(inspect.getfile(SidecarWriter)).with_name("exiftool_config.pl")  # names darktable's namespace
    subprocess.run(["exiftool", "-config", str(config), "-q", "-overwrite_original", "-XMP-xmp:Rating=",
                    *UNLABEL[host], str(side)], check=True)
    before = read_sidecar(side)
    for stars in (-1, 2, -1):  # Keepers changes its mind twice: nothing it had set comes back
        res = write(img, verdict(stars, score=2.0 + stars), host)
        s = read_sidecar(side)
        assert not res.rating_written and s["rating"] is None and s["rating_set"] is None
        assert (s["label"], s["pick_label"], s["color_label"]) == (before["label"], before["pick_label"], None)
        assert s["darktable_colorlabels"] == [] and s["properties_set"] == [] and s["score"] == 2.0 + stars
        assert "xmp:Rating" in s["overruled"]
    assert write(img, verdict(3), host, overwrite_ratings=True).rating_written  # asked for: the rating is Keepers'
