"""Conversion between the map's local frame (metres) and WGS84, the one place the platform projects.

Inside roadcloud every position is metres in the network's local frame; WGS84 appears only at the edges
(V2X messages, the dashboard). SUMO defines the local frame as ``local_xy = projected_xy + netOffset``,
where ``projected_xy`` comes from the PROJ definition in the network's ``<location projParameter=…>``.
Networks without a projection (``projParameter="!"``, e.g. from OpenDRIVE or netgenerate) are placed on
the globe with ``GeoReference.anchored``: a transverse Mercator centred on a chosen point, which becomes
local (0, 0).

Functions take scalars or arrays of any shape, never modify them, and return float64 arrays of the
broadcast shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from roadcloud.errors import MapError, SettingError

#: SUMO's marker for "no projection" in ``projParameter``.
NO_PROJECTION = "!"

_WGS84 = "EPSG:4326"


@dataclass(frozen=True, slots=True)
class GeoReference:
    """How a network's local metres relate to WGS84.

    ``proj`` is a PROJ definition of the projected frame, or ``None`` when the network is not
    geo-referenced; ``net_offset_m`` is SUMO's netOffset (added to projected coordinates).
    """

    proj: str | None
    net_offset_m: tuple[float, float] = (0.0, 0.0)
    # Transformers are costly to build (tens of ms) and each instance converts many times: build once.
    _to_wgs84: Transformer | None = field(init=False, repr=False, compare=False, default=None)
    _from_wgs84: Transformer | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        if self.proj is None:
            return
        try:
            crs = CRS.from_user_input(self.proj)
        except CRSError as error:
            raise MapError(
                f"projection {self.proj!r} is not a valid PROJ definition ({error}); "
                "fix the network's <location projParameter=…> or load it with anchor_lonlat=(lon, lat)"
            ) from None
        object.__setattr__(self, "_to_wgs84", Transformer.from_crs(crs, _WGS84, always_xy=True))
        object.__setattr__(self, "_from_wgs84", Transformer.from_crs(_WGS84, crs, always_xy=True))

    @classmethod
    def from_sumo(cls, net_offset: str, proj_parameter: str) -> GeoReference:
        """From the ``netOffset`` and ``projParameter`` attributes of a SUMO ``<location>`` element."""
        try:
            offset_x, offset_y = (float(part) for part in net_offset.split(","))
        except ValueError:
            raise MapError(
                f"netOffset {net_offset!r} is not 'x,y' in metres; fix the network's <location> element"
            ) from None
        proj = proj_parameter.strip()
        return cls(None if proj in ("", NO_PROJECTION) else proj, (offset_x, offset_y))

    @classmethod
    def anchored(cls, lon_deg: float, lat_deg: float) -> GeoReference:
        """A transverse Mercator centred on (lon_deg, lat_deg), which becomes local (0, 0).

        For networks without a projection; over a zone of tens of kilometres the scale error of a
        centred transverse Mercator stays below a few parts per million.
        """
        if not (np.isfinite(lon_deg) and -180.0 <= lon_deg <= 180.0):
            raise SettingError(f"anchor longitude {lon_deg} is not in [-180, 180] degrees")
        if not (np.isfinite(lat_deg) and -90.0 <= lat_deg <= 90.0):
            raise SettingError(f"anchor latitude {lat_deg} is not in [-90, 90] degrees")
        proj = (
            f"+proj=tmerc +lat_0={lat_deg:.9f} +lon_0={lon_deg:.9f} +k=1 +x_0=0 +y_0=0 "
            "+datum=WGS84 +units=m +no_defs"
        )
        return cls(proj, (0.0, 0.0))

    @property
    def is_georeferenced(self) -> bool:
        """Whether local coordinates can be converted to WGS84."""
        return self.proj is not None

    def local_to_wgs84(
        self, x_m: ArrayLike, y_m: ArrayLike
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Local metres to ``(lon_deg, lat_deg)``."""
        x, y = np.broadcast_arrays(np.asarray(x_m, dtype=np.float64), np.asarray(y_m, dtype=np.float64))
        transformer = self._require(self._to_wgs84)
        lon, lat = transformer.transform(x - self.net_offset_m[0], y - self.net_offset_m[1])
        return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)

    def wgs84_to_local(
        self, lon_deg: ArrayLike, lat_deg: ArrayLike
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``(lon_deg, lat_deg)`` to local metres."""
        lon, lat = np.broadcast_arrays(
            np.asarray(lon_deg, dtype=np.float64), np.asarray(lat_deg, dtype=np.float64)
        )
        transformer = self._require(self._from_wgs84)
        x, y = transformer.transform(lon, lat)
        return (
            np.asarray(x, dtype=np.float64) + self.net_offset_m[0],
            np.asarray(y, dtype=np.float64) + self.net_offset_m[1],
        )

    @staticmethod
    def _require(transformer: Transformer | None) -> Transformer:
        if transformer is None:
            raise MapError(
                "the network is not geo-referenced (projParameter '!'); "
                "load it with anchor_lonlat=(lon, lat) to place it on the globe"
            )
        return transformer
