#!/usr/bin/python3
# certcheck.py CERT ISSUER PROFILE: an independent look at a certificate
# issued with one of the example profiles of conf/airlock.conf, with
# Debian's python3-cryptography (run as /usr/bin/python3, not a private
# Python). Checks the signature with the issuer's public key, that the
# issuer's name and key identifier are the certificate's issuer and
# authority key identifier, and the extensions the profile must produce.
# What each profile must look like is written out below, not read from the
# configuration, so that a mistake in either shows up. Prints "ok PROFILE"
# or the first difference, exit status 0 or 1.
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID as E
from cryptography.x509.oid import ExtensionOID as X

XMPP = x509.ObjectIdentifier("1.3.6.1.5.5.7.8.5")
NOCHECK = x509.ObjectIdentifier("1.3.6.1.5.5.7.48.1.5")
SMARTCARD = x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.2")

# profile: key usages, extended key usages (None: no extension), EKU
# critical, CA, SAN types allowed, policies, CPS, nocheck, CRL DP, OCSP
P = {
    "client": (["digital_signature", "key_encipherment", "key_agreement"],
               [E.CLIENT_AUTH, E.EMAIL_PROTECTION], False, False, {x509.RFC822Name},
               ["2.999.1.1.1"], True, False, True, True),
    "client-org": (["digital_signature", "key_encipherment", "key_agreement"],
                   [E.CLIENT_AUTH, E.EMAIL_PROTECTION], False, False, {x509.RFC822Name},
                   ["2.999.1.1.2"], True, False, True, True),
    "client-codesign": (["digital_signature"], [E.CODE_SIGNING, E.EMAIL_PROTECTION],
                        False, False, {x509.RFC822Name}, ["2.999.1.1.3"], False, False,
                        True, True),
    "client-machine": (["digital_signature", "key_encipherment"],
                       [E.CLIENT_AUTH, E.SERVER_AUTH], False, False, {x509.DNSName},
                       [], False, False, True, True),
    "client-ads": (["digital_signature", "key_encipherment"], [E.CLIENT_AUTH, SMARTCARD],
                   False, False, {x509.RFC822Name}, [], False, False, True, True),
    "server": (["digital_signature", "key_encipherment"], [E.SERVER_AUTH, E.CLIENT_AUTH],
               False, False, {x509.DNSName, x509.IPAddress}, ["2.999.1.2.1"], True,
               False, True, True),
    "server-org": (["digital_signature", "key_encipherment"],
                   [E.SERVER_AUTH, E.CLIENT_AUTH], False, False,
                   {x509.DNSName, x509.IPAddress}, ["2.999.1.2.2"], True, False, True, True),
    "server-jabber": (["digital_signature", "key_encipherment"],
                      [E.SERVER_AUTH, E.CLIENT_AUTH], False, False,
                      {x509.DNSName, x509.OtherName}, [], False, False, True, True),
    "ocsp": (["digital_signature"], [E.OCSP_SIGNING], False, False, set(), [], False,
             True, False, False),
    "timestamp": (["digital_signature", "content_commitment"], [E.TIME_STAMPING], True,
                  False, set(), [], False, False, True, False),
    "subca": (["key_cert_sign", "crl_sign"], None, False, True, set(), [], False, False,
              True, False),
    "xroad-sign": (["content_commitment"], None, False, False, set(), [], False, False,
                   False, True),
    "xroad-auth": (["digital_signature", "key_encipherment"],
                   [E.CLIENT_AUTH, E.SERVER_AUTH], False, False, {x509.DNSName}, [],
                   False, False, False, True),
}
KU = ["digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
      "key_agreement", "key_cert_sign", "crl_sign"]


def fail(msg):
    print("certcheck: " + msg)
    sys.exit(1)


def ext(cert, oid):
    try:
        return cert.extensions.get_extension_for_oid(oid)
    except x509.ExtensionNotFound:
        return None


