"""The executor behind `renderer run`, `status` and `cancel`: where money is spent.

- ``driver``: the event loop around a scheduler: progress, the deadline, Ctrl-C, clients
  closed; ``execute(ExecuteRequest) -> Execution``.
- ``post_run``: after a run: the manifest on every way out, what the run says, its exit code.
- ``scheduler``: the run's coordinator, made of: ``gating`` (what may run: the DAG, the plan's
  settled jobs, list-read windows), ``runner`` (one job's life, per the journal), ``submitter``
  (admit → prepare → send → classify), ``settle`` (a lost answer: resend, reconcile, unknown),
  ``collect`` (an accepted job to its outcome, through the ``poller``), ``tracker`` (every outcome
  into the journal and the budget), ``control`` (stop, interrupt, abort, timers, breaker, notes),
  ``jobs`` (a job's state, the run's tally) and ``context`` (what the parts share).
- the journal: ``records`` (what a row holds), ``store`` (the protocol), ``transitions``
  (the writes after the intent), ``sqlitestore`` (SQLite, WAL) and ``pgstore`` (a shared
  PostgreSQL store), ``identity`` (who a campaign is, where its journal lives), ``durable``
  (opening it safely), ``stores`` (which one a command uses).
- ``adoption``: the manifest's accepted jobs, seeded into a journal that does not know them.
- ``client``: HTTP per provider; what an answer or its absence proves.
- ``limits``: token bucket, Retry-After, backoff with full jitter.
- ``poller``: adaptive polling with batch list reads.
- ``reconcile``: settling a POST whose answer was lost, honestly.
- ``upload``: a provider's local-file uploads (``Registered.UPLOADS``), confined to the campaign's folder.
- ``manifest_from_run``: a run's manifest from the journal (the type: ``renderer.manifest``).
- ``outcome`` (what run says when it ends, its exit code), ``console`` (its scrubbed text output),
  ``job_outputs`` (what a finished job gives its dependants), ``spending`` (the budget at the
  start of a run), ``sandboxed``, ``crash_hook``, ``progress``, ``settings``: the rest.

The commands themselves (``run``, ``status``, ``cancel``) live in ``renderer.commands``.
"""
