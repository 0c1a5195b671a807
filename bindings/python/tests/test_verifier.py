"""strongroom.verifier from Python: behaviour, interop with hmac, bad input."""

import hashlib
import hmac
import io
import os
import pathlib
import threading

import pytest

import strongroom
from strongroom.verifier import ChunkMap, KeyRing, Manifest, generate_key, load_key_file, parse_signature_parts

KEY = bytes(range(40))


@pytest.fixture
def ring():
    ring = KeyRing()
    ring.add_signing_key("k1", KEY)
    return ring


def test_sign_and_verify_bytes(ring):
    signature = ring.sign(b"hello")
    assert signature.startswith("sr1:hmac-sha256:k1:")
    ring.verify(b"hello", signature)
    with pytest.raises(strongroom.MismatchError):
        ring.verify(b"hellO", signature)


def test_mac_is_the_standard_hmac(ring, tmp_path):
    data = os.urandom(3 * 1024 * 1024 + 5)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    parts = parse_signature_parts(ring.sign_file(path))
    assert parts["mac"] == hmac.new(KEY, data, hashlib.sha256).hexdigest()
    assert parts["kid"] == "k1" and parts["algorithm"] == "hmac-sha256"


def test_paths_pathlike_and_file_objects_agree(ring, tmp_path):
    data = os.urandom(2_500_000)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    expected = ring.sign(data)
    assert ring.sign_file(str(path)) == expected
    assert ring.sign_file(pathlib.Path(path)) == expected
    with open(path, "rb") as f:
        assert ring.sign_file(f) == expected
    assert ring.sign_file(io.BytesIO(data)) == expected
    ring.verify_file(io.BytesIO(data), expected)
    with pytest.raises(strongroom.MismatchError):
        ring.verify_file(io.BytesIO(data[:-1]), expected)


def test_rotation(ring):
    old = ring.sign(b"doc")
    ring.add_signing_key("k2", generate_key())
    assert ring.signing_kid == "k2"
    assert ring.kids == ["k1", "k2"]
    ring.verify(b"doc", old)
    assert ring.remove("k1") is True
    with pytest.raises(strongroom.KeyError):
        ring.verify(b"doc", old)


def test_bad_input_raises_clear_exceptions(ring, tmp_path):
    with pytest.raises(strongroom.KeyError, match="too short"):
        ring.add_signing_key("short", b"x" * 31)
    with pytest.raises(strongroom.KeyError, match="invalid key id"):
        ring.add_signing_key("bad kid", KEY)
    with pytest.raises(strongroom.KeyError, match="duplicate"):
        ring.add_signing_key("k1", KEY)
    with pytest.raises(strongroom.FormatError, match="unknown algorithm"):
        KeyRing("md5")
    with pytest.raises(strongroom.FormatError):
        ring.verify(b"x", "not a signature")
    with pytest.raises(TypeError):
        ring.sign("text is not bytes")
    with pytest.raises(TypeError):
        ring.sign_file(42)
    with pytest.raises(TypeError, match="binary mode"):
        ring.sign_file(io.StringIO("text"))
    with pytest.raises(OSError, match="missing.bin"):
        ring.sign_file(tmp_path / "missing.bin")
    with pytest.raises(strongroom.KeyError, match="no active signing key"):
        KeyRing().sign(b"x")
    assert issubclass(strongroom.MismatchError, strongroom.StrongroomError)


def test_errors_raised_by_read_propagate(ring):
    class Broken(io.RawIOBase):
        def read(self, n=-1):
            raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        ring.sign_file(Broken())


def test_chunk_maps_name_tampered_chunks(ring, tmp_path):
    path = tmp_path / "f.bin"
    data = bytearray(os.urandom(40 * 4096))
    path.write_bytes(data)
    chunk_map = ring.chunk_map(path, chunk_size=4096)
    assert chunk_map.chunk_count == 40 and chunk_map.file_len == len(data)
    chunk_map = ChunkMap.from_bytes(chunk_map.to_bytes())
    assert ChunkMap.from_json(chunk_map.to_json()).chunk_count == 40
    data[7 * 4096] ^= 1
    path.write_bytes(data)
    with pytest.raises(strongroom.MismatchError) as caught:
        ring.verify_chunks(chunk_map, path)
    assert caught.value.chunks == [7]
    ring.verify_range(chunk_map, path, 0, 7 * 4096)
    with pytest.raises(strongroom.MismatchError):
        ring.verify_range(chunk_map, path, 0, 7 * 4096 + 1)
    with pytest.raises(strongroom.FormatError):
        ChunkMap.from_bytes(b"garbage")


def test_manifests_report_changes(ring, tmp_path):
    (tmp_path / "a.txt").write_text("alpha")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("bravo")
    manifest = Manifest.from_json(ring.create_manifest(tmp_path).to_json())
    assert len(manifest) == 3
    assert manifest.entries[0] == {
        "path": "a.txt",
        "type": "file",
        "size": 5,
        "digest": hashlib.sha256(b"alpha").hexdigest(),
    }
    assert ring.verify_manifest(manifest, tmp_path)["ok"] is True
    (tmp_path / "c.txt").write_text("new")
    (tmp_path / "a.txt").write_text("ALPHA")
    report = ring.verify_manifest(manifest, tmp_path)
    assert report["ok"] is False
    assert report["added"] == ["c.txt"]
    assert report["modified"] == [{"path": "a.txt", "change": "content"}]
    with pytest.raises(strongroom.FormatError, match="unsafe path"):
        Manifest.from_json(manifest.to_json().replace('"a.txt"', '"../a.txt"'))


def test_key_files(tmp_path):
    path = tmp_path / "k.key"
    path.write_text(KEY.hex())
    os.chmod(path, 0o644)
    with pytest.raises(strongroom.KeyError, match="chmod 600"):
        load_key_file(path)
    os.chmod(path, 0o600)
    assert load_key_file(path) == KEY
    assert len(generate_key()) == 32 and generate_key() != generate_key()


def test_file_work_releases_the_gil(ring, tmp_path):
    # Two threads sign concurrently; with the GIL held they would serialise but still finish.
    # What this checks is that concurrent use is safe and results are identical.
    path = tmp_path / "f.bin"
    path.write_bytes(os.urandom(8 * 1024 * 1024))
    results = []
    threads = [threading.Thread(target=lambda: results.append(ring.sign_file(path))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1 and len(results) == 4
