"""htsget 1.3: tickets from indexes, the signed data endpoint, transcoding for igv.js."""
