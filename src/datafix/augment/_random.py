"""Random numbers for batch augmentation, drawn on the batch's device in one call per transform.

Two sources share one interface. A ``torch.Generator`` (or a seed, which makes one generator per
device) gives the usual stream: a batch's draws depend on the batches before it. Keyed draws hash
(seed, epoch, sample id, transform, slot) with a counter-based integer hash, so a sample's
augmentation depends on nothing but its own key: the same in any batch, worker or rank.

The hash works on int64 tensors holding 32-bit values, with multipliers below 2**31, so no product
overflows; every step is an elementwise kernel, so nothing waits on the device.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.utils.data
from torch import Tensor

_MASK = 0xFFFFFFFF
_MULTIPLIERS = (0x7FEB352D, 0x2C1B3C6D, 0x297A2D39)


def _mix(x: Tensor) -> Tensor:
    """A 32-bit integer finaliser (three xor-shift-multiply rounds) on int64 tensors."""
    for mult in _MULTIPLIERS:
        x = x ^ (x >> 16)
        x = (x * mult) & _MASK  # x < 2**32 and mult < 2**31: no int64 overflow
    return x ^ (x >> 15)


def _mix_int(value: int) -> int:
    """The same finaliser on a Python int (for the scalar part of a key)."""
    x = value & _MASK
    for mult in _MULTIPLIERS:
        x ^= x >> 16
        x = (x * mult) & _MASK
    return x ^ (x >> 15)


def scalar_key(*parts: int) -> int:
    """One 32-bit key from several ints (seed, epoch, transform index)."""
    h = 0x9E3779B9
    for part in parts:
        h = _mix_int(h ^ _mix_int(part & _MASK) ^ _mix_int((part >> 32) & _MASK))
    return h


def keyed_hash(sample_ids: Tensor, key: int) -> Tensor:
    """One 32-bit hash per sample id (int64 tensor), a pure function of (id, key)."""
    ids = sample_ids.to(torch.int64)
    h = _mix((ids & _MASK) ^ key)
    return _mix(h ^ ((ids >> 32) & _MASK))


def keyed_uniform(sample_ids: Tensor, key: int, n: int) -> Tensor:
    """Uniforms in [0, 1), shape ``(len(sample_ids), n)``, a pure function of (ids, key, slot).

    Examples
    --------
    >>> import torch
    >>> ids = torch.tensor([3, 7, 3])
    >>> u = keyed_uniform(ids, key=scalar_key(0, 1), n=2)
    >>> u.shape, bool(torch.equal(u[0], u[2])), bool((u >= 0).all() and (u < 1).all())
    (torch.Size([3, 2]), True, True)
    """
    h = _mix(keyed_hash(sample_ids, key)[:, None] ^ _slot_hashes(n, str(sample_ids.device))[None, :])
    return (h >> 8).to(torch.float32) * (1.0 / (1 << 24))


@functools.lru_cache(maxsize=64)
def _slot_hashes(n: int, device: str) -> Tensor:
    """The mixed slot numbers 0 .. n - 1 (the same for every draw: made once per device)."""
    return torch.tensor([_mix_int((slot * 0x61C88647 + 0x68E31DA4) & _MASK) for slot in range(n)],
                        dtype=torch.int64, device=device)


def normal_from_uniform(u1: Tensor, u2: Tensor) -> Tensor:
    """Standard normals from two uniforms in [0, 1) (Box-Muller)."""
    radius = torch.sqrt(-2.0 * torch.log1p(-u1))
    return radius * torch.cos((2.0 * math.pi) * u2)


GAMMA_ROUNDS = 6
GAMMA_SLOTS = 3 * GAMMA_ROUNDS + 1


def gamma_from_uniform(shape: float, u: Tensor) -> Tensor:
    """Gamma(shape, 1) draws from ``GAMMA_SLOTS`` uniforms per draw (last dim of ``u``).

    Marsaglia and Tsang's method with a fixed number of proposal rounds run side by side (the
    chance that all six are rejected is below 1e-8 for any shape; such a draw takes the mean);
    shapes below 1 use the boost Gamma(a) = Gamma(a + 1) * U ** (1 / a).
    """
    a = shape + 1.0 if shape < 1.0 else shape
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    out = torch.full(u.shape[:-1], d, dtype=torch.float32, device=u.device)
    done = torch.zeros(u.shape[:-1], dtype=torch.bool, device=u.device)
    for r in reversed(range(GAMMA_ROUNDS)):  # the first accepted round wins
        z = normal_from_uniform(u[..., 3 * r], u[..., 3 * r + 1])
        v = (1.0 + c * z) ** 3
        accept_u = u[..., 3 * r + 2].clamp_min(1e-12)
        ok = (v > 0) & (torch.log(accept_u) < 0.5 * z * z + d - d * v + d * torch.log(v.clamp_min(1e-12)))
        out = torch.where(ok, d * v, out)
        done = done | ok
    if shape < 1.0:
        out = out * u[..., -1].clamp_min(1e-12) ** (1.0 / shape)
    return out


def beta_from_uniform(alpha: float, beta: float, u: Tensor) -> Tensor:
    """Beta(alpha, beta) draws from ``2 * GAMMA_SLOTS`` uniforms per draw (last dim of ``u``)."""
    x = gamma_from_uniform(alpha, u[..., :GAMMA_SLOTS])
    y = gamma_from_uniform(beta, u[..., GAMMA_SLOTS:])
    return x / (x + y).clamp_min(1e-30)


#: Keys of unkeyed calls start here, above any epoch, so they never meet a keyed draw's key.
CALL_KEYS = 1 << 40


class RandomSource:
    """Where a batch transform's random numbers come from.

    A :class:`~datafix.augment.Compose` keys every draw: a call with ``sample_ids`` on (seed,
    epoch, id), a call without them on (seed, :meth:`call_key`, position in the batch). So the
    torch path and the fused kernel (which draws inside the kernel) compute the same numbers.

    Parameters
    ----------
    seed : int or None
        Seeds one ``torch.Generator`` per device (made on first use) and keys the keyed draws.
    generator : torch.Generator or None
        Used as it is (its stream advances); draws happen on its device and move to the batch's.
    """

    def __init__(self, seed: int | None = None, generator: torch.Generator | None = None) -> None:
        self.seed = seed
        self.generator = generator
        self._per_device: dict[str, torch.Generator] = {}
        self._calls = 0

    def call_key(self) -> int:
        """A fresh key for one call without ``sample_ids``: the seed's next call number, a draw from
        ``generator`` (one host synchronisation when it is a CUDA generator) or from torch's global
        generator. Seeded pipelines need no torch operation for it. Inside a DataLoader worker the
        worker's id is part of the key, so workers holding copies of one pipeline draw differently
        (torch's global generator is seeded per worker already)."""
        info = torch.utils.data.get_worker_info()
        worker = 0 if info is None else info.id + 1
        if self.generator is not None:
            drawn = torch.randint(0, 1 << 40, (1,), generator=self.generator, device=self.generator.device)
            return CALL_KEYS + int(drawn.item()) + (worker << 48)
        if self.seed is not None:
            self._calls += 1
            return CALL_KEYS + self._calls + (worker << 48)
        return CALL_KEYS + int(torch.randint(0, 1 << 40, (1,)).item())

    def _generator_for(self, device: torch.device) -> torch.Generator | None:
        if self.generator is not None:
            return self.generator
        if self.seed is None:
            return None
        name = str(device)
        if name not in self._per_device:
            self._per_device[name] = torch.Generator(device=device).manual_seed(self.seed)
        return self._per_device[name]

    def uniform(self, batch: int, n: int, device: torch.device, *, key: int,
                sample_ids: Tensor | None, epoch: int) -> Tensor:
        """``(batch, n)`` uniforms on ``device``: keyed when ``sample_ids`` is given."""
        if sample_ids is not None:
            return keyed_uniform(sample_ids, scalar_key(self.seed or 0, epoch, key), n)
        gen = self._generator_for(device)
        if gen is not None and gen.device.type != torch.device(device).type:
            return torch.rand((batch, n), generator=gen, device=gen.device).to(device, non_blocking=True)
        return torch.rand((batch, n), generator=gen, device=device)

    def normal(self, shape: tuple[int, ...], device: torch.device, *, key: int,
               sample_ids: Tensor | None, epoch: int) -> Tensor:
        """Standard normals of ``shape`` (first dim = batch), per element."""
        if sample_ids is not None:
            sample_key = keyed_hash(sample_ids, scalar_key(self.seed or 0, epoch, key))
            cells = torch.arange(math.prod(shape[1:]), device=device, dtype=torch.int64)
            h = _mix((cells[None, :] * 0x2545F491 & _MASK) ^ sample_key[:, None])
            h2 = _mix(h ^ 0x5BD1E995)
            u1 = (h >> 8).to(torch.float32) * (1.0 / (1 << 24))
            u2 = (h2 >> 8).to(torch.float32) * (1.0 / (1 << 24))
            return normal_from_uniform(u1, u2).reshape(shape)
        gen = self._generator_for(device)
        if gen is not None and gen.device.type != torch.device(device).type:
            return torch.randn(shape, generator=gen, device=gen.device).to(device, non_blocking=True)
        return torch.randn(shape, generator=gen, device=device)
