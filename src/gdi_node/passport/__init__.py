"""GA4GH Passport and AAI 1.2: verification, permits, the local issuer and the audit trail."""
