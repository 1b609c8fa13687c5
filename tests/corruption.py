"""Bytes changed inside a stored file, where the data lie (found from the file's own layout, not guessed),
and sets in the format written before checksums were stored."""
from pathlib import Path

import h5py


def overwrite_bytes(path, start: int, size: int, n: int = 1000) -> None:
    """Flip every bit of ``n`` bytes in the middle of the byte range [start, start + size) of a file."""
    assert n < size, f"{n} bytes do not fit inside a record of {size}"
    path = Path(path)
    raw = bytearray(path.read_bytes())
    at = start + (size - n) // 2
    raw[at:at + n] = bytes(b ^ 0xFF for b in raw[at:at + n])
    path.write_bytes(bytes(raw))


def overwrite_inside_dataset(path, name: str) -> None:
    """Overwrite 1,000 bytes inside the stored data of an HDF5 dataset: its first chunk, or its contiguous
    block, as h5py's storage information places them."""
    with h5py.File(path, "r") as f:
        d = f[name]
        if d.chunks:
            info = d.id.get_chunk_info(0)
            start, size = info.byte_offset, info.size
        else:
            start, size = d.id.get_offset(), d.id.get_storage_size()
    overwrite_bytes(path, start, size)


def rewrite_without_checksums(path) -> dict:
    """Rewrite a set as data.save wrote it before checksums were stored (chunked images, no filter);
    returns its arrays."""
    with h5py.File(path, "r") as f:
        arrays, attrs = {k: f[k][:] for k in f}, dict(f.attrs)
    with h5py.File(path, "w") as f:
        for k, v in arrays.items():
            f.create_dataset(k, data=v, chunks=(min(len(v), 64), *v.shape[1:]) if k == "images" else None)
        f.attrs.update(attrs)
    return arrays
