"""Test helper: rewrite an .ark file with edited sections or arrays.

Decodes a file with _ark.Reader and encodes it again with _ark.Writer, the
blobs in the same order and with the same codecs, so that every reference
in the tree stays valid. It simulates a file written elsewhere (another
library version) or tampered with by someone who recomputed its checksums.
"""
import copy

import numpy as np


def rewrite(source, destination, edit_sections=None, edit_arrays=None):
    """Copies `source` to `destination`, applying:

    edit_sections(sections) -> None: edits the sections dict in place;
    edit_arrays(sections, arrays) -> None: edits the list of blob arrays in
    place (writable copies, by blob index).
    """
    import _ark

    reader = _ark.Reader(source)
    root = reader.root()
    sections = copy.deepcopy(reader.sections())
    infos = [reader.blob_info(i) for i in range(reader.blob_count)]
    arrays = [np.array(reader.array(i)) for i in range(reader.blob_count)]
    if edit_sections is not None:
        edit_sections(sections)
    if edit_arrays is not None:
        edit_arrays(sections, arrays)
    writer = _ark.Writer(destination)
    for index, (info, array) in enumerate(zip(infos, arrays)):
        codec = info["codec"]
        added = writer.add_array(
            array,
            codec=codec,
            level=info.get("level", 0) or 0,
            shuffle=info.get("filter") == "shuffle",
            aux=bool(info.get("aux", False)),
        )
        assert added == index, "blob order changed while rewriting"
    writer.finish(root, sections)
    return destination


def validation_blob(sections, method):
    """Blob index of the stored output of `method` (a plain ndarray output)."""
    validation = sections["validation"]
    position = validation["spec"]["outputs"][method]["array"]
    return validation["blobs"][position]
