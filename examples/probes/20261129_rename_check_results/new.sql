-- App after 20261129_rename_check_results: uses check_runs.
INSERT INTO check_runs (check_id, status, latency_ms) SELECT min(id), 'up', 42 FROM checks;
INSERT INTO check_runs (check_id, status) SELECT min(id), 'timeout' FROM checks;
UPDATE check_runs SET status = 'degraded' WHERE id = (SELECT max(id) FROM check_runs WHERE status = 'up');
SELECT check_id, avg(latency_ms) AS avg_ms FROM check_runs WHERE checked_at > now() - interval '1 hour' GROUP BY check_id LIMIT 20;
