"""Beyond one host: other hosts' daemons over ssh, and swamp serve endpoints (see docs/fleet.md).

    settings.py      `[fleet]` config: transport settings, `[fleet.hosts.*]`, `[fleet.serve.*]`
    config_file.py   adding and removing entries in the host config file, text preserved
    session.py       one `ssh HOST swampd --stdio` per host, JSON-RPC calls multiplexed over it
    service.py       the registry: entries, shared sessions, state, pings, the `fleet` topic
    push.py          pushing an extension (chunked, checksum-verified) or a secret to a host
    inbox.py         the receiving side: uploads into the extension store, pushed secrets
    runner.py        jobs with a target: submitted, followed, awaited and cancelled on a host
    serve.py         jobs with a swamp serve target: serve's WebSocket protocol, token from the vault
"""
