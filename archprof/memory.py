"""Activation memory by liveness (pure): which tensors are alive while each row runs.

Walk the rows in execution order. Each row reads tensors and writes one. A tensor is
alive from the step that writes it (the model's input: from the start) to the last step
that reads it; the network's output stays alive at its own step. So a residual block's
input lives until the add that reads it, finished branches live until the concat, whose
output is allocated while they are all alive, and an identity shortcut is the same
tensor as the block's input (not a copy). The live bytes of a step are the sum over the
tensors alive at it; the peak activation bytes are the largest of them. For a chain of
rows this is the largest input + output of one row, as in archprof v1.

    live(step) = Σ bytes(t) over tensors t with written(t) ≤ step ≤ last_read(t)
"""

from __future__ import annotations

from .spec import Block


def live_bytes(tree, input_shape, element_bytes: int) -> dict[str, int]:
    """{leaf path: bytes alive while it runs}; ``tree`` is ``shapes.resolve_tree``'s rows, ``element_bytes``
    the dtype size times the batch."""
    children: dict[str, list] = {}
    for r in tree:
        children.setdefault(r.parent, []).append(r)

    sizes: list[int] = []  # tensor id -> bytes
    written: list[int] = []  # tensor id -> step
    last_read: list[int] = []  # tensor id -> step
    steps: list[str] = []  # step -> leaf path

    def tensor(shape, step: int) -> int:
        c, h, w = shape
        sizes.append(c * h * w * element_bytes)
        written.append(step)
        last_read.append(step)
        return len(sizes) - 1

    def step(path: str, reads: list[int], shape) -> int:
        steps.append(path)
        now = len(steps) - 1
        for t in reads:
            last_read[t] = max(last_read[t], now)
        return tensor(shape, now)

    def run(r, x: int) -> int:
        if not r.is_block:
            return step(r.path, [x], r.out_shape)
        block: Block = r.layer
        kids = children.get(r.path, [])
        if block.merge == "seq":
            for k in kids:
                x = run(k, x)
            return x
        *branches, merge = kids
        outs = [run(b, x) for b in branches]
        return step(merge.path, outs, merge.out_shape)

    x = tensor(input_shape, 0)
    for r in children.get("", []):
        x = run(r, x)

    # A sweep over the steps: each tensor adds its bytes where it starts and removes them after its last read.
    delta = [0] * (len(steps) + 1)
    for size, start, end in zip(sizes, written, last_read):
        delta[start] += size
        delta[end + 1] -= size
    out, live = {}, 0
    for i, path in enumerate(steps):
        live += delta[i]
        out[path] = live
    return out
