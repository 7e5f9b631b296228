"""The built-in node catalogue: one module per family, each node type one class.

Modules here import only `app.core` (the node SDK and the engine's helpers), never Qt. The
registry (`app.core.registry`) discovers every public module of this package.
"""
