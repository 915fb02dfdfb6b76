-- App before 20261126_check_result_timeouts: every result has a latency.
INSERT INTO check_results (check_id, status, latency_ms) SELECT min(id), 'up', 120 FROM checks;
INSERT INTO check_results (check_id, status, latency_ms) SELECT min(id), 'down', 900 FROM checks;
SELECT check_id, avg(latency_ms) AS avg_ms FROM check_results GROUP BY check_id ORDER BY avg_ms DESC LIMIT 10;
