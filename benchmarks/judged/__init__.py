"""The judged benchmarks: MT-Bench, AlpacaEval 2.0, Arena-Hard-Auto, MixEval and MixEval-Hard.

Each is a :class:`~benchmarks.judged.base.JudgedBenchmark`: a benchmark whose score comes from
an LLM judge. What the judge is asked, and how its reply is read, are read from the
benchmark's own files in the datasets folder (never pasted into code) into a JSON-able
*judge definition* that the scheduler stores with an evaluation, so that workers judge with
nothing but the database. The statistics the benchmarks publish (length-controlled win rate,
Bradley-Terry scores with bootstrap intervals, per-turn means) are computed here too, so that
recorded judgments made anywhere give the leaderboard's figures.
"""
