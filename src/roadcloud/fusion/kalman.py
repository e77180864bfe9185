"""Constant-velocity Kalman filter over N tracks at once: the predictor and updater of fusion.

State per track ``[x, y, vx, vy]`` (m, m/s, local frame), covariance ``(4, 4)``. Every function takes
stacked arrays ``(N, 4)`` / ``(N, 4, 4)`` and returns new arrays; inputs are never written to.

Motion model, per track with its own time step ``dt`` (s)::

    x_k = F x_{k-1} + w,     F = [[I, dt I], [0, I]]
    Q = q [[dt³/3 I, dt²/2 I], [dt²/2 I, dt I]]     (white acceleration, spectral density q m²/s³)

Measurement ``z = H x + v``, ``v ~ N(0, R)``, where H picks the position (2 rows) or position and
velocity (4 rows)::

    S = H P H' + R,   K = P H' S⁻¹,   x⁺ = x + K (z - H x),   P⁺ = (I - K H) P (I - K H)' + K R K'
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

STATE_SIZE = 4
H_POSITION: FloatArray = np.eye(2, STATE_SIZE)
H_POSITION_VELOCITY: FloatArray = np.eye(STATE_SIZE)


def transition(dt_s: FloatArray) -> FloatArray:
    """(N, 4, 4) constant-velocity transition matrices F for per-track steps ``dt_s`` (N,)."""
    dt = np.asarray(dt_s, dtype=np.float64)
    f = np.broadcast_to(np.eye(STATE_SIZE), (len(dt), STATE_SIZE, STATE_SIZE)).copy()
    f[:, 0, 2] = dt
    f[:, 1, 3] = dt
    return f


def process_noise(dt_s: FloatArray, accel_density_m2ps3: float | FloatArray) -> FloatArray:
    """(N, 4, 4) white-acceleration process noise Q for steps ``dt_s``; negative steps use |dt|."""
    dt = np.abs(np.asarray(dt_s, dtype=np.float64))
    q = np.broadcast_to(np.asarray(accel_density_m2ps3, dtype=np.float64), dt.shape)
    out = np.zeros((len(dt), STATE_SIZE, STATE_SIZE))
    pp = q * dt**3 / 3.0
    pv = q * dt**2 / 2.0
    vv = q * dt
    for axis in (0, 1):
        out[:, axis, axis] = pp
        out[:, axis, axis + 2] = pv
        out[:, axis + 2, axis] = pv
        out[:, axis + 2, axis + 2] = vv
    return out


def predict(
    states: FloatArray, covariances: FloatArray, dt_s: FloatArray, accel_density_m2ps3: float | FloatArray
) -> tuple[FloatArray, FloatArray]:
    """x⁻ = F x,  P⁻ = F P F' + Q, each track with its own ``dt_s``."""
    dt = np.asarray(dt_s, dtype=np.float64)
    new_states = np.array(states, dtype=np.float64, copy=True)
    new_states[:, 0] += dt * new_states[:, 2]
    new_states[:, 1] += dt * new_states[:, 3]
    f = transition(dt)
    new_covariances = f @ covariances @ np.swapaxes(f, 1, 2) + process_noise(dt, accel_density_m2ps3)
    return new_states, new_covariances


def innovation(
    states: FloatArray, covariances: FloatArray, measurements: FloatArray, noise: FloatArray, h: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Innovation y = z - H x (N, m) and its covariance S = H P H' + R (N, m, m)."""
    y = measurements - states @ h.T
    s = h @ covariances @ h.T + noise
    return y, s


def update(
    states: FloatArray, covariances: FloatArray, measurements: FloatArray, noise: FloatArray, h: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Kalman update of N tracks with one measurement each (rows matched), Joseph form.

    ``measurements`` (N, m), ``noise`` R (N, m, m), ``h`` H (m, 4) shared by all rows.
    """
    y, s = innovation(states, covariances, measurements, noise, h)
    pht = covariances @ h.T  # (N, 4, m)
    # K = P H' S⁻¹  ⇔  S K' = H P  (S symmetric)
    gain = np.swapaxes(np.linalg.solve(s, np.swapaxes(pht, 1, 2)), 1, 2)
    new_states = states + np.einsum("nij,nj->ni", gain, y)
    i_kh = np.eye(STATE_SIZE) - gain @ h
    new_covariances = i_kh @ covariances @ np.swapaxes(i_kh, 1, 2) + gain @ noise @ np.swapaxes(gain, 1, 2)
    return new_states, new_covariances
