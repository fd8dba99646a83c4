"""`renderer run`, `status` and `cancel`: where money is spent.

- ``command``: the three commands; checks, the event loop, the manifest on every way out.
- ``scheduler``: one task per instance; needs, budget, submit/settle/poll per the journal.
- ``journal``: SQLite (WAL) record of intents, answers and outcomes; the lock.
- ``client``: HTTP per provider; what an answer or its absence proves.
- ``limits``: token bucket, Retry-After, backoff with full jitter.
- ``poller``: adaptive polling with batch list reads.
- ``reconcile``: settling a POST whose answer was lost, honestly.
- ``upload``: EnhanceCraft ``input_file`` uploads, confined to the campaign's folder.
- ``outputs``, ``manifest``, ``progress``, ``settings``: the rest.
"""
