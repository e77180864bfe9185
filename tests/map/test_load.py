"""Loading networks: the real fixtures load with the right content, and bad input fails in one clear line."""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np
import pytest

from roadcloud.errors import MapError, SettingError, ToolError
from roadcloud.map import (
    Lane,
    RoadMap,
    import_opendrive,
    import_osm,
    load_map,
    load_network,
)

# --- Dörpfeldstraße ------------------------------------------------------------------------------------


def test_doerpfeld_counts_match_the_file(doerpfeld: RoadMap, maps_dir: Path) -> None:
    # Counted independently of sumolib, straight from the XML.
    with gzip.open(maps_dir / "doerpfeldstr.net.xml.gz", "rt", encoding="utf-8") as stream:
        text = stream.read()
    assert len(doerpfeld.lanes) == text.count("<lane ")
    assert len(doerpfeld.edges) == text.count("<edge ")
    assert len(doerpfeld.connections) == text.count("<connection ")
    # Junction-internal nodes (ids starting with ':') are not junctions of the map.
    assert len(doerpfeld.junctions) == text.count("<junction ") - text.count('<junction id=":')


def test_doerpfeld_has_ten_signalised_junctions(doerpfeld: RoadMap) -> None:
    signalised = doerpfeld.signalised_junctions()
    assert len(signalised) == 10
    assert all(junction.tls_id in doerpfeld.signal_controllers for junction in signalised)


def test_lanes_belong_to_their_edges_and_are_read_only(doerpfeld: RoadMap) -> None:
    for edge in doerpfeld.edges.values():
        for index, lane_id in enumerate(edge.lane_ids):
            lane = doerpfeld.lane(lane_id)
            assert lane.edge_id == edge.id
            assert lane.index == index
            assert lane.is_internal == (edge.function != "normal")
    lane = next(iter(doerpfeld.lanes.values()))
    assert lane.shape_xy.ndim == 2 and lane.shape_xy.shape[1] == 2
    with pytest.raises(ValueError, match="read-only"):
        lane.shape_xy[0, 0] = 0.0


def test_lane_permissions_come_from_the_network(doerpfeld: RoadMap) -> None:
    passenger = doerpfeld.drivable_lanes("passenger")
    drivable = doerpfeld.drivable_lanes()
    assert 0 < len(passenger) < len(drivable) < len(doerpfeld.lanes)
    assert all(lane.allows("passenger") for lane in passenger)
    # Sidewalks (pedestrian only) are not drivable, but the network has them.
    sidewalks = [lane for lane in doerpfeld.lanes.values() if lane.allowed_classes == {"pedestrian"}]
    assert sidewalks
    assert not set(sidewalks) & set(drivable)


def test_unknown_lane_names_network_and_suggests(doerpfeld: RoadMap) -> None:
    some_lane = sorted(doerpfeld.lanes)[100]
    with pytest.raises(
        MapError, match=r"unknown lane .* in network doerpfeldstr\.net\.xml\.gz; did you mean"
    ):
        doerpfeld.lane(some_lane + "x")
    with pytest.raises(MapError, match="unknown edge 'no-such-edge'"):
        doerpfeld.edge("no-such-edge")


# --- signal groups ----------------------------------------------------------------------------------


def test_every_link_index_is_in_exactly_one_group(doerpfeld: RoadMap) -> None:
    for controller in doerpfeld.signal_controllers.values():
        grouped = [index for group in controller.groups for index in group.link_indices]
        assert len(grouped) == len(set(grouped)), controller.tls_id
        state_length = max((len(state) for _duration, state in controller.phases), default=0)
        used = {
            c.link_index for c in doerpfeld.connections if c.tls_id == controller.tls_id and c.link_index >= 0
        }
        # Every position of the state strings (SUMO sends all of them at run time), used or not.
        link_count = max(state_length, max(used, default=-1) + 1)
        assert used <= set(grouped) == set(range(link_count)), controller.tls_id
        assert [group.index for group in controller.groups] == list(range(len(controller.groups)))
        lowest = [group.link_indices[0] for group in controller.groups]
        assert lowest == sorted(lowest)


def test_groups_share_a_state_sequence_and_differ_from_each_other(doerpfeld: RoadMap) -> None:
    for controller in doerpfeld.signal_controllers.values():
        if not controller.phases:
            continue
        sequences = []
        for group in controller.groups:
            member_sequences = {
                "".join(state[index] for _duration, state in controller.phases)
                for index in group.link_indices
            }
            assert len(member_sequences) == 1, (controller.tls_id, group.index)
            sequences.append(member_sequences.pop())
        assert len(sequences) == len(set(sequences)), controller.tls_id


