"""Background jobs: a face like ``api/`` and ``web/`` that calls services (``runner``), and
the small app a ``reply-assist worker`` process serves its probes and metrics with (``app``)."""
