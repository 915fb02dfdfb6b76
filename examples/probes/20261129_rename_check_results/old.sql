-- App before 20261129_rename_check_results: uses check_results (a view over check_runs between expand and contract).
INSERT INTO check_results (check_id, status, latency_ms) SELECT min(id), 'up', 42 FROM checks;
UPDATE check_results SET status = 'degraded' WHERE id = (SELECT max(id) FROM check_results);
SELECT check_id, avg(latency_ms) AS avg_ms FROM check_results WHERE checked_at > now() - interval '1 hour' GROUP BY check_id LIMIT 20;