def test_known_controller_groups_and_connections(doerpfeld: RoadMap) -> None:
    # Program in the file: GGGr (77 s), yyyr (3 s), rrrG (5 s), rrrr (5 s).
    controller = doerpfeld.signal_controller("1525212345")
    assert controller.phases == ((77.0, "GGGr"), (3.0, "yyyr"), (5.0, "rrrG"), (5.0, "rrrr"))
    assert [group.link_indices for group in controller.groups] == [(0, 1, 2), (3,)]
    assert controller.group_states("yyyr") == ("y", "r")
    listed = {pair for group in controller.groups for pair in group.connections}
    expected = {(c.from_lane_id, c.to_lane_id) for c in doerpfeld.connections if c.tls_id == "1525212345"}
    assert listed == expected and len(listed) == 4
    with pytest.raises(MapError, match="has 2 characters"):
        controller.group_states("Gr")


# --- OpenDRIVE and OSM --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("map-cache")


@pytest.mark.parametrize(
    ("file_name", "signals"), [("fabriksgatan_traffic_lights.xodr", 1), ("multi_intersections.xodr", 20)]
)
def test_opendrive_converts_and_loads(maps_dir: Path, cache_dir: Path, file_name: str, signals: int) -> None:
    road_map = load_map(maps_dir / file_name, cache_dir=cache_dir)
    assert road_map.origin == maps_dir / file_name
    assert road_map.name == file_name
    assert road_map.source.parent == cache_dir and road_map.source.is_file()
    assert road_map.drivable_lanes()
    assert len(road_map.signal_controllers) == signals
    assert not road_map.geo.is_georeferenced  # OpenDRIVE fixtures carry no geoReference


