"""The daemon process: transport, RPC adapter, lifecycle, events."""
