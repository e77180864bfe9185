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
    """x⁻ = F x,  P⁻ = F P F' + Q, each track with its own ``dt_s``.

    F P F' in closed form on the 2×2 blocks of P = [[A, B], [B', D]] (position, position-velocity,
    velocity): A + dt (B + B') + dt² D,  B + dt D,  D, with no (N, 4, 4) matrix products.
    """
    dt = np.asarray(dt_s, dtype=np.float64)
    new_states = np.array(states, dtype=np.float64, copy=True)
    new_states[:, :2] += dt[:, np.newaxis] * new_states[:, 2:]
    p = _component_major(covariances, copy=True)
    dt_d = dt * p[2:, 2:]
    p[:2, :2] += dt * (p[:2, 2:] + p[2:, :2]) + dt * dt_d
    p[:2, 2:] += dt_d
    p[2:, :2] += dt_d
    magnitude = np.abs(dt)
    q = np.broadcast_to(np.asarray(accel_density_m2ps3, dtype=np.float64), dt.shape)
    pp, pv, vv = q * magnitude**3 / 3.0, q * dt**2 / 2.0, q * magnitude
    for axis in (0, 1):
        p[axis, axis] += pp
        p[axis, axis + 2] += pv
        p[axis + 2, axis] += pv
        p[axis + 2, axis + 2] += vv
    return new_states, _track_major(p)


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


def update_position_velocity(
    states: FloatArray, covariances: FloatArray, measurements: FloatArray, noise_variance: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """``update`` for H = I (position and velocity measured) and a diagonal R, in closed form.

    With W = S⁻¹ = (P + R)⁻¹ the gain is K = P W = I - R W, so

        x⁺ = z - R W (z - x),     P⁺ = (I - K) P = R W P = R - R W R,

    and with R = diag(r) both are element-wise in W: P⁺_ij = r_i δ_ij - r_i W_ij r_j, symmetric by
    construction. W comes from the block inverse of ``inverse_symmetric4``, not a batched LAPACK solve.
    ``measurements`` (N, 4), ``noise_variance`` (N, 4) the diagonal of R.
    """
    r = np.ascontiguousarray(np.asarray(noise_variance, dtype=np.float64).T)  # (4, N)
    s = _component_major(covariances, copy=True)
    for i in range(STATE_SIZE):
        s[i, i] += r[i]
    w = _inverse_symmetric4(s)
    y = np.ascontiguousarray((measurements - states).T)
    wy = (w * y[np.newaxis]).sum(axis=1)  # (4, N): W y
    new_states: FloatArray = measurements - (r * wy).T
    new_covariances = w  # reused: P⁺ = R - R W R
    new_covariances *= r[:, np.newaxis] * r[np.newaxis, :]
    np.negative(new_covariances, out=new_covariances)
    for i in range(STATE_SIZE):
        new_covariances[i, i] += r[i]
    return new_states, _track_major(new_covariances)


def inverse_symmetric4(s: FloatArray) -> FloatArray:
    """(N, 4, 4) inverses of symmetric positive-definite matrices (see ``_inverse_symmetric4``)."""
    return _track_major(_inverse_symmetric4(_component_major(s, copy=False)))


def _inverse_symmetric4(s: FloatArray) -> FloatArray:
    """(4, 4, N) → (4, 4, N) inverse, by 2×2 blocks S = [[A, B], [B', D]]:

        E = B D⁻¹,   W_A = (A - E B')⁻¹,   W_B = -W_A E,   W_D = D⁻¹ - E' W_B,

    each 2×2 step written out element-wise over all N at once (a Schur complement; several times faster
    than ``np.linalg.inv`` on (N, 4, 4) stacks)."""
    a00, a01, a11 = s[0, 0], s[0, 1], s[1, 1]
    b00, b01, b10, b11 = s[0, 2], s[0, 3], s[1, 2], s[1, 3]
    d00, d01, d11 = s[2, 2], s[2, 3], s[3, 3]
    det_d = d00 * d11 - d01 * d01
    i00, i01, i11 = d11 / det_d, -d01 / det_d, d00 / det_d  # D⁻¹
    e00, e01 = b00 * i00 + b01 * i01, b00 * i01 + b01 * i11  # E = B D⁻¹
    e10, e11 = b10 * i00 + b11 * i01, b10 * i01 + b11 * i11
    c00 = a00 - (e00 * b00 + e01 * b01)  # A - E B'
    c01 = a01 - (e00 * b10 + e01 * b11)
    c11 = a11 - (e10 * b10 + e11 * b11)
    det_c = c00 * c11 - c01 * c01
    w00, w01, w11 = c11 / det_c, -c01 / det_c, c00 / det_c  # W_A
    g00, g01 = -(w00 * e00 + w01 * e10), -(w00 * e01 + w01 * e11)  # W_B = -W_A E
    g10, g11 = -(w01 * e00 + w11 * e10), -(w01 * e01 + w11 * e11)
    out = np.empty_like(s)
    out[0, 0], out[0, 1], out[1, 0], out[1, 1] = w00, w01, w01, w11
    out[0, 2], out[0, 3], out[1, 2], out[1, 3] = g00, g01, g10, g11
    out[2, 0], out[3, 0], out[2, 1], out[3, 1] = g00, g01, g10, g11
    out[2, 2] = i00 - (e00 * g00 + e10 * g10)
    out[2, 3] = out[3, 2] = i01 - (e00 * g01 + e10 * g11)
    out[3, 3] = i11 - (e01 * g01 + e11 * g11)
    return out


def _component_major(covariances: FloatArray, *, copy: bool) -> FloatArray:
    """(N, 4, 4) → contiguous (4, 4, N): each element of P one contiguous row, so the closed forms run
    on contiguous vectors (strided (N, 2, 2) slices are several times slower)."""
    transposed = np.asarray(covariances, dtype=np.float64).transpose(1, 2, 0)
    if copy:
        return np.array(transposed, order="C", copy=True)
    return np.ascontiguousarray(transposed)


def _track_major(components: FloatArray) -> FloatArray:
    """(4, 4, N) → (N, 4, 4), C-contiguous (one copy; rows are then gathered and stored per track)."""
    return np.ascontiguousarray(components.transpose(2, 0, 1))
