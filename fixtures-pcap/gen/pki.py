"""Test PKI made with the openssl command line (fresh for each run).

Client certificates carry the Modbus/TCP Security role extension
(OID 1.3.6.1.4.1.50316.802.1, an ASN.1 UTF8String, non-critical).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess

ROLE_OID = "1.3.6.1.4.1.50316.802.1"


def _run(args: list[str], cwd: str) -> None:
    subprocess.run(args, cwd=cwd, check=True, capture_output=True)


def make_ca(d: str, cn: str = "OTW Test Plant CA") -> tuple[str, str]:
    os.makedirs(d, exist_ok=True)
    key, crt = os.path.join(d, "ca.key"), os.path.join(d, "ca.pem")
    _run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "3650",
          "-keyout", key, "-out", crt, "-subj", f"/O=Plant/CN={cn}",
          "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign"], d)
    return crt, key


def make_cert(d: str, name: str, subj: str, ca: tuple[str, str], *, server: bool = False,
              role: str | None = None, san_ip: str | None = None, extra_ext: list[str] | None = None,
              key_bits: int = 2048) -> dict:
    key = os.path.join(d, f"{name}.key")
    csr = os.path.join(d, f"{name}.csr")
    crt = os.path.join(d, f"{name}.pem")
    ext = os.path.join(d, f"{name}.ext")
    lines = ["basicConstraints=critical,CA:FALSE",
             "keyUsage=critical,digitalSignature,keyEncipherment,dataEncipherment,nonRepudiation",
             "extendedKeyUsage=" + ("serverAuth,clientAuth" if server else "clientAuth,serverAuth"),
             "subjectKeyIdentifier=hash", "authorityKeyIdentifier=keyid"]
    if san_ip:
        lines.append(f"subjectAltName=IP:{san_ip}" if "URI" not in san_ip else f"subjectAltName={san_ip}")
    if role:
        lines.append(f"{ROLE_OID}=ASN1:UTF8String:{role}")
    lines += extra_ext or []
    open(ext, "w").write("\n".join(lines) + "\n")
    _run(["openssl", "req", "-new", "-newkey", f"rsa:{key_bits}", "-nodes", "-sha256", "-keyout", key,
          "-out", csr, "-subj", subj], d)
    _run(["openssl", "x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-CAcreateserial",
          "-days", "825", "-sha256", "-extfile", ext, "-out", crt], d)
    der = subprocess.run(["openssl", "x509", "-in", crt, "-outform", "DER"], check=True,
                         capture_output=True).stdout
    der_path = os.path.join(d, f"{name}.der")
    open(der_path, "wb").write(der)
    subject = subprocess.run(["openssl", "x509", "-in", crt, "-noout", "-subject", "-nameopt", "RFC2253"],
                             check=True, capture_output=True, text=True).stdout.strip()
    subject = subject.split("=", 1)[1].strip() if subject.startswith("subject") else subject
    dates = subprocess.run(["openssl", "x509", "-in", crt, "-noout", "-startdate", "-enddate",
                            "-dateopt", "iso_8601"], check=True, capture_output=True, text=True).stdout
    # "notBefore=2026-12-04 08:43:14Z" -> "2026-12-04T08:43:14Z"
    valid = {k: v.strip().replace(" ", "T") for k, v in (ln.split("=", 1) for ln in dates.splitlines())}
    return {"name": name, "key": key, "cert": crt, "der": der_path,
            "sha256": hashlib.sha256(der).hexdigest(), "sha1": hashlib.sha1(der).hexdigest(),
            "subject": subject, "role": role,
            "not_before": valid["notBefore"], "not_after": valid["notAfter"]}


def publish(outdir: str, pems: dict[str, str]) -> None:
    """Replaces OUTDIR/certs with a copy of each PEM certificate, as NAME.pem (no keys)."""
    cdir = os.path.join(outdir, "certs")
    shutil.rmtree(cdir, ignore_errors=True)
    os.makedirs(cdir)
    for name, path in pems.items():
        shutil.copy(path, os.path.join(cdir, f"{name}.pem"))
