"""Verify a device-signed ISO 18013-5 DeviceResponse with independent implementations.

usage: python3 verify_device_response.py RESPONSE.cbor ROOT.pem TRANSCRIPT.cbor EXPECTED_ITEMS

- pymdoccbor (PyPI) checks the issuer part: the issuer signature chaining to ROOT and every
  disclosed item's digest against the MSO; it parses but does not check deviceSigned.
- pycose (PyPI, pymdoccbor's COSE library) and cbor2 then check the device signature
  (ISO 18013-5 §9.1.3.6): the COSE_Sign1 `deviceSignature` with its detached payload set to
  DeviceAuthenticationBytes = #6.24(bstr .cbor ["DeviceAuthentication", SessionTranscript,
  docType, DeviceNameSpacesBytes]) (§9.1.3.4), built here from TRANSCRIPT, under the device
  key of the MSO's deviceKeyInfo.

Exits 0 and prints the disclosed claims as JSON if both pass; exits non-zero naming the part
that failed otherwise.
"""
import json
import sys

import cbor2
from cryptography import x509
from pycose.keys.ec2 import EC2Key
from pycose.messages import Sign1Message
from pymdoccbor.mdoc.verifier import MdocCbor

resp_path, root_path, transcript_path, expected = sys.argv[1:5]
expected = int(expected)
raw = open(resp_path, "rb").read()
root = x509.load_pem_x509_certificate(open(root_path, "rb").read())

# The issuer part, by pymdoccbor.
m = MdocCbor()
m.loads(raw)
ok = m.verify(trusted_root_certs=[root], verify_hashes=True)
if not ok or len(m.documents) != 1:
    sys.exit(f"issuer: pymdoccbor rejected the response: valid={ok} invalid={m.documents_invalid}")
h = m.documents[0].hash_verification
if h["total"] != expected or h["verified"] != expected:
    sys.exit(f"issuer: digests: {h}")
mso = m.documents[0].issuersigned.issuer_auth.payload_as_dict

# The device part, by pycose over bytes built here.
resp = cbor2.loads(raw)
doc = resp["documents"][0]
device_signed = doc["deviceSigned"]
ns_bytes = device_signed["nameSpaces"]
if not (isinstance(ns_bytes, cbor2.CBORTag) and ns_bytes.tag == 24):
    sys.exit("device: nameSpaces is not DeviceNameSpacesBytes (tag 24)")
transcript = cbor2.loads(open(transcript_path, "rb").read())
device_authentication = ["DeviceAuthentication", transcript, doc["docType"], ns_bytes]
payload = cbor2.dumps(cbor2.CBORTag(24, cbor2.dumps(device_authentication)))
sig = device_signed["deviceAuth"]["deviceSignature"]
msg = Sign1Message.from_cose_obj(sig, allow_unknown_attributes=False)
if msg.payload is not None:
    sys.exit("device: deviceSignature payload is not detached")
msg.payload = payload
msg.key = EC2Key.from_dict(mso["deviceKeyInfo"]["deviceKey"])
if not msg.verify_signature():
    sys.exit("device: deviceSignature does not verify over the session transcript")

print(json.dumps({
    "docType": mso["docType"],
    "claims": m.disclosure_map,
    "deviceSignature": "verified",
}, default=lambda v: v.hex() if isinstance(v, bytes) else str(v), ensure_ascii=False, sort_keys=True))
