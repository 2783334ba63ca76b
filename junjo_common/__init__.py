"""Code both Python services share: generated internal gRPC stubs, the span storage format,
logging setup and the internal-token helper. Neither service imports the other's package."""
