"""Damage a store file the way a deliberate edit would: each frame changed and framed again with a matching
CRC-32, so that only parsing can find the damage."""

from mirror.store.store_file import frame, frames


def damage_under_a_matching_crc(path, change_content) -> None:
    """Pass the decompressed content of each frame of the store at `path` through `change_content`."""
    path.write_bytes(b"".join(frame([change_content(b"".join(line + b"\n" for line in lines))])
                              for _, lines in frames(path.read_bytes(), snapshot=True)))
