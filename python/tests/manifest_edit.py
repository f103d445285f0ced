"""Test helper: hand-edit the manifest of an .ark file, as an attacker would.

Works on the container bytes directly (docs/FORMAT.md §1-§2, §6), in pure
Python: the blobs stay where they are, the manifest (JSON) is replaced, and
the file digest in the footer and the model digest are recomputed, so the
result passes every checksum and only the loader's own checks stand between
the edited tree and the Python process.
"""
import hashlib
import json
import struct

FOOTER_SIZE = 64


def _compact(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def read_manifest(data):
    """(manifest as a JSON dict, manifest offset) of the file's bytes."""
    footer = data[-FOOTER_SIZE:]
    offset, size = struct.unpack_from("<QQ", footer, 0)
    return json.loads(data[offset:offset + size].decode("utf-8")), offset


def with_manifest(data, manifest, recompute_model_digest=True):
    """The file's bytes with `manifest` (a JSON dict) in place of its manifest."""
    _, offset = read_manifest(data)
    if recompute_model_digest:
        model = {"root": manifest["root"],
                 "blobs": [[b["dtype"], b["shape"], b["sha256"]]
                           for b in manifest["blobs"] if not b.get("aux")]}
        manifest["model_digest"] = "sha256:" + hashlib.sha256(_compact(model).encode()).hexdigest()
    encoded = _compact(manifest).encode("utf-8")
    footer = bytearray(data[-FOOTER_SIZE:])
    struct.pack_into("<QQ", footer, 0, offset, len(encoded))
    footer[16:48] = hashlib.sha256(encoded).digest()
    return bytes(data[:offset]) + encoded + bytes(footer)


def edit_root(data, edit):
    """Applies edit(root) -> new root (JSON form of the tree) and returns the new bytes."""
    manifest, _ = read_manifest(data)
    manifest["root"] = edit(manifest["root"])
    return with_manifest(data, manifest)


def replace_root_text(data, root_text):
    """Replaces the root with raw JSON text (for trees too deep for json.dumps).
    The model digest is left stale: readers check it only in verify()."""
    manifest, _ = read_manifest(data)
    manifest["root"] = "\u0000ROOT"
    text = _compact(manifest).replace('"\\u0000ROOT"', root_text)
    return _with_manifest_text(data, text.encode("utf-8"))


def _with_manifest_text(data, encoded):
    _, offset = read_manifest(data)
    footer = bytearray(data[-FOOTER_SIZE:])
    struct.pack_into("<QQ", footer, 0, offset, len(encoded))
    footer[16:48] = hashlib.sha256(encoded).digest()
    return bytes(data[:offset]) + encoded + bytes(footer)


def replace_root(data, root):
    return edit_root(data, lambda _old: root)


def find_objects(node, type_name):
    """Every object node (JSON form) of `type_name` in a tree, in document order."""
    found = []
    stack = [node]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            if v.get("$object") == type_name:
                found.append(v)
            stack.extend(reversed(list(v.values())))
        elif isinstance(v, list):
            stack.extend(reversed(v))
    return found
