"""The node's configuration: ``settings`` (the YAML file and ``GDI_NODE_*`` environment
variables, validated at start) and ``trust`` (the Passport trust settings it contains: issuers,
brokers, residency, disclosure limits). Pure pydantic models; nothing here imports a service."""
