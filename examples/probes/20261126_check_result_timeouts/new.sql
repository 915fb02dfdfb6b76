-- App after 20261126_check_result_timeouts: records timeouts without a latency, graphs failures.
INSERT INTO check_results (check_id, status, latency_ms) SELECT min(id), 'timeout', NULL FROM checks;
INSERT INTO check_results (check_id, status, latency_ms) SELECT min(id), 'up', 87 FROM checks;
SELECT check_id, count(*) AS failures FROM check_results
WHERE status <> 'up' AND checked_at > now() - interval '1 day' GROUP BY check_id ORDER BY failures DESC LIMIT 10;
