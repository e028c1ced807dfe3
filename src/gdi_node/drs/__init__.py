"""GA4GH DRS 1.5 over the node's object catalogue."""
