"""The control-room dashboard in a real browser: Debian's Chromium, driven by Playwright, against the real
API app served by uvicorn on a free port and fed by a live zone that ticks at 10 Hz (a real precise map and
real LDM snapshots behind the ``CloudView`` seam; see ``dashboard_scene``).

One page is opened for the module and the checks run on it in file order, which keeps the browser time to a
few seconds. Without a ``chromium`` executable the tests are skipped (on CI they fail: the Makefile's
``system-deps`` installs it). Set ``ROADCLOUD_DASHBOARD_SCREENSHOT=/tmp/dashboard.png`` to keep a
screenshot of the page as the tests leave it.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import uvicorn

from roadcloud.api import create_app
from roadcloud.map import load_map

from .dashboard_scene import LiveZone, build_live_zone

if TYPE_CHECKING:
    from playwright.sync_api import FloatRect, Page, ViewportSize

pytestmark = pytest.mark.integration

MAP_PATH = Path(__file__).resolve().parents[2] / ".." / "shared" / "maps" / "doerpfeldstr.net.xml.gz"
START_MS = 1_780_000_000_000
VIEWPORT: ViewportSize = {"width": 1440, "height": 860}
SERVER_START_TIMEOUT_S = 10.0
WAIT_MS = 10_000  # an upper bound for a loaded machine; each wait returns as soon as it can
BACKGROUND = "--map-bg"


def _missing(message: str) -> None:
    if os.environ.get("CI"):  # a skip on CI would hide the browser tests
        pytest.fail(message)
    pytest.skip(message)


def _chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        _missing("chromium is not installed: apt-get install -y chromium (make system-deps)")
    assert found is not None
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def live_zone() -> Iterator[LiveZone]:
    zone = build_live_zone(load_map(MAP_PATH), start_ms=START_MS)
    zone.start()
    try:
        yield zone
    finally:
        zone.stop()


class ApiServer:
    """The real app under uvicorn on a thread, as ``roadcloud serve`` runs it; ``stop`` and ``start`` keep
    the port, so a test can take the service away from a page and give it back."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.port = _free_port()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", timeout_graceful_shutdown=1
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
        thread.start()
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                pytest.fail(f"uvicorn did not start on port {self.port}")
            time.sleep(0.02)
        self._server, self._thread = server, thread

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10.0)
            assert not self._thread.is_alive(), "uvicorn did not stop"
        self._server = self._thread = None


