"""The ecosystem's own tools against Firewatch's sharing, driven by tests/share.rs.

    share_driver.py validate BUNDLE...          stix2-validator (strict) and stix2.parse
    share_driver.py misp DIR                     PyMISP loads every event; manifest and hashes agree
    share_driver.py misp-distribution DIR        PyMISP reads each event back: one line
                                                 `distribution <tlp tag> <n> [<sharing group uuid>]`
    share_driver.py taxii-read URL USER PW OUT   taxii2-client walks discovery -> API root ->
                                                 collections -> objects (paged); writes a bundle
    share_driver.py taxii-add URL USER PW BUNDLE adds the bundle's objects, reads the status back
    share_driver.py taxii-deny URL USER PW       401 without credentials; USER sees nothing in AMBER
    share_driver.py eml FILE...                  Python's e-mail parser reads each message: a
                                                 multipart/signed with an application/pgp-signature part

Each prints what it checked and exits non-zero on the first failure.
"""

import csv
import glob
import hashlib
import json
import os
import sys
import uuid

import requests


def fail(message):
    print(f"FAIL: {message}")
    sys.exit(1)


def validate(paths):
    import stix2
    from stix2validator import ValidationOptions, validate_file

    options = ValidationOptions(strict=True, version="2.1")
    for path in paths:
        results = validate_file(path, options)
        if not results.is_valid:
            messages = [str(e) for r in results.object_results for e in r.errors]
            fail(f"{path}: stix2-validator (strict): {messages[:10]}")
        warnings = [str(w) for r in results.object_results for w in r.warnings]
        if warnings:
            fail(f"{path}: stix2-validator (strict) warnings: {warnings[:10]}")
        with open(path, encoding="utf-8") as f:
            bundle = stix2.parse(f.read(), allow_custom=False)
        print(f"{path}: valid (strict), stix2.parse read {len(bundle.get('objects', []))} objects")


