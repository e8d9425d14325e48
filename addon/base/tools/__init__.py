"""Build-time tools (run by ``make``, never by the server): message catalogs, the trusted-documents
manifest, vendored browser files."""
