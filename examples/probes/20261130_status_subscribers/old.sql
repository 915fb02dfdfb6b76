-- App before 20261130_status_subscribers: no subscribers, counts open incidents itself.
INSERT INTO incidents (title, severity) VALUES ('Probe: status page (old app)', 'minor');
INSERT INTO check_runs (check_id, status, latency_ms) SELECT min(id), 'up', 30 FROM checks;
SELECT count(*) AS open_incidents FROM incidents WHERE resolved_at IS NULL;