def misp(directory):
    from pymisp import MISPEvent

    with open(os.path.join(directory, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    files = sorted(
        p for p in glob.glob(os.path.join(directory, "*.json")) if not p.endswith("manifest.json")
    )
    if sorted(os.path.basename(p)[:-5] for p in files) != sorted(manifest):
        fail("manifest.json does not list exactly the event files")
    values = {}
    for path in files:
        event = MISPEvent()
        event.load_file(path)
        uid = os.path.basename(path)[:-5]
        if event.uuid != uid:
            fail(f"{path}: uuid {event.uuid} is not the file name")
        tags = [t.name for t in event.tags]
        if not any(t.startswith("tlp:") for t in tags):
            fail(f"{path}: no tlp: tag in {tags}")
        if not any(t.startswith("rsit:") for t in tags):
            fail(f"{path}: no rsit: tag in {tags}")
        if manifest[uid]["info"] != event.info:
            fail(f"{path}: manifest info differs")
        for a in event.attributes:
            values.setdefault(uid, set()).add(hashlib.md5(a.value.encode()).hexdigest())
        print(f"{path}: PyMISP loaded '{event.info}' tags {tags}, {len(event.attributes)} attributes")
    with open(os.path.join(directory, "hashes.csv"), encoding="utf-8") as f:
        rows = list(csv.reader(f))
    for digest, uid in rows:
        if digest not in values.get(uid, set()):
            fail(f"hashes.csv: {digest},{uid} is no attribute of that event")
    if sum(len(v) for v in values.values()) != len({(d, u) for d, u in rows}):
        fail("hashes.csv does not list every attribute")
    print(f"hashes.csv: {len(rows)} rows, each an attribute of its event")


def server(url, user, password):
    from taxii2client.v21 import Server

    return Server(url, user=user, password=password)


def taxii_read(url, user, password, out):
    from taxii2client.v21 import as_pages

    s = server(url, user, password)
    roots = s.api_roots
    if not roots:
        fail("discovery lists no API root")
    root = s.default or roots[0]
    if "application/taxii+json;version=2.1" not in root.versions:
        fail(f"API root versions {root.versions}")
    objects = {}
    pages = 0
    for collection in root.collections:
        if not collection.can_read:
            fail(f"{collection.title}: can_read is false")
        seen = []
        for envelope in as_pages(collection.get_objects, per_request=2):
            pages += 1
            seen.extend(envelope.get("objects", []))
        manifest = collection.get_manifest()
        listed = {m["id"] for m in manifest.get("objects", [])}
        if listed != {o["id"] for o in seen}:
            fail(f"{collection.title}: manifest and objects differ")
        for o in seen[:3]:
            one = collection.get_object(o["id"])
            if one["objects"][0]["id"] != o["id"]:
                fail(f"{collection.title}: get_object({o['id']}) gave another object")
            versions = collection.object_versions(o["id"])
            if not versions.get("versions"):
                fail(f"{collection.title}: no versions of {o['id']}")
        typed = collection.get_objects(type="indicator")
        if any(o["type"] != "indicator" for o in typed.get("objects", [])):
            fail(f"{collection.title}: match[type]=indicator returned other types")
        print(f"{collection.title}: {len(seen)} objects")
        for o in seen:
            objects[o["id"]] = o
    if pages < 2:
        fail("paging was not exercised (fewer than two pages)")
    bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": list(objects.values())}
    with open(out, "w", encoding="utf-8") as f:
        json.dump(bundle, f)
    print(f"read {len(objects)} objects in {pages} pages into {out}")


def taxii_add(url, user, password, bundle_path):
    with open(bundle_path, encoding="utf-8") as f:
        bundle = json.load(f)
    s = server(url, user, password)
    root = s.api_roots[0]

    def visible():
        return sum(len(c.get_objects().get("objects", [])) for c in root.collections)

    before = visible()
    green = next(c for c in root.collections if "TLP:GREEN" in c.title)
    if not green.can_write:
        fail("GREEN collection: can_write is false for a member")
    status = green.add_objects({"objects": bundle["objects"]}, wait_for_completion=True)
    if status.status != "complete" or status.failure_count != 0:
        fail(f"add_objects: {status.status}, failures {status.failures}")
    again = root.get_status(status.id)
    if again.id != status.id or again.success_count != len(bundle["objects"]):
        fail(f"get_status: {again}")
    after = visible()
    if after <= before:
        fail(f"after the add {user} reads {after} objects, before {before}: stale collections")
    print(f"added {status.success_count} objects, status {status.id} {status.status}; "
          f"{user} now reads {after} objects (before: {before})")


def taxii_deny(url, user, password):
    r = requests.get(url, headers={"Accept": "application/taxii+json;version=2.1"}, timeout=10)
    if r.status_code != 401:
        fail(f"no credentials: {r.status_code}, expected 401")
    r = requests.get(url, auth=(user, "wrong-password"), timeout=10)
    if r.status_code != 401:
        fail(f"wrong password: {r.status_code}, expected 401")
    s = server(url, user, password)
    amber = next(c for c in s.api_roots[0].collections if c.title.endswith("TLP:AMBER"))
    got = amber.get_objects().get("objects", [])
    if got:
        fail(f"{user} read {len(got)} objects from the AMBER collection")
    print(f"401 without credentials; {user} reads nothing from {amber.title}")


def misp_distribution(directory):
    from pymisp import MISPEvent

    for path in sorted(glob.glob(os.path.join(directory, "*.json"))):
        if path.endswith("manifest.json"):
            continue
        event = MISPEvent()
        event.load_file(path)
        tlp = [t.name for t in event.tags if t.name.startswith("tlp:")]
        if len(tlp) != 1:
            fail(f"{path}: expected one tlp: tag, got {tlp}")
        line = f"distribution {tlp[0]} {int(event.distribution)}"
        group = getattr(event, "SharingGroup", None)
        if group is not None:
            line += f" {group.uuid}"
        for a in event.attributes:
            if int(a.distribution) != 5:
                fail(f"{path}: attribute {a.value} has distribution {a.distribution}, not 5 (inherit)")
        print(line)


def eml(paths):
    import email
    from email import policy

    for path in paths:
        with open(path, "rb") as f:
            message = email.message_from_binary_file(f, policy=policy.default)
        if message.defects:
            fail(f"{path}: parser defects {message.defects}")
        if message.get_content_type() != "multipart/signed":
            fail(f"{path}: {message.get_content_type()}, expected multipart/signed")
        if message.get_param("protocol") != "application/pgp-signature":
            fail(f"{path}: protocol {message.get_param('protocol')}")
        parts = message.get_payload()
        if len(parts) != 2 or parts[1].get_content_type() != "application/pgp-signature":
            fail(f"{path}: parts {[p.get_content_type() for p in parts]}")
        signature = parts[1].get_content()
        if isinstance(signature, bytes):
            signature = signature.decode("ascii")
        if "-----BEGIN PGP SIGNATURE-----" not in signature:
            fail(f"{path}: the signature part holds no armored signature")
        for header in ("From", "To", "Subject", "Message-ID", "Date"):
            if not message[header]:
                fail(f"{path}: no {header}")
        print(f"{path}: parsed, multipart/signed with application/pgp-signature, "
              f"to {message['To']}, subject {message['Subject']!r}")


def main(argv):
    command, args = argv[1], argv[2:]
    {
        "validate": lambda: validate(args),
        "misp": lambda: misp(args[0]),
        "misp-distribution": lambda: misp_distribution(args[0]),
        "taxii-read": lambda: taxii_read(*args),
        "taxii-add": lambda: taxii_add(*args),
        "taxii-deny": lambda: taxii_deny(*args),
        "eml": lambda: eml(args),
    }[command]()


if __name__ == "__main__":
    main(sys.argv)
