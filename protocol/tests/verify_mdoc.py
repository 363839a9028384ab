"""Verify an mdoc with pymdoccbor, an independent ISO 18013-5 implementation.

usage: python3 verify_mdoc.py MDOC.cbor ROOT.pem EXPECTED_ITEMS
Exits 0 and prints the disclosed claims as JSON if the issuer signature chains to ROOT and
every item's digest matches the MSO; exits non-zero otherwise.
"""
import json
import sys

from cryptography import x509
from pymdoccbor.mdoc.verifier import MdocCbor

mdoc_path, root_path, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])
root = x509.load_pem_x509_certificate(open(root_path, "rb").read())
m = MdocCbor()
m.loads(open(mdoc_path, "rb").read())
ok = m.verify(trusted_root_certs=[root], verify_hashes=True)
if not ok or len(m.documents) != 1:
    sys.exit(f"pymdoccbor rejected the mdoc: valid={ok} invalid={m.documents_invalid}")
h = m.documents[0].hash_verification
if h["total"] != expected or h["verified"] != expected:
    sys.exit(f"digests: {h}")
mso = m.documents[0].issuersigned.issuer_auth.payload_as_dict
print(json.dumps({
    "docType": mso["docType"],
    "claims": m.disclosure_map,
}, default=lambda v: v.hex() if isinstance(v, bytes) else str(v), ensure_ascii=False, sort_keys=True))
