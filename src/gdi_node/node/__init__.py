"""The node-level API: service-info, the service registry, health, readiness and metrics."""
