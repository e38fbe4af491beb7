"""The host-level extension store: one verified copy of each extension version, shared by
every swamp project on the machine through its `.swamp-sources.yaml`.

    settings.py   `[extensions]` config table (limits, lock budget)
    manifest.py   manifest.yaml parsing and validation, the file policy
    checksum.py   per-file sha256 and the extension checksum
    archive.py    safe extraction of extension.tar.gz and safe copy of a directory
    typescan.py   which model/vault/datastore/report types a source file provides
    locks.py      flock-based inter-process locks with a time budget
    sources.py    round-trip editing of a project's .swamp-sources.yaml
    store.py      the on-disk store: atomic installs, list, remove, verify, links
    resolve.py    where a type comes from for one project (local > sources > pulled)
    service.py    the async facade the RPC layer calls; publishes `extensions` events

See docs/extensions.md.
"""
