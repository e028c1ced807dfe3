"""The node's configuration: ``settings`` (the validated model), ``loading`` (the YAML file and
``GDI_NODE_*`` environment variables that fill it, read at start) and ``trust`` (the Passport
trust settings it contains: issuers, brokers, residency, disclosure limits). Nothing here
imports a service."""
