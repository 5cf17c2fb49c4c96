"""checkpoint-gateway: the gRPC checkpoint service and its storage backends."""

__version__ = "0.1.0"