@pytest.fixture(scope="module")
def api_server(live_zone: LiveZone) -> Iterator[ApiServer]:
    server = ApiServer(create_app(live_zone, clock_ms=lambda: live_zone.now_ms))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Dashboard:
    page: Page
    problems: list[str] = field(default_factory=list)  # console errors and uncaught exceptions

    def map_data(self, name: str) -> str:
        """A ``data-*`` value the map element publishes (view, tracks, frame-ms, ready)."""
        value = self.page.locator("#map").get_attribute(f"data-{name}")
        assert value is not None, f"the map has no data-{name}"
        return value

    def map_box(self) -> FloatRect:
        box = self.page.locator("#map").bounding_box()
        assert box is not None, "the map is not visible"
        return box

    def view(self) -> tuple[float, float, float]:
        """Centre (local metres) and scale (px per metre) the map shows, as the page publishes them."""
        centre_x, centre_y, scale = self.map_data("view").split(",")
        return float(centre_x), float(centre_y), float(scale)

    def page_point(self, x_m: float, y_m: float) -> tuple[float, float]:
        """Where a zone point is on the page, from the published view."""
        centre_x, centre_y, scale = self.view()
        box = self.map_box()
        return (
            box["x"] + box["width"] / 2 + (x_m - centre_x) * scale,
            box["y"] + box["height"] / 2 - (y_m - centre_y) * scale,
        )

    def kpi(self, name: str) -> str:
        text: str = self.page.locator(f'[data-kpi="{name}"] .kpi-value').inner_text()
        return text

    def canvas_pixels(self, selector: str, colour_var: str = BACKGROUND) -> dict[str, int]:
        """Counts over a canvas: pixels far from the map background (``drawn``), near the colour of the
        custom property ``colour_var`` (``matching``), not transparent (``opaque``); and a content hash."""
        counts: dict[str, int] = self.page.evaluate(
            """([selector, backgroundVar, colourVar]) => {
                const canvas = document.querySelector(selector);
                const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
                const style = getComputedStyle(document.documentElement);
                const rgb = (name) => {
                    const hex = style.getPropertyValue(name).trim();
                    return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
                };
                const [bg, colour] = [rgb(backgroundVar), rgb(colourVar)];
                const distance = (i, c) =>
                    Math.abs(data[i] - c[0]) + Math.abs(data[i + 1] - c[1]) + Math.abs(data[i + 2] - c[2]);
                let drawn = 0, matching = 0, opaque = 0, hash = 0;
                for (let i = 0; i < data.length; i += 4) {
                    if (data[i + 3] > 0) opaque += 1;
                    if (distance(i, bg) > 24) drawn += 1;
                    if (data[i + 3] > 200 && distance(i, colour) < 30) matching += 1;
                    hash = (hash * 31 + data[i] + 7 * data[i + 1] + 13 * data[i + 2] + 17 * data[i + 3]) | 0;
                }
                return { drawn, matching, opaque, hash, total: data.length / 4 };
            }""",
            [selector, BACKGROUND, colour_var],
        )
        return counts


@pytest.fixture(scope="module")
def dashboard(api_server: ApiServer) -> Iterator[Dashboard]:
    executable = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed: pip install -e '.[dev]'")
    with sync_playwright() as playwright:
        # Debian's Chromium; never a browser that Playwright would download
        browser = playwright.chromium.launch(executable_path=executable)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            board = Dashboard(page)
            page.on("console", lambda m: board.problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda error: board.problems.append(str(error)))
            page.goto(f"{api_server.url}/")
            page.wait_for_selector('#map[data-ready="true"][data-tracks]', timeout=WAIT_MS)
            yield board
            screenshot = os.environ.get("ROADCLOUD_DASHBOARD_SCREENSHOT")
            if screenshot:
                page.screenshot(path=screenshot)
        finally:
            browser.close()


def test_the_map_draws_the_zone_lanes_fitted_to_the_screen(dashboard: Dashboard, live_zone: LiveZone) -> None:
    pixels = dashboard.canvas_pixels("#basemap", "--map-road")
    # lanes, junctions and unit coverage cover a fair part of a fitted zone; an empty map is all background
    assert pixels["drawn"] > 0.02 * pixels["total"], pixels
    assert pixels["matching"] > 5_000, pixels  # carriageways in the road colour
    xmin, ymin, xmax, ymax = live_zone.road_map.bounds_m
    for x_m, y_m in ((xmin, ymin), (xmax, ymax)):
        px, py = dashboard.page_point(x_m, y_m)
        box = dashboard.map_box()
        assert box["x"] - 1 <= px <= box["x"] + box["width"] + 1
        assert box["y"] - 1 <= py <= box["y"] + box["height"] + 1


def test_tracks_appear_and_move(dashboard: Dashboard, live_zone: LiveZone) -> None:
    page = dashboard.page
    assert int(dashboard.map_data("tracks")) == len(live_zone.latest().snapshot)
    first_frame = int(dashboard.map_data("frame-ms"))
    before = dashboard.canvas_pixels("#live", "--kind-car")
    assert before["matching"] > 500, before  # two hundred cars, a few pixels each at the least
    page.wait_for_function(
        f"Number(document.querySelector('#map').dataset.frameMs) > {first_frame}", timeout=WAIT_MS
    )
    page.wait_for_timeout(100)  # at least one redraw of the live layer after the new frame
    after = dashboard.canvas_pixels("#live", "--kind-car")
    assert after["hash"] != before["hash"]
    # the legend counts what was drawn
    assert page.locator("#legend .count").first.inner_text() != "0"


