"""Thresholds of the road event detectors, as one frozen settings object injected into ``EventDetector``.

Every number a detector compares against lives here, with its unit in its name, so a control room can
tune a zone without touching code and an evaluation can sweep them. The defaults were chosen on the
twin's default zone (10 Hz fused LDM, default sensor noise): see each group's comment for why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from roadcloud.errors import SettingError

# Settings that may be zero; every other number must be strictly positive.
_MAY_BE_ZERO = frozenset(
    {
        "gap_tolerance_s",
        "stopped_clear_s",
        "red_light_grace_s",
        "vru_lane_inset_m",
        "crossing_clearance_m",
        "collision_confirm_s",
        "collision_margin_m",
        "speeding_confirm_s",
        "slow_confirm_s",
        "vru_confirm_s",
        "wrong_way_confirm_s",
        "wrong_way_min_distance_m",
        "congestion_green_s",
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class EventConfig:
    """Thresholds of every detector and of the event life cycle.

    Life cycle: a candidate becomes an event once its condition has held for the detector's
    confirmation time; the event ends once no evidence supported it for ``release_s``
    (``congestion_release_s``, ``speeding_release_s`` for those types). Evidence within
    ``merge_distance_m`` of a live event of the same type joins that event, so one incident stays one
    event when its track flickers or changes id.
    """

    # --- life cycle ---------------------------------------------------------------------------------
    release_s: float = 5.0
    merge_distance_m: float = 15.0
    #: a condition that lapses for at most this long (one missed or noisy frame) still counts as held
    gap_tolerance_s: float = 1.0
    #: publish UPDATED when the location or extent moved this far, at most once per update interval
    update_move_m: float = 10.0
    update_min_interval_s: float = 1.0
    #: publish UPDATED at least this often while an event lasts, so consumers can expire stale ones
    refresh_s: float = 10.0
    #: how long the state of a track that left the LDM is kept (fusion coasts tracks for up to 6 s)
    track_memory_s: float = 8.0
    #: a new track id this close to where a lost track would be now continues that track's state
    handover_m: float = 4.0

    # --- stopped vehicle: a vehicle standing still on a travel lane, not in a queue -----------------
    stopped_speed_mps: float = 1.0
    stopped_dwell_s: float = 10.0
    #: the lane ahead must have been free for this long (or the whole dwell, if shorter)
    stopped_clear_s: float = 3.0
    #: no vehicle within this distance ahead on the lane: not the back of a queue
    free_ahead_m: float = 25.0
    #: a vehicle standing this close to its lane's stop line is waiting at the junction (at red, to turn,
    #: for room on its exit), whatever the light: not a breakdown
    stop_line_zone_m: float = 20.0
    #: a standing or crawling vehicle this close ahead makes the one behind part of its queue: gaps this
    #: long in a fused queue are sensor coverage gaps (~35 m between two roadside units' fields) and
    #: missed detections, not free road
    queue_reach_m: float = 50.0
    #: ... and counts as a queue for this long after it was last there: a fused queue flickers for a frame
    #: or two, but a queue at a red light ahead that has cleared no longer explains a vehicle still standing
    queue_memory_s: float = 5.0

    # --- wrong way: moving against the lane's direction, sustained ----------------------------------
    wrong_way_heading_deg: float = 135.0
    wrong_way_min_speed_mps: float = 2.0
    wrong_way_confirm_s: float = 2.0
    wrong_way_min_distance_m: float = 15.0
    #: a wrong-way driver lost in a coverage gap is still driving the wrong way: its event waits this long
    wrong_way_release_s: float = 30.0
    #: and a wrong-way track found again this far along (8 m/s for the release time is 240 m) on a lane of
    #: the same direction continues it
    wrong_way_rejoin_m: float = 300.0

    # --- congestion: a queue of slow vehicles that does not clear during green ----------------------
    queue_speed_mps: float = 2.5
    #: bumper-to-bumper gap that still links two queued vehicles (a missed detection leaves ~12 m)
    queue_gap_m: float = 20.0
    queue_min_vehicles: int = 4
    queue_min_length_m: float = 40.0
    #: a red-light queue forms and clears within one cycle; congestion outlasts it
    congestion_confirm_s: float = 45.0
    #: and it must have stood through this much green (or with no light to explain it)
    congestion_green_s: float = 20.0
    congestion_release_s: float = 30.0
    #: a queue that dips below the minimum for at most this long (missed detections) keeps its clock
    congestion_tolerance_s: float = 5.0

    # --- speeding and abnormally slow vehicles ------------------------------------------------------
    #: SUMO drivers keep up to ~1.3x the limit (speedFactor N(1, 0.1)); 6 m/s over is beyond that
    speeding_margin_mps: float = 6.0
    speeding_confirm_s: float = 3.0
    #: a speeder who stops at a red light and speeds on is one incident: its event waits this long
    speeding_release_s: float = 30.0
    #: slower than this share of the lane's limit, with the lane free ahead
    slow_ratio: float = 0.3
    #: (30 m behind a standing queue a normal driver still does over 12 m/s; the slow incident does 3)
    slow_free_ahead_m: float = 30.0
    slow_confirm_s: float = 6.0
    #: a vehicle is following (not abnormally slow) while its moving leader within ``queue_reach_m`` is no
    #: faster than itself plus this (speeds of a close follower and its leader jitter apart by ~0.5 m/s)
    follow_margin_mps: float = 1.0
    #: and for this long after the leader was last seen: a cyclist crossing a coverage gap at 4-5 m/s
    #: stays unseen for ~10 s while the car behind it keeps its pace
    follow_memory_s: float = 15.0
    #: within this distance of a stop line vehicles brake and turn: speed says nothing there
    approach_zone_m: float = 25.0

    # --- pedestrian or cyclist on the carriageway ---------------------------------------------------
    vru_confirm_s: float = 2.0
    #: how far inside the lane edge the position must be (fused positions scatter ~0.15 m)
    vru_lane_inset_m: float = 0.3
    #: positions this close to a crossing or walking area are on the way across, not on the road
    crossing_clearance_m: float = 1.5

    # --- red-light violation ------------------------------------------------------------------------
    #: crossing the stop line within this time after red began is not counted (clock and SPAT skew)
    red_light_grace_s: float = 0.5
    red_light_min_speed_mps: float = 3.0
    #: decided once the vehicle is this far past the stop line, when its movement is unambiguous
    red_light_decide_m: float = 4.0
    #: how long a violation stays active after the crossing
    red_light_hold_s: float = 3.0

    # --- collision risk: time to collision on predicted paths --------------------------------------
    collision_ttc_s: float = 1.5
    #: a contact that would need more than this to avoid (dry asphalt gives ~9 m/s²; a crossing conflict
    #: first found at 6 m/s² needs ~13 by the end of the confirmation) is a wrong predicted path (a turn
    #: drawn straight across a junction, a box drawn too long), not a conflict: it cannot confirm one
    collision_max_decel_mps2: float = 15.0
    #: deceleration needed to avoid contact (closing speed / 2 TTC); SUMO drivers brake at <= 4.5 m/s²
    collision_min_decel_mps2: float = 6.0
    #: or one of the pair already brakes this hard (smoothed over ~0.2 s) with contact this close ahead
    collision_hard_braking_mps2: float = 6.0
    collision_braking_ttc_s: float = 1.5
    collision_min_closing_mps: float = 2.0
    #: footprints closer than this count as touching (0: only overlapping boxes do; fused positions
    #: scatter ~0.15 m, and a car passing a kerb 0.3 m away is no conflict)
    collision_margin_m: float = 0.0
    #: the risk must hold this long: SUMO's own junction manoeuvres look like conflicts for a moment
    collision_confirm_s: float = 0.8
    #: pairs farther apart than this are not examined (two cars crossing at 17 m/s close 24 m/s: 36 m
    #: at a TTC of 1.5 s, less their lengths)
    collision_search_m: float = 35.0
    #: a motor vehicle braking at least this hard (smoothed) near a pedestrian or cyclist on a crossing or
    #: walking area is yielding to them (they have right of way there), not colliding: a driver who has not
    #: seen them coasts or keeps speed (< 1 m/s² of drag), and fused speed jitter gives ~0.5 m/s²
    collision_yield_braking_mps2: float = 2.0

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise SettingError(f"event setting {item.name} is {value!r}; give a finite number")
            if item.name in _MAY_BE_ZERO:
                if value < 0:
                    raise SettingError(f"event setting {item.name} is {value}; it must be zero or more")
            elif value <= 0:
                raise SettingError(f"event setting {item.name} is {value}; it must be more than zero")
        if not 90.0 < self.wrong_way_heading_deg <= 180.0:
            raise SettingError(
                f"wrong_way_heading_deg is {self.wrong_way_heading_deg}; give an angle above 90 and at "
                "most 180 degrees (against the lane)"
            )
        if not 0.0 < self.slow_ratio < 1.0:
            raise SettingError(f"slow_ratio is {self.slow_ratio}; give a share of the limit between 0 and 1")
        if self.queue_min_vehicles < 2 or not isinstance(self.queue_min_vehicles, int):
            raise SettingError(
                f"queue_min_vehicles is {self.queue_min_vehicles}; a queue needs a whole number of at "
                "least 2 vehicles"
            )
        if self.queue_speed_mps <= self.stopped_speed_mps:
            raise SettingError(
                f"queue_speed_mps ({self.queue_speed_mps}) must exceed stopped_speed_mps "
                f"({self.stopped_speed_mps}): queued vehicles creep"
            )
        if self.congestion_green_s > self.congestion_confirm_s:
            raise SettingError(
                f"congestion_green_s ({self.congestion_green_s}) cannot exceed congestion_confirm_s "
                f"({self.congestion_confirm_s}); the green time is part of the confirmation"
            )
        if self.gap_tolerance_s >= self.track_memory_s:
            raise SettingError(
                f"gap_tolerance_s ({self.gap_tolerance_s}) must be shorter than track_memory_s "
                f"({self.track_memory_s})"
            )
