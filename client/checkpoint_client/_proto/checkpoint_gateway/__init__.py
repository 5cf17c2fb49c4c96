"""Generated code: do not edit (scripts/gen_proto.py)."""
