"""Contact files in and out of the store: number normalisation, import, export.

- numbers:   one raw phone number -> E.164 (or a short reason it is not dialable)
- sources:   CSV/XLSX files -> header and rows (encoding, delimiter, streaming)
- columns:   which column is what; one row -> NewContact or RejectedRow
- importer:  import_file(), batches into the store, reject file
- exporter:  export_list() as csv, xlsx or json
"""
