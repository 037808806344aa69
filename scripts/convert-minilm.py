#!/usr/bin/env python3
"""Converts all-MiniLM-L6-v2 (sentence-transformers, safetensors) to a GGUF file that
llama.cpp's BERT architecture loads, without torch: the safetensors file is parsed with
numpy, and the GGUF is written with the gguf package that ships in llama.cpp's source.

It also writes a reference file: a few sentences, their WordPiece token ids and their
sentence embeddings (mean pooling, L2-normalised, as sentence-transformers computes
them) from a plain numpy forward pass over the same weights. Anima's tests compare the
llama.cpp embeddings of the GGUF against it.

usage: convert-minilm.py MODEL_DIR OUT.gguf OUT.reference.json GGUF_PY_DIR
"""

import json
import math
import struct
import sys
import unicodedata

import numpy as np

REFERENCE_SENTENCES = [
    "My flight to Lisbon leaves on the third of May.",
    "The quick brown fox jumps over the lazy dog.",
    "Héllo, WORLD! Naïve café-style tokenization: don't split 3.14 wrongly?",
]

# Hugging Face BERT tensor names -> llama.cpp's BERT tensor names (src/llama-arch.cpp).
GLOBAL_NAMES = {
    "embeddings.word_embeddings.weight": "token_embd.weight",
    "embeddings.token_type_embeddings.weight": "token_types.weight",
    "embeddings.position_embeddings.weight": "position_embd.weight",
    "embeddings.LayerNorm.weight": "token_embd_norm.weight",
    "embeddings.LayerNorm.bias": "token_embd_norm.bias",
}
LAYER_NAMES = {
    "attention.self.query": "attn_q",
    "attention.self.key": "attn_k",
    "attention.self.value": "attn_v",
    "attention.output.dense": "attn_output",
    "attention.output.LayerNorm": "attn_output_norm",
    "intermediate.dense": "ffn_up",
    "output.dense": "ffn_down",
    "output.LayerNorm": "layer_output_norm",
}
SKIPPED = {"embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias"}


def read_safetensors(path):
    """name -> numpy array, from the documented layout: u64 header size, JSON header,
    then raw little-endian tensor data at the header's offsets."""
    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "BF16": None}
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = dtypes.get(info["dtype"])
        if dtype is None:
            raise SystemExit(f"unsupported tensor type {info['dtype']} for {name}")
        start, end = info["data_offsets"]
        tensors[name] = np.frombuffer(data[start:end], dtype=dtype).reshape(info["shape"])
    return tensors


def gguf_name(name):
    if name in GLOBAL_NAMES:
        return GLOBAL_NAMES[name]
    parts = name.split(".")
    if parts[0] == "encoder" and parts[1] == "layer":
        block, rest, kind = parts[2], ".".join(parts[3:-1]), parts[-1]
        if rest in LAYER_NAMES:
            return f"blk.{block}.{LAYER_NAMES[rest]}.{kind}"
    raise SystemExit(f"no GGUF name for tensor {name}; is this a BERT model?")


# --- WordPiece, as BERT's uncased tokenizer specifies it ---------------------------


def is_punctuation(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def basic_tokens(text):
    cleaned = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or (unicodedata.category(ch).startswith("C") and ch not in "\t\n\r"):
            continue
        if is_cjk(cp):
            cleaned.append(f" {ch} ")
        elif ch.isspace():
            cleaned.append(" ")
        else:
            cleaned.append(ch)
    words = []
    for word in "".join(cleaned).split():
        word = unicodedata.normalize("NFD", word.lower())
        word = "".join(c for c in word if unicodedata.category(c) != "Mn")
        current = ""
        for ch in word:
            if is_punctuation(ch):
                if current:
                    words.append(current)
                words.append(ch)
                current = ""
            else:
                current += ch
        if current:
            words.append(current)
    return words


def wordpiece(text, vocab):
    ids = [vocab["[CLS]"]]
    for word in basic_tokens(text):
        if len(word) > 100:
            ids.append(vocab["[UNK]"])
            continue
        pieces, start = [], 0
        while start < len(word):
            end, found = len(word), None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in vocab:
                    found = vocab[piece]
                    break
                end -= 1
            if found is None:
                pieces = [vocab["[UNK]"]]
                break
            pieces.append(found)
            start = end
        ids.extend(pieces)
    ids.append(vocab["[SEP]"])
    return ids


# --- the reference forward pass --------------------------------------------------------


def layer_norm(x, weight, bias, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


erf = np.frompyfunc(math.erf, 1, 1)


def gelu(x):
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)).astype(np.float64))


