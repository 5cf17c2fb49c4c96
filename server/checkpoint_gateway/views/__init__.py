"""What a person sees of stored checkpoints, shared by the admin commands and the console.

- ``decode``: stored bytes decoded by content type (JSON pretty-printed, LangGraph's
  MessagePack unpacked, anything else as a hex dump); never raises.
- ``diff``: a JSON-aware diff of two checkpoints (changed keys and list items).
- ``pairs``: ``key=value`` words as a metadata filter.
"""
