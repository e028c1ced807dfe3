"""Federation: asking member nodes on behalf of a caller (the national hub; decision record
0031).

Code map:

- ``outcomes``: what asking one member came to (answered, timed out, failed, refused,
  schema-invalid, skipped by an open circuit), the vocabulary partial answers are told in.
- ``circuit``: one member's circuit breaker: closed while it answers, open after repeated
  failures (the member is then skipped at no cost), closed again when a background probe
  gets an answer.
- ``fanout``: the members' HTTP client: one event loop thread per app with pooled
  connections, each member asked within its own deadline, the caller's credentials and
  address passed on, the background probes of open circuits; ``Forwarding``, one caller's
  request for one member's object (DRS, htsget).
- ``member_documents``: what a hub keeps of its members (their filtering terms and datasets,
  anonymous view), refreshed in the background and kept through an outage, marked stale.
- ``member_metrics``: the members' Prometheus metrics.
- ``member_hosts``: which member a hostname-based ``drs://`` URI names (``drs resolve``
  through a hub).

This package knows HTTP and members, not any API's documents: ``gdi_node.beacon.queries``
merges Beacon answers. It imports no API package.
"""
