"""Missing from the drs-compliance-suite 1.0.3 wheel; its helper imports it at start-up."""

SUPPORTED_DRS_VERSIONS = ["1.2.0"]
