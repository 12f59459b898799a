"""render/mime.py: the MIME document and EC2's 16 KB user-data limit, on both sides of each boundary."""

from __future__ import annotations

import gzip
import os
import random

import pytest

from soci_component.render import mime


def _gzipping_to(size: int) -> bytes:
    """Over 16384 bytes (4 KB of one letter, then incompressible bytes of a fixed seed) whose level-9 gzip, as mime.fit
    makes it, is exactly ``size`` bytes."""
    noise = random.Random(17).randbytes(size + 64)
    for n in range(size - 128, size + 64):
        data = b"a" * 4096 + noise[:n]
        if len(gzip.compress(data, compresslevel=9, mtime=0)) == size:
            return data
    raise AssertionError(f"no length gzips to {size}")



def test_gzipped_user_data_of_16384_bytes_fits_and_16385_is_refused() -> None:
    """Mutant user-data-gzip-16385-accepted: EC2 takes at most 16384 bytes, gzipped or not."""
    fits = _gzipping_to(16384)
    assert len(fits) > 16384  # so fit() must gzip it
    packed = mime.fit(fits)
    assert len(packed) == 16384 and gzip.decompress(packed) == fits
    over = _gzipping_to(16385)
    with pytest.raises(mime.UserDataTooLarge) as e:
        mime.fit(over)
    assert e.value.compressed == 16385 and e.value.size == len(over)



def test_user_data_limit_boundaries() -> None:
    exactly = b"a" * mime.USER_DATA_LIMIT
    assert mime.fit(exactly) == exactly  # 16384 bytes: as is
    over = b"a" * (mime.USER_DATA_LIMIT + 1)
    packed = mime.fit(over)
    assert packed != over and gzip.decompress(packed) == over  # 16385: gzipped
    noise = os.urandom(mime.USER_DATA_LIMIT + 1)  # incompressible: gzip makes it larger
    with pytest.raises(mime.UserDataTooLarge):
        mime.fit(noise)

