"""Replaying recorded blocks: ``Program.replayable`` for network speed. No torch.

A network's repeated blocks (ResNet-50 has 12 blocks identical to the one before) then cost a copy
of their records instead of a second pass through every formula. Counts, parameters, liveness,
attention maps and records come out exactly as running the block again would make them
(tests/cost/test_replayable.py). Works on a :class:`~attncost.cost.recorder.Recorder` through its
public API only.
"""

from __future__ import annotations

from typing import NamedTuple

from .recorder import Recorder, Tensor


class Template(NamedTuple):
    """A recorded call, relative to its scope: what replaying it writes."""

    records: list          # (scope suffix, counts, params, uses, allocations) per op
    counts: dict           # the records' counts summed
    inputs: list           # (storage, shape, strides) of each input
    params: list           # (name suffix, elements) of the parameters it registered
    attention: list        # (scope suffix, elements) of the attention maps it marked
    reasons: list          # why it made the program degenerate (if it did)
    outputs: list          # (shape, storage, strides) of each output
    is_tuple: bool


class Replays:
    """The template cache of one recorder. ``templates[key]`` is None where the last call could not
    be recorded safely (the next one runs and is recorded again)."""

    def __init__(self, recorder: Recorder):
        self.recorder = recorder
        self.templates: dict = {}

    def run(self, key, fn, inputs: tuple):
        """``fn(*inputs)``, writing its ops into the recorder; a later call with the same ``key``
        (which must determine everything ``fn`` does: the inputs' shapes and strides included)
        replays the recorded ops instead, under the current scope, with fresh storages."""
        if getattr(self.recorder, "tape", None) is not None:
            return fn(*inputs)          # a training program: every op builds its autograd node, none replayed
        template = self.templates.get(key)
        if template is not None:
            replayed = self._replay(template, inputs)
            return replayed if replayed is not None else fn(*inputs)
        rec = self.recorder
        clean = not rec.pending
        before, prefix = rec.snapshot(), rec.scope_key
        out = fn(*inputs)
        if clean and not rec.pending:
            self.templates[key] = self._capture(before, prefix, inputs, out)
        return out

    def _capture(self, before, prefix, inputs, out) -> Template | None:
        """The template of the ops since ``before``; None when they cannot be replayed safely (ops
        outside the caller's scope, or reading a live tensor that is not one of ``inputs``)."""
        rec = self.recorder
        records = rec.records[before.records:]
        n = len(prefix)
        if any(r.scope[:n] != prefix for r in records):
            return None
        inside = {storage for r in records for storage, _ in r.allocations}
        given = [t.storage for t in inputs]
        outside = {u for r in records for u in r.uses} - inside - set(given)
        if any(rec.tracks(u) for u in outside):
            return None
        outputs = out if isinstance(out, tuple) else (out,)
        if not all(isinstance(t, Tensor) and (t.storage in inside or t.storage in given) for t in outputs):
            return None
        added = rec.params_since(before)
        if any(name[:n] != prefix for name, _ in added):
            return None
        counts: dict = {}
        for r in records:
            for kind, value in r.counts.items():
                counts[kind] = counts.get(kind, 0) + value
        return Template(
            records=[(r.scope[n:], r.counts, r.params, r.uses, r.allocations) for r in records],
            counts=counts,
            inputs=[(t.storage, t.shape, t.strides) for t in inputs],
            params=[(name[n:], elements) for name, elements in added],
            attention=[(scope[n:], elements) for scope, elements in rec.attention_maps()[before.attention:]],
            reasons=list(rec.degenerate_reasons[before.reasons:]),
            outputs=[(t.shape, t.storage, t.strides) for t in outputs],
            is_tuple=isinstance(out, tuple))

    def _replay(self, template: Template, inputs):
        rec = self.recorder
        if rec.pending or [(t.shape, t.strides) for t in inputs] != [(s, st) for _, s, st in template.inputs]:
            return None
        prefix = rec.scope_key
        if not rec.add_params({prefix + name: elements for name, elements in template.params}):
            return None
        storage = {old: t.storage for (old, _, _), t in zip(template.inputs, inputs)}
        get, new, scopes, entries = storage.get, rec.new_storage, {}, []
        for suffix, counts, params, uses, allocations in template.records:
            if allocations:
                for old, _ in allocations:
                    storage[old] = new()
                allocations = tuple([(storage[old], elements) for old, elements in allocations])
            uses = tuple([get(u, u) for u in uses])
            scope = scopes.get(suffix) or scopes.setdefault(suffix, prefix + suffix)
            entries.append((scope, counts, params, uses, allocations))
        rec.append_records(entries, template.counts)
        rec.add_attention_maps([(prefix + suffix, elements) for suffix, elements in template.attention])
        for reason in template.reasons:
            rec.mark_degenerate(reason)
        outputs = [Tensor(shape, storage[old], strides) for shape, old, strides in template.outputs]
        return tuple(outputs) if template.is_tuple else outputs[0]
