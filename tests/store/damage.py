"""Damage a store file the way a deliberate edit would: the snapshot changed and framed again with a matching
CRC-32, the commits after it kept, so that only parsing the snapshot can find the damage."""

from mirror.store.store_file import frame, frames


def damage_under_a_matching_crc(path, change_content) -> None:
    """Pass the decompressed content of the snapshot of the store at `path` through `change_content`."""
    raw = path.read_bytes()
    end, lines = next(frames(raw, snapshot=True))
    content = b"".join(line + b"\n" for line in lines)
    path.write_bytes(frame([change_content(content)]) + raw[end:])
