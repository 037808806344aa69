"""Makes WebAuthn registration and assertion payloads with a software authenticator and
records what py_webauthn (an independent implementation) says about each.

Prints one JSON document: {"cases": [...]}, each case with the payload (base64url), what
the relying party expects, and py_webauthn's verdict. The Swift test verifies the same
payloads with the console's RelyingParty and requires the same verdicts.
"""
import base64, hashlib, json, os, struct, sys

import cbor2
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
import webauthn

RP_ID = "localhost"
ORIGIN = "http://localhost:8420"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Authenticator:
    def __init__(self, alg: int):
        self.alg = alg
        self.key = ec.generate_private_key(ec.SECP256R1()) if alg == -7 else ed25519.Ed25519PrivateKey.generate()
        self.credential_id = os.urandom(16)

    def cose(self) -> bytes:
        if self.alg == -7:
            numbers = self.key.public_key().public_numbers()
            return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}, canonical=True)
        raw = self.key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return cbor2.dumps({1: 1, 3: -8, -1: 6, -2: raw}, canonical=True)

    def sign(self, data: bytes) -> bytes:
        if self.alg == -7:
            return self.key.sign(data, ec.ECDSA(hashes.SHA256()))
        return self.key.sign(data)

    def auth_data(self, rp_id: str, flags: int, count: int, attested: bool) -> bytes:
        out = hashlib.sha256(rp_id.encode()).digest() + bytes([flags | (0x40 if attested else 0)]) + struct.pack(">I", count)
        if attested:
            out += bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id + self.cose()
        return out


def client_data(kind: str, challenge: bytes, origin: str) -> bytes:
    return json.dumps({"type": kind, "challenge": b64(challenge), "origin": origin, "crossOrigin": False}, separators=(",", ":")).encode()


def registration(a, challenge, origin=ORIGIN, rp_id=RP_ID, flags=0x05, fmt="none", kind="webauthn.create", tamper=False):
    client = client_data(kind, challenge, origin)
    auth = a.auth_data(rp_id, flags, 0, True)
    statement = {}
    if fmt == "packed":
        sig = a.sign(auth + hashlib.sha256(client).digest())
        if tamper:
            sig = sig[:-1] + bytes([sig[-1] ^ 1])
        statement = {"alg": a.alg, "sig": sig}
    obj = cbor2.dumps({"fmt": fmt, "attStmt": statement, "authData": auth}, canonical=True)
    return {"id": b64(a.credential_id), "rawId": b64(a.credential_id), "type": "public-key",
            "response": {"clientDataJSON": b64(client), "attestationObject": b64(obj)}}


def assertion(a, challenge, count, origin=ORIGIN, rp_id=RP_ID, flags=0x05, kind="webauthn.get", tamper=False):
    client = client_data(kind, challenge, origin)
    auth = a.auth_data(rp_id, flags, count, False)
    sig = a.sign(auth + hashlib.sha256(client).digest())
    if tamper:
        sig = a.sign(auth + hashlib.sha256(client + b" ").digest())
    return {"id": b64(a.credential_id), "rawId": b64(a.credential_id), "type": "public-key",
            "response": {"clientDataJSON": b64(client), "authenticatorData": b64(auth), "signature": b64(sig), "userHandle": None}}


def main():
    cases = []
    challenge, old = os.urandom(32), os.urandom(32)

    def reg(name, credential, require_uv=True, expected=challenge):
        try:
            webauthn.verify_registration_response(credential=credential, expected_challenge=expected, expected_rp_id=RP_ID,
                                                  expected_origin=ORIGIN, require_user_verification=require_uv)
            verdict = "accept"
        except Exception as error:  # py_webauthn raises its own exception types
            verdict = "reject: " + type(error).__name__
        cases.append({"name": name, "kind": "registration", "credential": credential, "challenge": b64(expected),
                      "requireUV": require_uv, "python": verdict})

    def auth(name, a, credential, stored, require_uv=True, expected=challenge):
        try:
            webauthn.verify_authentication_response(credential=credential, expected_challenge=expected, expected_rp_id=RP_ID,
                                                    expected_origin=ORIGIN, credential_public_key=a.cose(),
                                                    credential_current_sign_count=stored, require_user_verification=require_uv)
            verdict = "accept"
        except Exception as error:
            verdict = "reject: " + type(error).__name__
        cases.append({"name": name, "kind": "assertion", "credential": credential, "challenge": b64(expected),
                      "requireUV": require_uv, "publicKey": b64(a.cose()), "storedSignCount": stored, "python": verdict})

    for alg, label in ((-7, "es256"), (-8, "eddsa")):
        a = Authenticator(alg)
        reg(f"{label} registration", registration(a, challenge))
        reg(f"{label} packed self attestation", registration(a, challenge, fmt="packed"))
        reg(f"{label} packed self attestation, bad signature", registration(a, challenge, fmt="packed", tamper=True))
        reg(f"{label} registration from a wrong origin", registration(a, challenge, origin="http://evil.example"))
        reg(f"{label} registration for a wrong rp id", registration(a, challenge, rp_id="evil.example"))
        reg(f"{label} registration without UV when required", registration(a, challenge, flags=0x01))
        reg(f"{label} registration without UV when not required", registration(a, challenge, flags=0x01), require_uv=False)
        reg(f"{label} registration answering a replayed challenge", registration(a, old))
        reg(f"{label} registration typed as a sign-in", registration(a, challenge, kind="webauthn.get"))
        auth(f"{label} sign-in", a, assertion(a, challenge, 11), 10)
        auth(f"{label} sign-in with a bad signature", a, assertion(a, challenge, 11, tamper=True), 10)
        auth(f"{label} sign-in from a wrong origin", a, assertion(a, challenge, 11, origin="http://evil.example"), 10)
        auth(f"{label} sign-in answering a replayed challenge", a, assertion(a, old, 11), 10)
        auth(f"{label} sign-in with a sign count rolled back", a, assertion(a, challenge, 5), 10)
        auth(f"{label} sign-in with an unchanged sign count", a, assertion(a, challenge, 10), 10)
        auth(f"{label} sign-in without a counter", a, assertion(a, challenge, 0), 0)
        auth(f"{label} sign-in for a wrong rp id", a, assertion(a, challenge, 11, rp_id="evil.example"), 10)
        auth(f"{label} sign-in without UV when required", a, assertion(a, challenge, 11, flags=0x01), 10)
        auth(f"{label} sign-in without user presence", a, assertion(a, challenge, 11, flags=0x04), 10)
        auth(f"{label} sign-in typed as a registration", a, assertion(a, challenge, 11, kind="webauthn.create"), 10)
    json.dump({"origin": ORIGIN, "rpId": RP_ID, "cases": cases}, sys.stdout)


if __name__ == "__main__":
    main()