def test_hovering_a_track_shows_its_id_kind_and_speed(dashboard: Dashboard, live_zone: LiveZone) -> None:
    snapshot = live_zone.latest().snapshot
    stopped = 0  # the scene's stopped vehicle: it stays where the pointer goes
    x_m, y_m = float(snapshot.x_m[stopped]), float(snapshot.y_m[stopped])
    dashboard.page.mouse.move(*dashboard.page_point(x_m, y_m))
    tooltip = dashboard.page.locator("#tooltip")
    tooltip.wait_for(state="visible", timeout=WAIT_MS)
    text = tooltip.inner_text()
    assert f"#{snapshot.track_id[stopped]}" in text
    assert "Car" in text
    assert "0 km/h" in text
    dashboard.page.mouse.move(2, 2)  # over the top bar: the card goes away
    tooltip.wait_for(state="hidden", timeout=WAIT_MS)


def test_headline_numbers_come_from_the_stats_stream(dashboard: Dashboard, live_zone: LiveZone) -> None:
    stats = live_zone.stats()
    assert dashboard.kpi("tracks") == str(stats.tracks)
    assert float(dashboard.kpi("messages").split()[0].replace(",", "").removesuffix("/s")) > 0
    assert dashboard.kpi("latency").startswith("6.4")
    online, total = (part.strip() for part in dashboard.kpi("devices").split("/"))
    assert (int(online), int(total)) == (stats.devices_online, stats.devices_total)
    assert int(online) < int(total)  # one unit is silent …
    assert dashboard.page.locator('[data-kpi="devices"]').get_attribute("data-status") == "warn"
    assert dashboard.kpi("events") == "2"
    # … and the units panel names it
    assert dashboard.page.locator("#rsu-chips .chip.offline").inner_text() == live_zone.silent_unit


def test_the_event_list_locates_an_event_on_the_map(dashboard: Dashboard, live_zone: LiveZone) -> None:
    page = dashboard.page
    items = page.locator("#event-list .event")
    assert items.count() == 2  # the active ones, most severe first
    first = items.first
    assert "Stopped vehicle" in first.inner_text()
    event = next(e for e in live_zone.events_active if e.event_id == first.get_attribute("data-event-id"))
    first.click()
    assert first.get_attribute("aria-current") == "true"

    def centred() -> bool:
        centre_x, centre_y, scale = dashboard.view()
        return abs(centre_x - event.x_m) < 0.5 and abs(centre_y - event.y_m) < 0.5 and scale >= 2.5

    deadline = time.monotonic() + WAIT_MS / 1000
    while not centred() and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert centred(), (dashboard.view(), event.x_m, event.y_m)
    # history from the REST API: the ended wrong-way driver shows under "All", greyed
    page.locator('[data-filter="all"]').click()
    ended = page.locator("#event-list .event.ended")
    assert ended.count() == 1
    assert "Wrong-way driver" in ended.inner_text()


def test_no_console_errors(dashboard: Dashboard) -> None:
    assert dashboard.problems == []


def test_the_connection_indicator_follows_the_service_and_reconnects(
    dashboard: Dashboard, api_server: ApiServer
) -> None:
    page = dashboard.page
    indicator = page.locator("#connection")
    assert indicator.get_attribute("data-state") == "live"
    api_server.stop()
    page.wait_for_selector('#connection[data-state="reconnecting"]', timeout=WAIT_MS)
    assert "retry in" in indicator.inner_text()
    frame_ms = int(dashboard.map_data("frame-ms"))
    api_server.start()
    page.wait_for_selector('#connection[data-state="live"]', timeout=WAIT_MS)
    page.wait_for_function(
        f"Number(document.querySelector('#map').dataset.frameMs) > {frame_ms}", timeout=WAIT_MS
    )
