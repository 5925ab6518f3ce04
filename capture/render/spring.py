"""A mass-spring-damper solved exactly, and the cursor path it smooths.

The smoothed cursor is the position of a mass pulled towards the logged
position by a spring (``tension``), slowed by ``friction``. Between two
samples the target is constant, so the motion has a closed form (under-,
critically or over-damped); stepping it is exact for any step length, with
no integration error that depends on the frame rate.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from caprec.capture.render.spec import Smoothing

# Sub-steps of at most this long, so the target (sampled per step) moves
# smoothly even at 10 fps output. Cap simulates at 60 Hz.
MAX_STEP_S = 1.0 / 60.0
# Near a press the target is the press's position (Cap: 500 ms), and from
# 175 ms before it a stiffer spring pulls the cursor there in time.
CLICK_SNAP_S = 0.5
CLICK_STIFF_S = 0.175
_EPSILON = 1e-9
# held() looks back over holds that began at most this long ago (longer holds are found first anyway
# unless another press started inside them: a drag with a second button held for over a minute).
MAX_HOLD_LOOKBACK_S = 60.0


@dataclass(frozen=True)
class SpringParams:
    """Tension (stiffness k), mass m and friction (damping c) of one spring."""

    tension: float
    mass: float
    friction: float

    @property
    def lead_s(self) -> float:
        """How far a spring lags its target: about friction / tension seconds."""
        return self.friction / self.tension


PRESETS: dict[Smoothing, SpringParams] = {
    Smoothing.SLOW: SpringParams(200.0, 2.25, 40.0),
    Smoothing.SMOOTH: SpringParams(80.0, 2.5, 28.0),
    Smoothing.MELLOW: SpringParams(470.0, 3.0, 70.0),
    Smoothing.FAST: SpringParams(380.0, 1.0, 30.0),
}
CLICK_SPRING = SpringParams(530.0, 1.0, 40.0)
DRAG_SPRING = SpringParams(1000.0, 1.0, 40.0)


def spring_step(position: float, velocity: float, target: float, dt: float,
                params: SpringParams) -> tuple[float, float]:
    """Advance one axis by ``dt`` seconds towards a constant ``target``, exactly.

    Returns the new position and velocity.
    """
    k, m, c = params.tension, params.mass, params.friction
    omega = math.sqrt(k / m)
    zeta = c / (2.0 * math.sqrt(k * m))
    y0 = position - target
    v0 = velocity
    if dt <= 0:
        return position, velocity
    if abs(zeta - 1.0) < 1e-6:  # critically damped
        decay = math.exp(-omega * dt)
        b = v0 + omega * y0
        y = (y0 + b * dt) * decay
        v = (b - omega * (y0 + b * dt)) * decay
    elif zeta < 1.0:  # under-damped: a decaying oscillation
        wd = omega * math.sqrt(1.0 - zeta * zeta)
        decay = math.exp(-zeta * omega * dt)
        b = (v0 + zeta * omega * y0) / wd
        cos, sin = math.cos(wd * dt), math.sin(wd * dt)
        y = decay * (y0 * cos + b * sin)
        v = decay * ((-zeta * omega) * (y0 * cos + b * sin) + (-y0 * wd * sin + b * wd * cos))
    else:  # over-damped: two decaying exponentials
        root = math.sqrt(zeta * zeta - 1.0)
        r1 = -omega * (zeta - root)
        r2 = -omega * (zeta + root)
        a = (v0 - r2 * y0) / (r1 - r2)
        b2 = y0 - a
        e1, e2 = math.exp(r1 * dt), math.exp(r2 * dt)
        y = a * e1 + b2 * e2
        v = a * r1 * e1 + b2 * r2 * e2
    return target + y, v


Float64s = npt.NDArray[np.float64]


@dataclass(frozen=True)
class CursorTrack:
    """The logged pointer: move samples and button presses, times in seconds on the output timeline."""

    times: Float64s  # sorted
    xs: Float64s
    ys: Float64s
    presses: tuple[tuple[float, float, float], ...]  # (t, x, y) of each press, in time order
    holds: tuple[tuple[float, float], ...]  # (press t, release t) intervals of any button

    def raw_at(self, t: float) -> tuple[float, float] | None:
        """The last logged position at or before ``t``; None before the first event."""
        index = int(np.searchsorted(self.times, t, side="right")) - 1
        if index < 0:
            return None
        return float(self.xs[index]), float(self.ys[index])

    def last_move_before(self, t: float) -> float | None:
        """When the pointer last moved at or before ``t`` (None if never)."""
        index = int(np.searchsorted(self.times, t, side="right")) - 1
        if index < 0:
            return None
        x, y = self.xs[index], self.ys[index]
        # Walk back over samples at the same spot (a press logs its position again).
        while index > 0 and self.xs[index - 1] == x and self.ys[index - 1] == y:
            index -= 1
        return float(self.times[index])

    def held(self, t: float) -> bool:
        """Whether a button is down at ``t`` (a bisection over the sorted holds: O(log n) a call)."""
        index = bisect.bisect_right(self.holds, (t, math.inf)) - 1
        # Holds rarely overlap; look back over the few that started just before.
        while index >= 0:
            start, end = self.holds[index]
            if end > t:
                return True
            if t - start > MAX_HOLD_LOOKBACK_S:
                return False
            index -= 1
        return False

    def hold_of(self, press_t: float) -> tuple[float, float] | None:
        """The hold that began with the press at ``press_t``."""
        index = bisect.bisect_left(self.holds, (press_t, -math.inf))
        if index < len(self.holds) and self.holds[index][0] == press_t:
            return self.holds[index]
        return None


class SmoothCursor:
    """The smoothed cursor, advanced frame by frame (frames must come in order).

    Cost per frame is constant: the state is a position and a velocity, and
    the press list is walked with a moving index.
    """

    def __init__(self, track: CursorTrack, smoothing: Smoothing) -> None:
        self._track = track
        self._params = PRESETS.get(smoothing)
        self._t: float | None = None
        self._pos = (0.0, 0.0)
        self._vel = (0.0, 0.0)
        self._press_index = 0

    def _upcoming_press(self, t: float) -> tuple[float, float, float] | None:
        presses = self._track.presses
        while self._press_index < len(presses) and presses[self._press_index][0] < t - _EPSILON:
            self._press_index += 1
        return presses[self._press_index] if self._press_index < len(presses) else None

    def _target(self, t: float, params: SpringParams) -> tuple[tuple[float, float] | None, SpringParams]:
        press = self._upcoming_press(t)
        if press is not None and press[0] - t <= CLICK_SNAP_S:
            stiff = press[0] - t <= CLICK_STIFF_S
            return (press[1], press[2]), CLICK_SPRING if stiff else params
        if self._track.held(t):
            return self._track.raw_at(t), DRAG_SPRING
        # The spring lags by about friction/tension: aim that far ahead.
        return self._track.raw_at(t + params.lead_s) or self._track.raw_at(t), params

    def at(self, t: float) -> tuple[float, float] | None:
        """The cursor's position at ``t`` (source pixels), None before the first event."""
        raw = self._track.raw_at(t)
        if self._params is None or raw is None:
            return raw
        if self._t is None:
            self._t, self._pos, self._vel = t, raw, (0.0, 0.0)
            return raw
        params = self._params
        now = self._t
        snap = self._upcoming_press(now)
        if snap is not None and not now < snap[0] <= t + _EPSILON:
            snap = None
        steps = max(1, math.ceil((t - now) / MAX_STEP_S - _EPSILON))
        dt = (t - now) / steps
        for _ in range(steps):
            now += dt
            target, spring = self._target(now, params)
            if target is None:
                continue
            x, vx = spring_step(self._pos[0], self._vel[0], target[0], dt, spring)
            y, vy = spring_step(self._pos[1], self._vel[1], target[1], dt, spring)
            self._pos, self._vel = (x, y), (vx, vy)
        if snap is not None:  # a press lands exactly where it happened
            self._pos, self._vel = (snap[1], snap[2]), (0.0, 0.0)
        self._t = t
        return self._pos
