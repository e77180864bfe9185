"""Constant-velocity Kalman predict and update against values worked out by hand."""

from __future__ import annotations

import numpy as np

from roadcloud.fusion import kalman


def test_predict_moves_the_mean_and_grows_the_covariance_as_derived() -> None:
    states = np.array([[0.0, 0.0, 10.0, -2.0], [5.0, 5.0, 0.0, 0.0]])
    covariances = np.stack([np.eye(4), 2.0 * np.eye(4)])
    dt_s = np.array([0.5, 0.1])
    before = (states.copy(), covariances.copy())

    new_states, new_covs = kalman.predict(states, covariances, dt_s, 4.0)

    assert np.allclose(new_states[0], [5.0, -1.0, 10.0, -2.0])
    assert np.allclose(new_states[1], [5.0, 5.0, 0.0, 0.0])
    # track 0, x axis: F P F' = [[1 + dt², dt], [dt, 1]] with dt = 0.5, plus
    # Q = q [[dt³/3, dt²/2], [dt²/2, dt]] = 4 [[0.041667, 0.125], [0.125, 0.5]]
    assert np.isclose(new_covs[0, 0, 0], 1.25 + 4 * 0.125 / 3)
    assert np.isclose(new_covs[0, 0, 2], 0.5 + 4 * 0.125)
    assert np.isclose(new_covs[0, 2, 2], 1.0 + 4 * 0.5)
    assert np.isclose(new_covs[0, 0, 1], 0.0)
    # track 1: 2 (1 + 0.01) + 4 · 0.001/3
    assert np.isclose(new_covs[1, 1, 1], 2.02 + 4 * 0.001 / 3)
    assert np.allclose(states, before[0]) and np.allclose(covariances, before[1])  # inputs untouched


def test_position_update_is_the_precision_weighted_mean() -> None:
    # P_xy = 1, R = 1 → K = 1/2 on position; velocity uncorrelated → unchanged
    states = np.array([[0.0, 0.0, 3.0, 0.0]])
    covariances = np.eye(4)[np.newaxis]
    z = np.array([[2.0, -4.0]])
    noise = np.eye(2)[np.newaxis]

    new_states, new_covs = kalman.update(states, covariances, z, noise, kalman.H_POSITION)

    assert np.allclose(new_states, [[1.0, -2.0, 3.0, 0.0]])
    assert np.allclose(np.diag(new_covs[0]), [0.5, 0.5, 1.0, 1.0])
    assert np.allclose(states, [[0.0, 0.0, 3.0, 0.0]])


def test_update_with_correlation_corrects_velocity_and_stays_symmetric() -> None:
    # after one predict the position error carries velocity error: a position residual moves velocity too
    states, covs = kalman.predict(np.zeros((1, 4)), np.eye(4)[np.newaxis], np.array([1.0]), 0.0)
    # P (x axis) = [[2, 1], [1, 1]]; R = 1 → S = 3, K = [2/3, 1/3]
    new_states, new_covs = kalman.update(
        states, covs, np.array([[3.0, 0.0]]), np.eye(2)[np.newaxis], kalman.H_POSITION
    )
    assert np.allclose(new_states[0], [2.0, 0.0, 1.0, 0.0])
    # P⁺ = P - K S K' = [[2 - 4/3, 1 - 2/3], [1 - 2/3, 1 - 1/3]]
    assert np.allclose(new_covs[0][np.ix_([0, 2], [0, 2])], [[2 / 3, 1 / 3], [1 / 3, 2 / 3]])
    assert np.allclose(new_covs, np.swapaxes(new_covs, 1, 2))


def test_position_and_velocity_update_and_innovation() -> None:
    states = np.array([[0.0, 0.0, 0.0, 0.0]])
    covariances = np.eye(4)[np.newaxis]
    z = np.array([[1.0, 1.0, 2.0, 2.0]])
    noise = np.eye(4)[np.newaxis] * 3.0
    y, s = kalman.innovation(states, covariances, z, noise, kalman.H_POSITION_VELOCITY)
    assert np.allclose(y, z) and np.allclose(s[0], 4.0 * np.eye(4))
    new_states, _ = kalman.update(states, covariances, z, noise, kalman.H_POSITION_VELOCITY)
    assert np.allclose(new_states, z / 4.0)  # K = 1 / (1 + 3)


def random_covariances(rng: np.random.Generator, count: int) -> np.ndarray:
    a = rng.normal(size=(count, 4, 4))
    return a @ np.swapaxes(a, 1, 2) + 0.1 * np.eye(4)


def test_closed_form_predict_is_f_p_ft_plus_q_for_any_step() -> None:
    rng = np.random.default_rng(2)
    states, covariances = rng.normal(size=(50, 4)), random_covariances(rng, 50)
    dt_s = rng.uniform(-0.5, 0.5, 50)  # negative: the backward prediction of retrodiction
    f = kalman.transition(dt_s)
    expected = f @ covariances @ np.swapaxes(f, 1, 2) + kalman.process_noise(dt_s, 3.0)
    new_states, new_covs = kalman.predict(states, covariances, dt_s, 3.0)
    assert np.allclose(new_covs, expected, rtol=1e-12, atol=1e-12)
    assert np.allclose(new_states, np.einsum("nij,nj->ni", f, states))


def test_closed_form_full_state_update_equals_the_joseph_form() -> None:
    rng = np.random.default_rng(3)
    states, covariances = rng.normal(size=(40, 4)), random_covariances(rng, 40)
    z, r = rng.normal(size=(40, 4)), rng.uniform(0.01, 3.0, (40, 4))
    noise = np.zeros((40, 4, 4))
    noise[:, np.arange(4), np.arange(4)] = r
    expected_states, expected_covs = kalman.update(states, covariances, z, noise, kalman.H_POSITION_VELOCITY)
    new_states, new_covs = kalman.update_position_velocity(states, covariances, z, r)
    assert np.allclose(new_states, expected_states, rtol=1e-10, atol=1e-12)
    assert np.allclose(new_covs, expected_covs, rtol=1e-10, atol=1e-12)
    assert np.array_equal(new_covs, np.swapaxes(new_covs, 1, 2))  # symmetric by construction


def test_block_inverse_of_symmetric_4x4() -> None:
    covariances = random_covariances(np.random.default_rng(4), 30)
    assert np.allclose(kalman.inverse_symmetric4(covariances) @ covariances, np.eye(4), atol=1e-9)
