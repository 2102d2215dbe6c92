"""``chinwag-remote gateway-key create|list|revoke`` and the key file a running Chinwag
reads (gateways.md, common rules): only digests kept, 0600, revocation at once."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from chinwag.gateways.keys import GatewayKeys, KeyFileError, KeyKind


def remote(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CONFIG_HOME": str(home / "config")}
    return subprocess.run(
        [sys.executable, "-m", "chinwag.cli.remote", "gateway-key", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def key_file(home: Path) -> Path:
    return home / "config" / "chinwag" / "gateway-keys.json"


def test_create_list_revoke_from_the_command_line(tmp_path: Path) -> None:
    made = remote(tmp_path, "create", "Alice@Example.org", "--kind", "rest", "--label", "ci")
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert len(secret) >= 43  # 256 bits, URL-safe base64
    xml = remote(tmp_path, "create", "alice@example.org", "--kind", "xmlrpc")
    assert xml.returncode == 0, xml.stderr
    xml_secret = xml.stdout.strip()

    path = key_file(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert secret not in text
    assert xml_secret not in text
    stored = json.loads(text)["keys"]
    assert stored[0]["digest"] == hashlib.sha256(secret.encode()).hexdigest()
    assert stored[0]["account"] == "alice@example.org"
    assert stored[0]["scopes"] == ["Conversations.Initiate", "Conversations.Receive"]
    assert stored[1]["digest"] == hashlib.md5(xml_secret.encode()).hexdigest()

    listed = remote(tmp_path, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [r["kind"] for r in rows] == ["rest", "xmlrpc"]
    assert all("digest" not in r for r in rows)
    assert secret not in listed.stdout

    gone = remote(tmp_path, "revoke", rows[0]["id"])
    assert gone.returncode == 0, gone.stderr
    again = remote(tmp_path, "revoke", rows[0]["id"])
    assert again.returncode == 1
    assert "no gateway key" in again.stderr
    assert [
        json.loads(line)["id"] for line in remote(tmp_path, "list", "--json").stdout.splitlines()
    ] == [rows[1]["id"]]


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["create", "not an address", "--kind", "rest"], "not an account address"),
        (["create", "a@b.org", "--kind", "xmlrpc", "--scope", "Conversations.Receive"], "REST"),
        (["create", "a@b.org", "--kind", "soap"], "invalid choice"),
        (["create", "a@b.org", "--kind", "rest", "--scope", "Everything"], "invalid choice"),
    ],
)
def test_bad_requests_are_usage_errors(tmp_path: Path, args: list[str], complaint: str) -> None:
    done = remote(tmp_path, *args)
    assert done.returncode == 2
    assert complaint in done.stderr
    assert not key_file(tmp_path).exists()


def test_a_running_reader_sees_a_new_and_a_revoked_key_at_once(tmp_path: Path) -> None:
    path = tmp_path / "gateway-keys.json"
    reader = GatewayKeys(path)
    assert reader.rest_key("anything") is None
    writer = GatewayKeys(path)
    entry, secret = writer.create(KeyKind.REST, "a@b.org", ["Conversations.Receive"])
    found = reader.rest_key(secret)
    assert found is not None
    assert found.scopes == ("Conversations.Receive",)
    assert reader.rest_key(secret + "x") is None
    other, xml_secret = writer.create(KeyKind.XMLRPC, "a@b.org")
    assert reader.xmlrpc_digests("A@b.org") == (hashlib.md5(xml_secret.encode()).hexdigest(),)
    assert writer.revoke(entry.id) == entry
    assert reader.rest_key(secret) is None
    assert writer.revoke(other.id) == other
    assert reader.xmlrpc_digests("a@b.org") == ()


def test_concurrent_creations_all_land(tmp_path: Path) -> None:
    path = tmp_path / "gateway-keys.json"

    def make(n: int) -> str:
        return GatewayKeys(path).create(KeyKind.REST, f"u{n}@b.org")[0].id

    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(make, range(40)))
    assert {k.id for k in GatewayKeys(path).entries()} == ids
    assert len(ids) == 40


def test_a_damaged_file_lets_no_one_in_and_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "gateway-keys.json"
    keys = GatewayKeys(path)
    _, secret = keys.create(KeyKind.REST, "a@b.org")
    path.write_text('{"version": 1, "keys": [{"kind": "rest"')
    assert keys.rest_key(secret) is None
    with pytest.raises(KeyFileError, match="damaged"):
        keys.create(KeyKind.REST, "a@b.org")
    assert path.read_text() == '{"version": 1, "keys": [{"kind": "rest"'
