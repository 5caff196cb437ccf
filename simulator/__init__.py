"""The itas simulator: a simulated LLM fleet behind OpenAI- and Anthropic-compatible HTTP.

It is a simulator, not an LLM (see simulator/README.md). Nothing here imports models/, worker/
or scheduler/, and none of them imports it (the CLI starts it as a process). It reads the
synth-math problems from :mod:`benchmarks.synth_math`, as it reads other benchmarks' data files
(GSM8K, MixEval-Hard, MT-Bench, MATH-style JSONL), and reads prompts by their content, the way
an LLM does (simulator/reading.py), sharing no prompt text with the techniques.
"""
