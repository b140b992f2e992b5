"""all-MiniLM-L6-v2 in plain numpy: a BERT forward pass (6 layers, 384 dims, mean pooling) in
float32 over the weights of the package's ``model.safetensors``, read without torch. The engine
for a process without llama.cpp (see ``bert_llama``); its results are the reference the other
engine is tested against."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .bert import BertText, Weights

# Abramowitz & Stegun 7.1.26: |error| < 1.5e-7, i.e. float32 round-off level.
_ERF_P = np.float32(0.3275911)
_ERF_A1, _ERF_A2, _ERF_A3, _ERF_A4, _ERF_A5 = (
    np.float32(c)
    for c in (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)
)
_SQRT_HALF = np.float32(0.7071067811865476)


def _gelu_(x: np.ndarray) -> np.ndarray:
    """GELU, exact erf form (BERT's ``hidden_act = "gelu"``), computed in place.

    x * 0.5 * (1 + erf(x / sqrt 2)); numpy has no erf, so it is evaluated with
    A&S 7.1.26 (error below float32 resolution). ``x`` is overwritten.
    """
    z = x * _SQRT_HALF
    a = np.abs(z)
    t = a * _ERF_P
    t += 1.0
    np.reciprocal(t, out=t)
    y = t * _ERF_A5
    for coef in (_ERF_A4, _ERF_A3, _ERF_A2, _ERF_A1):
        y += coef
        y *= t
    np.square(a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    y *= a                       # poly(t) * exp(-z^2)
    np.subtract(1.0, y, out=y)   # erf(|z|)
    np.copysign(y, z, out=y)     # erf(z)
    y += 1.0
    x *= y
    x *= 0.5
    return x


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = np.mean(np.square(centred), axis=-1, keepdims=True)
    centred /= np.sqrt(var + np.float32(eps))
    centred *= weight
    centred += bias
    return centred


class _Layer:
    __slots__ = (
        "w_qkv", "b_qkv", "w_attn_out", "b_attn_out", "ln1_w", "ln1_b",
        "w_in", "b_in", "w_out", "b_out", "ln2_w", "ln2_b",
    )


class NumpyBert(BertText):
    """all-MiniLM-L6-v2 (a 6-layer BERT) with mean pooling, in numpy float32."""

    ENGINE = "numpy"

    def __init__(self, model_dir: Path) -> None:
        super().__init__(model_dir)
        weights = Weights(model_dir / "model.safetensors")
        prefix = "bert." if "bert.embeddings.word_embeddings.weight" in weights.names() else ""

        def vec(name: str) -> np.ndarray:
            return weights.read(prefix + name)

        def linear(name: str) -> np.ndarray:
            return weights.linear(prefix + name)

        # The 47 MB word-embedding table stays a view of the map: only the
        # rows of tokens actually seen are ever read.
        self.word = weights.mapped(prefix + "embeddings.word_embeddings.weight")
        self.pos = vec("embeddings.position_embeddings.weight")
        self.type = vec("embeddings.token_type_embeddings.weight")
        self.emb_ln_w = vec("embeddings.LayerNorm.weight")
        self.emb_ln_b = vec("embeddings.LayerNorm.bias")
        self.layers: list[_Layer] = []
        for i in range(self.n_layers):
            p = f"encoder.layer.{i}."
            layer = _Layer()
            layer.w_qkv = np.concatenate([
                linear(p + "attention.self.query.weight"),
                linear(p + "attention.self.key.weight"),
                linear(p + "attention.self.value.weight"),
            ], axis=1)
            layer.b_qkv = np.concatenate([
                vec(p + "attention.self.query.bias"),
                vec(p + "attention.self.key.bias"),
                vec(p + "attention.self.value.bias"),
            ])
            layer.w_attn_out = linear(p + "attention.output.dense.weight")
            layer.b_attn_out = vec(p + "attention.output.dense.bias")
            layer.ln1_w = vec(p + "attention.output.LayerNorm.weight")
            layer.ln1_b = vec(p + "attention.output.LayerNorm.bias")
            layer.w_in = linear(p + "intermediate.dense.weight")
            layer.b_in = vec(p + "intermediate.dense.bias")
            layer.w_out = linear(p + "output.dense.weight")
            layer.b_out = vec(p + "output.dense.bias")
            layer.ln2_w = vec(p + "output.LayerNorm.weight")
            layer.ln2_b = vec(p + "output.LayerNorm.bias")
            self.layers.append(layer)
        if self.word.shape[1] != self.hidden:
            raise RuntimeError("word embeddings do not match hidden_size")

    def _forward(self, ids: np.ndarray, mask: np.ndarray, type_ids: np.ndarray) -> np.ndarray:
        """(B, L) int arrays -> (B, hidden) L2-normalised mean-pooled vectors."""
        b, length = ids.shape
        h, d, hd = self.heads, self.hidden, self.head_dim
        x = self.word[ids] + self.pos[:length][None, :, :] + self.type[type_ids]
        x = _layer_norm(x, self.emb_ln_w, self.emb_ln_b, self.eps).reshape(b * length, d)
        # Additive attention mask over keys, as in BERT: 0 keep, large negative drop.
        keep = mask.astype(np.float32)
        bias = ((np.float32(1.0) - keep) * np.float32(-1e30))[:, None, None, :]
        scale = np.float32(1.0 / np.sqrt(hd))
        for layer in self.layers:
            qkv = x @ layer.w_qkv
            qkv += layer.b_qkv
            qkv = qkv.reshape(b, length, 3, h, hd)
            q = qkv[:, :, 0].transpose(0, 2, 1, 3)  # (B, H, L, hd)
            k = qkv[:, :, 1].transpose(0, 2, 3, 1)  # (B, H, hd, L)
            v = qkv[:, :, 2].transpose(0, 2, 1, 3)  # (B, H, L, hd)
            scores = q @ k  # (B, H, L, L)
            scores *= scale
            scores += bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(b * length, d)
            del scores, qkv, q, k, v
            attn = ctx @ layer.w_attn_out
            attn += layer.b_attn_out
            attn += x
            x = _layer_norm(attn, layer.ln1_w, layer.ln1_b, self.eps)
            inter = x @ layer.w_in
            inter += layer.b_in
            out = _gelu_(inter) @ layer.w_out
            del inter
            out += layer.b_out
            out += x
            x = _layer_norm(out, layer.ln2_w, layer.ln2_b, self.eps)
        x = x.reshape(b, length, d)
        pooled = np.einsum("bld,bl->bd", x, keep) / np.maximum(
            keep.sum(axis=1, keepdims=True), np.float32(1e-9))
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), np.float32(1e-12))
        return (pooled / norms).astype(np.float32, copy=False)
