"""Damage a store file the way a deliberate edit would: its frames compressed again and their CRCs made to match,
so that only reading the damaged table can find it (an unread table is trusted at open by its CRC)."""

from mirror.store.compression import compressed_frame, frames_of
from mirror.store.file_format import header_line, read_header
from mirror.store.frame_cache import frame_crc


def damage_under_matching_crcs(path, table: str, change_content) -> None:
    """Pass the content of each frame of `table` through `change_content`, compress every frame again and make
    the header's layout match."""
    contents = [content for _, content in frames_of(path.read_bytes())]
    header = read_header(contents[0])
    opening = contents[0][contents[0].index(b"\n") + 1:]
    tables = [name for _, _, name in header["layout"]]
    frames = [compressed_frame([change_content(content) if name == table else content])
              for content, name in zip(contents[1:], tables, strict=True)]
    header["layout"] = [[len(frame), frame_crc(frame), name] for frame, name in zip(frames, tables, strict=True)]
    path.write_bytes(compressed_frame([header_line(header), opening]) + b"".join(frames))
