"""Compare two truth.json files on what must be stable across regenerations
(frames, times, ports and certificate thumbprints may change)."""
import json
import sys

KEYS = ["protocol", "function_code", "category", "operation", "client_ip", "server_ip", "target", "value",
        "outcome", "readable", "actor", "principal", "credential_kind", "attribution", "delegation",
        "delegation_status"]


def rows(path):
    d = json.load(open(path))
    return sorted(tuple(str(w.get(k)) for k in KEYS) for w in d["writes"]), d


a, da = rows(sys.argv[1])
b, db = rows(sys.argv[2])
diff = set(a) ^ set(b)
print(f"{da['scenario']}: {len(a)} vs {len(b)} writes; {len(diff)} differing rows; "
      f"opaque {da['opaque_sessions']} vs {db['opaque_sessions']}; credentials {len(da['credentials'])} vs {len(db['credentials'])}")
for r in sorted(diff):
    print("  ", "A" if r in set(a) else "B", dict(zip(KEYS, r)))
sys.exit(1 if diff else 0)
