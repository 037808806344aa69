#!/usr/bin/env python3
"""Writes a Whisper model in CTranslate2 format as a whisper.cpp ggml file, with numpy only.

Usage: convert-whisper.py CT2_MODEL_DIR OPENAI_WHISPER_ASSETS_DIR OUTPUT

The CTranslate2 file (model.bin, format version 6) holds named arrays; whisper.cpp wants
OpenAI's tensor names, separate query/key/value projections (CTranslate2 fuses them, with a
zero bias for the key, which Whisper does not have), the mel filter bank and the GPT-2 byte
vocabulary (both from openai-whisper's assets). Weight matrices stay float16; biases, norms,
positional embeddings and the convolution biases are float32, as whisper.cpp allocates them.
"""

import base64
import struct
import sys
from pathlib import Path

import numpy as np

CT2_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}


def read_ct2(path):
    """The arrays of a CTranslate2 model.bin by name, aliases resolved."""
    data = Path(path).read_bytes()
    pos = 0

    def take(fmt):
        nonlocal pos
        values = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return values

    def text():
        nonlocal pos
        (length,) = take("H")
        value = data[pos : pos + length - 1].decode()
        pos += length
        return value

    (version,) = take("I")
    if version != 6:
        sys.exit(f"unsupported CTranslate2 format version {version} (this converter reads 6)")
    spec = text()
    if spec != "WhisperSpec":
        sys.exit(f"not a Whisper model: {spec}")
    take("I")  # revision
    (count,) = take("I")
    arrays = {}
    for _ in range(count):
        name = text()
        (rank,) = take("B")
        shape = take("I" * rank) if rank else ()
        (dtype,) = take("B")
        (size,) = take("I")
        if dtype not in CT2_DTYPES:
            sys.exit(f"{name}: unsupported CTranslate2 data type {dtype} (quantised models are not handled)")
        array = np.frombuffer(data, dtype=CT2_DTYPES[dtype], count=size // np.dtype(CT2_DTYPES[dtype]).itemsize, offset=pos)
        arrays[name] = array.reshape(shape)
        pos += size
    (aliases,) = take("I")
    for _ in range(aliases):
        alias, target = text(), text()
        arrays[alias] = arrays[target]
    return arrays


def split3(weight, bias):
    q, k, v = np.split(weight, 3, axis=0)
    qb, kb, vb = np.split(bias, 3)
    if np.abs(kb.astype(np.float32)).max() > 1e-6:
        sys.exit("the fused key bias is not zero: this is not the layout this converter knows")
    return (q, qb), k, (v, vb)


def tensors(ct2):
    """(name, array) in whisper.cpp's names."""
    out = []
    def layers(side):
        return 1 + max(int(n.split("/")[1][6:]) for n in ct2 if n.startswith(side + "/layer_") and n.split("/")[1][6:].isdigit())

    enc_layers, dec_layers = layers("encoder"), layers("decoder")

    def norm(src, dst):
        out.append((dst + ".weight", ct2[src + "/gamma"]))
        out.append((dst + ".bias", ct2[src + "/beta"]))

    def linear(src, dst, bias=True):
        out.append((dst + ".weight", ct2[src + "/weight"]))
        if bias:
            out.append((dst + ".bias", ct2[src + "/bias"]))

    def self_attention(src, dst):
        (q, qb), k, (v, vb) = split3(ct2[src + "/linear_0/weight"], ct2[src + "/linear_0/bias"])
        out.extend([(dst + ".query.weight", q), (dst + ".query.bias", qb), (dst + ".key.weight", k)])
        out.extend([(dst + ".value.weight", v), (dst + ".value.bias", vb)])
        linear(src + "/linear_1", dst + ".out")

    out.append(("encoder.positional_embedding", ct2["encoder/position_encodings/encodings"]))
    for i in (1, 2):
        out.append((f"encoder.conv{i}.weight", ct2[f"encoder/conv{i}/weight"]))
        out.append((f"encoder.conv{i}.bias", ct2[f"encoder/conv{i}/bias"].reshape(-1, 1)))
    for i in range(enc_layers):
        src, dst = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        norm(src + "/self_attention/layer_norm", dst + ".attn_ln")
        self_attention(src + "/self_attention", dst + ".attn")
        norm(src + "/ffn/layer_norm", dst + ".mlp_ln")
        linear(src + "/ffn/linear_0", dst + ".mlp.0")
        linear(src + "/ffn/linear_1", dst + ".mlp.2")
    norm("encoder/layer_norm", "encoder.ln_post")

    out.append(("decoder.positional_embedding", ct2["decoder/position_encodings/encodings"]))
    out.append(("decoder.token_embedding.weight", ct2["decoder/embeddings/weight"]))
    for i in range(dec_layers):
        src, dst = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        norm(src + "/self_attention/layer_norm", dst + ".attn_ln")
        self_attention(src + "/self_attention", dst + ".attn")
        norm(src + "/attention/layer_norm", dst + ".cross_attn_ln")
        linear(src + "/attention/linear_0", dst + ".cross_attn.query")
        k, v = np.split(ct2[src + "/attention/linear_1/weight"], 2, axis=0)
        _, vb = np.split(ct2[src + "/attention/linear_1/bias"], 2)
        out.extend([(dst + ".cross_attn.key.weight", k), (dst + ".cross_attn.value.weight", v), (dst + ".cross_attn.value.bias", vb)])
        linear(src + "/attention/linear_2", dst + ".cross_attn.out")
        norm(src + "/ffn/layer_norm", dst + ".mlp_ln")
        linear(src + "/ffn/linear_0", dst + ".mlp.0")
        linear(src + "/ffn/linear_1", dst + ".mlp.2")
    norm("decoder/layer_norm", "decoder.ln")
    return out, enc_layers, dec_layers


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    model_dir, assets, output = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    ct2 = read_ct2(model_dir / "model.bin")
    named, enc_layers, dec_layers = tensors(ct2)
    n_vocab, n_text_state = ct2["decoder/embeddings/weight"].shape
    n_audio_ctx, n_audio_state = ct2["encoder/position_encodings/encodings"].shape
    n_text_ctx = ct2["decoder/position_encodings/encodings"].shape[0]
    n_mels = ct2["encoder/conv1/weight"].shape[1]
    multilingual = n_vocab >= 51865
    filters = np.load(assets / "mel_filters.npz")[f"mel_{n_mels}"].astype(np.float32)
    vocabulary = assets / ("multilingual.tiktoken" if multilingual else "gpt2.tiktoken")
    tokens = [base64.b64decode(line.split()[0]) for line in vocabulary.read_text().splitlines() if line]

    with open(output, "wb") as f:
        f.write(struct.pack("<I", 0x67676D6C))
        hparams = [n_vocab, n_audio_ctx, n_audio_state, int(ct2["encoder/num_heads"]), enc_layers, n_text_ctx, n_text_state]
        hparams += [int(ct2["decoder/num_heads"]), dec_layers, n_mels, 1]
        f.write(struct.pack("<" + "i" * len(hparams), *hparams))
        f.write(struct.pack("<ii", *filters.shape))
        f.write(filters.tobytes())
        f.write(struct.pack("<i", len(tokens)))
        for token in tokens:
            f.write(struct.pack("<i", len(token)))
            f.write(token)
        for name, array in named:
            small = array.ndim < 2 or name.endswith("conv1.bias") or name.endswith("conv2.bias") or "positional_embedding" in name
            array = np.ascontiguousarray(array.astype(np.float32 if small else np.float16))
            encoded = name.encode()
            f.write(struct.pack("<iii", array.ndim, len(encoded), 0 if small else 1))
            f.write(struct.pack("<" + "i" * array.ndim, *reversed(array.shape)))
            f.write(encoded)
            f.write(array.tobytes())


if __name__ == "__main__":
    main()
