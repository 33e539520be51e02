"""The gcloud commands that carry out what runwatch shows: scheduled min instances
(min_schedule.py), a what-if's setting (service_update.py), a canary's next traffic step
(traffic.py). Shell lines to copy, built from validated names only; runwatch never runs them
(its identity is read-only). Pure: the standard library and foundation."""
