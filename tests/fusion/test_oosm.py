"""Out-of-sequence updates (retrodiction) against the in-order Kalman filter on worked cases."""

from __future__ import annotations

import numpy as np

from roadcloud.fusion import kalman, oosm

Q_DENSITY = 4.0
R = np.diag([0.09, 0.09, 0.16, 0.16])


def in_order(
    state: np.ndarray, covariance: np.ndarray, z: np.ndarray, *, tau_s: float, k_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Predict to τ, update with z (H = I), predict to k: what the filter gives when z arrives in time."""
    x, p = kalman.predict(state, covariance, np.full(len(state), tau_s), Q_DENSITY)
    x, p = kalman.update(x, p, z, np.broadcast_to(R, p.shape).copy(), kalman.H_POSITION_VELOCITY)
    return kalman.predict(x, p, np.full(len(state), k_s - tau_s), Q_DENSITY)


def out_of_sequence(
    state: np.ndarray, covariance: np.ndarray, z: np.ndarray, information: np.ndarray, *, lag_s: float
) -> tuple[np.ndarray, np.ndarray]:
    lag = np.full(len(state), lag_s)
    retro_state, retro_covariance, cross = oosm.retrodict(state, covariance, lag, information, Q_DENSITY)
    nu, s = oosm.innovation(retro_state, retro_covariance, z, np.broadcast_to(R, covariance.shape))
    return oosm.update(state, covariance, cross, nu, s)


def tracks() -> tuple[np.ndarray, np.ndarray]:
    states = np.array([[0.0, 0.0, 10.0, 0.0], [5.0, -3.0, -4.0, 7.0], [1.0, 2.0, 0.0, 0.0]])
    covariances = np.stack([np.diag([0.5, 0.5, 1.0, 1.0]), np.diag([0.1, 0.3, 0.4, 0.2]), 0.05 * np.eye(4)])
    covariances[1, 0, 2] = covariances[1, 2, 0] = 0.05
    return states, covariances


def test_with_nothing_newer_than_tau_the_update_equals_the_in_order_filter() -> None:
    states, covariances = tracks()
    z = np.array([[1.3, 0.2, 9.5, 0.3], [4.4, -2.0, -3.8, 7.5], [1.1, 1.8, 0.2, -0.1]])
    expected_state, expected_covariance = in_order(states, covariances, z, tau_s=0.1, k_s=0.4)
    # the filter ran on to k = 0.4 s without data; the measurement of τ = 0.1 s arrives now
    state_k, covariance_k = kalman.predict(states, covariances, np.full(3, 0.4), Q_DENSITY)
    information = oosm.prior_information(
        tau_ms=np.full(3, 100.0),
        time_ms=np.full(3, 400.0),
        covariance=covariance_k,
        info_ms=np.zeros(3),  # newest data at 0, before τ: P⁻ is the current covariance
        past_time_ms=np.full((3, 2), np.nan),
        past_info_ms=np.full((3, 2), np.inf),
        past_covariance=np.zeros((3, 2, 4, 4)),
        accel_density_m2ps3=Q_DENSITY,
    )
    state, covariance = out_of_sequence(state_k, covariance_k, z, information, lag_s=0.3)
    assert np.allclose(state, expected_state, atol=1e-9)
    assert np.allclose(covariance, expected_covariance, atol=1e-9)


def test_newer_data_is_not_counted_twice_and_the_late_one_still_helps() -> None:
    # in time: z2 at 0.3 s; late: z1 of 0.1 s. The exact answer is the filter over z1 then z2.
    states, covariances = tracks()
    rng = np.random.default_rng(7)
    z1 = states + rng.normal(0.0, 0.3, states.shape)
    z2 = states + rng.normal(0.0, 0.3, states.shape)
    exact_state, exact_covariance = in_order(states, covariances, z1, tau_s=0.1, k_s=0.3)
    exact_state, exact_covariance = kalman.update(
        exact_state,
        exact_covariance,
        z2,
        np.broadcast_to(R, covariances.shape).copy(),
        kalman.H_POSITION_VELOCITY,
    )
    # what the engine holds: the filter over z2 only, and the posterior at 0 s (its last frame before τ)
    x, p = kalman.predict(states, covariances, np.full(3, 0.3), Q_DENSITY)
    only_z2_state, only_z2_covariance = kalman.update(
        x, p, z2, np.broadcast_to(R, p.shape).copy(), kalman.H_POSITION_VELOCITY
    )
    information = oosm.prior_information(
        tau_ms=np.full(3, 100.0),
        time_ms=np.full(3, 300.0),
        covariance=only_z2_covariance,
        info_ms=np.full(3, 300.0),  # holds data newer than τ: P⁻ from the past slot
        past_time_ms=np.array([[0.0, np.nan]] * 3),
        past_info_ms=np.array([[0.0, np.inf]] * 3),
        past_covariance=np.stack([covariances, np.zeros_like(covariances)], axis=1),
        accel_density_m2ps3=Q_DENSITY,
    )
    state, covariance = out_of_sequence(only_z2_state, only_z2_covariance, z1, information, lag_s=0.2)
    # Bl1 is an approximation: within a tenth of what the late measurement moves, and it shrinks the
    # covariance
    assert np.abs(state - exact_state).max() < 0.1 * np.abs(only_z2_state - exact_state).max()
    assert np.allclose(covariance, exact_covariance, atol=0.01)
    assert np.all(np.trace(covariance, axis1=1, axis2=2) < np.trace(only_z2_covariance, axis1=1, axis2=2))
    # and never more confident than the exact filter by more than rounding: no data counted twice
    assert np.all(np.linalg.eigvalsh(covariance - exact_covariance) > -1e-3)


def test_a_track_born_after_tau_is_predicted_back_with_the_process_noise_added() -> None:
    states, covariances = tracks()
    lag = np.full(3, 0.2)
    back = kalman.transition(-lag)
    retro_state, retro_covariance, cross = oosm.retrodict(
        states, covariances, lag, np.zeros((3, 4, 4)), Q_DENSITY
    )
    expected = back @ (covariances + kalman.process_noise(lag, Q_DENSITY)) @ np.swapaxes(back, 1, 2)
    assert np.allclose(retro_state[:, :2], states[:, :2] - 0.2 * states[:, 2:])
    assert np.allclose(retro_covariance, expected)
    assert np.allclose(cross, covariances @ np.swapaxes(back, 1, 2))


def test_prior_information_takes_the_newest_past_posterior_without_newer_data() -> None:
    covariance_now = np.eye(4)[np.newaxis]
    slots = np.stack([2.0 * np.eye(4), 3.0 * np.eye(4), 4.0 * np.eye(4)])[np.newaxis]
    information = oosm.prior_information(
        tau_ms=np.array([250.0]),
        time_ms=np.array([400.0]),
        covariance=covariance_now,
        info_ms=np.array([400.0]),
        past_time_ms=np.array([[100.0, 200.0, 300.0]]),
        past_info_ms=np.array([[100.0, 200.0, 300.0]]),
        past_covariance=slots,
        accel_density_m2ps3=Q_DENSITY,
    )
    # slot of 200 ms (newest data not after τ = 250 ms), predicted 200 ms to k
    _, predicted = kalman.predict(np.zeros((1, 4)), slots[:, 1], np.array([0.2]), Q_DENSITY)
    assert np.allclose(information, np.linalg.inv(predicted))
