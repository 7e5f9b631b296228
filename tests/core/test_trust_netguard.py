from __future__ import annotations

import stat
from pathlib import Path

import pytest

from app.core import trust
from app.core.netguard import BlockedURLError, check_url
from app.core.resources import examples_dir
from app.core.settings import config_dir


def test_unknown_content_is_untrusted_until_remembered(tmp_path: Path) -> None:
    path = tmp_path / "flow.json"
    path.write_bytes(b'{"a": 1}')
    assert not trust.is_trusted_file(path)
    trust.remember(path.read_bytes())
    assert trust.is_trusted_file(path)


def test_an_outside_edit_asks_again(tmp_path: Path) -> None:
    path = tmp_path / "flow.json"
    path.write_bytes(b'{"a": 1}')
    trust.remember(path.read_bytes())
    path.write_bytes(b'{"a": 2}')
    assert not trust.is_trusted_file(path)


def test_trust_is_keyed_with_a_local_secret() -> None:
    content = b"same bytes"
    first = trust.fingerprint(content)
    secret_file = config_dir() / "trust.key"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert first == trust.fingerprint(content)
    secret_file.unlink()  # another machine, another secret: the same content is not trusted there
    assert trust.fingerprint(content) != first
    assert not trust.is_trusted(content)


def test_a_forged_trust_list_without_the_secret_does_nothing(tmp_path: Path) -> None:
    import hashlib
    import json

    content = b'{"evil": true}'
    (config_dir()).mkdir(parents=True, exist_ok=True)
    forged = {hashlib.sha256(content).hexdigest(): 1.0}
    (config_dir() / "trusted.json").write_text(json.dumps(forged))
    assert not trust.is_trusted(content)


def test_the_bundled_gallery_is_trusted() -> None:
    example = next(examples_dir().glob("*.json"))
    assert trust.is_trusted_file(example)


def fake_dns(table: dict[str, list[str]]):
    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError("no such host")
        return table[host]

    return resolve


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "only http and https"),
        ("gopher://example.com/", "only http and https"),
        ("http://127.0.0.1:8080/", "loopback"),
        ("http://localhost/", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://10.1.2.3/", "private network"),
        ("http://192.168.0.1/", "private network"),
        ("http://172.16.5.5/", "private network"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://inside.example/", "private network"),
        ("http://nowhere.example/", "could not be found"),
        ("http:///path", "names no host"),
    ],
)
def test_restricted_urls_are_refused_with_a_reason(url: str, reason: str) -> None:
    dns = fake_dns({"localhost": ["127.0.0.1"], "inside.example": ["93.184.216.34", "10.0.0.7"]})
    with pytest.raises(BlockedURLError, match=reason):
        check_url(url, resolve=dns)


def test_public_hosts_and_allowed_hosts_pass() -> None:
    dns = fake_dns({"api.example.com": ["93.184.216.34"], "intranet": ["10.0.0.2"]})
    check_url("https://api.example.com/v1?q=1", resolve=dns)
    check_url("http://intranet/status", allowed_hosts=["intranet"], resolve=dns)