def check_signature(cert, issuer):
    key = issuer.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(),
                   cert.signature_hash_algorithm)
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(cert.signature, cert.tbs_certificate_bytes,
                   ec.ECDSA(cert.signature_hash_algorithm))
    else:
        fail("unexpected issuer key type")
    if cert.issuer != issuer.subject:
        fail("issuer name is not the issuer's subject")
    aki = ext(cert, X.AUTHORITY_KEY_IDENTIFIER)
    ski = ext(issuer, X.SUBJECT_KEY_IDENTIFIER)
    if aki is None or ski is None or aki.value.key_identifier != ski.value.digest:
        fail("authority key identifier is not the issuer's key identifier")
    mine = ext(cert, X.SUBJECT_KEY_IDENTIFIER)
    if mine is None or mine.value.digest != \
            x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest:
        fail("subject key identifier is not the SHA-1 of the public key")


def check_usage(cert, ku, eku, eku_crit, ca):
    k = ext(cert, X.KEY_USAGE)
    if k is None or not k.critical:
        fail("keyUsage missing or not critical")
    have = [n for n in KU if getattr(k.value, n)]
    if sorted(have) != sorted(ku):
        fail("keyUsage %s, expected %s" % (have, ku))
    e = ext(cert, X.EXTENDED_KEY_USAGE)
    if eku is None:
        if e is not None:
            fail("unexpected extendedKeyUsage")
    elif e is None or sorted(o.dotted_string for o in e.value) != \
            sorted(o.dotted_string for o in eku) or e.critical != eku_crit:
        fail("extendedKeyUsage %s (critical %s), expected %s" %
             (e and list(e.value), e and e.critical, eku))
    b = ext(cert, X.BASIC_CONSTRAINTS)
    if b is None or not b.critical or b.value.ca != ca:
        fail("basicConstraints missing, not critical or wrong cA")
    if ca and b.value.path_length != 0:
        fail("pathLenConstraint is not 0")


def check_names(cert, san_types):
    s = ext(cert, X.SUBJECT_ALTERNATIVE_NAME)
    types = {type(g) for g in s.value} if s else set()
    if not types <= san_types:
        fail("subjectAltName types %s not within %s" % (types, san_types))
    for g in (s.value if s else []):
        if isinstance(g, x509.OtherName) and g.type_id != XMPP:
            fail("otherName that is not id-on-xmppAddr")


def check_pointers(cert, policies, cps, nocheck, crl, ocsp):
    pol = ext(cert, X.CERTIFICATE_POLICIES)
    got = [p.policy_identifier.dotted_string for p in pol.value] if pol else []
    if got != policies:
        fail("policies %s, expected %s" % (got, policies))
    if cps and not all(p.policy_qualifiers and isinstance(p.policy_qualifiers[0], str)
                       for p in pol.value):
        fail("policy without its CPS qualifier")
    if (ext(cert, NOCHECK) is not None) != nocheck:
        fail("ocsp-nocheck present: %s, expected %s" % (not nocheck, nocheck))
    if (ext(cert, X.CRL_DISTRIBUTION_POINTS) is not None) != crl:
        fail("CRL distribution point present: %s, expected %s" % (not crl, crl))
    a = ext(cert, X.AUTHORITY_INFORMATION_ACCESS)
    has_ocsp = a is not None and any(
        d.access_method.dotted_string == "1.3.6.1.5.5.7.48.1" for d in a.value)
    if has_ocsp != ocsp:
        fail("AIA OCSP present: %s, expected %s" % (has_ocsp, ocsp))


def main():
    cert = x509.load_pem_x509_certificate(open(sys.argv[1], "rb").read())
    issuer = x509.load_pem_x509_certificate(open(sys.argv[2], "rb").read())
    ku, eku, eku_crit, ca, san, pol, cps, nocheck, crl, ocsp = P[sys.argv[3]]
    if cert.version != x509.Version.v3 or cert.serial_number < 2 ** 63:
        fail("not v3, or a serial number of fewer than 64 bits")
    check_signature(cert, issuer)
    check_usage(cert, ku, eku, eku_crit, ca)
    check_names(cert, san)
    check_pointers(cert, pol, cps, nocheck, crl, ocsp)
    print("ok " + sys.argv[3])


main()
