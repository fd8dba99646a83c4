"""The executor behind `renderer run`, `status` and `cancel`: where money is spent.

- ``driver``: the event loop around a scheduler: progress, Ctrl-C, clients closed.
- ``scheduler``: one task per instance; needs, budget, submit/settle/poll per the journal.
- ``journal``: SQLite (WAL) record of intents, answers and outcomes; the lock.
- ``client``: HTTP per provider; what an answer or its absence proves.
- ``limits``: token bucket, Retry-After, backoff with full jitter.
- ``poller``: adaptive polling with batch list reads.
- ``reconcile``: settling a POST whose answer was lost, honestly.
- ``upload``: a provider's local-file uploads (``Provider.UPLOADS``), confined to the campaign's folder.
- ``manifest``: a run's manifest from the journal (the type: ``renderer.manifest``).
- ``run_report``, ``sandboxed``, ``crash_hook``, ``outputs``, ``progress``, ``settings``: the rest.

The commands themselves (``run``, ``status``, ``cancel``) live in ``renderer.commands``.
"""
