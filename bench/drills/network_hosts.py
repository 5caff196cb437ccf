"""Workers on three separate hosts, and one host's link cut mid-job.

Each "host" is a network namespace made by the drill (root needed), joined to this one by a
veth pair: 10.231.K.1 on this side, 10.231.K.2 inside. The drill's private PostgreSQL and both
Redis servers listen on loopback and the three host-side addresses, the simulator on every
address; each namespace runs one worker that reaches all of them over its link only (its
settings name 10.231.K.1). At ~30% of the calls host 2's link is set down for 15 s, then up.
The namespaces (and so the veth pairs) are deleted whatever happens.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from bench.drills.harness import (
    DEFAULT_POOL,
    DRILL_THREADS,
    SMALL_QUESTIONS,
    Context,
    DrillResult,
    Events,
    StackOptions,
    evaluation_drill,
    wait_calls,
)
from bench.drills.services import PrivateServices
from bench.drills.stack import Stack

NAME = "network-hosts"
FAULT = "workers on 3 network namespaces over veth links; host 2's link down 15 s mid-job"
CUT_S = 15.0
HOSTS = 3


@dataclass(frozen=True)
class Host:
    namespace: str
    veth: str  # this side's end of the pair
    address: str  # this side's address: where the host reaches the services

    @property
    def wrapper(self) -> list[str]:
        return ["ip", "netns", "exec", self.namespace]


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


@contextmanager
def hosts() -> Iterator[list[Host]]:
    tag = uuid.uuid4().hex[:4]
    made: list[Host] = []
    try:
        for k in range(1, HOSTS + 1):
            host = Host(f"itas-drill-{tag}-h{k}", f"idr{tag}h{k}", f"10.231.{k}.1")
            _ip("netns", "add", host.namespace)
            made.append(host)
            inner = f"idr{tag}n{k}"
            _ip("link", "add", host.veth, "type", "veth", "peer", "name", inner)
            _ip("link", "set", inner, "netns", host.namespace)
            _ip("addr", "add", f"{host.address}/24", "dev", host.veth)
            _ip("link", "set", host.veth, "up")
            _ip("-n", host.namespace, "addr", "add", f"10.231.{k}.2/24", "dev", inner)
            _ip("-n", host.namespace, "link", "set", inner, "up")
            _ip("-n", host.namespace, "link", "set", "lo", "up")
        yield made
    finally:
        for host in made:
            # Deleting the namespace deletes its end of the pair, and with it ours.
            subprocess.run(["ip", "netns", "del", host.namespace], capture_output=True)
            subprocess.run(["ip", "link", "del", host.veth], capture_output=True)


def run(ctx: Context) -> DrillResult:
    result = DrillResult(NAME, FAULT)
    with hosts() as machines, \
            PrivateServices(tuple(h.address for h in machines)) as services:
        cut = machines[1]

        def workers(run: Stack) -> None:
            started = [run.start_worker(concurrency=DRILL_THREADS, pool=DEFAULT_POOL,
                                        host=h.address, wrapper=h.wrapper,
                                        name=f"host{i + 1}", wait=False)
                       for i, h in enumerate(machines)]
            for worker in started:
                worker.wait_ready()

        def inject(process: subprocess.Popen[bytes], run: Stack, events: Events) -> None:
            if not wait_calls(run, int(SMALL_QUESTIONS * 12 * 0.3), process):
                events.note("the run ended before the cut")
                return
            _ip("link", "set", cut.veth, "down")
            events.note(f"link of host 2 ({cut.veth}) down")
            time.sleep(CUT_S)
            _ip("link", "set", cut.veth, "up")
            events.note(f"link of host 2 ({cut.veth}) up")

        evaluation_drill(ctx, result, inject, services=services, workers=workers,
                         options=StackOptions(latency_scale=0.05), sim_host="0.0.0.0",
                         settle_s=120)
        logs = sorted((ctx.work / NAME).glob("worker-host*.log"))
        result.events.append("tasks run per host: " + ", ".join(
            f"{p.stem.removeprefix('worker-')} "
            f"{p.read_text(errors='replace').count('succeeded in')}" for p in logs))
    if not any(" up" in e for e in result.events):
        result.reasons.append("the link was not cut before the run ended")
        result.passed = False
    return result

