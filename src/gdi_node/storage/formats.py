"""Recognise BAM, CRAM, VCF and BCF files by their content, never by their name.

* BAM, BCF and bgzipped VCF are BGZF files (SAM/BAM spec §4.1): gzip members whose header carries
  the ``BC`` extra subfield. The decompressed stream starts with ``BAM\\1`` (SAM/BAM spec §4.2),
  ``BCF\\2`` (VCF 4.3 §6, BCF2) or ``##fileformat=VCF`` (VCF 4.3 §1.4.1, the mandatory first line).
* CRAM starts, uncompressed, with ``CRAM`` and a major version byte (CRAM 3.1 §8 file definition).

Anything else is refused with a message that says what the file is and what to do about it: a
plain-gzip VCF cannot be indexed (random access needs BGZF) and must be recompressed with bgzip.
"""

from __future__ import annotations

import struct
import zlib
from enum import StrEnum
from pathlib import Path

from gdi_node.errors import InvalidInputError, NotFoundError

_GZIP_MAGIC = b"\x1f\x8b\x08"
_FEXTRA = 0x04
_CRAM_MAJORS = frozenset({2, 3, 4})
_VCF_MAGIC = b"##fileformat=VCF"
_SAM_HEADER_TAGS = (b"@HD\t", b"@SQ\t", b"@RG\t", b"@PG\t", b"@CO\t")
_HEAD_BYTES = 256 * 1024  # several 64 KiB BGZF blocks: plenty to see the first decompressed bytes
_WANT = 64  # decompressed bytes needed to tell the formats apart


class FileFormat(StrEnum):
    """The genomic file formats the node serves."""

    BAM = "BAM"
    CRAM = "CRAM"
    VCF = "VCF"
    BCF = "BCF"


class UnsupportedFileError(InvalidInputError):
    """The file is not a BAM, CRAM, bgzipped VCF or BCF file the node can serve."""


class UnreadableFileError(InvalidInputError):
    """The file exists but this process may not read it."""


def detect_format(path: Path) -> FileFormat:
    """The format of ``path`` from its first bytes; raise a DomainError saying why it is refused."""
    head = _read_head(path)
    if not head:
        raise UnsupportedFileError(f"{path} is empty")
    if head.startswith(b"CRAM"):
        return _cram(path, head)
    if head.startswith(_GZIP_MAGIC):
        data = _gunzip_head(head)
        if not _is_bgzf(head):
            return _refuse_plain_gzip(path, data)
        return _bgzf_payload(path, data)
    return _refuse_uncompressed(path, head)


def _read_head(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(_HEAD_BYTES)
    except FileNotFoundError:
        raise NotFoundError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise UnsupportedFileError(f"{path} is a directory, not a file") from None
    except PermissionError:
        raise UnreadableFileError(
            f"{path} cannot be read: permission denied (check the file's owner, mode and ACLs)"
        ) from None
    except OSError as exc:
        raise UnreadableFileError(f"{path} cannot be read: {exc.strerror or exc}") from None


def _cram(path: Path, head: bytes) -> FileFormat:
    """CRAM 3.1 §8: ``CRAM``, major and minor version bytes, then a 20-byte file id."""
    if len(head) < 26:
        raise UnsupportedFileError(f"{path} starts like CRAM but its file definition is truncated")
    major, minor = head[4], head[5]
    if major not in _CRAM_MAJORS:
        raise UnsupportedFileError(
            f"{path} is CRAM version {major}.{minor}; only CRAM 2.x, 3.x and 4.x are supported"
        )
    return FileFormat.CRAM


def _is_bgzf(head: bytes) -> bool:
    """SAM/BAM spec §4.1: FLG.FEXTRA set and an extra subfield with SI1='B', SI2='C', SLEN=2."""
    if len(head) < 12 or not head[3] & _FEXTRA:
        return False
    (xlen,) = struct.unpack_from("<H", head, 10)
    extra = head[12 : 12 + xlen]
    offset = 0
    while offset + 4 <= len(extra):
        si1, si2, slen = struct.unpack_from("<BBH", extra, offset)
        if (si1, si2, slen) == (66, 67, 2):
            return True
        offset += 4 + slen
    return False


def _gunzip_head(head: bytes) -> bytes:
    """The first decompressed bytes, across as many gzip members as needed; b"" if corrupt."""
    out = b""
    data = head
    while data and len(out) < _WANT:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out += inflater.decompress(data, _WANT - len(out))
        except zlib.error:
            break
        if not inflater.eof:
            break
        data = inflater.unused_data
    return out


def _bgzf_payload(path: Path, data: bytes) -> FileFormat:
    if data.startswith(b"BAM\x01"):
        return FileFormat.BAM
    if data.startswith(b"BCF\x02"):
        return FileFormat.BCF
    if data.startswith(_VCF_MAGIC):
        return FileFormat.VCF
    if not data:
        raise UnsupportedFileError(f"{path} is BGZF-compressed but contains no data")
    if _looks_like_sam(data):
        raise UnsupportedFileError(
            f"{path} is bgzipped SAM text; convert it to BAM or CRAM"
            " (samtools sort -o file.bam file.sam.gz) and register that"
        )
    raise UnsupportedFileError(
        f"{path} is BGZF-compressed but not BAM, CRAM, VCF or BCF"
        " (a VCF must start with a ##fileformat=VCF line)"
    )


def _refuse_plain_gzip(path: Path, data: bytes) -> FileFormat:
    if data.startswith(_VCF_MAGIC):
        raise UnsupportedFileError(
            f"{path} is a VCF compressed with plain gzip, not BGZF, so it cannot be indexed for"
            f" region queries; recompress it with bgzip (zcat {path.name} | bgzip > new.vcf.gz)"
            " and register that"
        )
    raise UnsupportedFileError(
        f"{path} is gzip-compressed but not BGZF, and not BAM, CRAM, VCF or BCF"
        " (genomic files must be BGZF-compressed: use bgzip, samtools or bcftools)"
    )


def _refuse_uncompressed(path: Path, head: bytes) -> FileFormat:
    if head.startswith(_VCF_MAGIC):
        raise UnsupportedFileError(
            f"{path} is an uncompressed VCF; compress it with bgzip ({path.name} -> .vcf.gz)"
            " so that it can be indexed"
        )
    if head.startswith(b"BCF\x02"):
        raise UnsupportedFileError(
            f"{path} is an uncompressed BCF; compress it with bcftools view -Ob so that it can"
            " be indexed"
        )
    if _looks_like_sam(head):
        raise UnsupportedFileError(
            f"{path} is SAM text; convert it to BAM or CRAM (samtools sort -o file.bam file.sam)"
            " and register that"
        )
    raise UnsupportedFileError(f"{path} is not BAM, CRAM, VCF or BCF")


def _looks_like_sam(data: bytes) -> bool:
    """A SAM header line, or a header-less first alignment line with its 11 mandatory fields."""
    if data.startswith(_SAM_HEADER_TAGS):
        return True
    fields = data.split(b"\n", 1)[0].split(b"\t")
    return len(fields) >= 11 and fields[1].isdigit() and fields[3].isdigit()
