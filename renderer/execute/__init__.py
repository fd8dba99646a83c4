"""The executor behind `renderer run`, `status` and `cancel`: where money is spent.

- ``driver``: the event loop around a scheduler: progress, Ctrl-C, clients closed.
- ``scheduler``: one task per instance; needs, budget, submit/settle/poll per the journal.
- ``journal``: SQLite (WAL) record of intents, answers and outcomes; the lock.
- ``client``: HTTP per provider; what an answer or its absence proves.
- ``limits``: token bucket, Retry-After, backoff with full jitter.
- ``poller``: adaptive polling with batch list reads.
- ``reconcile``: settling a POST whose answer was lost, honestly.
- ``upload``: a provider's local-file uploads (``Registered.UPLOADS``), confined to the campaign's folder.
- ``manifest``: a run's manifest from the journal (the type: ``renderer.manifest``).
- ``outcome`` (what run says when it ends, its exit code), ``console`` (its scrubbed text output),
  ``job_outputs`` (what a finished job gives its dependants), ``sandboxed``, ``crash_hook``,
  ``progress``, ``settings``: the rest.

The commands themselves (``run``, ``status``, ``cancel``) live in ``renderer.commands``.
"""
