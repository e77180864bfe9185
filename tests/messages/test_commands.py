"""``roadcloud decode`` through the real entry point: JSON on stdout, one error line and exit 2 otherwise."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from roadcloud import cli
from roadcloud.messages.etsi import encode_cam, encode_denm, encode_mapem, encode_spatem
from roadcloud.messages.j2735 import compile_j2735, compile_uper
from roadcloud.messages.json_codec import encode

from .asn_samples import BSM_VALUE, CPM_LIKE_ASN, MINI_FRAME_ASN
from .examples import EXAMPLES, NOW_EPOCH_MS, bsm, denm_event, map_message, spat

EXIT_USAGE = 2


@pytest.fixture(autouse=True)
def only_message_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    # Other packages' sub-commands are theirs to test; keep these tests about `decode` alone.
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("roadcloud.messages.commands",))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def decoded_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code, out, err = run(capsys, *argv)
    assert (code, err) == (0, "")
    return json.loads(out)


def one_error_line(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code, out, err = run(capsys, *argv)
    assert code == EXIT_USAGE
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("roadcloud: error: ")
    return err


CAM_HEX = encode_cam(bsm(), station_id=0xB7A10042, reference_epoch_ms=NOW_EPOCH_MS).hex()


def test_decode_cam_hex_prints_the_pdu_with_asn1_names(capsys: pytest.CaptureFixture[str]) -> None:
    wire = decoded_json(capsys, "decode", "--type", "cam", CAM_HEX)
    assert wire["header"] == {"protocolVersion": 2, "messageID": 2, "stationID": 0xB7A10042}
    assert wire["cam"]["camParameters"]["basicContainer"]["referencePosition"]["latitude"] == 397_956_123


def test_decode_output_is_indented_for_reading(capsys: pytest.CaptureFixture[str]) -> None:
    _code, out, _err = run(capsys, "decode", "--type", "cam", CAM_HEX)
    assert out.startswith('{\n  "header": {\n')


def test_hex_may_have_spaces_a_prefix_and_upper_case(capsys: pytest.CaptureFixture[str]) -> None:
    spaced = "0x" + " ".join(CAM_HEX[i : i + 2].upper() for i in range(0, len(CAM_HEX), 2))
    assert decoded_json(capsys, "decode", "--type", "cam", spaced)["header"]["stationID"] == 0xB7A10042


def test_as_model_prints_what_roadcloud_makes_of_it(capsys: pytest.CaptureFixture[str]) -> None:
    model = decoded_json(capsys, "decode", "--type", "cam", "--as-model", CAM_HEX)
    assert model["id"] == "00000000B7A10042"
    assert model["speed"] == 694 and model["vehicleClass"] == {"classification": 10}


@pytest.mark.parametrize(
    ("message_type", "payload", "top_key"),
    [
        ("denm", encode_denm(denm_event()), "denm"),
        ("spatem", encode_spatem(spat(), station_id=1, reference_epoch_ms=NOW_EPOCH_MS), "spat"),
        ("mapem", encode_mapem(map_message(), station_id=1), "map"),
    ],
)
def test_decode_other_etsi_types(
    capsys: pytest.CaptureFixture[str], message_type: str, payload: bytes, top_key: str
) -> None:
    assert top_key in decoded_json(capsys, "decode", "--type", message_type, payload.hex())
    model = decoded_json(capsys, "decode", "--type", message_type, "--as-model", payload.hex())
    assert isinstance(model, dict) and model


def test_binary_file_and_hex_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    binary = tmp_path / "cam.uper"
    binary.write_bytes(bytes.fromhex(CAM_HEX))
    hex_file = tmp_path / "cam.hex"
    hex_file.write_text(CAM_HEX[:20] + "\n" + CAM_HEX[20:] + "\n")
    from_binary = decoded_json(capsys, "decode", "--type", "cam", "--file", str(binary))
    assert decoded_json(capsys, "decode", "--type", "cam", "--file", str(hex_file)) == from_binary


def test_payload_from_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(bytes.fromhex(CAM_HEX))))
    assert decoded_json(capsys, "decode", "--type", "cam", "--file", "-")["header"]["messageID"] == 2


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_json_types_are_validated_and_pretty_printed(capsys: pytest.CaptureFixture[str], name: str) -> None:
    message = EXAMPLES[name]
    assert decoded_json(capsys, "decode", "--type", name, encode(message).decode()) == msgspec.to_builtins(
        message
    )


def test_json_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "rsm.json"
    path.write_bytes(encode(EXAMPLES["rsm"]))
    assert len(decoded_json(capsys, "decode", "--type", "rsm", "--file", str(path))["participants"]) == 16


def test_j2735_with_user_asn1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    asn = tmp_path / "mini.asn"
    asn.write_text(MINI_FRAME_ASN)
    framed = compile_j2735([asn]).encode_frame("BasicSafetyMessage", BSM_VALUE)
    frame = decoded_json(capsys, "decode", "--type", "j2735", "--asn", str(asn), framed.hex())
    assert frame["messageId"] == 20 and frame["messageName"] == "BasicSafetyMessage"
    assert frame["value"]["id"] == "b7a10042" and frame["value"]["brakes"] == "1010"
    inner = compile_j2735([asn]).encode("BasicSafetyMessage", BSM_VALUE)
    direct = decoded_json(
        capsys, "decode", "--type", "j2735", "--asn", str(asn), "--message", "BasicSafetyMessage", inner.hex()
    )
    assert direct == frame["value"]


def test_cpm_with_user_asn1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    asn = tmp_path / "cpm.asn"
    asn.write_text(CPM_LIKE_ASN)
    payload = compile_uper([asn]).encode("CollectivePerceptionMessage", {"objects": [4, 2]})
    assert decoded_json(capsys, "decode", "--type", "cpm", "--asn", str(asn), payload.hex()) == {
        "objects": [4, 2]
    }


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--type", "cam", "zz12"], "not hex"),
        (["--type", "cam", "0a1"], "odd number of hex digits"),
        (["--type", "cam", ""], "empty"),
        (["--type", "cam"], "no payload"),
        (["--type", "cam", CAM_HEX[:30]], "truncated"),
        (["--type", "cam", CAM_HEX + "00"], "after the end"),
        (["--type", "denm", CAM_HEX], "looks like a CAM"),
        (["--type", "cam", "--file", "/no/such/file.uper"], "cannot read --file"),
        (["--type", "cpm", CAM_HEX], "pycrate ships no CPM"),
        (["--type", "j2735", CAM_HEX], "--asn FILE"),
        (["--type", "j2735", "--asn", "/no/such.asn", CAM_HEX], "not found"),
        (["--type", "rsm", "--as-model", "{}"], "--as-model works for"),
        (["--type", "rsm", "{not json"], "not valid JSON"),
        (["--type", "bsm", '{"msgCnt": 200}'], "BSM"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    assert says in one_error_line(capsys, "decode", *argv)


def test_both_payload_and_file_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "x.hex"
    path.write_text(CAM_HEX)
    assert "not both" in one_error_line(capsys, "decode", "--type", "cam", "--file", str(path), CAM_HEX)


def test_wrong_type_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        cli.main(["decode", "--type", "ivim", CAM_HEX])
    assert raised.value.code == EXIT_USAGE
    assert "invalid choice: 'ivim'" in capsys.readouterr().err


def test_help_lists_the_types(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        cli.main(["decode", "--help"])
    assert raised.value.code == 0
    out = capsys.readouterr().out
    assert "cam,denm,spatem,mapem,j2735,cpm,bsm,rsm" in out and "--asn FILE" in out


def test_decode_is_registered_beside_the_other_packages_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()  # the whole command, as users get it
    parser = cli.build_parser()
    assert parser.parse_args(["decode", "--type", "cam", CAM_HEX]).message_type == "cam"
