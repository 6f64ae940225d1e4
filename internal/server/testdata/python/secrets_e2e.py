"""Secret lifecycle with Debian's track 2 Python SDKs against Coffer (run by TestPythonSDK).

Run with /usr/bin/python3 (Debian's python3-azure). The Go test passes, by environment:
COFFER_TENANT_ID, COFFER_CLIENT_ID, COFFER_CLIENT_SECRET, COFFER_AUTHORITY (authorityHost),
COFFER_VAULT_URL (https://V.localhost:PORT/) and REQUESTS_CA_BUNDLE (the server's CA).
Prints one JSON object with what each step returned; the Go test asserts on it.
"""
import json
import os
import sys

from azure.core.exceptions import ResourceNotFoundError
from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient


def when(d):
    return d.isoformat() if d is not None else None


def main():
    env = os.environ
    # azure-identity 1.13.0b2 (Debian) names the switch instance_discovery; it silently
    # ignores the newer disable_instance_discovery and would then call
    # login.microsoftonline.com.
    cred = ClientSecretCredential(
        env["COFFER_TENANT_ID"], env["COFFER_CLIENT_ID"], env["COFFER_CLIENT_SECRET"],
        authority=env["COFFER_AUTHORITY"], instance_discovery=False)
    # The SDK's default challenge-resource verification stays on.
    client = SecretClient(env["COFFER_VAULT_URL"], cred)
    name = "py-secret"
    out = {}

    s = client.set_secret(name, "v1", content_type="text/plain")
    out["set"] = {"id": s.id, "name": s.name, "value": s.value, "version": s.properties.version,
                  "content_type": s.properties.content_type,
                  "recovery_level": s.properties.recovery_level,
                  "vault_url": s.properties.vault_url}
    g = client.get_secret(name)
    out["get"] = {"value": g.value, "version": g.properties.version}

    d = client.begin_delete_secret(name)
    d.wait()
    d = d.result()
    out["delete"] = {"name": d.name, "recovery_id": d.recovery_id,
                     "deleted_date": when(d.deleted_date),
                     "scheduled_purge_date": when(d.scheduled_purge_date)}
    out["list_deleted"] = sorted(x.name for x in client.list_deleted_secrets())
    gd = client.get_deleted_secret(name)
    out["get_deleted"] = {"name": gd.name, "recovery_id": gd.recovery_id}

    r = client.begin_recover_deleted_secret(name)
    r.wait()
    r = r.result()
    out["recover"] = {"name": r.name, "version": r.version}
    out["get_after_recover"] = client.get_secret(name).value

    d2 = client.begin_delete_secret(name)
    d2.wait()
    client.purge_deleted_secret(name)
    out["list_deleted_after_purge"] = sorted(x.name for x in client.list_deleted_secrets())
    try:
        client.get_deleted_secret(name)
        out["get_deleted_after_purge"] = "found"
    except ResourceNotFoundError as e:
        out["get_deleted_after_purge"] = e.status_code

    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
