"""The itas simulator: a simulated LLM fleet behind OpenAI- and Anthropic-compatible HTTP.

It is a simulator, not an LLM (see simulator/README.md). Other packages may import two pure
modules from it: :mod:`simulator.protocol` (prompt markers and reply formats) and
:mod:`simulator.synth_math` (the synth-math benchmark). Nothing here imports models/, worker/
or scheduler/.
"""
