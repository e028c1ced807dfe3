"""The HTTP plumbing every API of the node shares: below the app's wiring and above none of the
APIs (``lint-imports`` checks that ``web`` imports no API package, the app or the CLI). APIs may
import it; the htsget data path does, for its error answers and request ids.

Code map:

- ``runtime``: :class:`NodeRuntime`, the objects one app creates once (engine, authorization
  stack, metrics, URL signer, consent gate) and every API's ``mount`` builds its services from.
- ``mounts``: :class:`ApiMount`, what an API's ``mount(runtime)`` hands the app.
- ``stack``: the connexion app and its middleware stack, in order, serving a list of mounts.
- ``documents``: the OpenAPI documents, their operationId tables, the methods of each path.
- ``error_envelopes``: any exception -> the error envelope of the API addressed.
- ``proxies``: the client address, from trusted reverse proxies (decision record 0011).
- ``observability``: request ids, JSON logs, Prometheus metrics.
- ``cors``: CORS under the base paths of the mounts that ask for it.
- ``guards``: malformed paths, queries and bodies refused before routing.
- ``routing``: exact routing, no guessed redirects.
- ``parameters``: connexion's parameter and body validation, validators kept, messages redacted.
- ``direct``: answering an API's operations from the ASGI stack (decision record 0007).
- ``request``: what handlers read of the request being answered (credentials, client address,
  request id), from Flask's request or the ASGI scope.
"""