def embed(ids, t, config):
    heads = config["num_attention_heads"]
    eps = config["layer_norm_eps"]
    w = {k: v.astype(np.float64) for k, v in t.items() if v.dtype != np.int64}
    n = len(ids)
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n] \
        + w["embeddings.token_type_embeddings.weight"][0]
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    hidden = x.shape[1]
    d = hidden // heads
    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}."

        def linear(v, name):
            return v @ w[p + name + ".weight"].T + w[p + name + ".bias"]

        q = linear(x, "attention.self.query").reshape(n, heads, d).transpose(1, 0, 2)
        k = linear(x, "attention.self.key").reshape(n, heads, d).transpose(1, 0, 2)
        v = linear(x, "attention.self.value").reshape(n, heads, d).transpose(1, 0, 2)
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(d)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        scores /= scores.sum(-1, keepdims=True)
        context = (scores @ v).transpose(1, 0, 2).reshape(n, hidden)
        x = layer_norm(x + linear(context, "attention.output.dense"),
                       w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], eps)
        ff = linear(gelu(linear(x, "intermediate.dense")), "output.dense")
        x = layer_norm(x + ff, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
    pooled = x.mean(0)
    return pooled / np.linalg.norm(pooled)


def main():
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    model_dir, out_path, reference_path, gguf_py = sys.argv[1:]
    sys.path.insert(0, gguf_py)
    import gguf

    config = json.load(open(f"{model_dir}/config.json"))
    pooling = json.load(open(f"{model_dir}/1_Pooling/config.json"))
    if config.get("model_type") != "bert" or not pooling.get("pooling_mode_mean_tokens"):
        raise SystemExit("expected a BERT model with mean pooling (sentence-transformers all-MiniLM-L6-v2)")
    tokenizer = json.load(open(f"{model_dir}/tokenizer.json"))
    vocab_list = [line.rstrip("\n") for line in open(f"{model_dir}/vocab.txt", encoding="utf-8")]
    vocab = {token: i for i, token in enumerate(vocab_list)}
    special = {a["id"] for a in tokenizer["added_tokens"] if a["special"]}
    tensors = read_safetensors(f"{model_dir}/model.safetensors")

    writer = gguf.GGUFWriter(out_path + ".tmp", "bert")
    writer.add_name("all-MiniLM-L6-v2")
    writer.add_context_length(config["max_position_embeddings"])
    writer.add_embedding_length(config["hidden_size"])
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_block_count(config["num_hidden_layers"])
    writer.add_head_count(config["num_attention_heads"])
    writer.add_layer_norm_eps(config["layer_norm_eps"])
    writer.add_causal_attention(False)
    writer.add_pooling_type(gguf.PoolingType.MEAN)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)

    # llama.cpp's WordPiece reads word starts marked with U+2581 and continuations bare.
    types = [gguf.TokenType.CONTROL if i in special else gguf.TokenType.NORMAL for i in range(len(vocab_list))]
    tokens = [tok if kind == gguf.TokenType.CONTROL else (tok[2:] if tok.startswith("##") else "\u2581" + tok)
              for tok, kind in zip(vocab_list, types)]
    writer.add_tokenizer_model("bert")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_type_count(config["type_vocab_size"])
    writer.add_unk_token_id(vocab["[UNK]"])
    writer.add_sep_token_id(vocab["[SEP]"])
    writer.add_pad_token_id(vocab["[PAD]"])
    writer.add_cls_token_id(vocab["[CLS]"]) if hasattr(writer, "add_cls_token_id") else None
    writer.add_mask_token_id(vocab["[MASK]"])
    writer.add_bos_token_id(vocab["[CLS]"])

    for name in sorted(tensors):
        if name in SKIPPED:
            continue
        data = tensors[name].astype(np.float32)
        # Matrices that feed matrix multiplications in half precision, as llama.cpp's own
        # converter does; vectors and the tables read by row lookup stay in float32.
        if data.ndim == 2 and name not in ("embeddings.position_embeddings.weight", "embeddings.token_type_embeddings.weight"):
            data = data.astype(np.float16)
        writer.add_tensor(gguf_name(name), data)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    reference = {"sentences": [], "token_ids": [], "embeddings": []}
    for sentence in REFERENCE_SENTENCES:
        ids = wordpiece(sentence, vocab)
        reference["sentences"].append(sentence)
        reference["token_ids"].append(ids)
        reference["embeddings"].append([round(float(v), 7) for v in embed(ids, tensors, config)])
    with open(reference_path + ".tmp", "w") as f:
        json.dump(reference, f)

    import os
    os.replace(out_path + ".tmp", out_path)
    os.replace(reference_path + ".tmp", reference_path)


if __name__ == "__main__":
    main()
