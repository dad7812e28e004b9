#!/usr/bin/env python3
"""Writes framework.tsv (ids, names, areas, uuids only) from MISP's galaxy cluster
first-csirt-services-framework.json, the copy in ../shared/data/first-csirt-services/.

    python3 make-framework-tsv.py ../../../../../shared/data/first-csirt-services/first-csirt-services-framework.json > framework.tsv

The cluster lists the 21 services area by area but does not name the areas; AREAS below gives
how many services each of the framework's five areas has, in the framework's order. Functions
name their service by a `part-of` relation. Ids are slugs of the names (lowercase, every run of
other characters a dash), as `firewatch_assess::first::slug` makes them.
"""
import json, re, sys

AREAS = [
    ("information-security-event-management", "Information Security Event Management", 2),
    ("information-security-incident-management", "Information Security Incident Management", 6),
    ("vulnerability-management", "Vulnerability Management", 6),
    ("situational-awareness", "Situational Awareness", 3),
    ("knowledge-transfer", "Knowledge Transfer", 4),
]

def slug(name):
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")

def main(path):
    cluster = json.load(open(path, encoding="utf-8"))
    values = cluster["values"]
    services = [v for v in values if v["value"].startswith("Service: ")]
    functions = [v for v in values if v["value"].startswith("Function: ")]
    assert len(services) == sum(n for _, _, n in AREAS), len(services)
    service_of = {s["uuid"]: s for s in services}
    out = sys.stdout
    out.write("# Firewatch: the FIRST CSIRT Services Framework 2.1, areas, services and functions.\n")
    out.write("# version: first-csirt-services-2.1-misp-galaxy-1\n")
    out.write("# Derived by make-framework-tsv.py from MISP's galaxy cluster\n")
    out.write("# clusters/first-csirt-services-framework.json (github.com/MISP/misp-galaxy, commit\n")
    out.write("# 9434ace4eb925c9a1c9b3bccf014a25f9d14f0b0, 2026-08-06; cluster version %s), itself from\n" % cluster.get("version"))
    out.write("# %s.\n" % cluster.get("source"))
    out.write("# Licence of the galaxy: CC0 1.0 or BSD-2-Clause at our choice; used here under CC0 1.0.\n")
    out.write("# Kept minimal: ids, names, the service each function is part of, the area of each\n")
    out.write("# service (the cluster's order; the areas are named in the framework, not the cluster),\n")
    out.write("# and the galaxy's uuids. The descriptions, purposes and outcomes are not copied.\n")
    out.write("kind\tid\tname\tparent\tuuid\n")
    i = 0
    for area_id, area_name, n in AREAS:
        out.write(f"area\t{area_id}\t{area_name}\t\t\n")
        for s in services[i:i + n]:
            name = s["value"][len("Service: "):].strip()
            out.write(f"service\t{slug(name)}\t{name}\t{area_id}\t{s['uuid']}\n")
            for f in functions:
                parents = [r["dest-uuid"] for r in f.get("related", []) if r.get("type") == "part-of"]
                if parents == [s["uuid"]]:
                    fname = f["value"][len("Function: "):].strip()
                    out.write(f"function\t{slug(fname)}\t{fname}\t{slug(name)}\t{f['uuid']}\n")
        i += n

main(sys.argv[1])
