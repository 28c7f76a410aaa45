"""The DiT-style ε-predictor of docs/reference.md#denoiser, with the reference's state-dict key
names.

x_t [B, W, F] and integer timesteps t [B] -> predicted noise [B, W, F]:
1x1-conv residual -> bias-free projection -> + sinusoidal positions -> N blocks of
(adaLN-single modulated self-attention, SwiGLU MLP) -> bias-free projection -> 1x1-conv residual.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from smp_gym.prior.config import DenoiserCfg


class _TimestepEmbedder(nn.Module):
    def __init__(self, d: int, channels: int = 256) -> None:
        super().__init__()
        self.linear_1 = nn.Linear(channels, d)
        self.linear_2 = nn.Linear(d, d)
        half = channels // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
        self.register_buffer("freqs", freqs, persistent=False)

    def forward(self, t: Tensor) -> Tensor:
        args = t.float()[:, None] * self.freqs[None, :]
        emb = torch.cat((torch.cos(args), torch.sin(args)), dim=-1)  # cos first
        return self.linear_2(F.silu(self.linear_1(emb)))


class _AdaLnSingle(nn.Module):
    def __init__(self, d: int) -> None:
        super().__init__()
        self.timestep_embedder = _TimestepEmbedder(d)
        self.linear = nn.Linear(d, 6 * d)

    def forward(self, t: Tensor) -> Tensor:
        return self.linear(F.silu(self.timestep_embedder(t)))  # [B, 6D]


class _SwiGluAct(nn.Module):
    def __init__(self, d: int, inner: int) -> None:
        super().__init__()
        self.proj = nn.Linear(d, 2 * inner)

    def forward(self, x: Tensor) -> Tensor:
        a, b = self.proj(x).chunk(2, dim=-1)
        return F.silu(a) * b


class _FeedForward(nn.Module):
    def __init__(self, d: int, dropout: float) -> None:
        super().__init__()
        self.act = _SwiGluAct(d, 4 * d)
        self.drop = nn.Dropout(dropout)
        self.proj_out = nn.Linear(4 * d, d)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj_out(self.drop(self.act(x)))


class _DiTBlock(nn.Module):
    def __init__(self, d: int, nhead: int, dropout: float) -> None:
        super().__init__()
        self.nhead = nhead
        self.scale_shift_table = nn.Parameter(torch.randn(1, 1, 6, d) / d**0.5)
        self.to_q = nn.Linear(d, d, bias=False)
        self.to_k = nn.Linear(d, d, bias=False)
        self.to_v = nn.Linear(d, d, bias=False)
        self.to_out = nn.Linear(d, d, bias=False)
        self.attn_drop = nn.Dropout(dropout)
        self.ff = _FeedForward(d, dropout)

    def _attn(self, x: Tensor) -> Tensor:
        b, n, d = x.shape
        heads = lambda y: y.view(b, n, self.nhead, d // self.nhead).transpose(1, 2)  # noqa: E731
        out = F.scaled_dot_product_attention(
            heads(self.to_q(x)), heads(self.to_k(x)), heads(self.to_v(x))
        )
        return self.attn_drop(self.to_out(out.transpose(1, 2).reshape(b, n, d)))

    def forward(self, x: Tensor, time_hidden: Tensor) -> Tensor:
        d = x.shape[-1]
        mod = self.scale_shift_table + time_hidden.view(-1, 1, 6, d)
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = mod.unbind(2)
        h = torch.addcmul(shift_msa, F.layer_norm(x, (d,), eps=1e-5), 1 + scale_msa)
        x = torch.addcmul(x, gate_msa, self._attn(h))
        h = torch.addcmul(shift_mlp, F.layer_norm(x, (d,), eps=1e-5), 1 + scale_mlp)
        return torch.addcmul(x, gate_mlp, self.ff(h))


def _positional_table(d: int, length: int) -> Tensor:
    pos = torch.arange(length, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10000.0) / d))
    pe = torch.zeros(length, d)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)
    return pe


class Denoiser(nn.Module):
    """ε-predictor. forward(x_t [B, W, F], t [B] long) -> ε̂ [B, W, F]."""

    def __init__(self, cfg: DenoiserCfg) -> None:
        super().__init__()
        self.cfg = cfg
        f, d = cfg.feature_dim, cfg.d_model
        self.preprocess_conv = nn.Conv1d(f, f, 1, bias=False)
        self.proj_in = nn.Linear(f, d, bias=False)
        self.adaln_single = _AdaLnSingle(d)
        self.register_buffer("pe", _positional_table(d, max(cfg.window, 32)), persistent=False)
        self.register_buffer("_eye", torch.eye(f), persistent=False)
        self.blocks = nn.ModuleList(
            _DiTBlock(d, cfg.nhead, cfg.dropout) for _ in range(cfg.num_layers)
        )
        self.proj_out = nn.Linear(d, f, bias=False)
        self.postprocess_conv = nn.Conv1d(f, f, 1, bias=False)

    def forward(self, x: Tensor, t: Tensor, time_hidden: Tensor | None = None) -> Tensor:
        """x [B, W, F], t [B] -> ε̂ [B, W, F]. ``time_hidden`` [B, 6D] may be passed precomputed
        (``time_embedding(t)``) when the same timesteps are scored over and over."""
        eye = self._eye.to(x.dtype)
        x = x @ (self.preprocess_conv.weight.squeeze(-1) + eye).T  # x + conv1x1(x)
        h = self.proj_in(x) + self.pe[: x.shape[1]]
        if time_hidden is None:
            time_hidden = self.adaln_single(t)
        for block in self.blocks:
            h = block(h, time_hidden)
        return (
            self.proj_out(h) @ (self.postprocess_conv.weight.squeeze(-1) + eye).T
        )  # y + conv1x1(y)

    def time_embedding(self, t: Tensor) -> Tensor:
        """The adaLN modulation input for timesteps t. [B] -> [B, 6D]."""
        return self.adaln_single(t)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