def test_converted_network_is_reused(
    maps_dir: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_map(maps_dir / "fabriksgatan_traffic_lights.xodr", cache_dir=cache_dir)

    def no_netconvert(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("netconvert ran again for an unchanged file")

    monkeypatch.setattr("roadcloud.map.load.run_sumo_binary", no_netconvert)
    again = load_map(maps_dir / "fabriksgatan_traffic_lights.xodr", cache_dir=cache_dir)
    assert again.drivable_lanes()


def test_anchor_places_an_unprojected_network(maps_dir: Path, cache_dir: Path) -> None:
    road_map = load_map(
        maps_dir / "multi_intersections.xodr", anchor_lonlat=(116.5, 39.8), cache_dir=cache_dir
    )
    lon, lat = road_map.geo.local_to_wgs84(0.0, 0.0)
    assert float(lon) == pytest.approx(116.5, abs=1e-9)
    assert float(lat) == pytest.approx(39.8, abs=1e-9)


def test_import_opendrive_writes_the_output(maps_dir: Path, tmp_path: Path) -> None:
    out = import_opendrive(maps_dir / "fabriksgatan_traffic_lights.xodr", tmp_path / "sub" / "f.net.xml")
    assert out == tmp_path / "sub" / "f.net.xml"
    assert load_network(out).signal_controllers
    assert [path.name for path in out.parent.iterdir()] == ["f.net.xml"]  # no partial file left


def test_import_osm_keeps_the_geo_reference(tiny_osm: Path, tmp_path: Path) -> None:
    road_map = load_network(import_osm(tiny_osm, tmp_path / "tiny.net.xml"))
    assert road_map.geo.is_georeferenced
    names = {edge.name for edge in road_map.edges.values() if edge.function == "normal"}
    assert names == {"Teststrasse", "Querweg"}
    # OSM node 2 (52.4320 N, 13.5330 E) is the junction of the two streets.
    junction = road_map.junction("2")
    lon, lat = road_map.geo.local_to_wgs84(junction.x_m, junction.y_m)
    assert float(lon) == pytest.approx(13.5330, abs=1e-6)
    assert float(lat) == pytest.approx(52.4320, abs=1e-6)


def test_netconvert_failure_is_a_tool_error_with_its_words(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xodr"
    broken.write_text(
        '<?xml version="1.0"?>\n<OpenDRIVE><header revMajor="1" revMinor="4"/>'
        '<road id="1" length="abc" junction="-1"/></OpenDRIVE>\n'
    )
    with pytest.raises(ToolError) as caught:
        import_opendrive(broken, tmp_path / "broken.net.xml")
    message = str(caught.value)
    assert "broken.xodr" in message and "Error:" in message and "\n" not in message
    assert not (tmp_path / "broken.net.xml").exists()


# --- bad input ----------------------------------------------------------------------------------------


def _one_line(error: pytest.ExceptionInfo[MapError]) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MapError) as caught:
        load_map(tmp_path / "nowhere.net.xml")
    assert "does not exist" in _one_line(caught) and "nowhere.net.xml" in str(caught.value)


def test_directory_is_not_a_network(tmp_path: Path) -> None:
    folder = tmp_path / "folder.net.xml"
    folder.mkdir()
    with pytest.raises(MapError, match="is not a file"):
        load_network(folder)


def test_garbage_file(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.net.xml"
    garbage.write_bytes(b"this is not xml at all \x00\x01")
    with pytest.raises(MapError) as caught:
        load_network(garbage)
    assert "not well-formed XML" in _one_line(caught)


def test_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.net.xml"
    empty.write_bytes(b"")
    with pytest.raises(MapError, match="it is empty"):
        load_network(empty)


def test_gzip_of_garbage(tmp_path: Path) -> None:
    path = tmp_path / "garbage.net.xml.gz"
    path.write_bytes(gzip.compress(b"<<<< not a network >>>>"))
    with pytest.raises(MapError) as caught:
        load_network(path)
    assert "garbage.net.xml.gz" in _one_line(caught) and "XML" in str(caught.value)


def test_truncated_gzip(tmp_path: Path, maps_dir: Path) -> None:
    data = (maps_dir / "doerpfeldstr.net.xml.gz").read_bytes()
    path = tmp_path / "truncated.net.xml.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(MapError) as caught:
        load_network(path)
    assert "gzip" in _one_line(caught) and "truncated.net.xml.gz" in str(caught.value)


def test_xml_that_is_not_a_network(tiny_osm: Path, tmp_path: Path) -> None:
    renamed = tmp_path / "looks-like.net.xml"
    renamed.write_bytes(tiny_osm.read_bytes())
    with pytest.raises(MapError, match=r"not a SUMO network \(root element <osm>\); convert it with"):
        load_network(renamed)


def test_corrupt_xml_after_the_header(tmp_path: Path) -> None:
    path = tmp_path / "cut.net.xml"
    path.write_text('<net version="1.20"><location netOffset="0,0" projParameter="!"/><edge id="a"')
    with pytest.raises(MapError) as caught:
        load_network(path)
    assert "cut.net.xml" in _one_line(caught)


def test_network_without_drivable_lanes(tmp_path: Path) -> None:
    path = tmp_path / "footpath.net.xml"
    path.write_text(
        '<net version="1.20">'
        '<location netOffset="0,0" convBoundary="0,0,10,0" origBoundary="0,0,10,0" projParameter="!"/>'
        '<edge id="e" from="a" to="b" priority="1">'
        '<lane id="e_0" index="0" allow="pedestrian" speed="1.39" length="10" shape="0,0 10,0"/></edge>'
        '<junction id="a" type="dead_end" x="0" y="0" incLanes="" intLanes="" shape=""/>'
        '<junction id="b" type="dead_end" x="10" y="0" incLanes="e_0" intLanes="" shape=""/>'
        "</net>"
    )
    with pytest.raises(MapError, match="has no drivable lanes"):
        load_network(path)


def test_unknown_suffix(tmp_path: Path) -> None:
    path = tmp_path / "map.json"
    path.write_text("{}")
    with pytest.raises(MapError, match=r"cannot tell the format .*\.xodr"):
        load_map(path)


def test_import_rejects_wrong_inputs(maps_dir: Path, tiny_osm: Path, tmp_path: Path) -> None:
    with pytest.raises(MapError, match="is not an OpenDRIVE file"):
        import_opendrive(tiny_osm, tmp_path / "x.net.xml")
    with pytest.raises(MapError, match="is not an osm file"):
        import_osm(maps_dir / "fabriksgatan_traffic_lights.xodr", tmp_path / "x.net.xml")
    with pytest.raises(SettingError, match=r"must end in \.net\.xml"):
        import_osm(tiny_osm, tmp_path / "x.xml")


def test_bounds_cover_every_lane(doerpfeld: RoadMap) -> None:
    xmin, ymin, xmax, ymax = doerpfeld.bounds_m
    points = np.concatenate([lane.shape_xy for lane in doerpfeld.lanes.values()])
    assert points[:, 0].min() == xmin and points[:, 0].max() <= xmax
    assert points[:, 1].min() >= ymin and points[:, 1].max() <= ymax


def test_maps_pickle_for_worker_processes(doerpfeld: RoadMap) -> None:
    copy = pickle.loads(pickle.dumps(doerpfeld))
    assert copy.lanes.keys() == doerpfeld.lanes.keys()
    assert copy.signal_controllers == doerpfeld.signal_controllers
    lane_id = sorted(doerpfeld.lanes)[0]
    assert np.array_equal(copy.lane(lane_id).shape_xy, doerpfeld.lane(lane_id).shape_xy)
    assert not copy.lane(lane_id).shape_xy.flags.writeable
    with pytest.raises(TypeError):
        copy.lanes["new"] = copy.lane(lane_id)


def test_lane_keeps_its_own_copy_of_the_shape() -> None:
    shape = np.array([[0.0, 0.0], [10.0, 0.0]])
    lane = Lane("e_0", "e", 0, shape, 3.2, 13.9, 10.0, frozenset({"passenger"}), False)
    shape[1, 0] = 99.0
    assert shape.flags.writeable
    assert lane.shape_xy[1, 0] == 10.0


def test_unwritable_output_folder_is_a_setting_error(maps_dir: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(SettingError, match="cannot write"):
        import_opendrive(maps_dir / "fabriksgatan_traffic_lights.xodr", blocker / "out.net.xml")
